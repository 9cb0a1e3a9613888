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
#include <utility>
#include <vector>

#include "sim/flow/simulator.hpp"
#include "sim/flow/state.hpp"
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

 private:
  const Topology& topo_;
  std::vector<std::vector<std::uint32_t>> stateful_groups_;  // per port
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

 private:
  HostId host_of(PortId p) const;

  const Topology& topo_;
  SimState shared_;
  std::vector<HostFlowState> hosts_;
  PushTargets targets_;
};

}  // namespace hivesim
