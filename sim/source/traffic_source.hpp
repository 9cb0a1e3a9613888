#pragma once
// Traffic sources: what feeds packets into the twin. A source yields packets in non-decreasing
// simulated time, each with the exterior port it enters by; the twin pulls one packet at a time
// and keeps none, so a source of a million flows costs no queue memory.
// The scenario's synthetic generators (sim/twin/traffic.hpp) are one implementation; the pcap
// reader (sim/io/pcap_source.hpp) is another. This interface needs only the packet layer, so a
// source does not depend on the flow core or the twin.
//
// Invariants: a record handed out by next() is the source's own and stays valid until the next
// call; `extracted` is only set for a packet that parses. Cost: one record per source, reused.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/units.hpp"
#include "sim/packet/codec.hpp"
#include "sim/packet/packet.hpp"
#include "topology/ids.hpp"

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

}  // namespace hivesim
