#pragma once
// Packets as value types, the flat flow key, and the mask of fields a simulation read.
//
// A Packet is a parsed header stack (Ethernet, up to two VLAN tags, then ARP or IPv4 with
// ICMP/TCP/UDP, or an opaque L3 payload such as IPv6) plus the L4 payload. It is what the flow
// core reads and rewrites; sim/packet/codec.hpp turns it into wire bytes and back, and
// sim/packet/spec.hpp into the one-line packet spec of SPEC section 3 and back.
// Copying a Packet with an empty payload does not allocate.

#include <array>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include "base/ip_proto.hpp"
#include "sim/packet/flow_fields.hpp"
#include "topology/address.hpp"
#include "topology/ids.hpp"

namespace hivesim {

namespace ethertype {
inline constexpr std::uint16_t kIpv4 = 0x0800;
inline constexpr std::uint16_t kArp = 0x0806;
inline constexpr std::uint16_t kVlan = 0x8100;
inline constexpr std::uint16_t kQinQ = 0x88a8;
inline constexpr std::uint16_t kIpv6 = 0x86dd;
}  // namespace ethertype

namespace tcpflag {
inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;
}  // namespace tcpflag

namespace icmptype {
inline constexpr std::uint8_t kEchoReply = 0;
inline constexpr std::uint8_t kUnreachable = 3;
inline constexpr std::uint8_t kEchoRequest = 8;
inline constexpr std::uint8_t kTimeExceeded = 11;

/// The error types, which quote the offending packet's IP header and first 8 L4 bytes:
/// unreachable, source quench, redirect, time exceeded, parameter problem.
constexpr bool is_error(std::uint8_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}
}  // namespace icmptype

namespace icmpcode {
inline constexpr std::uint8_t kNetUnreachable = 0;
inline constexpr std::uint8_t kHostUnreachable = 1;
inline constexpr std::uint8_t kFragNeeded = 4;
inline constexpr std::uint8_t kFilterProhibited = 13;
}  // namespace icmpcode

namespace arpop {
inline constexpr std::uint16_t kRequest = 1;
inline constexpr std::uint16_t kReply = 2;
}  // namespace arpop

/// IPv4 fragment position, as the flow key sees it.
enum class FragKind : std::uint8_t { kNone, kFirst, kLater };

/// The IP header and first L4 bytes quoted by an ICMP error (RFC 792: header + 8 bytes).
struct QuotedHeader {
  Ipv4 src;
  Ipv4 dst;
  std::uint8_t proto = 0;
  std::uint8_t ttl = 0;
  std::uint8_t tos = 0;
  std::uint16_t ip_id = 0;
  std::uint16_t total_len = 20;
  /// tcp/udp ports; for quoted ICMP: type in sport's high byte is not used, see icmp_* below.
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint8_t icmp_type = 0;
  std::uint8_t icmp_code = 0;
  std::uint16_t icmp_id = 0;
  friend bool operator==(const QuotedHeader&, const QuotedHeader&) = default;
};

/// The fields every packet sets, kept together at the front of a Packet (its first two cache
/// lines, with the payload's vector): parsing a frame into a reused Packet rewrites these, and
/// the rarer ones (ARP addresses, IP option bytes, a quoted header) only when they were set.
struct PacketFields {
  // Ethernet and VLAN tags (outermost first).
  Mac eth_src;
  Mac eth_dst;
  std::uint8_t vlan_count = 0;                  // 0, 1 or 2 (QinQ)
  std::array<std::uint16_t, 2> vlans{};         // VLAN ids (12 bits), outermost first
  std::array<std::uint8_t, 2> vlan_pcp{};       // priority bits, kept for round trips
  std::uint16_t outer_tpid = ethertype::kVlan;  // 0x8100 or 0x88a8 for the outer tag
  std::uint16_t ethertype = ethertype::kIpv4;   // after the tags
  std::uint16_t arp_op = 0;                     // ARP (ethertype kArp); addresses in Packet

  // IPv4 (ethertype kIpv4).
  Ipv4 src;
  Ipv4 dst;
  std::uint8_t proto = 0;
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;
  std::uint16_t ip_id = 0;
  bool dont_fragment = false;
  FragKind frag = FragKind::kNone;
  std::uint16_t frag_offset = 0;  // in 8-byte units
  /// The MF bit of a kLater fragment (a middle one); kFirst always has MF, kNone never.
  bool more_fragments = false;
  std::uint8_t ip_options_len = 0;  // bytes, multiple of 4, <= 40 (the bytes: Packet)

  // L4: TCP/UDP ports; ICMP type/code/id/seq. Absent for later fragments.
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint8_t tcp_flags = 0;
  std::uint32_t tcp_seq = 0;
  std::uint32_t tcp_ack = 0;
  std::uint16_t tcp_window = 65535;
  std::uint8_t icmp_type = 0;
  std::uint8_t icmp_code = 0;
  // Echo request/reply id and sequence. For other ICMP types these hold the 4 "rest of
  // header" bytes (e.g. the next-hop MTU of 3/4 in icmp_seq), so that round trips are exact.
  std::uint16_t icmp_id = 0;
  std::uint16_t icmp_seq = 0;

  std::uint32_t payload_len = 0;  // see Packet::payload

  friend bool operator==(const PacketFields&, const PacketFields&) = default;
};

struct Packet : PacketFields {
  // Payload after the last parsed header. For an opaque ethertype (IPv6, ...) this is all of
  // the L3 bytes. `payload` may be empty while payload_len > 0: the bytes are then zeros.
  std::vector<std::uint8_t> payload;

  // The rarer fields.
  Mac arp_sha;  // ARP
  Mac arp_tha;
  Ipv4 arp_spa;
  Ipv4 arp_tpa;
  std::array<std::uint8_t, 40> ip_options{};  // IPv4 options, ip_options_len of them
  std::optional<QuotedHeader> quoted;         // ICMP errors

  bool is_ipv4() const { return ethertype == ethertype::kIpv4; }
  bool is_arp() const { return ethertype == ethertype::kArp; }
  bool has_l4() const { return is_ipv4() && frag != FragKind::kLater; }

  /// Field by field, payload bytes included (an empty payload is not equal to zeros).
  friend bool operator==(const Packet&, const Packet&) = default;
};

// ---------------------------------------------------------------------------------------------
// The flow key and its mask (OVS/MidoNet style: a flat struct of header fields; a wildcarded
// flow is a key plus the mask of fields its simulation read).

struct FieldMask {
  std::uint32_t bits = 0;
  constexpr void add(Field f) { bits |= 1U << static_cast<unsigned>(f); }
  constexpr bool has(Field f) const { return (bits >> static_cast<unsigned>(f)) & 1U; }
  constexpr void merge(FieldMask other) { bits |= other.bits; }
  friend constexpr bool operator==(FieldMask, FieldMask) = default;
};

/// All header fields a flow can match on, flat. ARP addresses reuse nw_src/nw_dst (as OVS).
/// Laid out without padding (56 bytes, checked below), so that its bytes are its value: a flow
/// table packs it into words by copying them.
struct FlowKey {
  Mac eth_src;
  Mac eth_dst;
  Mac arp_sha;
  PortId in_port;
  // outer << 16 | inner; one tag is the outer one (id << 16); 0 = untagged (ids are 1..4094)
  std::uint32_t vlan = 0;
  Ipv4 nw_src;
  Ipv4 nw_dst;
  std::uint16_t ethertype = 0;
  std::uint16_t tp_src = 0;
  std::uint16_t tp_dst = 0;
  std::uint16_t icmp_id = 0;
  std::uint16_t arp_op = 0;
  std::uint8_t nw_proto = 0;
  std::uint8_t nw_tos = 0;
  std::uint8_t nw_ttl = 0;
  FragKind nw_frag = FragKind::kNone;
  std::uint8_t tcp_flags = 0;
  std::uint8_t zero = 0;  // the byte that would be padding; always 0

  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};
static_assert(sizeof(FlowKey) == 56 && std::has_unique_object_representations_v<FlowKey>,
              "FlowKey must have no padding bytes");
static_assert(kFlowFieldsVersion == 1, "a FlowKey member per Field (sim/packet/flow_fields.hpp)");

/// The key of `p` entering at `in_port`.
FlowKey flow_key(const Packet& p, PortId in_port);
/// `key` with every field not in `mask` zeroed (the wildcarded form stored in a flow table).
FlowKey masked(const FlowKey& key, FieldMask mask);

}  // namespace hivesim
