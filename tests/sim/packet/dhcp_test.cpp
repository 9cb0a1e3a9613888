// DHCP messages (sim/packet/dhcp.hpp) and the `dhcp` packet-spec word (SPEC sections 3, 8).

#include <catch2/catch.hpp>

#include "sim/packet/codec.hpp"
#include "sim/packet/dhcp.hpp"
#include "sim/packet/spec.hpp"

using namespace hivesim;

namespace {

Ipv4 ip(std::string_view s) {
  return *Ipv4::parse(s);
}

Packet build(std::string_view spec) {
  auto parsed = parse_packet_spec(spec);
  INFO(spec << (parsed ? "" : ": " + parsed.error()));
  REQUIRE(parsed);
  SpecDefaults d;
  d.eth_src = *Mac::parse("02:00:00:00:01:0a");
  d.src = ip("10.0.1.10");
  auto p = build_packet(*parsed, d);
  REQUIRE(p);
  return *p;
}

}  // namespace

TEST_CASE("DHCP: a message survives encode and decode with every option") {
  dhcp::Message m;
  m.reply = true;
  m.xid = 0x12345678;
  m.chaddr = *Mac::parse("02:00:00:00:01:0a");
  m.yiaddr = ip("10.0.1.10");
  m.siaddr = ip("10.0.1.2");
  m.type = dhcp::MessageType::kAck;
  m.server_id = ip("10.0.1.2");
  m.mask = ip("255.255.255.0");
  m.router = ip("10.0.1.1");
  m.dns = {ip("10.0.0.53"), ip("10.0.0.54")};
  m.lease = 86400;
  m.mtu = 1450;
  m.broadcast = ip("10.0.1.255");
  m.routes = {{Ipv4Prefix{ip("172.16.0.0"), 12}, ip("10.0.1.254")},
              {Ipv4Prefix{ip("0.0.0.0"), 0}, ip("10.0.1.1")},
              {Ipv4Prefix{ip("192.168.7.9"), 32}, ip("10.0.1.3")}};
  const auto bytes = dhcp::encode(m);
  CHECK(bytes.size() >= 300);
  const auto back = dhcp::decode(bytes);
  REQUIRE(back);
  CHECK(*back == m);
}

TEST_CASE("DHCP: decode refuses what is not a DHCP message, without reading past it") {
  dhcp::Message m;
  auto bytes = dhcp::encode(m);
  CHECK(dhcp::decode(bytes));
  // A cut before the end of option 53 (byte 243 of a DISCOVER) is refused; a cut after it
  // only loses the end option, which decode tolerates. Nothing is read past the cut.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
    INFO("cut at " << n);
    if (n < 243) {
      CHECK_FALSE(dhcp::decode(cut));
    } else {
      CHECK(dhcp::decode(cut) == m);
    }
  }
  auto bad_cookie = bytes;
  bad_cookie[236] = 0;
  CHECK_FALSE(dhcp::decode(bad_cookie));
  auto no_type = bytes;
  no_type[240] = 0;  // option 53 becomes padding
  CHECK_FALSE(dhcp::decode(no_type));
  auto long_option = bytes;
  long_option[241] = 250;  // option 53's length past the end
  long_option.resize(250);
  CHECK_FALSE(dhcp::decode(long_option));
}

TEST_CASE("Packet spec: dhcp is a client's broadcast DISCOVER by default") {
  const Packet p = build("dhcp");
  CHECK(p.is_ipv4());
  CHECK(p.proto == ipproto::kUdp);
  CHECK(p.sport == 68);
  CHECK(p.dport == 67);
  CHECK(p.src == Ipv4{});
  CHECK(p.dst == ip("255.255.255.255"));
  CHECK(p.eth_dst == Mac::broadcast());
  const auto m = dhcp::of_packet(p);
  REQUIRE(m);
  CHECK(m->type == dhcp::MessageType::kDiscover);
  CHECK(m->chaddr == p.eth_src);
  CHECK_FALSE(m->reply);
}

TEST_CASE("Packet spec: dhcp keys, and their errors") {
  const auto m = dhcp::of_packet(build("dhcp dhcp_type=request requested_ip=10.0.1.10"));
  REQUIRE(m);
  CHECK(m->type == dhcp::MessageType::kRequest);
  CHECK(m->requested_ip == ip("10.0.1.10"));
  CHECK_FALSE(parse_packet_spec("dhcp dhcp_type=hello"));
  CHECK_FALSE(parse_packet_spec("dhcp dport=67"));
  CHECK_FALSE(parse_packet_spec("udp dst=10.0.0.1 dport=67 dhcp_type=discover"));
  CHECK(parse_packet_spec("dhcp dhcp_type=hello").error().find("dhcp_type") != std::string::npos);
}

TEST_CASE("Packet spec: a DHCP reply prints every field it carries and reads back") {
  const std::string spec =
      "dhcp eth_src=02:00:00:00:00:01 eth_dst=02:00:00:00:01:0a src=10.0.1.2 "
      "dst=255.255.255.255 ttl=64 tos=0 dhcp_type=offer yiaddr=10.0.1.10 mask=255.255.255.0 "
      "router=10.0.1.1 dns=10.0.0.53,10.0.0.54 lease=86400 mtu=1450 server=10.0.1.2 "
      "routes=172.16.0.0/12:10.0.1.254,0.0.0.0/0:10.0.1.1";
  const Packet p = build(spec);
  CHECK(p.sport == 67);
  CHECK(p.dport == 68);
  CHECK(format_packet(p) == spec);
}

TEST_CASE("Packet codec: a DHCP packet's frame decodes to the same message") {
  const Packet p = build("dhcp dhcp_type=request requested_ip=10.0.1.10");
  const auto frame = serialize(p);
  const auto back = parse_frame(frame);
  REQUIRE(back);
  CHECK(dhcp::of_packet(*back) == dhcp::of_packet(p));
  CHECK(format_packet(*back) == format_packet(p));
}
