#include "sim/datapath/rewrite.hpp"

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "sim/packet/codec.hpp"
#include "tests/sim/packet/packet_gen.hpp"

namespace hivesim {
namespace {

Packet tcp_packet() {
  Packet p;
  p.eth_src = *Mac::parse("02:00:00:00:00:01");
  p.eth_dst = *Mac::parse("02:00:00:00:00:02");
  p.src = *Ipv4::parse("10.0.0.1");
  p.dst = *Ipv4::parse("10.0.0.2");
  p.proto = ipproto::kTcp;
  p.sport = 40000;
  p.dport = 80;
  p.payload_len = 100;
  return p;
}

bool has_ports(const Packet& p) {
  return p.has_l4() && (p.proto == ipproto::kTcp || p.proto == ipproto::kUdp);
}

bool has_echo_id(const Packet& p) {
  return p.has_l4() && p.proto == ipproto::kIcmp &&
         (p.icmp_type == icmptype::kEchoRequest || p.icmp_type == icmptype::kEchoReply);
}

TEST_CASE("PacketRewrite: a routed packet is a MAC and TTL rewrite") {
  const Packet in = tcp_packet();
  Packet out = in;
  out.eth_src = *Mac::parse("02:00:00:00:02:01");
  out.eth_dst = *Mac::parse("02:00:00:00:02:1e");
  out.ttl = 63;
  const auto rw = rewrite_between(in, out);
  REQUIRE(rw);
  CHECK(rw->has(RewriteField::kEthSrc));
  CHECK(rw->has(RewriteField::kEthDst));
  CHECK(rw->has(RewriteField::kNwTtl));
  CHECK_FALSE(rw->has(RewriteField::kNwSrc));
  CHECK(to_string(*rw) == "set(eth_src=02:00:00:00:02:01,eth_dst=02:00:00:00:02:1e,nw_ttl=63)");
  Packet applied = in;
  apply(*rw, applied);
  CHECK(applied == out);
}

TEST_CASE("PacketRewrite: an unchanged packet is an empty rewrite") {
  const Packet in = tcp_packet();
  const auto rw = rewrite_between(in, in);
  REQUIRE(rw);
  CHECK(rw->empty());
  CHECK(*rw == PacketRewrite{});
  CHECK(to_string(*rw).empty());
}

TEST_CASE("PacketRewrite: NAT, ports, TOS, ICMP id and VLAN stacks render in field order") {
  Packet in = tcp_packet();
  Packet out = in;
  out.src = *Ipv4::parse("180.0.1.2");
  out.sport = 1024;
  out.dst = *Ipv4::parse("10.0.1.10");
  out.dport = 8080;
  out.tos = 4;
  auto rw = rewrite_between(in, out);
  REQUIRE(rw);
  CHECK(to_string(*rw) ==
        "set(nw_src=180.0.1.2,nw_dst=10.0.1.10,nw_tos=4,tp_src=1024,tp_dst=8080)");

  SECTION("push, set and pop VLAN tags") {
    out = in;
    out.vlan_count = 1;
    out.vlans = {100, 0};
    rw = rewrite_between(in, out);
    REQUIRE(rw);
    CHECK(to_string(*rw) == "set(vlans=100)");
    out.vlan_count = 2;
    out.vlans = {100, 200};
    out.vlan_pcp = {3, 0};
    out.outer_tpid = ethertype::kQinQ;
    rw = rewrite_between(in, out);
    REQUIRE(rw);
    CHECK(to_string(*rw) == "set(vlans=100:200,vlan_pcp=3:0,vlan_tpid=0x88a8)");
    rw = rewrite_between(out, in);
    REQUIRE(rw);
    CHECK(to_string(*rw) == "set(vlans=none)");
    Packet popped = out;
    apply(*rw, popped);
    CHECK(popped == in);
  }
  SECTION("the echo id of ICMP NAT") {
    in.proto = ipproto::kIcmp;
    in.sport = in.dport = 0;
    in.icmp_type = icmptype::kEchoRequest;
    in.icmp_id = 7;
    out = in;
    out.icmp_id = 9;
    rw = rewrite_between(in, out);
    REQUIRE(rw);
    CHECK(to_string(*rw) == "set(icmp_id=9)");
  }
}

TEST_CASE("PacketRewrite: differences outside the set-field actions are not rewrites") {
  Packet in = tcp_packet();
  using Change = std::function<void(Packet&)>;
  const std::vector<std::pair<const char*, Change>> changes = {
      {"ethertype", [](Packet& p) { p.ethertype = ethertype::kIpv6; }},
      {"protocol", [](Packet& p) { p.proto = ipproto::kUdp; }},
      {"ip id", [](Packet& p) { p.ip_id = 5; }},
      {"tcp flags", [](Packet& p) { p.tcp_flags = tcpflag::kRst; }},
      {"payload length", [](Packet& p) { p.payload_len = 10; }},
      {"payload bytes", [](Packet& p) { p.payload.assign(100, 1); }},
      {"the ICMP type", [](Packet& p) { p.icmp_type = icmptype::kEchoRequest; }},
      {"fragment", [](Packet& p) { p.frag = FragKind::kFirst; }},
  };
  for (const auto& [what, change] : changes) {
    Packet out = in;
    change(out);
    INFO(what);
    CHECK_FALSE(rewrite_between(in, out));
  }

  SECTION("ARP fields, and IPv4 fields of an ARP packet") {
    in.ethertype = ethertype::kArp;
    in.arp_op = arpop::kRequest;
    Packet out = in;
    out.arp_tpa = Ipv4{1};
    CHECK_FALSE(rewrite_between(in, out));
    out = in;
    out.ttl = 1;
    CHECK_FALSE(rewrite_between(in, out));
    out = in;
    out.eth_dst = Mac::broadcast();
    CHECK(rewrite_between(in, out));
  }
  SECTION("the header quoted by an ICMP error, and its rest-of-header bytes") {
    in.proto = ipproto::kIcmp;
    in.icmp_type = icmptype::kUnreachable;
    in.quoted = QuotedHeader{};
    Packet out = in;
    out.quoted->src = Ipv4{1};
    CHECK_FALSE(rewrite_between(in, out));
    out = in;
    out.icmp_id = 1;
    CHECK_FALSE(rewrite_between(in, out));
    out = in;
    out.sport = 1;  // not a TCP/UDP packet: no ports to set
    CHECK_FALSE(rewrite_between(in, out));
  }
}

/// Random rewritable and non-rewritable changes on generated packets (fixed seed).
TEST_CASE("PacketRewrite: generated pairs round trip, and other changes are refused") {
  test::PacketGen gen(20240611);
  int expressible = 0;
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    const Packet in = gen.wire_packet();
    Packet out = in;
    std::uint16_t expect = 0;
    const auto change = [&](RewriteField f, auto& field, auto value) {
      if (!gen.coin()) return;
      if (field != value) expect |= static_cast<std::uint16_t>(1U << static_cast<unsigned>(f));
      field = value;
    };
    change(RewriteField::kEthSrc, out.eth_src, gen.mac());
    change(RewriteField::kEthDst, out.eth_dst, gen.mac());
    if (gen.uniform(0, 3) == 0) {
      out.vlan_count = static_cast<std::uint8_t>(gen.uniform(0, 2));
      for (std::uint8_t t = 0; t < out.vlan_count; ++t) {
        out.vlans[t] = static_cast<std::uint16_t>(gen.uniform(1, 4094));
      }
      if (gen.coin()) out.vlan_pcp[0] = static_cast<std::uint8_t>(gen.uniform(0, 7));
      if (!(out.vlan_count == in.vlan_count && out.vlans == in.vlans &&
            out.vlan_pcp == in.vlan_pcp && out.outer_tpid == in.outer_tpid)) {
        expect |= 1U << static_cast<unsigned>(RewriteField::kVlans);
      }
    }
    if (in.is_ipv4()) {
      change(RewriteField::kNwSrc, out.src, gen.ip());
      change(RewriteField::kNwDst, out.dst, gen.ip());
      change(RewriteField::kNwTos, out.tos, gen.u8());
      change(RewriteField::kNwTtl, out.ttl, gen.u8());
    }
    if (has_ports(in)) {
      change(RewriteField::kTpSrc, out.sport, gen.u16());
      change(RewriteField::kTpDst, out.dport, gen.u16());
    }
    if (has_echo_id(in)) change(RewriteField::kIcmpId, out.icmp_id, gen.u16());

    const auto rw = rewrite_between(in, out);
    REQUIRE(rw);
    CHECK(rw->fields == expect);
    Packet applied = in;
    apply(*rw, applied);
    REQUIRE(applied == out);
    // The length the underlay sends, known without rewriting the packet.
    CHECK(rewritten_length(*rw, wire_length(in), in.vlan_count) == wire_length(out));
    CHECK(to_string(*rw).empty() == (expect == 0));
    ++expressible;

    // One change no set-field action makes.
    Packet bad = out;
    switch (gen.uniform(0, 6)) {
      case 0:
        bad.ethertype ^= 1;
        break;
      case 1:
        bad.payload_len += 1;
        break;
      case 2:
        bad.arp_sha.bits ^= 1;
        break;
      case 3:
        bad.tcp_seq ^= 1;
        break;
      case 4:
        if (in.is_ipv4()) {
          bad.proto ^= 1;
        } else {
          bad.ttl ^= 1;
        }
        break;
      case 5:
        if (has_ports(in)) {
          bad.icmp_type ^= 1;
        } else {
          bad.sport ^= 1;
        }
        break;
      default:
        if (in.quoted) {
          bad.quoted->dport ^= 1;
        } else if (has_echo_id(in)) {
          bad.icmp_seq ^= 1;
        } else {
          bad.icmp_id ^= 1;
        }
        break;
    }
    INFO("in:  " << Catch::Detail::stringify(in));
    INFO("bad: " << Catch::Detail::stringify(bad));
    REQUIRE_FALSE(rewrite_between(in, bad));
    ++refused;
  }
  CHECK(expressible == 20000);
  CHECK(refused == 20000);
}

}  // namespace
}  // namespace hivesim
