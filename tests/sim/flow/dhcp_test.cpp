// The agent's DHCP server (SPEC section 8): OFFER, ACK and NAK before the port's chains, the
// options of a reply, and the cases where the request is simulated like any frame.

#include <catch2/catch.hpp>

#include "fixtures.hpp"
#include "sim/packet/dhcp.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

constexpr std::string_view kNet = R"(
underlay: {mtu: 1400}
hosts: [{name: hv1, ip: 192.168.0.1}]
chains:
  - {name: deny-all, rules: [{action: drop}]}
bridges:
  - name: br
    subnets:
      - {cidr: 10.0.1.0/24, gateway: 10.0.1.1, server: 10.0.1.2, dns: [10.0.0.53, 10.0.0.54],
         routes: [{dst: 172.16.0.0/16, via: 10.0.1.254}]}
      - {cidr: 10.0.2.0/24, gateway: 10.0.2.1, mtu: 1200}
      - {cidr: 10.0.3.0/24, gateway: 10.0.3.1, dhcp: false}
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10, inbound_chain: deny-all,
         port_security: true}
      - {name: vm2, host: hv1, mac: "02:00:00:00:02:0a", ip: 10.0.2.10}
      - {name: vm3, host: hv1, mac: "02:00:00:00:03:0a", ip: 10.0.3.10}
      - {name: vm4, host: hv1}
      - {name: vm5, host: hv1, mac: "02:00:00:00:05:0a", ip: 10.0.9.10}
)";

dhcp::Message reply_of(const Net& net, const SimulationResult& r) {
  const OutPacket g = net.only_generated(r);
  auto m = dhcp::of_packet(g.packet);
  REQUIRE(m);
  return *m;
}

}  // namespace

TEST_CASE("DHCP: a DISCOVER is answered with an OFFER before the port's chains") {
  Net net(kNet);
  SIMULATE(r, net, "vm1", "dhcp");
  CHECK(r.verdict == Verdict::kConsumed);
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "vm1");
  CHECK(g.packet.src == ip("10.0.1.2"));
  CHECK(g.packet.dst == ip("255.255.255.255"));
  CHECK(g.packet.eth_dst == mac("02:00:00:00:01:0a"));
  CHECK(g.packet.sport == 67);
  CHECK(g.packet.dport == 68);
  const dhcp::Message m = reply_of(net, r);
  CHECK(m.type == dhcp::MessageType::kOffer);
  CHECK(m.yiaddr == ip("10.0.1.10"));
  CHECK(m.mask == ip("255.255.255.0"));
  CHECK(m.router == ip("10.0.1.1"));
  CHECK(m.server_id == ip("10.0.1.2"));
  CHECK(m.dns == std::vector<Ipv4>{ip("10.0.0.53"), ip("10.0.0.54")});
  CHECK(m.lease == 86400U);
  // min(1500, underlay 1400 - 50)
  CHECK(m.mtu == 1350);
  // The classless routes, plus the default route via the gateway.
  REQUIRE(m.routes.size() == 2);
  CHECK(m.routes[0].dst == Ipv4Prefix{ip("172.16.0.0"), 16});
  CHECK(m.routes[0].via == ip("10.0.1.254"));
  CHECK(m.routes[1].dst == Ipv4Prefix{ip("0.0.0.0"), 0});
  CHECK(m.routes[1].via == ip("10.0.1.1"));
}

TEST_CASE("DHCP: the reply prints in the packet-spec syntax") {
  Net net(kNet);
  SIMULATE(r, net, "vm2", "dhcp dhcp_type=request");
  const std::string text = format_packet(net.only_generated(r).packet);
  CHECK(text.rfind("dhcp ", 0) == 0);
  CHECK(text.find("dhcp_type=ack yiaddr=10.0.2.10 mask=255.255.255.0 router=10.0.2.1") !=
        std::string::npos);
  CHECK(text.find("lease=86400 mtu=1200 server=10.0.2.1") != std::string::npos);
}

TEST_CASE("DHCP: a REQUEST for the port's address is ACKed, for another NAKed") {
  Net net(kNet);
  SIMULATE(ack, net, "vm1", "dhcp dhcp_type=request requested_ip=10.0.1.10");
  CHECK(reply_of(net, ack).type == dhcp::MessageType::kAck);
  SIMULATE(nak, net, "vm1", "dhcp dhcp_type=request requested_ip=10.0.1.77");
  const dhcp::Message m = reply_of(net, nak);
  CHECK(m.type == dhcp::MessageType::kNak);
  CHECK(m.yiaddr == Ipv4{});
  CHECK_FALSE(m.lease);
}

TEST_CASE("DHCP: the server defaults to the gateway; MTU is the subnet's when smaller") {
  Net net(kNet);
  SIMULATE(r, net, "vm2", "dhcp");
  const dhcp::Message m = reply_of(net, r);
  CHECK(m.server_id == ip("10.0.2.1"));
  CHECK(m.mtu == 1200);
  CHECK(m.routes.empty());  // no routes given: no option 121
}

TEST_CASE("DHCP: without an answer the request is simulated like any frame") {
  Net net(kNet);
  // A disabled subnet, a port without an address, an address in no subnet: flooded.
  for (const char* port : {"vm3", "vm4", "vm5"}) {
    SIMULATE(r, net, port, "dhcp");
    CHECK(r.verdict == Verdict::kDelivered);
    CHECK(net.generated(r).empty());
  }
  // Server messages and other types are not answered either.
  SIMULATE(release, net, "vm2", "dhcp dhcp_type=release");
  CHECK(release.verdict == Verdict::kDelivered);
  // vm1's inbound chain drops everything the server does not answer.
  SIMULATE(release1, net, "vm1", "dhcp dhcp_type=release");
  CHECK(device_of(release1) == "deny-all");
}
