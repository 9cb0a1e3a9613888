#include "sim/packet/packet.hpp"

namespace hivesim {

namespace {

bool is_echo(std::uint8_t icmp_type) {
  return icmp_type == icmptype::kEchoRequest || icmp_type == icmptype::kEchoReply;
}

std::uint32_t vlan_key(const Packet& p) {
  switch (p.vlan_count) {
    case 0:
      return 0;
    case 1:
      return std::uint32_t{p.vlans[0]} << 16;  // the only tag is the outer one
    default:
      return (std::uint32_t{p.vlans[0]} << 16) | p.vlans[1];
  }
}

}  // namespace

FlowKey flow_key(const Packet& p, PortId in_port) {
  static_assert(kFlowFieldsVersion == 1, "flow_key(): fill every field of the key");
  FlowKey key;
  key.in_port = in_port;
  key.eth_src = p.eth_src;
  key.eth_dst = p.eth_dst;
  key.vlan = vlan_key(p);
  key.ethertype = p.ethertype;

  if (p.is_arp()) {
    // As in OVS, the ARP protocol addresses share the IP address fields.
    key.nw_src = p.arp_spa;
    key.nw_dst = p.arp_tpa;
    key.arp_op = p.arp_op;
    key.arp_sha = p.arp_sha;
    return key;
  }
  if (!p.is_ipv4()) return key;

  key.nw_src = p.src;
  key.nw_dst = p.dst;
  key.nw_proto = p.proto;
  key.nw_tos = p.tos;
  key.nw_ttl = p.ttl;
  key.nw_frag = p.frag;
  if (!p.has_l4()) return key;

  switch (p.proto) {
    case ipproto::kTcp:
      key.tp_src = p.sport;
      key.tp_dst = p.dport;
      key.tcp_flags = p.tcp_flags;
      break;
    case ipproto::kUdp:
      key.tp_src = p.sport;
      key.tp_dst = p.dport;
      break;
    case ipproto::kIcmp:
      key.tp_src = p.icmp_type;
      key.tp_dst = p.icmp_code;
      // Only echo carries an identifier; other types reuse those bytes for other things.
      if (is_echo(p.icmp_type)) key.icmp_id = p.icmp_id;
      break;
    default:
      break;
  }
  return key;
}

FlowKey masked(const FlowKey& key, FieldMask mask) {
  static_assert(kFlowFieldsVersion == 1, "masked(): keep every field of the mask");
  FlowKey out;  // every field at its default ("zero") value
  if (mask.has(Field::kInPort)) out.in_port = key.in_port;
  if (mask.has(Field::kEthSrc)) out.eth_src = key.eth_src;
  if (mask.has(Field::kEthDst)) out.eth_dst = key.eth_dst;
  if (mask.has(Field::kVlan)) out.vlan = key.vlan;
  if (mask.has(Field::kEthertype)) out.ethertype = key.ethertype;
  // nw_src/nw_dst also hold the ARP protocol addresses.
  if (mask.has(Field::kNwSrc) || mask.has(Field::kArpSpa)) out.nw_src = key.nw_src;
  if (mask.has(Field::kNwDst) || mask.has(Field::kArpTpa)) out.nw_dst = key.nw_dst;
  if (mask.has(Field::kNwProto)) out.nw_proto = key.nw_proto;
  if (mask.has(Field::kNwTos)) out.nw_tos = key.nw_tos;
  if (mask.has(Field::kNwTtl)) out.nw_ttl = key.nw_ttl;
  if (mask.has(Field::kNwFrag)) out.nw_frag = key.nw_frag;
  if (mask.has(Field::kTpSrc)) out.tp_src = key.tp_src;
  if (mask.has(Field::kTpDst)) out.tp_dst = key.tp_dst;
  if (mask.has(Field::kIcmpId)) out.icmp_id = key.icmp_id;
  if (mask.has(Field::kTcpFlags)) out.tcp_flags = key.tcp_flags;
  if (mask.has(Field::kArpOp)) out.arp_op = key.arp_op;
  if (mask.has(Field::kArpSha)) out.arp_sha = key.arp_sha;
  return out;
}

}  // namespace hivesim
