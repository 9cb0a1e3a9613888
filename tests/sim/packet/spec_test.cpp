#include "sim/packet/spec.hpp"

#include <catch2/catch.hpp>

#include "sim/packet/codec.hpp"
#include "tests/sim/packet/packet_gen.hpp"

namespace hivesim {
namespace {

const Mac kVmMac = *Mac::parse("02:00:00:00:01:0a");
const Mac kGatewayMac = *Mac::parse("02:00:00:00:01:01");
const Mac kNeighbourMac = *Mac::parse("02:00:00:00:01:0b");

/// vm1 on 10.0.1.0/24 behind router port 10.0.1.1; 10.0.1.11 is on the same bridge.
SpecDefaults vm_defaults() {
  SpecDefaults d;
  d.eth_src = kVmMac;
  d.src = *Ipv4::parse("10.0.1.10");
  d.eth_dst_for = [](Ipv4 dst) {
    return Ipv4Prefix{Ipv4{0x0a000100}, 24}.contains(dst) ? kNeighbourMac : kGatewayMac;
  };
  return d;
}

Packet build(std::string_view line, const SpecDefaults& defaults = vm_defaults()) {
  auto spec = parse_packet_spec(line);
  INFO(line);
  if (!spec.ok()) FAIL(spec.error());
  auto packet = build_packet(*spec, defaults);
  if (!packet.ok()) FAIL(packet.error());
  return *packet;
}

std::string spec_error(std::string_view line) {
  auto spec = parse_packet_spec(line);
  INFO(line);
  REQUIRE_FALSE(spec.ok());
  return spec.error();
}

std::string build_error(std::string_view line, const SpecDefaults& defaults = vm_defaults()) {
  auto spec = parse_packet_spec(line);
  INFO(line);
  REQUIRE(spec.ok());
  auto packet = build_packet(*spec, defaults);
  REQUIRE_FALSE(packet.ok());
  return packet.error();
}

TEST_CASE("PacketSpec: parse keeps exactly what was written") {
  auto spec = parse_packet_spec("  tcp dst=10.0.2.12\tdport=5432 flags=syn,ack vlan=100,10  ");
  REQUIRE(spec.ok());
  CHECK(spec->proto == SpecProto::kTcp);
  CHECK(spec->dst == Ipv4::parse("10.0.2.12"));
  CHECK(spec->dport == 5432);
  CHECK(spec->tcp_flags == (tcpflag::kSyn | tcpflag::kAck));
  CHECK(spec->vlans == std::vector<std::uint16_t>{100, 10});
  CHECK_FALSE(spec->src.has_value());
  CHECK_FALSE(spec->ttl.has_value());
  CHECK_FALSE(spec->sport.has_value());
}

TEST_CASE("PacketSpec: build fills the defaults of the sending VM") {
  SECTION("tcp to another subnet goes to the gateway MAC") {
    const Packet p = build("tcp dst=10.0.2.12 dport=5432");
    CHECK(p.eth_src == kVmMac);
    CHECK(p.eth_dst == kGatewayMac);
    CHECK(p.src == Ipv4::parse("10.0.1.10"));
    CHECK(p.ttl == 64);
    CHECK(p.tos == 0);
    CHECK(p.sport == 40000);
    CHECK(p.dport == 5432);
    CHECK(p.tcp_flags == tcpflag::kSyn);
    CHECK(p.vlan_count == 0);
    CHECK(p.payload_len == 0);
  }
  SECTION("same bridge goes to the owner's MAC") {
    CHECK(build("udp dst=10.0.1.11 dport=53").eth_dst == kNeighbourMac);
  }
  SECTION("icmp is an echo request id 1 seq 1") {
    const Packet p = build("icmp dst=10.0.2.12");
    CHECK(p.proto == ipproto::kIcmp);
    CHECK(p.icmp_type == icmptype::kEchoRequest);
    CHECK(p.icmp_code == 0);
    CHECK(p.icmp_id == 1);
    CHECK(p.icmp_seq == 1);
    CHECK_FALSE(p.quoted.has_value());
  }
  SECTION("an arp request is broadcast, from the VM's addresses") {
    const Packet p = build("arp dst=10.0.1.1");
    CHECK(p.is_arp());
    CHECK(p.arp_op == arpop::kRequest);
    CHECK(p.eth_dst == Mac::broadcast());
    CHECK(p.arp_sha == kVmMac);
    CHECK(p.arp_spa == Ipv4::parse("10.0.1.10"));
    CHECK(p.arp_tpa == Ipv4::parse("10.0.1.1"));
    CHECK(p.arp_tha == Mac{});
  }
  SECTION("an arp reply is unicast to the target") {
    const Packet p = build("arp arp_op=reply arp_tpa=10.0.1.11 arp_spa=10.0.1.99");
    CHECK(p.arp_op == arpop::kReply);
    CHECK(p.eth_dst == kNeighbourMac);
    CHECK(p.arp_tha == kNeighbourMac);
    CHECK(p.arp_spa == Ipv4::parse("10.0.1.99"));
  }
  SECTION("an icmp error quotes the inner header") {
    const Packet p = build(
        "icmp dst=10.0.1.10 icmp_type=3 icmp_code=13 inner_proto=tcp inner_dst=10.0.2.12 "
        "inner_dport=22");
    REQUIRE(p.quoted.has_value());
    CHECK(p.icmp_id == 0);
    CHECK(p.quoted->proto == ipproto::kTcp);
    CHECK(p.quoted->src == Ipv4::parse("10.0.1.10"));  // the original sender
    CHECK(p.quoted->dst == Ipv4::parse("10.0.2.12"));
    CHECK(p.quoted->sport == 40000);
    CHECK(p.quoted->dport == 22);
    CHECK(p.quoted->ttl == 64);
  }
  SECTION("fragments") {
    const Packet first = build("udp dst=10.0.2.12 dport=53 frag=first len=1472");
    CHECK(first.frag == FragKind::kFirst);
    CHECK(first.dport == 53);
    const Packet later = build("udp dst=10.0.2.12 frag=later len=100");
    CHECK(later.frag == FragKind::kLater);
    CHECK(later.frag_offset > 0);
    CHECK_FALSE(later.has_l4());
    CHECK(serialize(later).size() == 14 + 20 + 100);
  }
  SECTION("ip and eth words") {
    const Packet gre = build("ip dst=10.0.2.12 proto=47 len=24");
    CHECK(gre.proto == 47);
    CHECK(gre.payload_len == 24);
    const Packet v6 = build("eth ethertype=0x86dd eth_dst=33:33:00:00:00:01 len=40");
    CHECK(v6.ethertype == ethertype::kIpv6);
    CHECK(v6.eth_dst == *Mac::parse("33:33:00:00:00:01"));
    CHECK(v6.payload_len == 40);
    CHECK(serialize(v6).size() == 14 + 40);
  }
  SECTION("written values win over defaults") {
    const Packet p = build(
        "tcp eth_src=02:00:00:00:00:aa eth_dst=02:00:00:00:00:bb src=1.2.3.4 dst=5.6.7.8 ttl=3 "
        "tos=16 sport=1 dport=2 flags=none vlan=7 len=9");
    CHECK(p.eth_src == *Mac::parse("02:00:00:00:00:aa"));
    CHECK(p.eth_dst == *Mac::parse("02:00:00:00:00:bb"));
    CHECK(p.src == Ipv4::parse("1.2.3.4"));
    CHECK(p.ttl == 3);
    CHECK(p.tos == 16);
    CHECK(p.sport == 1);
    CHECK(p.tcp_flags == 0);
    CHECK(p.vlan_count == 1);
    CHECK(p.vlans[0] == 7);
    CHECK(p.payload_len == 9);
  }
}

TEST_CASE("PacketSpec: tcp flags parse in any order and format in a fixed one") {
  auto flags = [](std::string_view text) {
    auto spec = parse_packet_spec("tcp dst=1.1.1.1 dport=1 flags=" + std::string(text));
    REQUIRE(spec.ok());
    return *spec->tcp_flags;
  };
  CHECK(flags("syn") == tcpflag::kSyn);
  CHECK(flags("ack,syn") == (tcpflag::kSyn | tcpflag::kAck));
  CHECK(flags("fin,ack") == (tcpflag::kFin | tcpflag::kAck));
  CHECK(flags("rst") == tcpflag::kRst);
  CHECK(flags("psh,ack") == (tcpflag::kPsh | tcpflag::kAck));
  CHECK(flags("none") == 0);
  CHECK(flags("") == 0);
  CHECK(format_tcp_flags(tcpflag::kSyn | tcpflag::kAck) == "syn,ack");
  CHECK(format_tcp_flags(tcpflag::kAck | tcpflag::kFin) == "fin,ack");
  CHECK(format_tcp_flags(0xff) == "fin,syn,rst,psh,ack,urg,ece,cwr");
  CHECK(format_tcp_flags(0) == "");
}

TEST_CASE("PacketSpec: each kind of mistake is an error naming it") {
  CHECK(spec_error("") == "empty packet spec (expected e.g. 'tcp dst=10.0.0.2 dport=80')");
  CHECK(spec_error("   ") == spec_error(""));
  CHECK(spec_error("tpc dst=1.2.3.4") == "unknown protocol 'tpc' (did you mean 'tcp'?)");
  CHECK(spec_error("sctp dst=1.2.3.4") == "unknown protocol 'sctp' (did you mean 'tcp'?)");
  CHECK(spec_error("ipv6 dst=1.2.3.4") ==
        "unknown protocol 'ipv6' (expected tcp, udp, icmp, "
        "arp, ip, eth or dhcp)");
  CHECK_THAT(spec_error("dst=1.2.3.4 dport=80"), Catch::StartsWith("a packet spec starts with a "
                                                                   "protocol word"));
  CHECK(spec_error("tcp dst=1.2.3.4 dprt=80") == "unknown key 'dprt' (did you mean 'dport'?)");
  CHECK(spec_error("tcp dst=1.2.3.4 color=red") == "unknown key 'color'");
  CHECK(spec_error("tcp dst=1.2.3.4 dport") == "missing '=' after 'dport' (expected key=value)");
  CHECK(spec_error("tcp dst=1.2.3.4 =80") == "missing key before '=80'");
  CHECK(spec_error("tcp dst=1.2.3.4 dport=1 dport=2") == "duplicate key 'dport'");
  CHECK(spec_error("tcp dst=1.2.3.4 dport=70000") == "bad value for dport: '70000' (0-65535)");
  CHECK(spec_error("tcp dst=1.2.3.4 dport=-1") == "bad value for dport: '-1' (0-65535)");
  CHECK(spec_error("tcp dst=1.2.3.4 dport=") == "bad value for dport: '' (0-65535)");
  CHECK(spec_error("tcp dst=1.2.3.4 dport=1 ttl=256") == "bad value for ttl: '256' (0-255)");
  CHECK(spec_error("tcp dst=1.2.3.400 dport=1") ==
        "bad value for dst: '1.2.3.400' (an IPv4 address like 10.0.1.10)");
  CHECK(spec_error("tcp dst=1.2.3.4 dport=1 eth_src=02:00") ==
        "bad value for eth_src: '02:00' (a MAC address like 02:00:00:00:01:0a)");
  CHECK(spec_error("tcp dst=1.2.3.4 dport=1 vlan=4095") ==
        "bad value for vlan: '4095' (1-4094, or OUTER,INNER for QinQ)");
  CHECK(spec_error("tcp dst=1.2.3.4 dport=1 vlan=1,2,3") ==
        "bad value for vlan: '1,2,3' (1-4094, or OUTER,INNER for QinQ)");
  CHECK_THAT(spec_error("tcp dst=1.2.3.4 dport=1 flags=syn,bogus"),
             Catch::StartsWith("bad value for flags: 'syn,bogus' (tcp flags joined by ','"));
  CHECK(spec_error("tcp dst=1.2.3.4 dport=1 frag=middle") ==
        "bad value for frag: 'middle' (none, first or later)");
  CHECK(spec_error("arp dst=1.2.3.4 arp_op=ask") ==
        "bad value for arp_op: 'ask' (request, reply or 1-65535)");
  CHECK(spec_error("eth ethertype=86dd0") ==
        "bad value for ethertype: '86dd0' (0x0000-0xffff, e.g. 0x86dd)");
  CHECK(spec_error("eth ethertype=0x0800") ==
        "bad value for ethertype: '0x0800' (IPv4 is written with the ip, tcp, udp or icmp word)");
  CHECK(spec_error("ip dst=1.2.3.4 proto=6") ==
        "bad value for proto: '6' (tcp, udp and icmp are written with their own word)");
  CHECK(spec_error("tcp dst=1.2.3.4 dport=1 len=70000") == "bad value for len: '70000' (0-65535)");
  CHECK(spec_error("tcp dst=1.2.3.4 dport=1 len=65500") ==
        "bad value for len: '65500' (0-65495 for tcp: an ipv4 packet is at most 65535 bytes)");
}

TEST_CASE("PacketSpec: a key that makes no sense for the protocol is an error") {
  CHECK(spec_error("icmp dst=1.2.3.4 dport=22") == "key 'dport' does not apply to icmp");
  CHECK(spec_error("udp dst=1.2.3.4 dport=53 flags=syn") == "key 'flags' does not apply to udp");
  CHECK(spec_error("tcp dst=1.2.3.4 dport=1 arp_op=request") ==
        "key 'arp_op' does not apply to tcp");
  CHECK(spec_error("arp dst=1.2.3.4 ttl=3") == "key 'ttl' does not apply to arp");
  CHECK(spec_error("arp dst=1.2.3.4 len=3") == "key 'len' does not apply to arp");
  CHECK(spec_error("tcp dst=1.2.3.4 dport=1 proto=47") == "key 'proto' does not apply to tcp");
  CHECK(spec_error("eth ethertype=0x86dd dst=1.2.3.4") == "key 'dst' does not apply to eth");
  CHECK(spec_error("udp dst=1.2.3.4 frag=later dport=53") ==
        "key 'dport' does not apply to frag=later (a later fragment carries no udp header)");
  CHECK(spec_error("icmp dst=1.2.3.4 inner_dst=1.1.1.1") ==
        "key 'inner_dst' needs an icmp error type (icmp_type=3, 4, 5, 11 or 12)");
  CHECK(spec_error("icmp dst=1.2.3.4 icmp_type=11 icmp_id=5 inner_proto=udp inner_dst=1.1.1.1 "
                   "inner_dport=53") ==
        "key 'icmp_id' does not apply to icmp_type=11 (an icmp error has no id)");
  CHECK(spec_error("icmp dst=1.2.3.4 icmp_type=3 inner_proto=icmp inner_dst=1.1.1.1 "
                   "inner_dport=53") == "key 'inner_dport' does not apply to inner_proto=icmp");
  CHECK(spec_error("icmp dst=1.2.3.4 icmp_type=3 inner_proto=tcp inner_dst=1.1.1.1 "
                   "inner_dport=53 inner_icmp_id=4") ==
        "key 'inner_icmp_id' does not apply to inner_proto=tcp");
}

TEST_CASE("PacketSpec: a value with no default must be written") {
  CHECK(spec_error("tcp dport=80") == "tcp needs dst=");
  CHECK(spec_error("tcp dst=1.2.3.4") == "tcp needs dport=");
  CHECK(spec_error("udp dst=1.2.3.4") == "udp needs dport=");
  CHECK(spec_error("icmp") == "icmp needs dst=");
  CHECK(spec_error("ip dst=1.2.3.4") == "ip needs proto=");
  CHECK(spec_error("eth len=3") == "eth needs ethertype=");
  CHECK(spec_error("arp") == "arp needs arp_tpa= (or dst=)");
  CHECK(spec_error("icmp dst=1.2.3.4 icmp_type=3") == "an icmp error needs inner_proto=");
  CHECK(spec_error("icmp dst=1.2.3.4 icmp_type=3 inner_proto=udp") ==
        "an icmp error needs inner_dst=");
  CHECK(spec_error("icmp dst=1.2.3.4 icmp_type=3 inner_proto=udp inner_dst=1.1.1.1") ==
        "an icmp error quoting udp needs inner_dport=");

  SpecDefaults bare;  // an ingress port with no IP, no MAC and no resolver
  CHECK(build_error("tcp dst=1.2.3.4 dport=1", bare) ==
        "tcp needs src= (the ingress port gives no default source address)");
  CHECK(build_error("tcp src=1.1.1.1 dst=1.2.3.4 dport=1", bare) ==
        "tcp needs eth_dst= (no default for it here)");
  CHECK(build_error("arp dst=1.2.3.4", bare) ==
        "arp needs arp_spa= (the ingress port gives no default source address)");
  CHECK(build_error("eth ethertype=0x86dd") == "eth needs eth_dst= (no default for it here)");

  PacketSpec unparsed;  // build_packet checks specs that did not come from parse_packet_spec
  unparsed.proto = SpecProto::kUdp;
  unparsed.dst = Ipv4{1};
  auto built = build_packet(unparsed, vm_defaults());
  REQUIRE_FALSE(built.ok());
  CHECK(built.error() == "udp needs dport=");
}

TEST_CASE("PacketSpec: format_packet writes every field in a fixed order") {
  CHECK(format_packet(build("tcp dst=10.0.2.12 dport=5432 ttl=63")) ==
        "tcp eth_src=02:00:00:00:01:0a eth_dst=02:00:00:00:01:01 src=10.0.1.10 dst=10.0.2.12 "
        "ttl=63 tos=0 sport=40000 dport=5432 flags=syn len=0");
  CHECK(format_packet(build("udp dst=10.0.1.11 dport=53 vlan=100,10 len=12")) ==
        "udp eth_src=02:00:00:00:01:0a eth_dst=02:00:00:00:01:0b vlan=100,10 src=10.0.1.10 "
        "dst=10.0.1.11 ttl=64 tos=0 sport=40000 dport=53 len=12");
  CHECK(format_packet(build("icmp dst=10.0.2.12")) ==
        "icmp eth_src=02:00:00:00:01:0a eth_dst=02:00:00:00:01:01 src=10.0.1.10 dst=10.0.2.12 "
        "ttl=64 tos=0 icmp_type=8 icmp_code=0 icmp_id=1 len=0");
  CHECK(format_packet(build("icmp src=10.0.1.1 dst=10.0.1.10 icmp_type=3 icmp_code=13 "
                            "inner_proto=tcp inner_dst=10.0.2.12 inner_dport=22")) ==
        "icmp eth_src=02:00:00:00:01:0a eth_dst=02:00:00:00:01:0b src=10.0.1.1 dst=10.0.1.10 "
        "ttl=64 tos=0 icmp_type=3 icmp_code=13 inner_proto=tcp inner_src=10.0.1.10 "
        "inner_dst=10.0.2.12 inner_sport=40000 inner_dport=22 inner_ttl=64 len=0");
  CHECK(format_packet(build("icmp dst=10.0.1.10 icmp_type=11 inner_proto=icmp "
                            "inner_dst=8.8.8.8 inner_icmp_id=7 inner_ttl=1")) ==
        "icmp eth_src=02:00:00:00:01:0a eth_dst=02:00:00:00:01:0b src=10.0.1.10 dst=10.0.1.10 "
        "ttl=64 tos=0 icmp_type=11 icmp_code=0 inner_proto=icmp inner_src=10.0.1.10 "
        "inner_dst=8.8.8.8 inner_icmp_type=8 inner_icmp_code=0 inner_icmp_id=7 inner_ttl=1 "
        "len=0");
  CHECK(format_packet(build("tcp dst=10.0.2.12 frag=later len=8")) ==
        "tcp eth_src=02:00:00:00:01:0a eth_dst=02:00:00:00:01:01 src=10.0.1.10 dst=10.0.2.12 "
        "ttl=64 tos=0 frag=later len=8");
  CHECK(format_packet(build("ip dst=10.0.2.12 proto=47 frag=first")) ==
        "ip eth_src=02:00:00:00:01:0a eth_dst=02:00:00:00:01:01 src=10.0.1.10 dst=10.0.2.12 "
        "ttl=64 tos=0 frag=first proto=47 len=0");
  CHECK(format_packet(build("arp dst=10.0.1.1 vlan=5")) ==
        "arp eth_src=02:00:00:00:01:0a eth_dst=ff:ff:ff:ff:ff:ff vlan=5 arp_op=request "
        "arp_spa=10.0.1.10 arp_tpa=10.0.1.1");
  CHECK(format_packet(build("eth ethertype=0x86dd eth_dst=33:33:00:00:00:01 len=40")) ==
        "eth eth_src=02:00:00:00:01:0a eth_dst=33:33:00:00:00:01 ethertype=0x86dd len=40");
  Packet no_flags = build("tcp dst=10.0.2.12 dport=1 flags=none");
  CHECK_THAT(format_packet(no_flags), Catch::Contains(" flags=none "));
}

TEST_CASE("PacketSpec: format, parse and build give back generated packets") {
  test::PacketGen gen(424242);
  SpecDefaults unused;  // every field is written, so no default is consulted
  for (int i = 0; i < 5000; ++i) {
    const Packet p = gen.spec_packet();
    const std::string line = format_packet(p);
    INFO(line);
    auto spec = parse_packet_spec(line);
    REQUIRE(spec.ok());
    auto built = build_packet(*spec, unused);
    REQUIRE(built.ok());
    CHECK(*built == p);
    CHECK(format_packet(*built) == line);
    // ... and what build makes survives the wire.
    auto parsed = parse_frame(serialize(*built));
    REQUIRE(parsed.ok());
    CHECK(*parsed == test::with_payload_bytes(p));
  }
}

}  // namespace
}  // namespace hivesim
