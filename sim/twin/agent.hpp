#pragma once
// The agents: the MidoNet agent on each host, and its datapath (Agents owns them all).
//
// What an agent holds: the datapath flow table (sim/datapath) that answers hits; the simulation
// queue (one simulation at a time, each costing the configured latency); the flows in flight, each
// with the packets that wait for its simulation; its cache of NSDB objects (which doubles as
// its NSDB watches); and its own flow state (conntrack, NAT and LB bindings, flow_state.hpp).
// Agents also owns what the agents have in flight between events: the simulations running
// (flights), the packets parked behind them, their scheduled completions, the simulations
// stalled for want of an NSDB quorum, and which host each exterior port is on. The steps that
// move a packet through an agent (inject, datapath, start_simulation, complete, emit) are the
// coordinator's, in agent.cpp; stop() is what happens to an agent that dies or restarts.
// An agent touches no other host's data: what it sends crosses the underlay or the NSDB
// (message.hpp).
//
// Invariants: a flow key is in flight at most once per agent; every waiting packet is in
// exactly one flight's list; an agent's epoch grows when it stops, so that a completion of a
// simulation started before is ignored.
// Cost: a hit is one flow-table lookup; a miss one hash insert, one park (amortised O(1), in
// slabs that never move), and one simulation per flow, not per packet.

#include <array>
#include <bit>
#include <cstdint>
#include <memory>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/hash/hash.h>

#include "sim/datapath/flow_table.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/twin/flow_state.hpp"
#include "sim/twin/ids.hpp"
#include "sim/twin/slab.hpp"
#include "topology/model.hpp"

namespace hivesim {

/// Exact-match hashing of a flow key (packets waiting on the same in-flight simulation).
struct ExactKeyHash {
  std::size_t operator()(const FlowKey& k) const {
    // A FlowKey has no padding (packet.hpp checks): its bytes are its value, hashed at once
    // rather than field by field (a quarter of the instructions).
    return absl::HashOf(std::bit_cast<std::array<std::uint64_t, sizeof(FlowKey) / 8>>(k));
  }
};

/// A packet waiting for its flow's simulation, kept in about half a Packet's space: its common
/// fields and payload. A packet with ARP addresses, IP options or a quoted header set is kept
/// whole instead. At a replay's start, tens of thousands of packets wait (each packet of a new
/// flow until the agent has simulated it), and writing them to fresh memory was most of what a
/// flow miss cost the twin.
struct Waiting {
  PortId port;
  JourneyId journey;
  PacketFields fields;
  std::vector<std::uint8_t> payload;
  std::unique_ptr<Packet> whole;  // set when the packet has more than fields and payload

  Waiting() = default;
  Waiting(PortId at, Packet&& packet, JourneyId j) : port(at), journey(j) {
    if (only_fields_and_payload(packet)) {
      fields = packet;
      payload = std::move(packet.payload);
    } else {
      whole = std::make_unique<Packet>(std::move(packet));
    }
  }

  /// The packet as it was parked, into `out` (which it replaces); once.
  void unpark(Packet& out) {
    if (whole) {
      out = std::move(*whole);
      return;
    }
    static_cast<PacketFields&>(out) = fields;
    out.payload = std::move(payload);
    reset_rare(out);
  }

 private:
  // The rare fields: what a Packet holds beyond its PacketFields and payload. A field added to
  // Packet must be added here too (the size check below is the reminder).
  static_assert(sizeof(Packet) == 200, "Packet changed: update Waiting's rare fields");
  static const Packet& defaults() {
    static const Packet kDefault;
    return kDefault;
  }
  static bool only_fields_and_payload(const Packet& p) {
    const Packet& d = defaults();
    return p.arp_sha == d.arp_sha && p.arp_tha == d.arp_tha && p.arp_spa == d.arp_spa &&
           p.arp_tpa == d.arp_tpa && p.ip_options == d.ip_options && p.quoted == d.quoted;
  }
  static void reset_rare(Packet& p) {
    const Packet& d = defaults();
    p.arp_sha = d.arp_sha;
    p.arp_tha = d.arp_tha;
    p.arp_spa = d.arp_spa;
    p.arp_tpa = d.arp_tpa;
    p.ip_options = d.ip_options;
    p.quoted = d.quoted;
  }
};

/// A simulation the agent is running; packets of the same flow wait on it, in a list of the
/// twin's parked packets (Parked).
struct InFlight {
  SimulationResult result;
  ParkedId first;                // the first waiting packet: the one that was simulated
  std::uint64_t change_seq = 0;  // the NSDB change sequence when the simulation started
};

/// An agent's entry for a flow in flight: its InFlight, and its last waiting packet, so that a
/// packet parks after it without reading the InFlight. 64 bytes a slot with its key.
struct FlightRef {
  FlightId flight;
  ParkedId last;
};

/// The packets waiting for simulations, in one pool: a packet parks at the pool's end (or in a
/// slot freed last) instead of in a list of its flight's own, and its flight's list links it
/// through `next`, an array of its own, small enough to stay in cache. (At a replay's start
/// ~50,000 packets park behind ~10,000 simulations: lists of their own grew by reallocation, and
/// the flights' map entries that held them took 4 MB, missing the cache at every park.)
class Parked {
 public:
  /// Parks `packet`; its id, the end of a list.
  ParkedId park(PortId port, Packet&& packet, JourneyId journey) {
    const ParkedId i = slots_.acquire();
    slots_[i] = Waiting(port, std::move(packet), journey);
    if (i.value >= next_.size()) next_.resize(i.value + 1);
    next_[i.value] = ParkedId{};
    return i;
  }
  /// Appends `i` to the list that ends with `last`.
  void link(ParkedId last, ParkedId i) { next_[last.value] = i; }
  Waiting& operator[](ParkedId i) { return slots_[i]; }
  ParkedId next(ParkedId i) const { return next_[i.value]; }
  /// Gives slot `i` back (its list is not walked past it again).
  void free(ParkedId i) { slots_.release(i); }

 private:
  Slab<Waiting, ParkedId, BlockStorage<Waiting, 512>> slots_;
  std::vector<ParkedId> next_;
};

struct Agent {
  explicit Agent(const AgentConfig& c)
      : config(c), table(FlowTableConfig{c.max_flows, c.flow_idle}) {}
  AgentConfig config;
  bool alive = true;
  std::uint64_t epoch = 0;  // bumped when the agent stops: stale completions are ignored
  FlowTable table;
  std::shared_ptr<const Simulator> sim;  // the topology version it simulates on
  // Objects loaded from the NSDB (flow tags), with the time each is (or was) ready.
  absl::flat_hash_map<std::uint64_t, SimTime> cache;
  absl::flat_hash_map<FlowKey, FlightRef, ExactKeyHash> in_flight;
  SimTime busy_until = 0;     // the agent simulates one flow at a time
  CompletionId last_started;  // the completion of its latest simulation (a hint)
  std::uint64_t down_generation = 0;
  HostFlowState flow_state;  // its conntrack and NAT/LB bindings (flow_state.hpp)
};

/// What the agent's cache held for the last simulation entering at a port that found every
/// object it read loaded: those objects' tags, and the latest time one of them was ready. The
/// next simulation there most often reads the same objects (the same devices, chains and ports
/// between the same two VMs): comparing its tags with these replaces a cache lookup per tag
/// (16 on a routed walk between security-grouped ports: 4.5% of the twin's instructions on the
/// scale scenario). Exact: a cache entry never changes, and entries go only all at once, when the
/// agent stops, which bumps its epoch: a set recorded in an earlier epoch is not used.
struct LoadedTags {
  std::vector<FlowTag> tags;
  SimTime ready = 0;
  std::uint64_t epoch = 0;  // the agent's epoch when recorded
};

struct Completion {
  HostId agent;
  /// The completion of the simulation the agent started after this one (none yet: invalid), most
  /// often the next to complete: complete() fetches its data ahead. Only a hint: that one may
  /// have completed first and its slot been reused.
  CompletionId next;
  std::uint64_t epoch = 0;
  FlowKey key;
  FlightId flight;  // its InFlight
};

class Agents {
 public:
  /// An agent per host of `topo`, each simulating on `sim`.
  Agents(const Topology& topo, const std::shared_ptr<const Simulator>& sim);

  Agent& operator[](HostId h) { return agents_[h.value]; }
  const Agent& operator[](HostId h) const { return agents_[h.value]; }
  std::uint32_t size() const { return static_cast<std::uint32_t>(agents_.size()); }
  auto begin() { return agents_.begin(); }
  auto end() { return agents_.end(); }
  auto begin() const { return agents_.begin(); }
  auto end() const { return agents_.end(); }

  /// The host of an exterior port.
  HostId host_of(PortId p) const { return port_host_[p.value]; }
  /// A host's exterior ports.
  const std::vector<PortId>& ports_of(HostId h) const { return host_ports_[h.value]; }
  /// The tags loaded for the last simulation entering at exterior port `p` (LoadedTags).
  LoadedTags& loaded(PortId p) { return loaded_[p.value]; }

  /// Stops `host`'s agent at `now` (it died or restarts): its flow table, cache, simulations
  /// and flow state are gone, completions of its simulations will be ignored. Returns the
  /// journeys of the packets that waited in it, sorted (they are lost).
  std::vector<JourneyId> stop(HostId host, SimTime now);
  /// Frees a flight's slot and its waiting packets' slots.
  void free_flight(FlightId flight);
  /// Starts loading `tags` `agent` lacks at `from`; when they arrive (`latency` later).
  static SimTime fetch(Agent& agent, const std::vector<FlowTag>& tags, SimTime from,
                       SimTime latency);
  /// Idle flows and conntrack entries of the live agents expire.
  void expire(SimTime now);
  /// Flows installed so far, over all agents.
  std::uint64_t flows_installed() const;

  // Simulations in flight (the agents' in_flight maps hold their ids; a slot never moves) and
  // the packets waiting for them; the completions scheduled; those stalled for a quorum.
  Slab<InFlight, FlightId, BlockStorage<InFlight, 256>> flights;
  Parked parked;
  Slab<Completion, CompletionId> completions;
  std::vector<CompletionId> stalled;
  Packet scratch;              // a rewritten copy, for flows with more than one output
  Packet unparked;             // a Waiting packet, unparked to be decided (complete())
  SimulationResult simulated;  // the simulation of a packet whose flow is not cached (complete())

 private:
  std::vector<Agent> agents_;
  std::vector<HostId> port_host_;                // exterior ports: their host
  std::vector<LoadedTags> loaded_;               // by port (exterior ones only)
  std::vector<std::vector<PortId>> host_ports_;  // per host: its exterior ports
};

}  // namespace hivesim
