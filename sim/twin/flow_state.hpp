#pragma once
// Flow-state replication: where conntrack, NAT and load-balancer bindings live (SPEC section 6,
// MidoNet's FlowStateReplicator and PeerResolver).
//
// What it models: MidoNet keeps no global connection table. Each host's agent keeps its own
// tables (HostFlowState). A packet is simulated on the host where it enters, against that
// host's tables only; the keys the simulation writes are journalled (StateWrite) and pushed to
// the push targets: the host of every egress port, and the hosts of every port of each
// *stateful* port group that contains the ingress or an egress port (PushTargets). A receiver
// installs them. A reply entering a host that never received them is a new forward flow there.
// MAC and ARP tables are not flow state: they are NSDB-wide and stay in one shared SimState.
//
// Replication is the run's part: the push targets, the journal of the simulation running, the
// report's flow_state counts, and what an answer of each connection must find where it enters
// (so that answers entering a host without it are counted). The coordinator sends the pushes
// as crossings (message.hpp) and installs them on arrival (flow_state_steps.cpp).
//
// The run pushes over the underlay (a message per target, with its latency and loss, sent when
// the simulation starts, so ahead of the packet on the same tunnel); `trace --batch` and the
// end-of-run expectations push at once (there is no time in a trace): HostStates.
//
// Invariants: a simulation sees its ingress host's tables and the shared MAC/ARP tables, never
// another host's; the random stream NAT and LB choices draw from is one for the run (so a
// scenario whose answer does not depend on locality draws exactly as before); targets come
// out sorted, without the ingress host.
// Cost: swapping a host's tables in and out is O(1) (hash-map swaps); a push installs its
// keys, O(keys); PushTargets::of is O(egress ports + members of the stateful groups met).

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "sim/flow/simulator.hpp"
#include "sim/flow/state.hpp"
#include "sim/report/run_report.hpp"
#include "topology/model.hpp"

namespace hivesim {

/// One host's flow state: its conntrack entries and NAT/LB bindings.
struct HostFlowState {
  ConnTrack conntrack;
  NatTable nat{1};  // bindings only: the run's random stream is the shared SimState's

  /// Installs a key pushed by a peer, as fresh at `now`.
  void install(const StateWrite& w, SimTime now);
  void expire(SimTime now) {
    conntrack.expire(now);
    nat.expire(now);
  }
};

/// While alive, `shared` holds `host`'s conntrack and NAT bindings (and journals what is
/// written into `journal`); they go back to `host` at the end of the scope.
class HostStateScope {
 public:
  HostStateScope(SimState& shared, HostFlowState& host, std::vector<StateWrite>* journal)
      : shared_(shared), host_(host) {
    std::swap(shared_.conntrack, host_.conntrack);
    shared_.nat.swap_bindings(host_.nat);
    shared_.conntrack.set_journal(journal);
    shared_.nat.set_journal(journal);
  }
  ~HostStateScope() {
    shared_.conntrack.set_journal(nullptr);
    shared_.nat.set_journal(nullptr);
    std::swap(shared_.conntrack, host_.conntrack);
    shared_.nat.swap_bindings(host_.nat);
  }
  HostStateScope(const HostStateScope&) = delete;
  HostStateScope& operator=(const HostStateScope&) = delete;

 private:
  SimState& shared_;
  HostFlowState& host_;
};

/// Which hosts a simulation's keys go to.
class PushTargets {
 public:
  explicit PushTargets(const Topology& topo);
  /// The hosts (sorted, once each, without `ingress`) of the egress ports in `out` and of the
  /// ports of every stateful port group containing `in` or one of them.
  std::vector<HostId> of(PortId in, const std::vector<OutPacket>& out, HostId ingress) const;
  /// The same, into `hosts` (replaced; its memory reused).
  void of(PortId in, const std::vector<OutPacket>& out, HostId ingress,
          std::vector<HostId>& hosts) const;

 private:
  const Topology& topo_;
  std::vector<std::vector<PortGroupId>> stateful_groups_;  // per port
};

/// The run's flow-state replication (see the file comment).
class Replication {
 public:
  explicit Replication(const Topology& topo) : targets_(topo) {}

  /// The journal a simulation about to run writes its keys to (emptied).
  std::vector<StateWrite>* begin_journal() {
    journal_.clear();
    return &journal_;
  }
  /// Whether the simulation that ran last wrote any key.
  bool wrote() const { return !journal_.empty(); }
  /// The keys it wrote, as the payload of its pushes: a slot shared by them, until each has
  /// landed (payload_landed()). Slots and their memory are reused: a push allocates nothing
  /// (a shared copy of the keys, and a callback too large to be held inline, were three
  /// allocations a connection on the scale scenario).
  std::uint32_t open_payload();
  /// One more push carries payload `id`.
  void add_push(std::uint32_t id) { ++payloads_[id].pushes; }
  const std::vector<StateWrite>& payload(std::uint32_t id) const { return payloads_[id].keys; }
  /// A push of payload `id` landed (or will never: none was sent); the slot goes with the last.
  void payload_landed(std::uint32_t id);
  /// The hosts the last simulation's keys go to; valid until the next call.
  const std::vector<HostId>& targets(PortId in, const std::vector<OutPacket>& out, HostId ingress) {
    targets_.of(in, out, ingress, hosts_);
    return hosts_;
  }

  /// Keeps, from now on, what answers must find (a source answers what reaches it).
  void track_answers() { tracking_ = true; }
  /// Remembers what an answer of each connection the last simulation wrote must find.
  void note_answers();
  /// Counts an answer entering a host whose tables are `here` without its connection's state.
  void check_answer(const HostFlowState& here, const Packet& answer);

  /// A push sent; `reaches`: the underlay carries it (else it is lost now).
  void sent(bool reaches) {
    ++row_.pushes;
    if (!reaches) ++row_.lost;
  }
  /// A push landed; installed when its target is alive, else lost.
  void landed(bool installed) { ++(installed ? row_.delivered : row_.lost); }
  /// The first version's count (report `state_pushes`): new state, once per other host an
  /// output went to.
  void count_state_pushes(std::uint64_t n) { state_pushes_ += n; }

  const RunReport::FlowStateRow& row() const { return row_; }
  std::uint64_t state_pushes() const { return state_pushes_; }

 private:
  struct AnswerState {
    bool conntrack = false;  // a return-flow key at `ct_device`
    std::uint32_t ct_device = 0;
    std::uint8_t nat = 0;  // bit 0: an SNAT binding, bit 1: a DNAT one, at `nat_device`
    std::uint32_t nat_device = 0;
  };

  struct Payload {
    std::vector<StateWrite> keys;
    std::uint32_t pushes = 0;  // not landed yet
  };
  PushTargets targets_;
  std::vector<HostId> hosts_;  // targets()
  std::vector<Payload> payloads_;
  std::vector<std::uint32_t> free_payloads_;
  std::vector<StateWrite> journal_;
  RunReport::FlowStateRow row_;
  std::uint64_t state_pushes_ = 0;
  bool tracking_ = false;
  absl::flat_hash_map<ConnKey, AnswerState> answered_;  // by connection (device cleared)
};

/// Flow state kept per host with pushes applied at once: `trace --batch` and the trace
/// expectations at the end of a run.
class HostStates {
 public:
  /// Empty tables on every host; `seed` drives NAT and LB choices.
  HostStates(const Topology& topo, std::uint64_t seed);
  /// The given shared state and per-host tables (a copy of a run's).
  HostStates(const Topology& topo, SimState shared, std::vector<HostFlowState> hosts);

  /// Runs `simulate(state)` (which returns a SimulationResult) against the tables of the host
  /// of `from`, then installs what it wrote on the push targets.
  template <typename F>
  SimulationResult run(PortId from, F&& simulate) {
    const HostId host = host_of(from);
    std::vector<StateWrite> journal;
    SimulationResult result;
    {
      HostStateScope scope(shared_, hosts_[host.value], &journal);
      result = simulate(shared_);
    }
    if (!journal.empty()) {
      for (HostId to : targets_.of(from, result.out, host)) {
        for (const StateWrite& w : journal)
          hosts_[to.value].install(w, 0);
      }
    }
    return result;
  }
  const HostFlowState& host(HostId h) const { return hosts_[h.value]; }

  // For callers that walk against one host's tables themselves (reach --at, with checkpoints):
  // the shared MAC/ARP tables and random stream, a host's own tables, a port's host.
  SimState& shared() { return shared_; }
  HostFlowState& tables(HostId h) { return hosts_[h.value]; }
  /// The host of `p` (host 0 for a port without one: an interior port, in tests only).
  HostId host_of(PortId p) const;

 private:
  const Topology& topo_;
  SimState shared_;
  std::vector<HostFlowState> hosts_;
  PushTargets targets_;
};

}  // namespace hivesim
