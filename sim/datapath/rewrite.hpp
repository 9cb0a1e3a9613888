#pragma once
// The set-field actions of a datapath flow: what turns the ingress packet into one output packet.
//
// A flow simulation returns whole output packets; the datapath stores only the header fields
// that changed, as OVS set-field (and VLAN push/pop) actions, so that later packets of the flow
// get the same rewrite without a simulation. Only these fields can be rewritten: Ethernet
// addresses, the VLAN stack, IPv4 addresses, TTL and TOS, TCP/UDP ports and the ICMP echo id.
// Anything else that differs (ethertype, protocol, payload, ARP fields, the header quoted by an
// ICMP error, ...) is a generated packet, not a rewrite.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "sim/packet/packet.hpp"

namespace hivesim {

/// A field a rewrite may set, in the order to_string() lists them.
enum class RewriteField : std::uint8_t {
  kEthSrc,
  kEthDst,
  kVlans,  // the whole tag stack: count, ids, priorities and outer TPID (set/push/pop)
  kNwSrc,
  kNwDst,
  kNwTos,
  kNwTtl,
  kTpSrc,  // tcp/udp source port
  kTpDst,  // tcp/udp destination port
  kIcmpId,
  kCount,
};

/// Set-field actions. A value is meaningful only when its field is set; unset values stay at
/// their defaults so that equal rewrites compare equal.
/// Members are ordered for size (48 bytes): a flow table holds one per output.
struct PacketRewrite {
  Mac eth_src;
  Mac eth_dst;
  Ipv4 nw_src;
  Ipv4 nw_dst;
  std::array<std::uint16_t, 2> vlans{};  // as Packet: ids outermost first
  std::array<std::uint8_t, 2> vlan_pcp{};
  std::uint16_t outer_tpid = ethertype::kVlan;
  std::uint16_t fields = 0;  // bit per RewriteField
  std::uint16_t tp_src = 0;
  std::uint16_t tp_dst = 0;
  std::uint16_t icmp_id = 0;
  std::uint8_t vlan_count = 0;
  std::uint8_t nw_tos = 0;
  std::uint8_t nw_ttl = 0;

  constexpr bool has(RewriteField f) const { return (fields >> static_cast<unsigned>(f)) & 1U; }
  constexpr bool empty() const { return fields == 0; }
  constexpr void mark(RewriteField f) {
    fields = static_cast<std::uint16_t>(fields | (1U << static_cast<unsigned>(f)));
  }

  friend bool operator==(const PacketRewrite&, const PacketRewrite&) = default;
};

/// The rewrite turning `in` into `out`, or nullopt when a field outside the rewritable set
/// differs, or a rewritable field differs where the packet has no such header (an IPv4 field
/// of a non-IPv4 packet, a port outside TCP/UDP, the icmp id outside echo). For every result,
/// apply(*rewrite_between(in, out), in) == out.
std::optional<PacketRewrite> rewrite_between(const Packet& in, const Packet& out);

/// Writes the set fields of `rewrite` into `packet`.
void apply(const PacketRewrite& rewrite, Packet& packet);

/// wire_length() of apply(rewrite, p), from wire_length(p) and p.vlan_count, without p: a
/// rewrite changes the length only by pushing or popping VLAN tags.
std::size_t rewritten_length(const PacketRewrite& rewrite, std::size_t length,
                             std::uint8_t vlan_count);

/// "set(eth_src=02:00:00:00:00:01,nw_ttl=63)", fields in RewriteField order; "" when empty.
/// VLAN stacks read "vlans=none", "vlans=10" or "vlans=10:20", then ",vlan_pcp=3:0" when a
/// priority is set and ",vlan_tpid=0x88a8" for a non-0x8100 outer tag.
std::string to_string(const PacketRewrite& rewrite);

}  // namespace hivesim
