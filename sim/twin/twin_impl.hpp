#pragma once
// The run's coordinator (Twin::Impl): the hive of agents, the NSDB, the underlay, the traffic
// sources and the failures, stepped in simulated time by one run loop. The parts keep their own
// data (agent.hpp, nsdb.hpp, underlay.hpp, flow_state.hpp); the coordinator's methods are the
// steps that move a packet or a change from one part to the next, in files named after the
// part they serve:
//   twin.cpp        construction, traffic sources, the Twin facade
//   run_loop.cpp    the merge of scheduler events, landing frames and entering packets; sweeps
//   agent.cpp       a packet entering a host: datapath, simulation, completion, emission
//   delivery.cpp    frames crossing the underlay, landing, delivery at the egress port
//   nsdb_steps.cpp  writes, publications, watches and invalidations
//   failures.cpp    the scenario's failures and backend health checks
//   accounting.cpp  journeys' outcomes, drop rows, the report and its expectations
//
// Invariants: single-threaded and deterministic; every random draw from a stream seeded by the
// scenario seed; nothing reads a clock; no report value depends on hash-table order. Hosts
// interact only through frames and flow-state pushes that cross the underlay, and writes and
// notifications that cross the NSDB, each taking at least that part's latency.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "base/check.hpp"
#include "sim/engine/scheduler.hpp"
#include "sim/flow/expectation.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/twin/agent.hpp"
#include "sim/twin/ids.hpp"
#include "sim/twin/nsdb.hpp"
#include "sim/twin/percentiles.hpp"
#include "sim/twin/slab.hpp"
#include "sim/twin/timeline.hpp"
#include "sim/twin/twin.hpp"
#include "sim/twin/underlay.hpp"

namespace hivesim {
// How often idle flows and conntrack entries are swept (lookups also expire idle flows).
constexpr SimTime kSweepInterval = kSecond;
constexpr int kProgressSteps = 100;
// The end of a run that stops when idle: far beyond any capture, far from overflowing.
constexpr SimTime kForever = SimTime{1} << 62;

constexpr std::uint32_t kNoDrop = UINT32_MAX;  // a journey not dropped (yet)
constexpr std::uint32_t kNoVip = UINT32_MAX;   // a journey no VIP balanced

inline std::uint64_t endpoint_key(Ipv4 ip, std::uint16_t port) {
  return (static_cast<std::uint64_t>(ip.bits) << 16) | port;
}

/// One injected packet, until its fate is known.
struct Journey {
  SimTime injected_at = 0;
  SourceId source;
  std::uint32_t copies = 0;  // copies still travelling (plus one while the ingress decides)
  std::uint32_t drop_id = kNoDrop;
  bool reply = false;
  bool delivered = false;
  bool consumed = false;
  std::uint32_t vip = kNoVip;  // the VIP that balanced it
  // The connection as injected (load-balancer accounting).
  std::uint8_t proto = 0;
  Ipv4 src;
  Ipv4 dst;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
};

/// The next item of a stream the twin keeps outside the scheduler: the front frame of a host's
/// link (key = host) or a source's next packet (key = kSourceKey | source). Frames on a link
/// arrive in the order they were sent and a source yields packets in time order, so only the
/// front of each stream needs a place in the merge: a heap of a few entries instead of a
/// scheduler event per packet.
struct Due {
  SimTime at = 0;
  std::uint32_t key = 0;
  // Earliest first; at the same time frames arrive before packets enter, each by index.
  friend bool operator>(const Due& a, const Due& b) {
    return a.at != b.at ? a.at > b.at : a.key > b.key;
  }
};
constexpr std::uint32_t kSourceKey = 1U << 31;

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

struct Source {
  std::string name;
  std::unique_ptr<TrafficSource> source;
  bool reply = false;
  std::vector<PortId> reply_from;   // where its answers re-enter (empty: where delivered)
  SourcePacket* pending = nullptr;  // the source's record, valid until its next pull
  TrafficRow row;
  LatencyLog latencies;
};

struct FailureWindow {
  std::uint64_t lost = 0;
  SimTime last_loss = 0;
  std::optional<SimTime> recovered_at;
  std::uint64_t invalidated = 0;
};

struct DropKey {
  DropReason reason;
  std::string device;
  std::optional<std::uint32_t> rule;
  friend auto operator<=>(const DropKey&, const DropKey&) = default;
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
  void start();
  void sweep();

  /// Runs everything due up to `limit` in time order (with `until_idle`, stops as soon as
  /// nothing is busy): scheduler events, frames arriving and packets entering, merged. At the
  /// same time, scheduler events go first, then arrivals, then injections.
  void run_until(SimTime limit, bool until_idle);
  std::optional<std::string> over_limits() const;  // hostile input (SPEC section 10)
  /// When the next thing of any kind is due (nullopt: nothing is).
  std::optional<SimTime> next_activity();
  /// Reads the scheduler's next time into next_event_ if it may have changed.
  void refresh_next_event();
  /// Whether `item`, on top of the merge, would run next: no scheduler event at its time or
  /// before, no other stream earlier in the merge's order, and not past `limit`.
  bool runs_next(const Due& item, SimTime limit);
  void push_due(SimTime at, std::uint32_t key);
  /// The running item (on top of the merge) is done: its stream's next item, due at `next`,
  /// takes its place, or with nullopt the stream leaves the merge.
  void reschedule_top(std::uint32_t key, std::optional<SimTime> next);
  void pop_top();

  // Traffic.
  void pull(SourceId source);
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
  /// A journey slot, reset.
  JourneyId alloc_journey();
  /// Whether anything is left to happen: a source with packets, a packet on its way, a write.
  /// Frames counted when sent (lands_as_sent()) are not in it: see landing_pending().
  bool busy() const;
  /// Whether a frame counted when sent has yet to land: one landing now or later (a scheduler
  /// event at the same time runs first, as it would before the frame's arrival).
  bool landing_pending() const { return landed_.at >= sched_.now(); }
  /// Whether something due comes before the last frame counted when sent would have landed (a
  /// scheduler event at its time or earlier, a frame due before it in the merge's order): the
  /// run goes on to it even when nothing is busy, as it would if that frame were on the wire.
  bool landing_ahead() const {
    return (next_event_ && *next_event_ <= landed_.at) || (!due_.empty() && landed_ > due_.front());
  }

  // Datapath and agent.
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
  /// Simulates `packet` into flights_[flight] and schedules its completion.
  void start_simulation(Agent& agent, HostId host, const FlowKey& key, FlightId flight, PortId port,
                        const Packet& packet);
  void complete(CompletionId completion);
  /// Fetches into the cache, ahead, what complete() will read for the completions after
  /// `completion` (their map slots, flights, parked packets, results and journeys).
  void prefetch_after(CompletionId completion);
  /// Frees a flight's slot and its waiting packets' slots.
  void free_flight(FlightId index);
  void emit(HostId host, const Waiting& w, const SimulationResult& result);
  /// Sends `packet` (consumed: the last output is rewritten in place) through `actions`.
  void apply(HostId host, const FlowActions& actions, Packet& packet, JourneyId journey);
  std::optional<FlowActions> actions_for(const Packet& in, const SimulationResult& result);
  void stop_agent(HostId host);
  /// Simulates `packet` entering at `port` on `host`, against that host's flow state, and
  /// pushes what the simulation wrote to its push targets.
  SimulationResult simulate_on(HostId host, PortId port, const Packet& packet);
  /// Sends the journalled keys of a simulation of a flow entering at `in` on `host` to its push
  /// targets: a message each, over the underlay, installed on arrival.
  void replicate(HostId host, PortId in, const SimulationResult& result);
  /// Whether an answer entering at `port` finds the state of its connection there (counted in
  /// flow_state.replies_without_state when it does not).
  void check_answer_state(PortId port, const Packet& answer);
  /// Starts loading `tags` the agent lacks at `from`; returns when they arrive.
  SimTime fetch(Agent& agent, const std::vector<FlowTag>& tags, SimTime from);

  // Underlay.
  /// Sends a copy of `journey` (already counted in its copies) to `port`.
  void send(HostId host, PortId port, const Packet& packet, JourneyId journey);
  /// The drop row (reason tunnel_down) of a frame the underlay's route() lost.
  std::uint32_t route_drop(HostId host, HostId to, UnderlayNet::Route::Lost lost);
  /// Serialises `bytes` (headers included) on `host`'s link after what it is sending: returns
  /// when the frame lands at the far end.
  SimTime serialise(HostId host, std::size_t bytes) {
    return underlay_.serialise(host, bytes, sched_.now(), at_send_bytes_);
  }
  /// Puts `frame` on `host`'s link, behind the frames already on it.
  void enqueue(HostId host, const Frame& frame);
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
  /// Counts, now, the landing at `at` of a frame that lands_as_sent(), of a packet injected at
  /// `injected_at`: what arrive() would count then (one event, the latency, one delivery).
  void land_as_sent(HostId host, SourceId source, bool reply, SimTime injected_at, SimTime at);
  /// Whether the egress side reads the whole packet of a journey from `source`: an egress
  /// capture does, and so does a source that answers what it sent (not its answers).
  bool watched(SourceId source, bool reply) const;
  /// watched() for `journey`, and for every generated packet (kNone) under an egress capture.
  bool needs_packet(JourneyId journey) const;
  /// The front frame on `host`'s link reaches its destination.
  void arrive(HostId host);
  void deliver(PortId port, const Landing& landing, JourneyId journey);

  // Outcomes.
  void lose(JourneyId journey, std::uint32_t drop_id);
  void finish_copy(JourneyId journey);
  void finalize(JourneyId journey);
  /// A finished journey that reached a port (delivered) or was answered (consumed).
  void count_arrival(Source& src, bool reply, bool delivered);
  std::uint32_t intern(const DropInfo& drop);
  std::uint32_t intern(DropReason reason, const std::string& device);
  std::int64_t window_at(SimTime t) const;

  // NSDB.
  void write(Change change);
  /// The NSDB committed a change visible at `visible`: a publication is due then.
  void published_at(SimTime visible);
  void publish();
  std::vector<FlowTag> apply_change(const Change& change);

  // Failures.
  void fail(std::uint32_t index);
  void set_member_alive(std::uint32_t pool, std::uint32_t member, bool alive, std::uint32_t cause);
  void set_members_alive(HostId host, bool alive, std::uint32_t cause);
  void schedule_health_check(std::uint32_t pool, std::uint32_t member, bool healthy,
                             std::uint32_t cause);

  RunReport report();
  std::vector<ExpectationRow> evaluate(const RunReport& report);

  const Scenario& scenario_;
  TwinOptions options_;
  SimTime end_ = 0;
  bool started_ = false;
  std::uint64_t live_journeys_ = 0;
  // The merge (run_until): the fronts of the streams outside the scheduler (a min-heap), the
  // items run from it (events in the report, as scheduler events are), the cached next
  // scheduler time and the scheduler size it was read at.
  std::vector<Due> due_;
  std::uint64_t stream_events_ = 0;
  std::uint32_t pending_sources_ = 0;
  std::optional<SimTime> next_event_;
  std::size_t next_size_ = SIZE_MAX;
  SimTime last_landing_ = 0;
  // Landing as sent (lands_as_sent): frames landing before `at_send_until_` may, if at most
  // `at_send_bytes_` long; the last landing counted so, as the merge would order it (at -1:
  // none).
  SimTime at_send_until_ = -1;
  std::size_t at_send_bytes_ = 0;
  Due landed_{-1, 0};
  Scheduler sched_;
  Topology topo_;  // the latest published topology
  std::shared_ptr<const Simulator> current_;
  SimState state_;
  std::vector<Agent> agents_;
  std::vector<HostId> port_host_;                // exterior ports: their host
  std::vector<std::vector<PortId>> host_ports_;  // per host: its exterior ports
  UnderlayNet underlay_;
  Nsdb nsdb_;
  std::vector<CompletionId> stalled_sims_;  // simulations waiting for the quorum to read
  std::uint64_t state_pushes_ = 0;

  // Flow-state replication (flow_state.hpp): push targets, the keys the running simulation
  // wrote, and the connections (reply keys, device cleared) of answering sources, so that an
  // answer entering a host without their state is counted.
  PushTargets push_targets_;
  std::vector<StateWrite> journal_;
  RunReport::FlowStateRow flow_state_;
  bool any_reply_source_ = false;
  struct AnswerState {
    bool conntrack = false;  // a return-flow key at `ct_device`
    std::uint32_t ct_device = 0;
    std::uint8_t nat = 0;  // bit 0: an SNAT binding, bit 1: a DNAT one, at `nat_device`
    std::uint32_t nat_device = 0;
  };
  absl::flat_hash_map<ConnKey, AnswerState> answered_connections_;

  // Load balancing: backends that died (endpoint -> pool), health-check generations, counts.
  absl::flat_hash_map<std::uint64_t, std::uint32_t> dead_members_;
  std::vector<std::vector<std::uint64_t>> member_generation_;
  std::vector<std::vector<std::uint64_t>> vip_member_connections_;
  absl::flat_hash_set<ConnKey> connections_seen_;

  // Slabs; events carry ids into them.
  Slab<Journey, JourneyId> journeys_;
  Slab<Packet, PacketSlot> packets_;  // whole packets of frames that need them
  Packet scratch_;                    // a rewritten copy, for flows with more than one output
  Packet unparked_;                   // a Waiting packet, unparked to be decided (complete())
  // Simulations in flight (the agents' in_flight maps hold their ids; a slot never moves) and
  // the packets waiting for them.
  Slab<InFlight, FlightId, BlockStorage<InFlight, 256>> flights_;
  Parked parked_;
  Slab<Completion, CompletionId> completions_;

  std::vector<Source> sources_;
  std::map<DropKey, std::uint32_t> drop_ids_;
  std::vector<DropRow> drop_rows_;
  std::vector<std::uint32_t> failure_order_;           // failure indices sorted by time (stable)
  std::vector<FailureWindow> windows_;                 // per failure: the losses after it
  std::vector<std::uint32_t> unrecovered_;             // failures whose losses have not stopped
  absl::flat_hash_set<std::uint32_t> baseline_drops_;  // drop rows seen before any failure
  PacketTotals totals_;
  FlowStats flow_stats_;
  // Per-source landings per time bucket, for the report's timeline (every landing path records).
  TimelineRecorder timeline_{options_.until_idle ? 0 : end_};
};

// The per-packet path of a flow-table hit (inject, datapath, straight_to_wire, route,
// serialise, land_as_sent, ...) is inlined: as separate calls, saving and restoring registers at
// each step cost 15% of what a packet costs the twin (140 of 880 instructions).

[[gnu::always_inline]] inline void Twin::Impl::count_injection(SourceId source, bool reply) {
  ++totals_.injected;
  TrafficRow& row = sources_[source.value].row;
  ++(reply ? row.replies_sent : row.sent);
  ++live_journeys_;
}

[[gnu::always_inline]] inline bool Twin::Impl::lands_as_sent(HostId host, SimTime at) const {
  return at < at_send_until_ && underlay_.long_lands(host) < sched_.now();
}

[[gnu::always_inline]] inline void Twin::Impl::land_as_sent(HostId host, SourceId source,
                                                            bool reply, SimTime injected_at,
                                                            SimTime at) {
  Source& src = sources_[source.value];
  if (!reply) {
    src.latencies.add(at - injected_at);
    timeline_.record(source.value, at, true);
  }
  count_arrival(src, reply, true);  // no failure yet: nothing waits to recover
  --live_journeys_;                 // count_injection's: landing_pending() stands for it
  ++stream_events_;
  if (const Due landing{at, host.value}; landing > landed_) landed_ = landing;
  last_landing_ = std::max(last_landing_, at);
}

inline void Twin::Impl::reschedule_top(std::uint32_t key, std::optional<SimTime> next) {
  HIVESIM_CHECK(!due_.empty() && due_.front().key == key, "a stream item ran off the top");
  if (!next) {
    pop_top();
    return;
  }
  // Later than (or as early as) before: sift it down, moving earlier children up into the hole.
  const Due item{*next, key};
  Due* const heap = due_.data();
  const std::size_t n = due_.size();
  std::size_t i = 0;
  for (std::size_t child = 1; child < n; child = 2 * i + 1) {
    if (child + 1 < n && heap[child] > heap[child + 1]) ++child;
    if (!(item > heap[child])) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = item;
}

}  // namespace hivesim
