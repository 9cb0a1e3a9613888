#include <catch2/catch.hpp>

#include "sim/packet/packet.hpp"
#include "tests/sim/packet/packet_gen.hpp"

namespace hivesim {
namespace {

TEST_CASE("FlowKey: a tcp packet fills the ip and port fields") {
  Packet p;
  p.eth_src = Mac{1};
  p.eth_dst = Mac{2};
  p.src = Ipv4{0x0a000001};
  p.dst = Ipv4{0x0a000002};
  p.proto = ipproto::kTcp;
  p.ttl = 17;
  p.tos = 4;
  p.sport = 1234;
  p.dport = 80;
  p.tcp_flags = tcpflag::kSyn;
  const FlowKey k = flow_key(p, PortId{3});
  CHECK(k.in_port == PortId{3});
  CHECK(k.eth_src == Mac{1});
  CHECK(k.eth_dst == Mac{2});
  CHECK(k.vlan == 0);
  CHECK(k.ethertype == ethertype::kIpv4);
  CHECK(k.nw_src == p.src);
  CHECK(k.nw_dst == p.dst);
  CHECK(k.nw_proto == ipproto::kTcp);
  CHECK(k.nw_ttl == 17);
  CHECK(k.nw_tos == 4);
  CHECK(k.nw_frag == FragKind::kNone);
  CHECK(k.tp_src == 1234);
  CHECK(k.tp_dst == 80);
  CHECK(k.tcp_flags == tcpflag::kSyn);
  CHECK(k.arp_op == 0);
}

TEST_CASE("FlowKey: icmp type and code go to the transport fields, echo ids to icmp_id") {
  Packet p;
  p.proto = ipproto::kIcmp;
  p.icmp_type = icmptype::kEchoRequest;
  p.icmp_code = 0;
  p.icmp_id = 77;
  FlowKey k = flow_key(p, PortId{0});
  CHECK(k.tp_src == icmptype::kEchoRequest);
  CHECK(k.tp_dst == 0);
  CHECK(k.icmp_id == 77);

  // An error's rest-of-header (here a next-hop MTU) is not an id.
  p.icmp_type = icmptype::kUnreachable;
  p.icmp_code = icmpcode::kFragNeeded;
  p.icmp_id = 0;
  p.icmp_seq = 1400;
  p.quoted = QuotedHeader{};
  k = flow_key(p, PortId{0});
  CHECK(k.tp_src == 3);
  CHECK(k.tp_dst == 4);
  CHECK(k.icmp_id == 0);
}

TEST_CASE("FlowKey: a later fragment has no transport fields") {
  Packet p;
  p.proto = ipproto::kUdp;
  p.frag = FragKind::kLater;
  p.frag_offset = 100;
  p.sport = 5;  // stale values must not leak into the key
  p.dport = 6;
  const FlowKey k = flow_key(p, PortId{0});
  CHECK(k.nw_frag == FragKind::kLater);
  CHECK(k.tp_src == 0);
  CHECK(k.tp_dst == 0);
}

TEST_CASE("FlowKey: arp addresses share the ip fields, as in OVS") {
  Packet p;
  p.ethertype = ethertype::kArp;
  p.arp_op = arpop::kReply;
  p.arp_sha = Mac{9};
  p.arp_spa = Ipv4{1};
  p.arp_tpa = Ipv4{2};
  p.src = Ipv4{99};  // not ARP fields: ignored
  const FlowKey k = flow_key(p, PortId{0});
  CHECK(k.nw_src == Ipv4{1});
  CHECK(k.nw_dst == Ipv4{2});
  CHECK(k.arp_op == arpop::kReply);
  CHECK(k.arp_sha == Mac{9});
  CHECK(k.nw_proto == 0);
  CHECK(k.nw_ttl == 0);
}

TEST_CASE("FlowKey: vlan is outer << 16 | inner, a single tag being the outer one") {
  Packet p;
  p.vlan_count = 1;
  p.vlans = {10, 0};
  CHECK(flow_key(p, PortId{0}).vlan == 10U << 16);
  p.vlan_count = 2;
  p.vlans = {100, 10};
  CHECK(flow_key(p, PortId{0}).vlan == (100U << 16 | 10U));
}

TEST_CASE("FlowKey: an opaque ethertype keys on L2 only") {
  Packet p;
  p.ethertype = ethertype::kIpv6;
  p.src = Ipv4{5};
  const FlowKey k = flow_key(p, PortId{1});
  CHECK(k.ethertype == ethertype::kIpv6);
  CHECK(k.nw_src == Ipv4{});
  CHECK(k.nw_ttl == 0);
}

/// The naive reference for masked(): one field at a time.
FlowKey reference_masked(const FlowKey& key, FieldMask mask) {
  FlowKey out = key;
  const FlowKey zero;
  static_assert(kFlowFieldsVersion == 1, "reference_masked(): clear every field outside the mask");
  auto keep = [&](Field f) { return mask.has(f); };
  if (!keep(Field::kInPort)) out.in_port = zero.in_port;
  if (!keep(Field::kEthSrc)) out.eth_src = zero.eth_src;
  if (!keep(Field::kEthDst)) out.eth_dst = zero.eth_dst;
  if (!keep(Field::kVlan)) out.vlan = zero.vlan;
  if (!keep(Field::kEthertype)) out.ethertype = zero.ethertype;
  if (!keep(Field::kNwSrc) && !keep(Field::kArpSpa)) out.nw_src = zero.nw_src;
  if (!keep(Field::kNwDst) && !keep(Field::kArpTpa)) out.nw_dst = zero.nw_dst;
  if (!keep(Field::kNwProto)) out.nw_proto = zero.nw_proto;
  if (!keep(Field::kNwTos)) out.nw_tos = zero.nw_tos;
  if (!keep(Field::kNwTtl)) out.nw_ttl = zero.nw_ttl;
  if (!keep(Field::kNwFrag)) out.nw_frag = zero.nw_frag;
  if (!keep(Field::kTpSrc)) out.tp_src = zero.tp_src;
  if (!keep(Field::kTpDst)) out.tp_dst = zero.tp_dst;
  if (!keep(Field::kIcmpId)) out.icmp_id = zero.icmp_id;
  if (!keep(Field::kTcpFlags)) out.tcp_flags = zero.tcp_flags;
  if (!keep(Field::kArpOp)) out.arp_op = zero.arp_op;
  if (!keep(Field::kArpSha)) out.arp_sha = zero.arp_sha;
  return out;
}

TEST_CASE("FlowKey: masked() agrees with a field-by-field reference on generated keys") {
  test::PacketGen gen(99);
  const std::uint32_t all = (1U << static_cast<unsigned>(Field::kCount)) - 1;
  for (int i = 0; i < 5000; ++i) {
    const Packet p = gen.wire_packet();
    const FlowKey key = flow_key(p, PortId{gen.uniform(0, 100)});
    const FieldMask mask{gen.uniform(0, all)};
    const FlowKey m = masked(key, mask);
    CHECK(m == reference_masked(key, mask));
    CHECK(masked(m, mask) == m);  // idempotent
  }
}

TEST_CASE("FlowKey: masked() with every field keeps the key, with none gives the empty key") {
  test::PacketGen gen(5);
  FieldMask every;
  for (unsigned f = 0; f < static_cast<unsigned>(Field::kCount); ++f) {
    every.add(static_cast<Field>(f));
  }
  for (int i = 0; i < 200; ++i) {
    const FlowKey key = flow_key(gen.wire_packet(), PortId{1});
    CHECK(masked(key, every) == key);
    CHECK(masked(key, FieldMask{}) == FlowKey{});
  }
}

TEST_CASE("FlowKey: keys of packets differing only in unread fields match after masking") {
  Packet a;
  a.proto = ipproto::kTcp;
  a.dst = Ipv4{0x0a000002};
  a.dport = 5432;
  a.sport = 40000;
  Packet b = a;
  b.sport = 40001;
  b.ttl = 3;
  FieldMask read;
  read.add(Field::kNwDst);
  read.add(Field::kTpDst);
  read.add(Field::kNwProto);
  CHECK(masked(flow_key(a, PortId{1}), read) == masked(flow_key(b, PortId{2}), read));
  read.add(Field::kTpSrc);
  CHECK_FALSE(masked(flow_key(a, PortId{1}), read) == masked(flow_key(b, PortId{1}), read));
}

}  // namespace
}  // namespace hivesim
