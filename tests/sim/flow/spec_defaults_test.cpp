// The packet-spec defaults a port supplies (SPEC section 3): what the machine behind it sends.

#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

constexpr const char* kNet = R"(
hosts:
  - {name: hv1, ip: 192.168.0.1}
bridges:
  - name: blue
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10}
      - {name: vm2, host: hv1, mac: "02:00:00:00:01:0b", ip: 10.0.1.11}
      - {name: blue-r1, peer: r1-blue}
routers:
  - name: r1
    ports:
      - {name: r1-blue, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-up, ip: 180.0.1.2/24, mac: "02:0a:08:06:04:02", host: hv1}
      - {name: r1-bare, ip: 190.0.1.2/24, mac: "02:0a:08:06:04:03", host: hv1}
    arp_table: {180.0.1.1: "aa:bb:aa:cc:dd:cc"}
)";

Packet built(const Net& net, std::string_view port, std::string_view spec) {
  auto parsed = parse_packet_spec(spec);
  REQUIRE(parsed);
  auto packet = build_packet(*parsed, net.sim().spec_defaults(net.port(port)));
  INFO(spec);
  REQUIRE(packet);
  return *packet;
}

TEST_CASE("Spec defaults: a VM sends from its own MAC and IP to its neighbour or gateway") {
  const Net net(kNet);
  const Packet local = built(net, "vm1", "tcp dst=10.0.1.11 dport=80");
  CHECK(local.eth_src == *Mac::parse("02:00:00:00:01:0a"));
  CHECK(local.src == *Ipv4::parse("10.0.1.10"));
  CHECK(local.eth_dst == *Mac::parse("02:00:00:00:01:0b"));  // the owner, same bridge
  const Packet routed = built(net, "vm1", "tcp dst=8.8.8.8 dport=53");
  CHECK(routed.eth_dst == *Mac::parse("02:00:00:00:01:01"));  // the gateway's router port
}

TEST_CASE("Spec defaults: an exterior router port sends as the router's ARP neighbour there") {
  const Net net(kNet);
  const Packet p = built(net, "r1-up", "tcp dst=10.0.1.10 dport=22");
  CHECK(p.eth_src == *Mac::parse("aa:bb:aa:cc:dd:cc"));  // not the router's own MAC
  CHECK(p.src == *Ipv4::parse("180.0.1.1"));
  CHECK(p.eth_dst == *Mac::parse("02:0a:08:06:04:02"));
}

TEST_CASE("Spec defaults: without a known neighbour the spec must name the source") {
  const Net net(kNet);
  auto parsed = parse_packet_spec("tcp dst=10.0.1.10 dport=22");
  REQUIRE(parsed);
  const auto packet = build_packet(*parsed, net.sim().spec_defaults(net.port("r1-bare")));
  REQUIRE_FALSE(packet);
  CHECK(packet.error() == "tcp needs src= (the ingress port gives no default source address)");
  const Packet given = built(net, "r1-bare", "tcp src=198.51.100.7 dst=10.0.1.10 dport=22");
  CHECK(given.src == *Ipv4::parse("198.51.100.7"));
  CHECK(given.eth_src != *Mac::parse("02:0a:08:06:04:03"));  // never the router's own MAC
}

}  // namespace

TEST_CASE("Router: an echo reply towards an unresolved next hop makes the router ARP for it") {
  // vm3's MAC is not declared: the router knows no MAC for 10.0.1.12 and asks.
  std::string yaml(kNet);
  yaml.replace(yaml.find("      - {name: blue-r1"), 0,
               "      - {name: vm3, host: hv1, ip: 10.0.1.12}\n");
  Net net(yaml);
  SIMULATE(r, net, "vm3", "icmp src=10.0.1.12 eth_src=02:00:00:00:01:0c dst=10.0.1.1");
  CHECK(r.verdict == Verdict::kConsumed);
  // The request enters the bridge from the router port and floods to every VM, vm3 included.
  Names ports;
  for (const OutPacket& o : r.out)
    ports.push_back(net.topo().port(o.port).name);
  CHECK(ports == Names{"vm1", "vm2", "vm3"});
  for (const OutPacket& o : r.out) {
    CHECK(o.generated);
    CHECK(o.packet.is_arp());
    CHECK(o.packet.arp_op == arpop::kRequest);
    CHECK(o.packet.arp_tpa == *Ipv4::parse("10.0.1.12"));
    CHECK(o.packet.arp_spa == *Ipv4::parse("10.0.1.1"));
  }
}
