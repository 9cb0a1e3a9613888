#pragma once
// The scenario's synthetic traffic generators (SPEC section 4), one implementation of the
// TrafficSource interface (sim/source/traffic_source.hpp; the pcap reader in sim/io is another),
// and the answer a destination sends to a packet.

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/packet/packet.hpp"
#include "sim/source/traffic_source.hpp"
#include "topology/model.hpp"

namespace hivesim {

/// A scenario `traffic` generator (SPEC section 4): `flows` flows started `rate` per second from
/// `start`, each of `packets_per_flow` packets spread evenly over its 1/rate slot. Flows differ
/// by source port (tcp/udp, counting up from the spec's sport and wrapping within 1024-65535) or
/// by ICMP echo id; other protocols repeat the same packet. A TCP flow's first packet carries the
/// spec's flags; when those are `syn`, later packets carry `ack`.
class SyntheticSource final : public TrafficSource {
 public:
  /// Builds the base packet from the traffic's packet spec as the VM behind `from` would send
  /// it; fails with the spec's message (which `hivesim check` reports first).
  static Result<SyntheticSource> make(const Simulator& sim, const SyntheticTraffic& traffic);

  SourcePacket* next() override;

 private:
  SyntheticSource(const SyntheticTraffic& traffic, Packet base);

  SourcePacket out_;
  SyntheticTraffic traffic_;
  Packet base_;
  std::uint64_t flow_ = 0;
  std::uint64_t packet_ = 0;  // within the flow
  double gap_ns_ = 0;         // between consecutive packets of the generator
};

/// The answer a destination sends to `p`: addresses and ports swapped, TTL 64, TCP `syn` ->
/// `syn,ack` and anything else -> `ack`, ICMP echo request -> reply. nullopt for packets nobody
/// answers (ARP, ICMP other than echo request, IP fragments after the first).
std::optional<Packet> reply_to(const Packet& p);

}  // namespace hivesim
