#pragma once
// The underlay: the physical network between hosts that tunnelled frames and flow-state pushes
// cross.
//
// What it models: each host has one link that serialises the frames it sends at the scenario
// bandwidth, one after another (FIFO); a frame then takes the underlay latency to land. Only
// hosts sharing a tunnel zone can reach each other (the tunnel's header, VXLAN or GRE, is
// added to the frame's size); a link between two hosts can be cut; the underlay loses a seeded
// fraction of what crosses it. A frame in flight is a small value (Frame); the frames a host
// sent wait on its link's wire in landing order, and only the front one is in the run loop's
// merge.
//
// Invariants: frames on one link land in the order they were sent, each at least `latency`
// after its send; one random stream per purpose, drawn in event order (same seed, same losses).
// Cost: route() O(1) for hosts in one tunnel zone (most), else O(zones of a x zones of b);
// serialise() O(1) with the transmit time of frames under kTransmitTimes bytes remembered (a
// 128-bit division per frame was a good part of what a frame cost a replay).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include <absl/container/flat_hash_set.h>

#include "sim/packet/packet.hpp"
#include "sim/twin/ids.hpp"
#include "sim/twin/slab.hpp"
#include "topology/model.hpp"

namespace hivesim {

/// A frame in the underlay, from its ingress host's datapath to the egress host. Small (48
/// bytes): the packet itself is kept (in a slab) only when the egress side needs all of it.
/// A frame that is the only copy of its packet, which nothing has happened to yet, carries its
/// journey (the three fields such a journey has) and frees its slot: on a congested link most
/// packets are on the wire, and they then cost one streamed frame each, not a frame plus a
/// journey slot met again, out of cache, when the frame lands.
struct Frame {
  /// `journey` of a frame that carries its journey in its own fields.
  static constexpr JourneyId kCarried{JourneyId::kInvalid - 1};
  SimTime at = 0;  // when it reaches `to`
  HostId to;
  PortId port;
  JourneyId journey;  // none for a generated packet; or kCarried
  PacketSlot packet;  // the whole packet, in the packet slab, or none
  Ipv4 dst;           // with ipv4_tcp: the TCP destination (a backend may be dead)
  std::uint16_t dport = 0;
  bool ipv4_tcp = false;
  bool reply = false;  // kCarried: the journey's
  SourceId source;
  SimTime injected_at = 0;
};

class UnderlayNet {
 public:
  /// The tunnel a frame from one host to another takes now: its header size, or why the frame
  /// is lost.
  struct Route {
    enum class Lost : std::uint8_t { kNo, kTunnel, kUnderlay };
    std::size_t overhead = 0;
    Lost lost = Lost::kNo;
  };
  /// Outer Ethernet + IPv4 + UDP + VXLAN headers; outer Ethernet + IPv4 + GRE with a key.
  static constexpr std::size_t kVxlanOverhead = 50;
  static constexpr std::size_t kGreOverhead = 42;

  /// `seed` is the scenario's: the frame loss stream and the flow-state push loss stream are
  /// derived from it.
  UnderlayNet(const Topology& topo, const Underlay& config, std::uint64_t seed);

  /// The route from `a` to `b` now (no tunnel zone joins them, or their link is down: kTunnel;
  /// the underlay lost the frame: kUnderlay, one draw of the frame stream when it has loss).
  Route route(HostId a, HostId b) {
    const TunnelZone* zone = nullptr;
    if (const TunnelZoneId z = sole_zone_[a.value]; z && z == sole_zone_[b.value]) {
      zone = &zones_[z.value];  // most hosts are in one zone
    } else {
      zone = shared_zone(a, b);
    }
    if (zone == nullptr || (!links_down_.empty() && links_down_.contains(pair_key(a, b)))) {
      return Route{0, Route::Lost::kTunnel};
    }
    if (config_.loss > 0 && draw(frame_rng_) < config_.loss)
      return Route{0, Route::Lost::kUnderlay};
    return Route{zone->type == TunnelType::kVxlan ? kVxlanOverhead : kGreOverhead,
                 Route::Lost::kNo};
  }
  /// Whether a small control message (a flow-state push) from `a` reaches `b` now: a tunnel
  /// joins them, their link is up, and the underlay did not lose it (its own random stream,
  /// so that pushes do not shift the frames' losses).
  bool message_reaches(HostId a, HostId b) {
    const TunnelZone* zone = sole_zone_[a.value] && sole_zone_[a.value] == sole_zone_[b.value]
                                 ? &zones_[sole_zone_[a.value].value]
                                 : shared_zone(a, b);
    if (zone == nullptr || (!links_down_.empty() && links_down_.contains(pair_key(a, b))))
      return false;
    return !(config_.loss > 0 && draw(push_rng_) < config_.loss);
  }

  /// Serialises `bytes` (headers included) on `host`'s link at `now`, after what it is
  /// sending: returns when the frame lands at the far end. A frame longer than `long_bytes`
  /// is remembered as the link's last long one (long_lands()).
  SimTime serialise(HostId host, std::size_t bytes, SimTime now, std::size_t long_bytes) {
    Link& link = links_[host.value];
    link.tx_free = std::max(link.tx_free, now) + transmit_time_of(bytes);
    const SimTime lands = link.tx_free + config_.latency;
    if (bytes > long_bytes) link.long_lands = lands;
    return lands;
  }
  /// When the last frame longer than serialise()'s `long_bytes` sent by `host` lands (-1:
  /// none).
  SimTime long_lands(HostId host) const { return links_[host.value].long_lands; }

  /// Puts `frame` on `host`'s wire behind the frames already on it; true when the wire was
  /// empty (the frame is its new front).
  bool enqueue(HostId host, const Frame& frame) {
    std::deque<Frame>& wire = links_[host.value].wire;
    const bool idle = wire.empty();
    wire.push_back(frame);
    return idle;
  }
  /// Takes the front frame off `host`'s wire (it is landing).
  Frame pop(HostId host) {
    std::deque<Frame>& wire = links_[host.value].wire;
    Frame f = wire.front();
    wire.pop_front();
    return f;
  }
  /// When the front frame on `host`'s wire lands (nullopt: the wire is empty).
  std::optional<SimTime> front_at(HostId host) const {
    const std::deque<Frame>& wire = links_[host.value].wire;
    return wire.empty() ? std::nullopt : std::optional(wire.front().at);
  }

  void set_link(HostId a, HostId b, bool up);
  /// How long a link takes to send a frame of `bytes` (headers included).
  SimTime transmit_time(std::size_t bytes) const;
  /// The longest frame a link sends within `budget` (0 when the budget is negative).
  std::size_t bytes_within(SimTime budget) const;
  SimTime latency() const { return config_.latency; }

  /// The whole packets of frames whose egress side reads them (Frame::packet).
  Slab<Packet, PacketSlot> kept;

 private:
  static constexpr std::size_t kTransmitTimes = 2048;  // frame sizes whose time is remembered
  struct Link {
    SimTime tx_free = 0;  // the link is busy sending until then
    // When the last frame longer than serialise()'s long_bytes lands (the run loop's
    // landing-as-sent shortcut reads it).
    SimTime long_lands = -1;
    std::deque<Frame> wire;  // frames sent, in landing order
  };
  static std::uint64_t pair_key(HostId a, HostId b) {
    return (static_cast<std::uint64_t>(std::min(a.value, b.value)) << 32) |
           std::max(a.value, b.value);
  }
  /// A uniform double in [0, 1) from a splitmix64 stream.
  static double draw(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }
  const TunnelZone* shared_zone(HostId a, HostId b) const;
  SimTime transmit_time_of(std::size_t bytes) {
    if (bytes >= kTransmitTimes) return transmit_time(bytes);
    if (transmit_times_.empty()) transmit_times_.assign(kTransmitTimes, -1);
    SimTime& t = transmit_times_[bytes];
    if (t < 0) t = transmit_time(bytes);
    return t;
  }

  const std::vector<TunnelZone>& zones_;
  Underlay config_;
  std::vector<Link> links_;                            // per host
  std::vector<std::vector<TunnelZoneId>> host_zones_;  // per host: its tunnel zones
  std::vector<TunnelZoneId> sole_zone_;  // per host: its zone when it is in one only, else invalid
  absl::flat_hash_set<std::uint64_t> links_down_;
  std::uint64_t frame_rng_ = 0;
  std::uint64_t push_rng_ = 0;
  std::vector<SimTime> transmit_times_;  // transmit_time_of(): by size, -1 until computed
};

}  // namespace hivesim
