#pragma once
// The run's coordinator (Twin::Impl): it owns the scheduler and one object per part, and wires
// them. Each part owns its state and opens its header with what it is, its invariants and its
// cost; the coordinator's methods are the steps that take a packet or a change from one part to
// the next, in the file of the part they serve:
//
//   part (state)                         header             the coordinator's steps
//   agents: tables, caches, simulations  agent.hpp (+ agents.cpp: stop, fetch)
//                                                           agent.cpp (inject .. emit)
//   NSDB: replicas, quorum, watches      nsdb.hpp           nsdb_steps.cpp (write, publish)
//   underlay: links, tunnels, loss       underlay.hpp       delivery.cpp (send, arrive)
//   flow-state replication               flow_state.hpp     flow_state_steps.cpp (replicate)
//   failures: windows, dead backends     failures.hpp       failures.cpp (fail: host_down ..)
//   accounting: journeys, drops, totals  accounting.hpp     accounting.cpp (finalize, report)
//   traffic sources                      sources.hpp        agent.cpp (inject_pending)
//   the run loop's merge of streams      run_loop.hpp       run_loop.cpp (run_until, sweep)
//   the boundary between hosts           message.hpp        post, post_frame (below)
//   twin.cpp: construction and the Twin facade.
//
// Invariants: single-threaded and deterministic; every random draw from a stream seeded by the
// scenario seed; nothing reads a clock; no report value depends on hash-table order. Hosts
// interact only through crossings (message.hpp): frames and flow-state pushes over the
// underlay, writes and reads through the NSDB, each scheduled here, at least that part's
// latency later.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/check.hpp"
#include "sim/engine/scheduler.hpp"
#include "sim/flow/expectation.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/twin/accounting.hpp"
#include "sim/twin/agent.hpp"
#include "sim/twin/failures.hpp"
#include "sim/twin/flow_state.hpp"
#include "sim/twin/ids.hpp"
#include "sim/twin/message.hpp"
#include "sim/twin/nsdb.hpp"
#include "sim/twin/run_loop.hpp"
#include "sim/twin/sources.hpp"
#include "sim/twin/twin.hpp"
#include "sim/twin/underlay.hpp"

namespace hivesim {
// How often idle flows and conntrack entries are swept (lookups also expire idle flows).
constexpr SimTime kSweepInterval = kSecond;
constexpr int kProgressSteps = 100;
// The end of a run that stops when idle: far beyond any capture, far from overflowing.
constexpr SimTime kForever = SimTime{1} << 62;

/// What the egress side reads of a packet: the whole packet when someone looks at it (an egress
/// capture, a source that answers), else only the fields the delivery accounting needs.
struct Landing {
  const Packet* packet = nullptr;  // set when the whole packet is needed
  Ipv4 dst;
  std::uint16_t dport = 0;
  bool ipv4_tcp = false;

  static Landing of(const Packet& p) {
    return Landing{&p, p.dst, p.dport, p.is_ipv4() && p.proto == ipproto::kTcp};
  }
};

class Twin::Impl {
 public:
  Impl(const Scenario& scenario, TwinOptions options);

  Result<bool> add_scenario_traffic();
  void add_source(std::string name, std::unique_ptr<TrafficSource> source, bool reply,
                  std::vector<PortId> reply_from = {});
  RunReport run();
  void advance(SimTime t);
  std::optional<std::string> stopped_;  // set when the scenario's limits were passed
  const Simulator& simulator() const { return *current_; }
  SimState& state() { return state_; }
  HostStates host_states() const;

 private:
  // The run loop (run_loop.cpp).
  void start();
  void sweep();
  /// Runs everything due up to `limit` in time order (with `until_idle`, stops as soon as
  /// nothing is busy).
  void run_until(SimTime limit, bool until_idle);
  std::optional<std::string> over_limits() const;  // hostile input (SPEC section 10)
  /// Whether anything is left to happen: a source with packets, a packet on its way, a write.
  /// Frames counted when sent (lands_as_sent()) are not in it: see Merge::landing_pending().
  bool busy() const;

  // The boundary between hosts (message.hpp): every crossing is scheduled here.
  /// Schedules `deliver` to run when crossing `c` lands (a push, an NSDB publication).
  template <typename F>
  void post(const Crossing& c, F&& deliver);
  /// Puts `frame` on `host`'s link, behind the frames already on it.
  void post_frame(HostId host, const Frame& frame);
  /// Tells the observer (tests) of a crossing, and checks the lookahead.
  void crossed(const Crossing& c) const;

  // Traffic and the agents (agent.cpp).
  /// Injects the source's pending packet and pulls its next one; and again while that one is
  /// the next thing to run (up to `limit`), as run_until would, without a round through the
  /// merge per packet.
  void inject_pending(SourceId source, SimTime limit);
  /// `record`: the source's record that holds `packet`, when the source extracted it (it may
  /// have left the packet unparsed: SourcePacket::parse() before reading it); else nullptr.
  void inject(SourceId source, PortId port, Packet&& packet, bool reply,
              SourcePacket* record = nullptr);
  void inject_malformed(SourceId source, PortId port);
  /// Injects the answer of a source that answers what reaches it, at the port it answers from.
  void inject_answer(SourceId source, PortId port, Packet&& answer);
  JourneyId new_journey(SourceId source, const Packet& packet, bool reply);
  /// The counters of an injected packet (new_journey's, for a packet that needs no slot).
  void count_injection(SourceId source, bool reply);
  /// The ingress datapath: the flow table answers, or the agent simulates (the packet waits).
  void datapath(HostId host, PortId port, Packet&& packet, SourceId source, bool reply,
                SourcePacket* record);
  /// A flow-table hit that needs no journey slot: one output, to another host, nothing balanced,
  /// nobody at the far end who looks at or answers the packet. It goes on the wire as a frame
  /// carrying its journey (see Frame). False, doing nothing, for any other hit.
  /// The frame is made from `key` and the rewrite, without reading or writing the packet beyond
  /// its length (in the record's extraction, when given): a capture's packet stays in its
  /// reader's cache, or unparsed.
  bool straight_to_wire(HostId host, const FlowActions& actions, Packet& packet, const FlowKey& key,
                        SourcePacket* record, SourceId source, bool reply);
  /// Simulates `packet` into its flight and schedules its completion.
  void start_simulation(Agent& agent, HostId host, const FlowKey& key, FlightId flight, PortId port,
                        const Packet& packet);
  void complete(CompletionId completion);
  /// Fetches into the cache, ahead, what complete() will read for the completions after
  /// `completion` (their map slots, flights, parked packets, results and journeys).
  void prefetch_after(CompletionId completion);
  void emit(HostId host, const Waiting& w, const SimulationResult& result);
  /// Sends `packet` (consumed: the last output is rewritten in place) through `actions`.
  void apply(HostId host, const FlowActions& actions, Packet& packet, JourneyId journey);
  std::optional<FlowActions> actions_for(const Packet& in, const SimulationResult& result);
  /// Loads `tags` the agent lacks from the NSDB at `from`: when they arrive (a crossing).
  SimTime fetch(HostId host, const std::vector<FlowTag>& tags, SimTime from);
  /// Simulates `packet` entering at `port` on `host`, against that host's flow state, into
  /// `result` (reusing its vectors), and pushes what the simulation wrote to its push targets.
  void simulate_on(HostId host, PortId port, const Packet& packet, SimulationResult& result);

  // Flow-state replication (flow_state_steps.cpp).
  /// Sends the journalled keys of a simulation of a flow entering at `in` on `host` to its push
  /// targets: a crossing each, over the underlay, installed on arrival.
  void replicate(HostId host, PortId in, const SimulationResult& result);

  // The underlay and delivery (delivery.cpp).
  /// Sends a copy of `journey` (already counted in its copies) to `port`.
  void send(HostId host, PortId port, const Packet& packet, JourneyId journey);
  /// The drop row (reason tunnel_down) of a frame the underlay's route() lost.
  DropId route_drop(HostId host, HostId to, UnderlayNet::Route::Lost lost);
  /// Serialises `bytes` (headers included) on `host`'s link after what it is sending: returns
  /// when the frame lands at the far end.
  SimTime serialise(HostId host, std::size_t bytes) {
    return underlay_.serialise(host, bytes, sched_.now(), merge_.at_send_bytes);
  }
  /// Whether the frame serialise() has just put on `host`'s link, landing `at`, lands exactly
  /// as sent whatever happens meanwhile, so that its landing can be counted now instead of on
  /// arrival (land_as_sent). Only during run() (trace's advance() stops part-way), and only for
  /// frames that land by the end of the run and before the first failure: until then no host
  /// dies, no link goes down, no backend is dead and no failure waits for a delivery.
  /// Only when neither it nor a frame ahead of it on the link takes more than a sweep interval
  /// to send and land (serialise() keeps when the last such long frame lands): then the
  /// earliest frame on a link lands within a sweep interval (it is sent by now, or the one
  /// ahead of it has landed), as the sweep's skip over quiet stretches needs (sweep()).
  bool lands_as_sent(HostId host, SimTime at) const;
  /// Counts, now, the landing at `at` on `to` of a frame that lands_as_sent(), of a packet
  /// injected at `injected_at`: what arrive() would count then (one event, the latency, one
  /// delivery). The frame crosses the boundary all the same (crossed()).
  void land_as_sent(HostId host, HostId to, SourceId source, bool reply, SimTime injected_at,
                    SimTime at);
  /// Whether the egress side reads the whole packet of a journey from `source`: an egress
  /// capture does, and so does a source that answers what it sent (not its answers).
  bool watched(SourceId source, bool reply) const;
  /// watched() for `journey`, and for every generated packet (none) under an egress capture.
  bool needs_packet(JourneyId journey) const;
  /// The front frame on `host`'s link reaches its destination.
  void arrive(HostId host);
  void deliver(PortId port, const Landing& landing, JourneyId journey);

  // Outcomes (accounting.cpp).
  void lose(JourneyId journey, DropId drop);
  void finish_copy(JourneyId journey);
  void finalize(JourneyId journey);
  /// A finished journey that reached a port (delivered) or was answered (consumed).
  void count_arrival(Source& src, bool reply, bool delivered);
  RunReport report();
  std::vector<ExpectationRow> evaluate(const RunReport& report);

  // The NSDB (nsdb_steps.cpp).
  void write(Change change);
  /// The NSDB committed a change visible at `visible`: a publication is due then.
  void published_at(SimTime visible);
  void publish();

  // Failures (failures.cpp): what each kind does to the parts.
  void fail(FailureId failure);
  void host_down(HostId host, FailureId cause);
  void host_up(HostId host, FailureId cause);
  void agent_restart(HostId host);
  /// Stops the agent and loses the packets that waited in it.
  void stop_agent(HostId host);
  void nsdb_replica(std::uint32_t replica, bool up);
  void set_member_alive(PoolId pool, MemberIndex member, bool alive, FailureId cause);
  void set_members_alive(HostId host, bool alive, FailureId cause);

  const Scenario& scenario_;
  TwinOptions options_;
  SimTime end_ = 0;
  bool started_ = false;
  Scheduler sched_;
  Merge merge_;
  Topology topo_;  // the latest published topology
  std::shared_ptr<const Simulator> current_;
  SimState state_;  // the shared MAC/ARP tables and the NAT random stream (and SNAT leases)

  // The parts.
  Agents agents_;
  Nsdb nsdb_;
  UnderlayNet underlay_;
  Replication replication_;
  Failures failures_;
  Accounting accounting_;
  Sources sources_;
};

// The per-packet path of a flow-table hit (inject, datapath, straight_to_wire, route,
// serialise, land_as_sent, ...) is inlined: as separate calls, saving and restoring registers at
// each step cost 15% of what a packet costs the twin (140 of 880 instructions).

[[gnu::always_inline]] inline void Twin::Impl::count_injection(SourceId source, bool reply) {
  ++accounting_.totals.injected;
  TrafficRow& row = sources_[source].row;
  ++(reply ? row.replies_sent : row.sent);
  ++accounting_.live;
}

[[gnu::always_inline]] inline bool Twin::Impl::lands_as_sent(HostId host, SimTime at) const {
  return at < merge_.at_send_until && underlay_.long_lands(host) < sched_.now();
}

[[gnu::always_inline]] inline void Twin::Impl::land_as_sent(HostId host, HostId to, SourceId source,
                                                            bool reply, SimTime injected_at,
                                                            SimTime at) {
  if (options_.on_crossing) crossed(Crossing{Crossing::Kind::kFrame, host, to, sched_.now(), at});
  Source& src = sources_[source];
  if (!reply) {
    src.latencies.add(at - injected_at);
    accounting_.timeline.record(source, at, true);
  }
  count_arrival(src, reply, true);  // no failure yet: nothing waits to recover
  --accounting_.live;               // count_injection's: landing_pending() stands for it
  merge_.landed_as_sent(host, at);
}

[[gnu::always_inline]] inline void Twin::Impl::post_frame(HostId host, const Frame& frame) {
  if (options_.on_crossing) {
    crossed(Crossing{Crossing::Kind::kFrame, host, frame.to, sched_.now(), frame.at});
  }
  if (underlay_.enqueue(host, frame)) merge_.push(Due::frames(host, frame.at));
}

template <typename F>
void Twin::Impl::post(const Crossing& c, F&& deliver) {
  crossed(c);
  sched_.schedule_at(c.lands, std::forward<F>(deliver));
}

}  // namespace hivesim
