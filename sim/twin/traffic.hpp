#pragma once
// Traffic sources: what feeds packets into the twin. A source yields packets in non-decreasing
// simulated time, each with the exterior port it enters by; the twin pulls one packet at a time
// and keeps none, so a source of a million flows costs no queue memory.
// The scenario's synthetic generators are one implementation; the pcap reader is another.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "sim/flow/simulator.hpp"
#include "sim/packet/codec.hpp"
#include "sim/packet/packet.hpp"
#include "topology/model.hpp"
#include "topology/result.hpp"

namespace hivesim {

/// A packet's flow key and what the underlay needs of it, extracted once.
struct Extracted {
  FlowKey key;               // flow_key(packet, port)
  std::uint32_t length = 0;  // wire_length(packet)
  std::uint8_t vlan_count = 0;
  friend bool operator==(const Extracted&, const Extracted&) = default;
};

/// Extracted for `packet` entering at `port`.
Extracted extract(const Packet& packet, PortId port);

struct SourcePacket {
  // (What the twin reads of a packet that hits a flow comes first: up to `extracted`, the
  // record's first cache lines.)
  SimTime at = 0;
  PortId port;
  /// The frame's length as the source saw it on the wire (a capture's original length, padding
  /// included; 0 from a generator): the replay's byte count. The underlay sends wire_length().
  std::uint32_t wire_bytes = 0;
  /// What the datapath reads of `packet` on receive, when the source extracted it as it read
  /// the packet (a capture's reader thread does, as a NIC does); the twin extracts it otherwise.
  /// Only ever set for a packet that parses. A caller that changes the packet before injecting
  /// it must parse() it first and reset this.
  std::optional<Extracted> extracted;
  /// Set when the source extracted the packet without parsing it (frame_flow_key): the frame's
  /// bytes, held by the source until the next record. `packet` is not filled then: whatever
  /// reads it calls parse() first. A flow-table hit needs only `extracted`.
  std::span<const std::uint8_t> unparsed;
  /// Set instead of `unparsed` by a source that keeps no payload, and so no frame: parse()
  /// rebuilds the packet from `extracted` and this (packet_from_keyed).
  std::optional<KeyedRest> keyed;
  bool keep_payload = true;  // for parse()
  Packet packet;
  /// Set when the frame could not be parsed (a capture's truncated or broken packet): the twin
  /// counts it injected and dropped `malformed` at the port, with this as the detail.
  std::optional<std::string> malformed;

  /// Fills `packet` from `unparsed` or `keyed`, if the source left it unparsed.
  void parse();
};

class TrafficSource {
 public:
  virtual ~TrafficSource() = default;
  /// The next packet, at a time no earlier than the previous one; nullptr when exhausted.
  /// The record is the source's own: it stays valid, and the caller may change it (the twin
  /// rewrites the packet in place), until the next call. No copy is made on either side.
  virtual SourcePacket* next() = 0;
  /// Why the source stopped early (e.g. a capture broken part-way); nullopt if it did not.
  virtual std::optional<std::string> error() const { return std::nullopt; }
};

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
