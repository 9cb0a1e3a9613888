#include "sim/twin/twin.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/numeric/int128.h>
#include <boost/container/deque.hpp>
#include <boost/container/options.hpp>

#include "sim/datapath/flow_table.hpp"
#include "sim/datapath/rewrite.hpp"
#include "sim/engine/scheduler.hpp"
#include "sim/flow/expectation.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/packet/codec.hpp"
#include "sim/twin/percentiles.hpp"
#include "topology/check.hpp"

namespace hivesim {
namespace {

constexpr std::uint32_t kNone = UINT32_MAX;
// Outer Ethernet + IPv4 + UDP + VXLAN headers; outer Ethernet + IPv4 + GRE with a key.
constexpr std::size_t kVxlanOverhead = 50;
constexpr std::size_t kGreOverhead = 42;
// How often idle flows and conntrack entries are swept (lookups also expire idle flows).
constexpr SimTime kSweepInterval = kSecond;
constexpr int kProgressSteps = 100;
// The end of a run that stops when idle: far beyond any capture, far from overflowing.
constexpr SimTime kForever = SimTime{1} << 62;
constexpr std::size_t kTransmitTimes = 2048;  // frame sizes whose transmit time is remembered

std::uint64_t tag_key(FlowTag t) {
  return (static_cast<std::uint64_t>(t.kind) << 32) | t.id;
}

std::uint64_t pair_key(std::uint32_t a, std::uint32_t b) {
  return (static_cast<std::uint64_t>(std::min(a, b)) << 32) | std::max(a, b);
}

std::uint64_t endpoint_key(Ipv4 ip, std::uint16_t port) {
  return (static_cast<std::uint64_t>(ip.bits) << 16) | port;
}

/// Exact-match hashing of a flow key (packets waiting on the same in-flight simulation).
struct ExactKeyHash {
  std::size_t operator()(const FlowKey& k) const {
    // A FlowKey has no padding (packet.hpp checks): its bytes are its value, hashed at once
    // rather than field by field (a quarter of the instructions).
    return absl::HashOf(std::bit_cast<std::array<std::uint64_t, sizeof(FlowKey) / 8>>(k));
  }
};

/// A topology change written to the NSDB.
struct Change {
  enum class Kind : std::uint8_t { kPortsActive, kPortAdmin, kRule, kMemberHealth };
  Kind kind = Kind::kPortAdmin;
  std::uint32_t target = 0;  // host (kPortsActive), port (kPortAdmin), pool (kMemberHealth)
  std::uint32_t member = 0;  // kMemberHealth: index in the pool
  bool value = true;
  RuleChange rule;              // kRule
  std::uint32_t cause = kNone;  // the failure row credited with the flows it invalidates
};

/// One injected packet, until its fate is known.
struct Journey {
  SimTime injected_at = 0;
  std::uint32_t source = 0;
  std::uint32_t copies = 0;  // copies still travelling (plus one while the ingress decides)
  std::uint32_t drop_id = kNone;
  bool reply = false;
  bool delivered = false;
  bool consumed = false;
  std::uint32_t vip = kNone;  // the VIP that balanced it
  // The connection as injected (load-balancer accounting).
  std::uint8_t proto = 0;
  Ipv4 src;
  Ipv4 dst;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
};

/// A packet waiting for its flow's simulation, kept in about half a Packet's space: its common
/// fields and payload. A packet with ARP addresses, IP options or a quoted header set is kept
/// whole instead. At a replay's start, tens of thousands of packets wait (each packet of a new
/// flow until the agent has simulated it), and writing them to fresh memory was most of what a
/// flow miss cost the twin.
struct Waiting {
  PortId port;
  std::uint32_t journey = kNone;
  PacketFields fields;
  std::vector<std::uint8_t> payload;
  std::unique_ptr<Packet> whole;  // set when the packet has more than fields and payload

  Waiting(PortId at, Packet&& packet, std::uint32_t j) : port(at), journey(j) {
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

/// A simulation the agent is running; packets of the same flow wait on it, in a list of the
/// twin's parked packets (Parked).
struct InFlight {
  SimulationResult result;
  std::uint32_t first = kNone;   // the first waiting packet: the one that was simulated
  std::uint64_t change_seq = 0;  // the NSDB change sequence when the simulation started
};

/// An agent's entry for a flow in flight: its InFlight, and its last waiting packet, so that a
/// packet parks after it without reading the InFlight. 64 bytes a slot with its key.
struct FlightRef {
  std::uint32_t flight = kNone;
  std::uint32_t last = kNone;
};

/// A slab that events index into: a deque in blocks of kBlock elements, so that growing it
/// never moves (nor copies) an element, and finding one is a shift.
template <typename T, std::size_t kBlock>
using Slab = boost::container::deque<
    T, void, boost::container::deque_options_t<boost::container::block_size<kBlock>>>;

/// The packets waiting for simulations, in one pool: a packet parks at the pool's end (or in a
/// slot freed last) instead of in a list of its flight's own, and its flight's list links it
/// through `next`, an array of its own, small enough to stay in cache. (At a replay's start
/// ~50,000 packets park behind ~10,000 simulations: lists of their own grew by reallocation, and
/// the flights' map entries that held them took 4 MB, missing the cache at every park.)
class Parked {
 public:
  /// Parks `packet`; its index, the end of a list.
  std::uint32_t park(PortId port, Packet&& packet, std::uint32_t journey) {
    if (free_.empty()) {
      slots_.emplace_back(port, std::move(packet), journey);
      next_.push_back(kNone);
      return static_cast<std::uint32_t>(slots_.size() - 1);
    }
    const std::uint32_t i = free_.back();
    free_.pop_back();
    slots_[i] = Waiting(port, std::move(packet), journey);
    next_[i] = kNone;
    return i;
  }
  /// Appends `i` to the list that ends with `last`.
  void link(std::uint32_t last, std::uint32_t i) { next_[last] = i; }
  Waiting& operator[](std::uint32_t i) { return slots_[i]; }
  std::uint32_t next(std::uint32_t i) const { return next_[i]; }
  /// Gives slot `i` back (its list is not walked past it again).
  void free(std::uint32_t i) { free_.push_back(i); }

 private:
  Slab<Waiting, 512> slots_;
  std::vector<std::uint32_t> next_;
  std::vector<std::uint32_t> free_;
};

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

/// A frame in the underlay, from its ingress host's datapath to the egress host. Small (48
/// bytes): the packet itself is kept (in a slab) only when the egress side needs all of it.
/// A frame that is the only copy of its packet, which nothing has happened to yet, carries its
/// journey (the three fields such a journey has) and frees its slot: on a congested link most
/// packets are on the wire, and they then cost one streamed frame each, not a frame plus a
/// journey slot met again, out of cache, when the frame lands.
struct Frame {
  SimTime at = 0;  // when it reaches `to`
  HostId to;
  PortId port;
  std::uint32_t journey = kNone;  // or kParked: the journey is the fields below
  std::uint32_t packet = kNone;   // index into the packet slab, or kNone
  Ipv4 dst;                       // with ipv4_tcp: the TCP destination (a backend may be dead)
  std::uint16_t dport = 0;
  bool ipv4_tcp = false;
  bool reply = false;  // kParked: the journey's
  std::uint32_t source = 0;
  SimTime injected_at = 0;
};
constexpr std::uint32_t kParked = kNone - 1;

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
  SimTime busy_until = 0;              // the agent simulates one flow at a time
  std::uint32_t last_started = kNone;  // the completion of its latest simulation (a hint)
  SimTime tx_free = 0;                 // the host's underlay link is busy until then
  // When the last frame that takes more than a sweep interval to send and land (longer than
  // at_send_bytes_) lands: see lands_as_sent.
  SimTime long_lands = -1;
  // Frames sent on the host's link, in arrival order (the link is FIFO and the latency the same
  // for all): the front one is in the twin's merge (Due).
  std::deque<Frame> wire;
  std::uint64_t down_generation = 0;
};

struct Completion {
  std::uint32_t agent = 0;
  /// The completion of the simulation the agent started after this one (kNone: none yet), most
  /// often the next to complete: complete() fetches its data ahead. Only a hint: that one may
  /// have completed first and its slot been reused.
  std::uint32_t next = kNone;
  std::uint64_t epoch = 0;
  FlowKey key;
  std::uint32_t flight = kNone;  // its InFlight
};

struct Source {
  std::string name;
  std::unique_ptr<TrafficSource> source;
  bool reply = false;
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

}  // namespace

class Twin::Impl {
 public:
  Impl(const Scenario& scenario, TwinOptions options);

  Result<bool> add_scenario_traffic();
  void add_source(std::string name, std::unique_ptr<TrafficSource> source, bool reply);
  RunReport run();
  void advance(SimTime t);
  std::optional<std::string> stopped_;  // set when the scenario's limits were passed
  const Simulator& simulator() const { return *current_; }
  SimState& state() { return state_; }

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
  void pull(std::uint32_t source);
  /// Injects the source's pending packet and pulls its next one; and again while that one is
  /// the next thing to run (up to `limit`), as run_until would, without a round through the
  /// merge per packet.
  void inject_pending(std::uint32_t source, SimTime limit);
  /// `record`: the source's record that holds `packet`, when the source extracted it (it may
  /// have left the packet unparsed: SourcePacket::parse() before reading it); else nullptr.
  void inject(std::uint32_t source, PortId port, Packet&& packet, bool reply,
              SourcePacket* record = nullptr);
  void inject_malformed(std::uint32_t source, PortId port);
  std::uint32_t new_journey(std::uint32_t source, const Packet& packet, bool reply);
  /// The counters of an injected packet (new_journey's, for a packet that needs no slot).
  void count_injection(std::uint32_t source, bool reply);
  /// A journey slot, reset.
  std::uint32_t alloc_journey();
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
  void datapath(std::uint32_t host, PortId port, Packet&& packet, std::uint32_t source, bool reply,
                SourcePacket* record);
  /// A flow-table hit that needs no journey slot: one output, to another host, nothing balanced,
  /// nobody at the far end who looks at or answers the packet. It goes on the wire as a frame
  /// carrying its journey (see Frame). False, doing nothing, for any other hit.
  /// The frame is made from `key` and the rewrite, without reading or writing the packet beyond
  /// its length (in the record's extraction, when given): a capture's packet stays in its
  /// reader's cache, or unparsed.
  bool straight_to_wire(std::uint32_t host, const FlowActions& actions, Packet& packet,
                        const FlowKey& key, SourcePacket* record, std::uint32_t source, bool reply);
  /// Simulates `packet` into flights_[flight] and schedules its completion.
  void start_simulation(Agent& agent, std::uint32_t host, const FlowKey& key, std::uint32_t flight,
                        PortId port, const Packet& packet);
  void complete(std::uint32_t completion);
  /// Fetches into the cache, ahead, what complete() will read for the completions after
  /// `completion` (their map slots, flights, parked packets, results and journeys).
  void prefetch_after(std::uint32_t completion);
  /// Frees a flight's slot and its waiting packets' slots.
  void free_flight(std::uint32_t index);
  void emit(std::uint32_t host, const Waiting& w, const SimulationResult& result);
  /// Sends `packet` (consumed: the last output is rewritten in place) through `actions`.
  void apply(std::uint32_t host, const FlowActions& actions, Packet& packet, std::uint32_t journey);
  std::optional<FlowActions> actions_for(const Packet& in, const SimulationResult& result);
  void stop_agent(std::uint32_t host);
  /// Starts loading `tags` the agent lacks at `from`; returns when they arrive.
  SimTime fetch(Agent& agent, const std::vector<FlowTag>& tags, SimTime from);

  // Underlay.
  /// Sends a copy of `journey` (already counted in its copies) to `port`.
  void send(std::uint32_t host, PortId port, const Packet& packet, std::uint32_t journey);
  /// The tunnel a frame from `host` to `to` takes now: its header size, or why the frame is lost
  /// (no tunnel zone joins them or their link is down; the underlay lost it: one draw of the
  /// underlay's random stream when it has loss).
  struct Route {
    enum class Lost : std::uint8_t { kNo, kTunnel, kUnderlay };
    std::size_t overhead = 0;
    Lost lost = Lost::kNo;
  };
  Route route(std::uint32_t host, std::uint32_t to);
  /// The drop row (reason tunnel_down) of a frame `route` lost.
  std::uint32_t route_drop(std::uint32_t host, std::uint32_t to, Route::Lost lost);
  /// Serialises `bytes` (headers included) on `host`'s link after what it is sending: returns
  /// when the frame lands at the far end.
  SimTime serialise(std::uint32_t host, std::size_t bytes);
  /// Puts `frame` on `host`'s link, behind the frames already on it.
  void enqueue(std::uint32_t host, const Frame& frame);
  /// Whether the frame serialise() has just put on `host`'s link, landing `at`, lands exactly
  /// as sent whatever happens meanwhile, so that its landing can be counted now instead of on
  /// arrival (land_as_sent). Only during run() (trace's advance() stops part-way), and only for
  /// frames that land by the end of the run and before the first failure: until then no host
  /// dies, no link goes down, no backend is dead and no failure waits for a delivery.
  /// Only when neither it nor a frame ahead of it on the link takes more than a sweep interval
  /// to send and land (serialise() keeps when the last such long frame lands): then the
  /// earliest frame on a link lands within a sweep interval (it is sent by now, or the one
  /// ahead of it has landed), as the sweep's skip over quiet stretches needs (sweep()).
  bool lands_as_sent(std::uint32_t host, SimTime at) const;
  /// Counts, now, the landing at `at` of a frame that lands_as_sent(), of a packet injected at
  /// `injected_at`: what arrive() would count then (one event, the latency, one delivery).
  void land_as_sent(std::uint32_t host, std::uint32_t source, bool reply, SimTime injected_at,
                    SimTime at);
  /// How long the host's link takes to send a frame of `bytes` (headers included).
  SimTime transmit_time(std::size_t bytes) const;
  /// transmit_time(), remembered for frames up to kTransmitTimes bytes (a division per frame
  /// is a good part of what a frame costs).
  SimTime transmit_time_of(std::size_t bytes);
  /// The longest frame the link sends within `budget` (0 when the budget is negative).
  std::size_t bytes_within(SimTime budget) const;
  /// Whether the egress side reads the whole packet of a journey from `source`: an egress
  /// capture does, and so does a source that answers what it sent (not its answers).
  bool watched(std::uint32_t source, bool reply) const;
  /// watched() for `journey`, and for every generated packet (kNone) under an egress capture.
  bool needs_packet(std::uint32_t journey) const;
  /// The front frame on `host`'s link reaches its destination.
  void arrive(std::uint32_t host);
  void deliver(PortId port, const Landing& landing, std::uint32_t journey);

  // Outcomes.
  void lose(std::uint32_t journey, std::uint32_t drop_id);
  void finish_copy(std::uint32_t journey);
  void finalize(std::uint32_t journey);
  /// A finished journey that reached a port (delivered) or was answered (consumed).
  void count_arrival(Source& src, bool reply, bool delivered);
  std::uint32_t intern(const DropInfo& drop);
  std::uint32_t intern(DropReason reason, const std::string& device);
  std::int64_t window_at(SimTime t) const;

  // NSDB.
  bool quorum() const;
  void write(Change change);
  void commit(Change change);
  void publish();
  std::vector<FlowTag> apply_change(const Change& change);

  // Failures.
  void fail(std::uint32_t index);
  void set_member_alive(std::uint32_t pool, std::uint32_t member, bool alive, std::uint32_t cause);
  void set_members_alive(std::uint32_t host, bool alive, std::uint32_t cause);
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
  std::vector<SimTime> transmit_times_;  // transmit_time_of(): by size, -1 until computed
  Due landed_{-1, 0};
  Scheduler sched_;
  Topology topo_;  // the latest published topology
  std::shared_ptr<const Simulator> current_;
  SimState state_;
  std::vector<Agent> agents_;
  std::vector<HostId> port_host_;                // exterior ports: their host
  std::vector<std::vector<PortId>> host_ports_;  // per host: its exterior ports
  std::vector<std::vector<std::uint32_t>> host_zones_;
  // Per host: its tunnel zone when it is in one only, else kNone.
  std::vector<std::uint32_t> sole_zone_;
  absl::flat_hash_set<std::uint64_t> links_down_;
  std::uint64_t underlay_rng_ = 0;

  // NSDB.
  std::vector<bool> replica_up_;
  std::deque<std::pair<SimTime, Change>> committed_;
  std::vector<Change> stalled_writes_;
  std::vector<std::uint32_t> stalled_sims_;  // completion slots waiting for the quorum
  std::uint64_t change_seq_ = 0;             // bumped by every publication that changed something
  absl::flat_hash_map<std::uint64_t, std::uint64_t> tag_changed_;  // tag -> last change seq
  std::uint64_t nsdb_writes_ = 0;
  std::uint64_t nsdb_notifications_ = 0;
  std::uint64_t state_pushes_ = 0;

  // Load balancing: backends that died (endpoint -> pool), health-check generations, counts.
  absl::flat_hash_map<std::uint64_t, std::uint32_t> dead_members_;
  std::vector<std::vector<std::uint64_t>> member_generation_;
  std::vector<std::vector<std::uint64_t>> vip_member_connections_;
  absl::flat_hash_set<ConnKey> connections_seen_;

  // Slabs; events carry indices into them.
  std::vector<Journey> journeys_;
  std::vector<std::uint32_t> free_journeys_;
  std::vector<Packet> packets_;  // whole packets of frames that need them
  std::vector<std::uint32_t> free_packets_;
  Packet scratch_;   // a rewritten copy, for flows with more than one output
  Packet unparked_;  // a Waiting packet, unparked to be decided (complete())
  // Simulations in flight (the agents' in_flight maps hold their indices; a slot freed is
  // reused, and never moves) and the packets waiting for them.
  Slab<InFlight, 256> flights_;
  std::vector<std::uint32_t> free_flights_;
  Parked parked_;
  std::vector<Completion> completions_;
  std::vector<std::uint32_t> free_completions_;

  std::vector<Source> sources_;
  std::map<DropKey, std::uint32_t> drop_ids_;
  std::vector<DropRow> drop_rows_;
  std::vector<std::uint32_t> failure_order_;           // failure indices sorted by time (stable)
  std::vector<FailureWindow> windows_;                 // per failure: the losses after it
  std::vector<std::uint32_t> unrecovered_;             // failures whose losses have not stopped
  absl::flat_hash_set<std::uint32_t> baseline_drops_;  // drop rows seen before any failure
  PacketTotals totals_;
  FlowStats flow_stats_;
};

// ---------------------------------------------------------------------------------------------
// Construction

Twin::Impl::Impl(const Scenario& scenario, TwinOptions options)
    : scenario_(scenario),
      options_(std::move(options)),
      end_(options_.until_idle ? kForever : options_.until.value_or(scenario.duration)),
      topo_(scenario.topology),
      current_(std::make_shared<const Simulator>(scenario.topology)),
      state_(scenario.seed),
      port_host_(scenario.topology.ports.size()),
      host_ports_(scenario.topology.hosts.size()),
      host_zones_(scenario.topology.hosts.size()),
      underlay_rng_(scenario.seed ^ 0x9e3779b97f4a7c15ULL),
      replica_up_(scenario.nsdb.replicas, true),
      windows_(scenario.failures.size()) {
  agents_.reserve(topo_.hosts.size());
  for (const Host& h : topo_.hosts) {
    agents_.emplace_back(h.agent);
    agents_.back().sim = current_;
  }
  for (std::uint32_t p = 0; p < topo_.ports.size(); ++p) {
    if (const auto& host = topo_.ports[p].host) {
      port_host_[p] = *host;
      host_ports_[host->value].push_back(PortId{p});
    }
  }
  for (std::uint32_t z = 0; z < topo_.tunnel_zones.size(); ++z) {
    for (HostId h : topo_.tunnel_zones[z].hosts)
      host_zones_[h.value].push_back(z);
  }
  for (const std::vector<std::uint32_t>& zones : host_zones_)
    sole_zone_.push_back(zones.size() == 1 ? zones.front() : kNone);
  member_generation_.resize(topo_.pools.size());
  for (std::uint32_t p = 0; p < topo_.pools.size(); ++p) {
    member_generation_[p].resize(topo_.pools[p].members.size());
  }
  vip_member_connections_.resize(topo_.vips.size());
  for (std::uint32_t v = 0; v < topo_.vips.size(); ++v) {
    vip_member_connections_[v].resize(topo_.pools[topo_.vips[v].pool.value].members.size());
  }
  for (std::uint32_t i = 0; i < scenario.failures.size(); ++i)
    failure_order_.push_back(i);
  std::stable_sort(failure_order_.begin(), failure_order_.end(),
                   [&scenario](std::uint32_t a, std::uint32_t b) {
                     return scenario.failures[a].at < scenario.failures[b].at;
                   });
}

Result<bool> Twin::Impl::add_scenario_traffic() {
  if (!options_.scenario_traffic) return true;
  for (const Traffic& t : scenario_.traffic) {
    if (const auto* syn = std::get_if<SyntheticTraffic>(&t.source)) {
      auto source = SyntheticSource::make(*current_, *syn);
      if (!source) {
        return Error{scenario_.file + ":" + std::to_string(syn->packet_loc.line) + ":" +
                     std::to_string(syn->packet_loc.col) + ": error: traffic '" + t.name +
                     "': " + source.error()};
      }
      add_source(t.name, std::make_unique<SyntheticSource>(std::move(*source)), syn->reply);
    } else {
      const std::string where = scenario_.file + ":" + std::to_string(t.loc.line) + ":" +
                                std::to_string(t.loc.col) + ": error: traffic '" + t.name + "': ";
      if (!options_.open_pcap) return Error{where + "pcap traffic sources need the pcap reader"};
      auto source = options_.open_pcap(t, std::get<PcapTraffic>(t.source));
      if (!source) return Error{where + source.error()};
      add_source(t.name, std::move(*source), false);
    }
  }
  return true;
}

void Twin::Impl::add_source(std::string name, std::unique_ptr<TrafficSource> source, bool reply) {
  Source s;
  s.row.name = name;
  s.name = std::move(name);
  s.source = std::move(source);
  s.reply = reply;
  sources_.push_back(std::move(s));
}

// ---------------------------------------------------------------------------------------------
// Traffic

void Twin::Impl::pull(std::uint32_t index) {
  Source& s = sources_[index];
  const bool had = s.pending != nullptr;
  s.pending = s.source->next();
  if (s.pending != nullptr && s.pending->at > end_) s.pending = nullptr;
  pending_sources_ += (s.pending != nullptr) - had;
}

// The per-packet path of a flow-table hit (inject, datapath, straight_to_wire, route,
// serialise, land_as_sent, ...) is marked always_inline: as separate calls, saving and restoring
// registers at each step cost 15% of what a packet costs the twin (140 of 880 instructions).
void Twin::Impl::inject_pending(std::uint32_t index, SimTime limit) {
  for (std::uint32_t tick = 1;; ++tick) {
    // A source far faster than the agents would otherwise stay in this loop (limits).
    if (tick % 1024 == 0 && (stopped_ = over_limits())) return;
    // Injected from where it waits (pull() replaces it next): no copy of the packet.
    SourcePacket& sp = *sources_[index].pending;
    if (sp.extracted) {  // extracted ahead: the record's other lines are read only if needed
      inject(index, sp.port, std::move(sp.packet), false, &sp);
    } else if (sp.malformed) {
      inject_malformed(index, sp.port);
    } else {
      inject(index, sp.port, std::move(sp.packet), false);
    }
    pull(index);
    const SourcePacket* next = sources_[index].pending;
    if (next == nullptr) {
      reschedule_top(kSourceKey | index, std::nullopt);
      return;
    }
    const Due item{std::max(next->at, sched_.now()), kSourceKey | index};
    if (!runs_next(item, limit)) {
      reschedule_top(item.key, item.at);
      return;
    }
    sched_.advance_to(item.at);
    ++stream_events_;
  }
}

void Twin::Impl::inject_malformed(std::uint32_t source, PortId port) {
  // A frame that does not parse never reaches a flow table: the datapath drops it.
  Packet nothing;
  nothing.ethertype = 0;
  const std::uint32_t j = new_journey(source, nothing, false);
  lose(j, intern(DropReason::kMalformed, topo_.ports[port.value].name));
}

std::uint32_t Twin::Impl::alloc_journey() {
  if (free_journeys_.empty()) {
    journeys_.emplace_back();
    return static_cast<std::uint32_t>(journeys_.size() - 1);
  }
  const std::uint32_t j = free_journeys_.back();
  free_journeys_.pop_back();
  journeys_[j] = Journey{};
  return j;
}

std::uint32_t Twin::Impl::new_journey(std::uint32_t source, const Packet& packet, bool reply) {
  const std::uint32_t j = alloc_journey();
  Journey& jr = journeys_[j];
  jr.injected_at = sched_.now();
  jr.source = source;
  jr.copies = 1;
  jr.reply = reply;
  jr.proto = packet.is_ipv4() ? packet.proto : 0;
  jr.src = packet.src;
  jr.dst = packet.dst;
  jr.sport = packet.sport;
  jr.dport = packet.dport;
  count_injection(source, reply);
  return j;
}

[[gnu::always_inline]] inline void Twin::Impl::count_injection(std::uint32_t source, bool reply) {
  ++totals_.injected;
  TrafficRow& row = sources_[source].row;
  ++(reply ? row.replies_sent : row.sent);
  ++live_journeys_;
}

[[gnu::always_inline]] inline void Twin::Impl::inject(std::uint32_t source, PortId port,
                                                      Packet&& packet, bool reply,
                                                      SourcePacket* record) {
  const std::uint32_t host = port_host_[port.value].value;
  if (!agents_[host].alive) {
    if (record != nullptr) record->parse();
    lose(new_journey(source, packet, reply), intern(DropReason::kHostDown, topo_.hosts[host].name));
    return;
  }
  datapath(host, port, std::move(packet), source, reply, record);
}

// ---------------------------------------------------------------------------------------------
// Datapath and agent

[[gnu::always_inline]] inline void Twin::Impl::datapath(std::uint32_t host, PortId port,
                                                        Packet&& packet, std::uint32_t source,
                                                        bool reply, SourcePacket* record) {
  Agent& agent = agents_[host];
  std::optional<FlowKey> computed;
  const FlowKey& key =
      record != nullptr ? record->extracted->key : computed.emplace(flow_key(packet, port));
  if (const FlowActions* actions = agent.table.lookup(key, sched_.now())) {
    ++flow_stats_.cache_hits;
    if (straight_to_wire(host, *actions, packet, key, record, source, reply)) return;
    if (record != nullptr) record->parse();
    apply(host, *actions, packet, new_journey(source, packet, reply));
    return;
  }
  if (record != nullptr) record->parse();
  ++flow_stats_.cache_misses;
  const std::uint32_t journey = new_journey(source, packet, reply);
  auto [it, fresh] = agent.in_flight.try_emplace(key);
  FlightRef& ref = it->second;
  if (fresh) {
    if (free_flights_.empty()) {
      ref.flight = static_cast<std::uint32_t>(flights_.size());
      flights_.emplace_back();
    } else {
      ref.flight = free_flights_.back();
      free_flights_.pop_back();
    }
    start_simulation(agent, host, key, ref.flight, port, packet);
  }
  const std::uint32_t parked = parked_.park(port, std::move(packet), journey);
  if (ref.last == kNone) {
    flights_[ref.flight].first = parked;
  } else {
    parked_.link(ref.last, parked);
  }
  ref.last = parked;
}

[[gnu::always_inline]] inline bool Twin::Impl::straight_to_wire(std::uint32_t host,
                                                                const FlowActions& actions,
                                                                Packet& packet, const FlowKey& key,
                                                                SourcePacket* record,
                                                                std::uint32_t source, bool reply) {
  if (actions.verdict != Verdict::kDelivered || actions.outputs.size() != 1 ||
      actions.balanced_vip != 0 || watched(source, reply)) {
    return false;
  }
  const FlowOutput& out = actions.outputs.front();
  const std::uint32_t to = port_host_[out.port.value].value;
  if (to == host) return false;
  // What apply() and send() would do with a journey of one copy, which send() then parks.
  const Route r = route(host, to);
  if (r.lost != Route::Lost::kNo) {
    if (record != nullptr) record->parse();
    lose(new_journey(source, packet, reply), route_drop(host, to, r.lost));
    return true;
  }
  count_injection(source, reply);
  // The rewritten packet's length, and the TCP destination a dead backend is looked up by.
  const PacketRewrite& rw = out.rewrite;
  const Extracted* extracted = record != nullptr ? &*record->extracted : nullptr;
  const std::size_t length = extracted != nullptr
                                 ? rewritten_length(rw, extracted->length, extracted->vlan_count)
                                 : rewritten_length(rw, wire_length(packet), packet.vlan_count);
  const std::size_t bytes = length + r.overhead;
  const SimTime at = serialise(host, bytes);
  if (lands_as_sent(host, at)) {
    land_as_sent(host, source, reply, sched_.now(), at);
    return true;
  }
  Frame frame{at,
              HostId{to},
              out.port,
              kParked,
              kNone,
              rw.has(RewriteField::kNwDst) ? rw.nw_dst : key.nw_dst,
              rw.has(RewriteField::kTpDst) ? rw.tp_dst : key.tp_dst,
              key.ethertype == ethertype::kIpv4 && key.nw_proto == ipproto::kTcp};
  frame.reply = reply;
  frame.source = source;
  frame.injected_at = sched_.now();
  enqueue(host, frame);
  return true;
}

void Twin::Impl::start_simulation(Agent& agent, std::uint32_t host, const FlowKey& key,
                                  std::uint32_t index, PortId port, const Packet& packet) {
  InFlight& flight = flights_[index];
  const std::size_t state_before = state_.conntrack.size() + state_.nat.size();
  SimulateOptions opts;
  opts.now = sched_.now();
  flight.result = agent.sim->simulate(port, packet, state_, opts);
  ++flow_stats_.simulations;

  // State a simulation created is pushed to the hosts that will see the return traffic.
  if (state_.conntrack.size() + state_.nat.size() > state_before) {
    absl::flat_hash_set<std::uint32_t> peers;
    for (const OutPacket& o : flight.result.out) {
      if (port_host_[o.port.value].value != host) peers.insert(port_host_[o.port.value].value);
    }
    state_pushes_ += peers.size();
  }

  // The agent simulates one flow at a time. Objects it has not loaded yet are fetched from
  // the NSDB together, one round trip; the fetch parks the simulation but does not hold the
  // agent. An object another simulation is still fetching is ready when that fetch is.
  const SimTime begin = std::max(agent.busy_until, sched_.now());
  agent.busy_until = begin + agent.config.sim_latency;
  SimTime ready = agent.busy_until;
  bool missing = false;
  for (const FlowTag& t : flight.result.tags) {
    const auto it = agent.cache.find(tag_key(t));
    if (it == agent.cache.end()) {
      missing = true;
    } else {
      ready = std::max(ready, it->second);
    }
  }
  flight.change_seq = change_seq_;
  std::uint32_t c;
  if (free_completions_.empty()) {
    c = static_cast<std::uint32_t>(completions_.size());
    completions_.emplace_back();
  } else {
    c = free_completions_.back();
    free_completions_.pop_back();
  }
  completions_[c] = Completion{host, kNone, agent.epoch, key, index};
  if (agent.last_started != kNone && agent.last_started != c)
    completions_[agent.last_started].next = c;
  agent.last_started = c;
  if (missing && !quorum()) {
    // Nothing can be read without a quorum: the simulation waits for it (fetch_stalled()).
    stalled_sims_.push_back(c);
    return;
  }
  // As in MidoNet, a simulation that needs an object parks until it arrives, then runs again.
  if (missing) ready = std::max(ready, fetch(agent, flight.result.tags, agent.busy_until));
  sched_.schedule_at(ready, [this, c] { complete(c); });
}

SimTime Twin::Impl::fetch(Agent& agent, const std::vector<FlowTag>& tags, SimTime from) {
  const SimTime arrival = from + scenario_.nsdb.latency;
  for (const FlowTag& t : tags)
    agent.cache.try_emplace(tag_key(t), arrival);
  return arrival;
}

void Twin::Impl::prefetch_after(std::uint32_t c) {
  // A pipeline over the completions that follow, each stage reading only what the one before
  // fetched: the third's map slot and flight, the second's packets and result, the next one's
  // packets' journeys. (Each link may be stale, then only a cache line is wasted; every walk
  // is bounded.)
  const auto prefetch = [](const void* data, std::size_t bytes) {
    const char* p = static_cast<const char*>(data);
    for (std::size_t at = 0; at < bytes; at += 64)
      __builtin_prefetch(p + at);
  };
  constexpr int kMostPackets = 32;
  const std::uint32_t first = completions_[c].next;
  if (first == kNone) return;
  const std::uint32_t second = completions_[first].next;
  if (second != kNone) {
    if (const std::uint32_t third = completions_[second].next; third != kNone) {
      const Completion& t = completions_[third];
      agents_[t.agent].in_flight.prefetch(t.key);
      prefetch(&flights_[t.flight], sizeof(InFlight));
    }
    const InFlight& flight = flights_[completions_[second].flight];
    int count = 0;
    for (std::uint32_t p = flight.first; p != kNone && count < kMostPackets;
         p = parked_.next(p), ++count) {
      prefetch(&parked_[p], sizeof(Waiting));
    }
    prefetch(flight.result.tags.data(), flight.result.tags.size() * sizeof(FlowTag));
    prefetch(flight.result.out.data(), flight.result.out.size() * sizeof(OutPacket));
  }
  int count = 0;
  for (std::uint32_t p = flights_[completions_[first].flight].first;
       p != kNone && count < kMostPackets; p = parked_.next(p), ++count) {
    __builtin_prefetch(&journeys_[parked_[p].journey]);
  }
}

void Twin::Impl::complete(std::uint32_t c) {
  // In a replay's tail thousands of simulations complete back to back, each reading packets
  // parked long before: without fetching ahead, cache misses took most of the time.
  prefetch_after(c);
  const Completion done = completions_[c];
  free_completions_.push_back(c);
  Agent& agent = agents_[done.agent];
  if (agent.epoch != done.epoch) return;  // the agent stopped; its packets were dropped then
  const auto entry = agent.in_flight.find(done.key);
  HIVESIM_CHECK(entry != agent.in_flight.end(), "a completion without its in-flight simulation");
  const std::uint32_t index = entry->second.flight;
  agent.in_flight.erase(entry);
  // (The flight's slot stays put while its packets are sent, and is freed after.)
  const InFlight& flight = flights_[index];
  const SimulationResult& result = flight.result;
  Waiting& simulated = parked_[flight.first];
  simulated.unpark(unparked_);  // the packet simulated (unparked_ is reused below)
  // A change to an object the simulation read, published while it ran, makes its result
  // stale: it still decides the packets that waited for it, but no flow is installed. (No
  // change at all since it started, the common case, needs no look at its tags.)
  const bool stale = flight.change_seq != change_seq_ &&
                     std::any_of(result.tags.begin(), result.tags.end(), [&](FlowTag t) {
                       const auto it = tag_changed_.find(tag_key(t));
                       return it != tag_changed_.end() && it->second > flight.change_seq;
                     });
  std::optional<FlowActions> actions = stale ? std::nullopt : actions_for(unparked_, result);
  if (actions) {
    agent.table.install(done.key, result.mask, result.tags, *actions, sched_.now());
  }
  emit(done.agent, simulated, result);
  for (std::uint32_t p = parked_.next(flight.first); p != kNone; p = parked_.next(p)) {
    Waiting& w = parked_[p];
    w.unpark(unparked_);
    if (actions) {
      apply(done.agent, *actions, unparked_, w.journey);
    } else {
      // Not cacheable (it made packets of its own): each packet is simulated.
      SimulateOptions opts;
      opts.now = sched_.now();
      const SimulationResult again = agent.sim->simulate(w.port, unparked_, state_, opts);
      ++flow_stats_.simulations;
      emit(done.agent, w, again);
    }
  }
  free_flight(index);
}

void Twin::Impl::free_flight(std::uint32_t index) {
  for (std::uint32_t p = flights_[index].first; p != kNone;) {
    const std::uint32_t next = parked_.next(p);
    parked_.free(p);
    p = next;
  }
  free_flights_.push_back(index);
}

std::optional<FlowActions> Twin::Impl::actions_for(const Packet& in,
                                                   const SimulationResult& result) {
  std::optional<FlowActions> actions = flow_actions_for(in, result);
  if (actions && result.verdict == Verdict::kDropped) actions->drop_id = intern(*result.drop);
  return actions;
}

void Twin::Impl::emit(std::uint32_t host, const Waiting& w, const SimulationResult& result) {
  const std::uint32_t j = w.journey;
  if (result.balanced) journeys_[j].vip = result.balanced->vip.value;
  if (result.verdict == Verdict::kDropped) {
    journeys_[j].drop_id = intern(*result.drop);
  } else if (result.verdict == Verdict::kConsumed) {
    journeys_[j].consumed = true;
  }
  for (const OutPacket& o : result.out) {
    if (o.generated) {
      send(host, o.port, o.packet, kNone);
    } else {
      ++journeys_[j].copies;
      send(host, o.port, o.packet, j);
    }
  }
  finish_copy(j);
}

void Twin::Impl::apply(std::uint32_t host, const FlowActions& actions, Packet& packet,
                       std::uint32_t journey) {
  if (actions.verdict == Verdict::kDropped) {
    lose(journey, actions.drop_id);
    return;
  }
  const std::size_t n = actions.outputs.size();
  if (actions.balanced_vip) journeys_[journey].vip = actions.balanced_vip - 1U;
  if (n == 0) {
    finish_copy(journey);
    return;
  }
  // One copy per output; the ingress's own goes with the last, which takes the packet itself.
  journeys_[journey].copies += static_cast<std::uint32_t>(n - 1);
  for (std::size_t i = 0; i + 1 < n; ++i) {
    scratch_ = packet;
    hivesim::apply(actions.outputs[i].rewrite, scratch_);
    send(host, actions.outputs[i].port, scratch_, journey);
  }
  hivesim::apply(actions.outputs[n - 1].rewrite, packet);
  send(host, actions.outputs[n - 1].port, packet, journey);
}

void Twin::Impl::stop_agent(std::uint32_t host) {
  Agent& agent = agents_[host];
  ++agent.epoch;
  agent.table.clear();
  agent.cache.clear();
  agent.busy_until = sched_.now();
  // Packets queued in the agent are lost with it, in a fixed order.
  std::vector<std::uint32_t> lost;
  for (const auto& [key, ref] : agent.in_flight) {
    for (std::uint32_t p = flights_[ref.flight].first; p != kNone; p = parked_.next(p))
      lost.push_back(parked_[p].journey);
    free_flight(ref.flight);
  }
  agent.in_flight.clear();
  std::sort(lost.begin(), lost.end());
  const std::uint32_t drop = intern(DropReason::kHostDown, topo_.hosts[host].name);
  for (std::uint32_t j : lost)
    lose(j, drop);
}

// ---------------------------------------------------------------------------------------------
// Underlay

SimTime Twin::Impl::transmit_time(std::size_t bytes) const {
  // ceil(bits * 1e9 / bandwidth) in integers: exact for any frame (bits * 1e9 < 2^63).
  const std::uint64_t bandwidth = scenario_.underlay.bandwidth_bps;
  return static_cast<SimTime>((std::uint64_t{bytes} * 8 * 1'000'000'000 + bandwidth - 1) /
                              bandwidth);
}

std::size_t Twin::Impl::bytes_within(SimTime budget) const {
  // ceil(8e9 * bytes / bandwidth) <= budget exactly when 8e9 * bytes <= budget * bandwidth.
  if (budget < 0) return 0;
  const absl::uint128 most = absl::uint128(static_cast<std::uint64_t>(budget)) *
                             scenario_.underlay.bandwidth_bps / 8'000'000'000U;
  return most > SIZE_MAX ? SIZE_MAX : static_cast<std::size_t>(most);
}

[[gnu::always_inline]] inline SimTime Twin::Impl::transmit_time_of(std::size_t bytes) {
  if (bytes >= kTransmitTimes) return transmit_time(bytes);
  if (transmit_times_.empty()) transmit_times_.assign(kTransmitTimes, -1);
  SimTime& t = transmit_times_[bytes];
  if (t < 0) t = transmit_time(bytes);
  return t;
}

bool Twin::Impl::watched(std::uint32_t source, bool reply) const {
  return options_.on_egress || (!reply && sources_[source].reply);
}

bool Twin::Impl::needs_packet(std::uint32_t journey) const {
  if (journey == kNone) return static_cast<bool>(options_.on_egress);
  return watched(journeys_[journey].source, journeys_[journey].reply);
}

void Twin::Impl::send(std::uint32_t host, PortId port, const Packet& packet,
                      std::uint32_t journey) {
  const std::uint32_t to = port_host_[port.value].value;
  if (to == host) {
    deliver(port, Landing::of(packet), journey);
    return;
  }
  const Route r = route(host, to);
  if (r.lost != Route::Lost::kNo) {
    if (journey != kNone) lose(journey, route_drop(host, to, r.lost));
    return;
  }
  std::uint32_t kept = kNone;
  if (needs_packet(journey)) {
    if (free_packets_.empty()) {
      kept = static_cast<std::uint32_t>(packets_.size());
      packets_.push_back(packet);
    } else {
      kept = free_packets_.back();
      free_packets_.pop_back();
      packets_[kept] = packet;
    }
  }
  Frame frame{serialise(host, wire_length(packet) + r.overhead),
              HostId{to},
              port,
              journey,
              kept,
              packet.dst,
              packet.dport,
              packet.is_ipv4() && packet.proto == ipproto::kTcp};
  if (journey != kNone) {
    const Journey& jr = journeys_[journey];
    if (jr.copies == 1 && !jr.delivered && !jr.consumed && jr.drop_id == kNone && jr.vip == kNone) {
      // Its only copy, and nothing has happened to it yet: the frame carries it (see Frame).
      frame.journey = kParked;
      frame.reply = jr.reply;
      frame.source = jr.source;
      frame.injected_at = jr.injected_at;
      free_journeys_.push_back(journey);
      // Such a frame landing where nobody looks (kept nothing: needs_packet) is what arrive()
      // counts at once: counted now when it lands as sent (a packet that waited for its flow's
      // simulation, most often).
      if (kept == kNone && lands_as_sent(host, frame.at)) {
        land_as_sent(host, frame.source, frame.reply, frame.injected_at, frame.at);
        return;
      }
    }
  }
  enqueue(host, frame);
}

[[gnu::always_inline]] inline Twin::Impl::Route Twin::Impl::route(std::uint32_t host,
                                                                  std::uint32_t to) {
  const TunnelZone* zone = nullptr;
  if (const std::uint32_t z = sole_zone_[host]; z != kNone && z == sole_zone_[to]) {
    zone = &topo_.tunnel_zones[z];  // most hosts are in one zone
  } else {
    for (std::uint32_t za : host_zones_[host]) {  // else the last zone they share
      for (std::uint32_t zb : host_zones_[to]) {
        if (za == zb) zone = &topo_.tunnel_zones[za];
      }
    }
  }
  if (zone == nullptr || (!links_down_.empty() && links_down_.contains(pair_key(host, to)))) {
    return Route{0, Route::Lost::kTunnel};
  }
  if (scenario_.underlay.loss > 0) {
    // splitmix64: one stream for the whole underlay, drawn in event order.
    std::uint64_t z = (underlay_rng_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    if (static_cast<double>(z >> 11) * 0x1.0p-53 < scenario_.underlay.loss) {
      return Route{0, Route::Lost::kUnderlay};
    }
  }
  return Route{zone->type == TunnelType::kVxlan ? kVxlanOverhead : kGreOverhead, Route::Lost::kNo};
}

std::uint32_t Twin::Impl::route_drop(std::uint32_t host, std::uint32_t to, Route::Lost lost) {
  return intern(DropReason::kTunnelDown,
                lost == Route::Lost::kUnderlay
                    ? std::string("underlay")
                    : topo_.hosts[host].name + "->" + topo_.hosts[to].name);
}

[[gnu::always_inline]] inline SimTime Twin::Impl::serialise(std::uint32_t host, std::size_t bytes) {
  Agent& sender = agents_[host];
  sender.tx_free = std::max(sender.tx_free, sched_.now()) + transmit_time_of(bytes);
  const SimTime lands = sender.tx_free + scenario_.underlay.latency;
  if (bytes > at_send_bytes_) sender.long_lands = lands;
  return lands;
}

void Twin::Impl::enqueue(std::uint32_t host, const Frame& frame) {
  std::deque<Frame>& wire = agents_[host].wire;
  const bool idle = wire.empty();
  wire.push_back(frame);
  if (idle) push_due(frame.at, host);
}

[[gnu::always_inline]] inline bool Twin::Impl::lands_as_sent(std::uint32_t host, SimTime at) const {
  return at < at_send_until_ && agents_[host].long_lands < sched_.now();
}

[[gnu::always_inline]] inline void Twin::Impl::land_as_sent(std::uint32_t host,
                                                            std::uint32_t source, bool reply,
                                                            SimTime injected_at, SimTime at) {
  Source& src = sources_[source];
  if (!reply) src.latencies.add(at - injected_at);
  count_arrival(src, reply, true);  // no failure yet: nothing waits to recover
  --live_journeys_;                 // count_injection's: landing_pending() stands for it
  ++stream_events_;
  if (const Due landing{at, host}; landing > landed_) landed_ = landing;
  last_landing_ = std::max(last_landing_, at);
}

void Twin::Impl::arrive(std::uint32_t host) {
  std::deque<Frame>& wire = agents_[host].wire;
  Frame frame = wire.front();
  wire.pop_front();
  if (frame.journey == kParked && agents_[frame.to.value].alive &&
      !watched(frame.source, frame.reply) && (dead_members_.empty() || !frame.ipv4_tcp)) {
    // Most frames: the only copy of a packet nothing happened to, landing where nobody looks
    // at it or answers it. deliver() and finalize() would come to this: its latency and one
    // delivery.
    reschedule_top(host, wire.empty() ? std::nullopt : std::optional(wire.front().at));
    Source& src = sources_[frame.source];
    if (!frame.reply) src.latencies.add(sched_.now() - frame.injected_at);
    count_arrival(src, frame.reply, true);
    --live_journeys_;
    last_landing_ = std::max(last_landing_, sched_.now());
    return;
  }
  if (frame.journey == kParked) {
    frame.journey = alloc_journey();
    Journey& jr = journeys_[frame.journey];
    jr.injected_at = frame.injected_at;
    jr.source = frame.source;
    jr.reply = frame.reply;
    jr.copies = 1;
  }
  // Before delivering: a reply that deliver injects may put frames on this link again.
  reschedule_top(host, wire.empty() ? std::nullopt : std::optional(wire.front().at));
  if (!agents_[frame.to.value].alive) {
    if (frame.packet != kNone) free_packets_.push_back(frame.packet);
    if (frame.journey != kNone) {
      lose(frame.journey, intern(DropReason::kHostDown, topo_.hosts[frame.to.value].name));
    }
    return;
  }
  const Landing landing{frame.packet != kNone ? &packets_[frame.packet] : nullptr, frame.dst,
                        frame.dport, frame.ipv4_tcp};
  deliver(frame.port, landing, frame.journey);
  // Only now: a reply that deliver injects may send frames of its own.
  if (frame.packet != kNone) free_packets_.push_back(frame.packet);
}

void Twin::Impl::deliver(PortId port, const Landing& landing, std::uint32_t j) {
  if (options_.on_egress) options_.on_egress(port, *landing.packet, sched_.now());
  if (j == kNone) return;
  if (!dead_members_.empty() && landing.ipv4_tcp) {
    // A backend that died answers nothing: what reaches it is lost.
    auto it = dead_members_.find(endpoint_key(landing.dst, landing.dport));
    if (it != dead_members_.end()) {
      lose(j, intern(DropReason::kNoBackend, topo_.pools[it->second].name));
      return;
    }
  }
  Journey& jr = journeys_[j];
  if (!jr.delivered) {
    jr.delivered = true;
    Source& src = sources_[jr.source];
    if (!jr.reply) {
      src.latencies.add(sched_.now() - jr.injected_at);
      // A connection counts once, for the member its first delivered packet reached.
      if (jr.vip != kNone &&
          connections_seen_.insert(ConnKey{jr.src, jr.dst, jr.sport, jr.dport, jr.proto, jr.vip})
              .second) {
        const Pool& pool = topo_.pools[topo_.vips[jr.vip].pool.value];
        for (std::size_t m = 0; m < pool.members.size(); ++m) {
          if (pool.members[m].ip == landing.dst && pool.members[m].port == landing.dport) {
            ++vip_member_connections_[jr.vip][m];
          }
        }
      }
      if (src.reply) {
        if (auto answer = reply_to(*landing.packet)) {
          inject(jr.source, port, std::move(*answer), true);
        }
      }
    }
  }
  finish_copy(j);
}

// ---------------------------------------------------------------------------------------------
// Outcomes

void Twin::Impl::lose(std::uint32_t j, std::uint32_t drop_id) {
  if (journeys_[j].drop_id == kNone) journeys_[j].drop_id = drop_id;
  finish_copy(j);
}

void Twin::Impl::finish_copy(std::uint32_t j) {
  HIVESIM_CHECK(journeys_[j].copies > 0, "a packet copy finished twice");
  if (--journeys_[j].copies == 0) finalize(j);
}

std::int64_t Twin::Impl::window_at(SimTime t) const {
  // The latest failure at or before t (scenario order among failures at the same time).
  const auto it = std::upper_bound(
      failure_order_.begin(), failure_order_.end(), t,
      [this](SimTime time, std::uint32_t i) { return time < scenario_.failures[i].at; });
  if (it == failure_order_.begin()) return -1;
  return *std::prev(it);
}

void Twin::Impl::finalize(std::uint32_t j) {
  const Journey& jr = journeys_[j];
  Source& src = sources_[jr.source];
  const SimTime now = sched_.now();
  if (jr.delivered || jr.consumed) {
    count_arrival(src, jr.reply, jr.delivered);
  } else {
    const std::int64_t window = window_at(now);
    HIVESIM_CHECK(jr.drop_id != kNone, "a dropped packet without a drop reason");
    ++totals_.dropped;
    if (!jr.reply) ++src.row.dropped;
    ++drop_rows_[jr.drop_id].count;
    if (window < 0) {
      baseline_drops_.insert(jr.drop_id);
    } else if (!baseline_drops_.contains(jr.drop_id)) {
      FailureWindow& fw = windows_[window];
      ++fw.lost;
      fw.last_loss = now;
      if (fw.recovered_at || fw.lost == 1)
        unrecovered_.push_back(static_cast<std::uint32_t>(window));
      fw.recovered_at.reset();
    }
  }
  free_journeys_.push_back(j);
  --live_journeys_;
  last_landing_ = std::max(last_landing_, now);
}

void Twin::Impl::count_arrival(Source& src, bool reply, bool delivered) {
  ++(delivered ? totals_.delivered : totals_.consumed);
  ++(reply ? src.row.replies_delivered : src.row.delivered);
  // A delivery after a failure's last loss means the network carries traffic again.
  if (!unrecovered_.empty()) {
    const SimTime now = sched_.now();
    std::erase_if(unrecovered_, [this, now](std::uint32_t w) {
      if (windows_[w].last_loss >= now) return false;
      windows_[w].recovered_at = now;
      return true;
    });
  }
}

std::uint32_t Twin::Impl::intern(const DropInfo& drop) {
  DropKey key{drop.reason, drop.device, drop.rule};
  auto [it, fresh] = drop_ids_.try_emplace(std::move(key), 0);
  if (fresh) {
    it->second = static_cast<std::uint32_t>(drop_rows_.size());
    drop_rows_.push_back(DropRow{drop.reason, drop.device, drop.rule, 0});
  }
  return it->second;
}

std::uint32_t Twin::Impl::intern(DropReason reason, const std::string& device) {
  return intern(DropInfo{reason, device, std::nullopt});
}

// ---------------------------------------------------------------------------------------------
// NSDB

bool Twin::Impl::quorum() const {
  const auto up =
      static_cast<std::size_t>(std::count(replica_up_.begin(), replica_up_.end(), true));
  return up * 2 > replica_up_.size();
}

void Twin::Impl::write(Change change) {
  if (quorum()) {
    commit(std::move(change));
  } else {
    stalled_writes_.push_back(std::move(change));
  }
}

void Twin::Impl::commit(Change change) {
  ++nsdb_writes_;
  const SimTime visible = sched_.now() + scenario_.nsdb.latency;
  committed_.emplace_back(visible, std::move(change));
  sched_.schedule_at(visible, [this] { publish(); });
}

void Twin::Impl::publish() {
  std::vector<std::pair<FlowTag, std::uint32_t>> changed;  // tag, cause
  while (!committed_.empty() && committed_.front().first <= sched_.now()) {
    const Change change = std::move(committed_.front().second);
    committed_.pop_front();
    for (FlowTag t : apply_change(change))
      changed.emplace_back(t, change.cause);
  }
  if (changed.empty()) return;
  ++change_seq_;
  for (const auto& [tag, cause] : changed)
    tag_changed_[tag_key(tag)] = change_seq_;
  ++topo_.version;
  current_ = std::make_shared<const Simulator>(topo_);
  for (Agent& agent : agents_) {
    if (!agent.alive) continue;
    agent.sim = current_;
    bool watched = false;
    for (const auto& [tag, cause] : changed) {
      if (!agent.cache.contains(tag_key(tag))) continue;
      watched = true;
      const std::size_t n = agent.table.invalidate(tag);
      flow_stats_.invalidated += n;
      if (cause != kNone) windows_[cause].invalidated += n;
    }
    nsdb_notifications_ += watched ? 1 : 0;
  }
}

std::vector<FlowTag> Twin::Impl::apply_change(const Change& c) {
  std::vector<FlowTag> tags;
  switch (c.kind) {
    case Change::Kind::kPortsActive:
      for (PortId p : host_ports_[c.target]) {
        Port& port = topo_.ports[p.value];
        if (port.active == c.value) continue;
        port.active = c.value;
        tags.push_back(FlowTag{FlowTag::Kind::kPort, p.value});
        // Its routes are withdrawn or restored.
        if (port.on_router()) tags.push_back(FlowTag{FlowTag::Kind::kRouter, port.device});
      }
      break;
    case Change::Kind::kPortAdmin: {
      Port& port = topo_.ports[c.target];
      if (port.admin_up == c.value) break;
      port.admin_up = c.value;
      tags.push_back(FlowTag{FlowTag::Kind::kPort, c.target});
      break;
    }
    case Change::Kind::kRule:
      topo_.chains[c.rule.chain.value].rules[c.rule.rule].action = c.rule.action;
      tags.push_back(FlowTag{FlowTag::Kind::kChain, c.rule.chain.value});
      break;
    case Change::Kind::kMemberHealth: {
      PoolMember& m = topo_.pools[c.target].members[c.member];
      if (m.healthy == c.value) break;
      m.healthy = c.value;
      tags.push_back(FlowTag{FlowTag::Kind::kPool, c.target});
      break;
    }
  }
  return tags;
}

// ---------------------------------------------------------------------------------------------
// Failures

void Twin::Impl::fail(std::uint32_t index) {
  const Failure& f = scenario_.failures[index];
  const std::uint32_t host = f.host.value;
  switch (f.kind) {
    case FailureKind::kHostDown: {
      Agent& agent = agents_[host];
      if (!agent.alive) break;
      stop_agent(host);
      agent.alive = false;
      set_members_alive(host, false, index);
      agent.sim.reset();
      const std::uint64_t generation = ++agent.down_generation;
      // Its NSDB session expires; then its ports are inactive and routes through them go.
      sched_.schedule_in(scenario_.nsdb.session_timeout, [this, host, generation, index] {
        if (agents_[host].alive || agents_[host].down_generation != generation) return;
        Change c;
        c.kind = Change::Kind::kPortsActive;
        c.target = host;
        c.value = false;
        c.cause = index;
        write(c);
      });
      break;
    }
    case FailureKind::kHostUp: {
      Agent& agent = agents_[host];
      if (agent.alive) break;
      agent.alive = true;
      ++agent.down_generation;
      agent.sim = current_;
      set_members_alive(host, true, index);
      Change c;
      c.kind = Change::Kind::kPortsActive;
      c.target = host;
      c.value = true;
      c.cause = index;
      write(c);
      break;
    }
    case FailureKind::kAgentRestart:
      if (agents_[host].alive) {
        stop_agent(host);
        agents_[host].sim = current_;
      }
      break;
    case FailureKind::kNsdbDown:
    case FailureKind::kNsdbUp: {
      const bool had = quorum();
      replica_up_[f.replica] = f.kind == FailureKind::kNsdbUp;
      if (!had && quorum()) {
        std::vector<Change> writes = std::move(stalled_writes_);
        stalled_writes_.clear();
        for (Change& c : writes)
          commit(std::move(c));
        std::vector<std::uint32_t> sims = std::move(stalled_sims_);
        stalled_sims_.clear();
        for (std::uint32_t c : sims) {
          Agent& agent = agents_[completions_[c].agent];
          if (agent.epoch != completions_[c].epoch) {
            free_completions_.push_back(c);  // the agent stopped meanwhile
            continue;
          }
          const auto it = agent.in_flight.find(completions_[c].key);
          HIVESIM_CHECK(it != agent.in_flight.end(), "a stalled simulation went missing");
          const SimTime ready = fetch(agent, flights_[it->second.flight].result.tags, sched_.now());
          sched_.schedule_at(ready, [this, c] { complete(c); });
        }
      }
      break;
    }
    case FailureKind::kLinkDown:
      links_down_.insert(pair_key(host, f.peer_host.value));
      break;
    case FailureKind::kLinkUp:
      links_down_.erase(pair_key(host, f.peer_host.value));
      break;
    case FailureKind::kMemberDown:
    case FailureKind::kMemberUp: {
      const Pool& pool = topo_.pools[f.pool.value];
      for (std::uint32_t m = 0; m < pool.members.size(); ++m) {
        const PoolMember& member = pool.members[m];
        if (member.ip != f.member_ip || (f.member_port && *f.member_port != member.port)) continue;
        set_member_alive(f.pool.value, m, f.kind == FailureKind::kMemberUp, index);
      }
      break;
    }
    case FailureKind::kPortDown:
    case FailureKind::kPortUp: {
      Change c;
      c.kind = Change::Kind::kPortAdmin;
      c.target = f.port.value;
      c.value = f.kind == FailureKind::kPortUp;
      c.cause = index;
      write(c);
      break;
    }
    case FailureKind::kSet: {
      Change c;
      c.kind = Change::Kind::kRule;
      c.rule = f.change;
      c.cause = index;
      write(c);
      break;
    }
  }
}

void Twin::Impl::set_member_alive(std::uint32_t pool, std::uint32_t member, bool alive,
                                  std::uint32_t cause) {
  const PoolMember& m = topo_.pools[pool].members[member];
  const std::uint64_t ep = endpoint_key(m.ip, m.port);
  if (alive) {
    dead_members_.erase(ep);
  } else {
    dead_members_[ep] = pool;
  }
  schedule_health_check(pool, member, alive, cause);
}

void Twin::Impl::set_members_alive(std::uint32_t host, bool alive, std::uint32_t cause) {
  // Backends living on the host's VM ports die and come back with it.
  for (PortId p : host_ports_[host]) {
    const Port& port = topo_.ports[p.value];
    if (!port.on_bridge() || !port.ip) continue;
    for (std::uint32_t pool = 0; pool < topo_.pools.size(); ++pool) {
      for (std::uint32_t m = 0; m < topo_.pools[pool].members.size(); ++m) {
        if (topo_.pools[pool].members[m].ip == *port.ip) set_member_alive(pool, m, alive, cause);
      }
    }
  }
}

void Twin::Impl::schedule_health_check(std::uint32_t pool, std::uint32_t member, bool healthy,
                                       std::uint32_t cause) {
  const auto& monitor = topo_.pools[pool].health_monitor;
  const std::uint64_t generation = ++member_generation_[pool][member];
  if (!monitor) return;  // nobody checks: the LB keeps sending to a dead backend
  // Probes run every `interval` from time 0. A member is marked down when `retries`
  // consecutive probes have timed out, and up again by the first probe that succeeds.
  const SimTime now = sched_.now();
  const SimTime first_probe = (now + monitor->interval - 1) / monitor->interval * monitor->interval;
  const SimTime at = healthy ? first_probe
                             : first_probe +
                                   static_cast<SimTime>(monitor->retries - 1) * monitor->interval +
                                   monitor->timeout;
  sched_.schedule_at(at, [this, pool, member, healthy, cause, generation] {
    if (member_generation_[pool][member] != generation) return;
    Change c;
    c.kind = Change::Kind::kMemberHealth;
    c.target = pool;
    c.member = member;
    c.value = healthy;
    c.cause = cause;
    write(c);
  });
}

// ---------------------------------------------------------------------------------------------
// Running and reporting

void Twin::Impl::start() {
  if (started_) return;
  started_ = true;
  for (std::uint32_t i = 0; i < sources_.size(); ++i) {
    pull(i);
    if (sources_[i].pending != nullptr) push_due(sources_[i].pending->at, kSourceKey | i);
  }
  for (std::uint32_t i : failure_order_) {
    if (scenario_.failures[i].at <= end_) {
      sched_.schedule_at(scenario_.failures[i].at, [this, i] { fail(i); });
    }
  }
  sched_.schedule_at(std::min(kSweepInterval, end_), [this] { sweep(); });
}

void Twin::Impl::sweep() {
  // Housekeeping: idle flows and connection state expire.
  for (Agent& a : agents_) {
    if (a.alive) a.table.expire(sched_.now());
  }
  state_.conntrack.expire(sched_.now());
  state_.nat.expire(sched_.now());
  // Nothing can go idle while nothing happens: across a quiet stretch (a capture with a gap of
  // days) the next sweep waits for the next event instead of ticking through it. A frame
  // counted when sent and not landed yet is no such stretch: the earliest frame on its link
  // lands within a sweep interval (lands_as_sent()).
  SimTime next = sched_.now() + kSweepInterval;
  if (const auto event = next_activity(); event && *event > next && !landing_pending()) {
    next = *event;
  }
  if (next <= end_ && (!options_.until_idle || busy() || landing_pending())) {
    sched_.schedule_at(next, [this] { sweep(); });
  }
}

bool Twin::Impl::busy() const {
  return live_journeys_ > 0 || !committed_.empty() || pending_sources_ > 0;
}

void Twin::Impl::push_due(SimTime at, std::uint32_t key) {
  due_.push_back(Due{at, key});
  std::push_heap(due_.begin(), due_.end(), std::greater<>{});
}

void Twin::Impl::pop_top() {
  std::pop_heap(due_.begin(), due_.end(), std::greater<>{});
  due_.pop_back();
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

std::optional<SimTime> Twin::Impl::next_activity() {
  std::optional<SimTime> next = sched_.next_time();
  if (!due_.empty() && (!next || due_.front().at < *next)) next = due_.front().at;
  return next;
}

void Twin::Impl::refresh_next_event() {
  // The scheduler's next time changes only when an event runs (the cache is dropped then) or is
  // scheduled (its size grows: the twin cancels nothing).
  if (sched_.size() != next_size_) {
    next_event_ = sched_.next_time();
    next_size_ = sched_.size();
  }
}

bool Twin::Impl::runs_next(const Due& item, SimTime limit) {
  if (item.at > limit) return false;
  refresh_next_event();
  if (next_event_ && *next_event_ <= item.at) return false;
  // The other streams: the top's children hold the earliest of them.
  for (std::size_t child = 1; child <= 2 && child < due_.size(); ++child) {
    if (item > due_[child]) return false;
  }
  return true;
}

void Twin::Impl::run_until(SimTime limit, bool until_idle) {
  for (std::uint32_t tick = 1; !stopped_; ++tick) {
    if (tick % 1024 == 0 && (stopped_ = over_limits())) return;
    refresh_next_event();
    // Idle once nothing is busy and the frames counted when sent have landed.
    if (until_idle && !busy() && !landing_ahead()) return;
    if (!due_.empty() && due_.front().at <= limit &&
        (!next_event_ || due_.front().at < *next_event_)) {
      // The item stays on top while it runs (whatever it schedules is later); its handler
      // replaces it with its stream's next item or removes it (reschedule_top).
      const Due d = due_.front();
      sched_.advance_to(d.at);  // nothing is due before it
      ++stream_events_;
      if ((d.key & kSourceKey) != 0) {
        inject_pending(d.key & ~kSourceKey, limit);
      } else {
        arrive(d.key);
      }
    } else if (next_event_ && *next_event_ <= limit) {
      sched_.step();
      next_size_ = SIZE_MAX;
    } else {
      break;
    }
  }
  if (!stopped_) sched_.run_until(limit);
}

void Twin::Impl::advance(SimTime t) {
  start();
  run_until(std::min(t, end_), false);
}

RunReport Twin::Impl::run() {
  start();
  // Run to its end: a frame that lands before the end and before the first failure may be
  // counted when sent (lands_as_sent).
  at_send_until_ = end_ + 1;
  for (std::uint32_t i : failure_order_) {
    at_send_until_ = std::min(at_send_until_, scenario_.failures[i].at);
  }
  at_send_bytes_ = bytes_within(kSweepInterval - scenario_.underlay.latency);
  if (options_.until_idle) {
    // Events left once nothing is busy are housekeeping and failures after the traffic.
    run_until(end_, true);
    end_ = last_landing_;
    return report();
  }
  for (int step = 1; step <= kProgressSteps; ++step) {
    const SimTime t =
        end_ / kProgressSteps * step + (step == kProgressSteps ? end_ % kProgressSteps : 0);
    run_until(t, false);
    if (stopped_) break;
    if (options_.progress) options_.progress(t, end_);
  }
  return report();
}

std::optional<std::string> Twin::Impl::over_limits() const {
  const Limits& l = scenario_.limits;
  const std::uint64_t events = sched_.events_run() + stream_events_;
  const std::uint64_t in_flight =
      totals_.injected - totals_.delivered - totals_.dropped - totals_.consumed;
  std::uint64_t flows = 0;
  for (const Agent& a : agents_)
    flows += a.table.stats().installed;
  const auto at = " at " + std::to_string(sched_.now() / 1000000) + "ms of simulated time";
  if (l.max_events != 0 && events > l.max_events)
    return "limits.max_events: more than " + std::to_string(l.max_events) + " events" + at;
  if (l.max_flows != 0 && flows > l.max_flows)
    return "limits.max_flows: more than " + std::to_string(l.max_flows) + " flows installed" + at;
  if (in_flight > l.max_in_flight) {
    return "limits.max_in_flight: more than " + std::to_string(l.max_in_flight) +
           " packets in flight at once" + at +
           " (the traffic outruns what the agents can simulate; lower its rate, or raise "
           "limits.max_in_flight)";
  }
  return std::nullopt;
}

RunReport Twin::Impl::report() {
  RunReport r;
  r.scenario = scenario_.name;
  r.seed = scenario_.seed;
  r.sim_time = end_;
  r.events = sched_.events_run() + stream_events_;
  r.packets = totals_;
  r.packets.in_flight = totals_.injected - totals_.delivered - totals_.dropped - totals_.consumed;

  r.flows = flow_stats_;
  for (std::size_t h = 0; h < agents_.size(); ++h) {
    const FlowTableStats& s = agents_[h].table.stats();
    r.flows.installed += s.installed;
    r.flows.expired += s.expired;
    r.flows.evicted += s.evicted;
    r.flows.per_host.push_back(FlowHostStats{topo_.hosts[h].name, s.installed, s.peak});
  }

  r.drops = drop_rows_;
  std::erase_if(r.drops, [](const DropRow& d) { return d.count == 0; });
  std::sort(r.drops.begin(), r.drops.end(), [](const DropRow& a, const DropRow& b) {
    if (a.count != b.count) return a.count > b.count;
    return std::tie(a.reason, a.device, a.rule) < std::tie(b.reason, b.device, b.rule);
  });

  for (std::uint32_t v = 0; v < topo_.vips.size(); ++v) {
    const Vip& vip = topo_.vips[v];
    const Pool& pool = scenario_.topology.pools[vip.pool.value];
    LbRow row;
    row.vip = vip.name;
    std::uint64_t weights = 0;
    for (const PoolMember& m : pool.members)
      weights += m.admin_up ? m.weight : 0;
    for (std::size_t m = 0; m < pool.members.size(); ++m) {
      row.connections += vip_member_connections_[v][m];
    }
    for (std::size_t m = 0; m < pool.members.size(); ++m) {
      const PoolMember& member = pool.members[m];
      LbMemberRow mr;
      mr.member = member.ip.str() + ":" + std::to_string(member.port);
      mr.weight = member.weight;
      mr.connections = vip_member_connections_[v][m];
      mr.share = row.connections
                     ? static_cast<double>(mr.connections) / static_cast<double>(row.connections)
                     : 0.0;
      mr.expected = weights && member.admin_up
                        ? static_cast<double>(member.weight) / static_cast<double>(weights)
                        : 0.0;
      if (row.connections && mr.expected > 0) {
        row.max_skew = std::max(row.max_skew, std::abs(mr.share - mr.expected) / mr.expected);
      }
      row.members.push_back(std::move(mr));
    }
    r.load_balancers.push_back(std::move(row));
  }

  for (std::size_t i = 0; i < scenario_.failures.size(); ++i) {
    const Failure& f = scenario_.failures[i];
    const FailureWindow& w = windows_[i];
    FailureRow row;
    row.at = f.at;
    row.event = f.label;
    row.packets_lost = w.lost;
    row.flows_invalidated = w.invalidated;
    if (w.lost == 0) {
      row.recovered_after = 0;
    } else if (w.recovered_at) {
      row.recovered_after = *w.recovered_at - f.at;
    }
    r.failures.push_back(std::move(row));
  }

  for (Source& s : sources_) {
    TrafficRow row = s.row;
    row.in_flight = row.sent - row.delivered - row.dropped;
    const std::vector<SimTime> p = s.latencies.percentiles({0.50, 0.90, 0.99, 1.0});
    row.latency.p50 = p[0];
    row.latency.p90 = p[1];
    row.latency.p99 = p[2];
    row.latency.max = p[3];
    r.traffic.push_back(std::move(row));
  }
  r.nsdb_writes = nsdb_writes_;
  r.nsdb_notifications = nsdb_notifications_;
  r.state_pushes = state_pushes_;
  r.expectations = evaluate(r);
  return r;
}

std::vector<ExpectationRow> Twin::Impl::evaluate(const RunReport& r) {
  std::vector<ExpectationRow> rows;
  SimState probe = state_;  // trace expectations run like a batch on the final state
  for (const Expectation& e : scenario_.expectations) {
    ExpectationRow row;
    row.name = e.name;
    if (const auto* t = std::get_if<ExpectTrace>(&e.what)) {
      auto failure = check_trace_expectation(*current_, *t, probe);
      row.passed = !failure;
      row.detail = failure ? *failure : "held at the end of the run";
    } else if (const auto* lb = std::get_if<ExpectLb>(&e.what)) {
      const LbRow& l = r.load_balancers[lb->vip.value];
      char buf[160];
      std::snprintf(buf, sizeof buf, "max skew %.4f (limit %.4f) over %llu connections", l.max_skew,
                    lb->max_skew, static_cast<unsigned long long>(l.connections));
      row.passed = l.connections > 0 && l.max_skew <= lb->max_skew;
      row.detail = l.connections ? buf : "no connection reached VIP " + l.vip;
    } else if (const auto* tr = std::get_if<ExpectTraffic>(&e.what)) {
      const TrafficRow& row_t = r.traffic[tr->traffic.value];
      // Packets still travelling when the run ended are neither delivered nor lost.
      const std::uint64_t landed = row_t.sent - row_t.in_flight;
      const double ratio =
          landed ? static_cast<double>(row_t.delivered) / static_cast<double>(landed) : 0.0;
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "delivered %llu of %llu sent (%.4f, %llu still in flight), minimum %.4f",
                    static_cast<unsigned long long>(row_t.delivered),
                    static_cast<unsigned long long>(row_t.sent), ratio,
                    static_cast<unsigned long long>(row_t.in_flight), tr->min_delivered);
      row.passed = landed > 0 && ratio >= tr->min_delivered;
      row.detail = landed ? buf : "traffic " + row_t.name + " delivered nothing by the end";
    } else if (const auto* d = std::get_if<ExpectDrops>(&e.what)) {
      std::uint64_t count = 0;
      for (const DropRow& row_d : r.drops) {
        if (d->reason && row_d.reason != *d->reason) continue;
        if (d->device && row_d.device != *d->device) continue;
        count += row_d.count;
      }
      row.passed = count <= d->max;
      row.detail = std::to_string(count) + " drops" +
                   (d->reason ? " with reason " + std::string(to_string(*d->reason)) : "") +
                   (d->device ? " at " + *d->device : "") + ", at most " + std::to_string(d->max) +
                   " allowed";
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Twin

Twin::Twin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Twin::~Twin() = default;

Result<std::unique_ptr<Twin>> Twin::make(const Scenario& scenario, TwinOptions options) {
  auto impl = std::make_unique<Impl>(scenario, std::move(options));
  auto traffic = impl->add_scenario_traffic();
  if (!traffic) return Error{traffic.error()};
  return std::unique_ptr<Twin>(new Twin(std::move(impl)));
}

void Twin::add_source(std::string name, std::unique_ptr<TrafficSource> source, bool reply) {
  impl_->add_source(std::move(name), std::move(source), reply);
}

RunReport Twin::run() {
  return impl_->run();
}

const std::optional<std::string>& Twin::stopped() const {
  return impl_->stopped_;
}

void Twin::advance(SimTime t) {
  impl_->advance(t);
}

const Simulator& Twin::simulator() const {
  return impl_->simulator();
}

SimState& Twin::state() {
  return impl_->state();
}

}  // namespace hivesim
