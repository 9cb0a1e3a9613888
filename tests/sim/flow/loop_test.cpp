// Loop protection (MidoNet semantics, /tmp/notes study section 4): a packet that would cross
// more than 12 devices is dropped with reason `loop`, silently.

#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

// Two routers that each route 99.0.0.0/8 to the other.
constexpr std::string_view kPingPong = R"(
hosts: [{name: hv1, ip: 192.168.0.1}]
routers:
  - name: ra
    ports:
      - {name: ra-ext, ip: 10.9.0.1/24, mac: "02:00:00:00:09:01", host: hv1}
      - {name: ra-rb, ip: 172.31.0.1/30, mac: "02:00:00:00:1f:01", peer: rb-ra}
    routes:
      - {dst: 99.0.0.0/8, via: 172.31.0.2, port: ra-rb}
    arp_table: {10.9.0.50: "02:00:00:00:09:32"}
  - name: rb
    ports:
      - {name: rb-ra, ip: 172.31.0.2/30, mac: "02:00:00:00:1f:02"}
    routes:
      - {dst: 99.0.0.0/8, via: 172.31.0.1, port: rb-ra}
      - {dst: 10.9.0.0/24, via: 172.31.0.1, port: rb-ra}
)";

}  // namespace

TEST_CASE("Loop: a router-router loop is cut after 12 devices with reason loop") {
  Net net(kPingPong);
  SIMULATE(r, net, "ra-ext", "udp src=10.9.0.50 dst=99.1.2.3 dport=53 ttl=200");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(reason_of(r) == "loop");
  CHECK((device_of(r) == "ra" || device_of(r) == "rb"));
  // Silent: no time exceeded, no other error.
  CHECK(r.out.empty());
  // 12 devices were crossed; the 13th refused the packet.
  CHECK(r.hops.size() == 13);
  CHECK(net.hop_devices(r).front() == "ra");
}

TEST_CASE("Loop: a small TTL runs out before the loop limit") {
  Net net(kPingPong);
  SIMULATE(r, net, "ra-ext", "udp src=10.9.0.50 dst=99.1.2.3 dport=53 ttl=4");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(reason_of(r) == "ttl");
  // ra 4->3, rb 3->2, ra 2->1, rb: expired. The error goes back to the sender.
  CHECK(device_of(r) == "rb");
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "ra-ext");
  CHECK(g.packet.icmp_type == icmptype::kTimeExceeded);
  CHECK(g.packet.src == ip("172.31.0.2"));
  CHECK(g.packet.dst == ip("10.9.0.50"));
  CHECK(g.packet.eth_dst == mac("02:00:00:00:09:32"));
}
