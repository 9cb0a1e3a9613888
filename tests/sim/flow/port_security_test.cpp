// Port security (SPEC section 8): the anti-spoof check on what a VM sends, before its chains
// and on return traffic too; allowed address pairs; remote security groups.

#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

constexpr std::string_view kNet = R"(
hosts: [{name: hv1, ip: 192.168.0.1}, {name: hv2, ip: 192.168.0.2}]
security_groups:
  - name: web
    rules:
      - {direction: ingress, proto: tcp, port: 22, remote_group: web}
      - {direction: egress}
  - name: open
    rules:
      - {direction: ingress}
      - {direction: egress}
bridges:
  - name: br
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10, port_security: true,
         allowed_address_pairs: [{ip: 10.0.1.100}, {ip: 10.0.5.0/24, mac: "02:00:00:00:05:05"}],
         security_groups: [open]}
      - {name: vm2, host: hv2, mac: "02:00:00:00:01:0b", ip: 10.0.1.11, port_security: true,
         security_groups: [web]}
      - {name: vm3, host: hv2, mac: "02:00:00:00:01:0c", ip: 10.0.1.12, security_groups: [web]}
      - {name: vm4, host: hv1, mac: "02:00:00:00:01:0d", ip: 10.0.1.13}
)";

}  // namespace

TEST_CASE("Port security: a VM sends from its own address and MAC") {
  Net net(kNet);
  SIMULATE(r, net, "vm1", "udp dst=10.0.1.13 dport=53");
  CHECK(net.to(r) == Names{"vm4"});
}

TEST_CASE("Port security: a spoofed source address is dropped by anti-spoof:PORT") {
  Net net(kNet);
  SIMULATE(r, net, "vm1", "udp src=10.0.1.99 dst=10.0.1.13 dport=53");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(reason_of(r) == "rule");
  CHECK(device_of(r) == "anti-spoof:vm1");
}

TEST_CASE("Port security: a spoofed source MAC is dropped") {
  Net net(kNet);
  SIMULATE(r, net, "vm1", "udp eth_src=02:00:00:00:09:09 dst=10.0.1.13 dport=53");
  CHECK(device_of(r) == "anti-spoof:vm1");
}

TEST_CASE("Port security: an allowed pair without a MAC uses the port's MAC") {
  Net net(kNet);
  SIMULATE(ok, net, "vm1", "udp src=10.0.1.100 dst=10.0.1.13 dport=53");
  CHECK(net.to(ok) == Names{"vm4"});
  SIMULATE(bad, net, "vm1",
           "udp src=10.0.1.100 eth_src=02:00:00:00:05:05 eth_dst=02:00:00:00:01:0d "
           "dst=10.0.1.13 dport=53");
  CHECK(device_of(bad) == "anti-spoof:vm1");
}

TEST_CASE("Port security: an allowed pair may be a CIDR with its own MAC") {
  Net net(kNet);
  SIMULATE(ok, net, "vm1",
           "udp src=10.0.5.77 eth_src=02:00:00:00:05:05 eth_dst=02:00:00:00:01:0d "
           "dst=10.0.1.13 dport=53");
  CHECK(net.to(ok) == Names{"vm4"});
  SIMULATE(bad, net, "vm1", "udp src=10.0.5.77 dst=10.0.1.13 dport=53");
  CHECK(device_of(bad) == "anti-spoof:vm1");
}

TEST_CASE("Port security: ARP passes by its sender address alone") {
  Net net(kNet);
  // A pair's address, from another MAC: ARP's sender MAC is not checked.
  SIMULATE(pair, net, "vm1", "arp eth_src=02:00:00:00:07:07 arp_spa=10.0.5.9 arp_tpa=10.0.1.13");
  CHECK(pair.verdict != Verdict::kDropped);
  SIMULATE(spoof, net, "vm1", "arp arp_spa=10.0.1.99 arp_tpa=10.0.1.13");
  CHECK(device_of(spoof) == "anti-spoof:vm1");
}

TEST_CASE("Port security: DHCP requests pass whatever their source") {
  Net net(kNet);
  SIMULATE(r, net, "vm1", "dhcp");
  CHECK(r.verdict == Verdict::kDelivered);  // no subnets: the bridge floods it
  SIMULATE(other, net, "vm1", "udp src=0.0.0.0 dst=255.255.255.255 sport=68 dport=99");
  CHECK(device_of(other) == "anti-spoof:vm1");
}

TEST_CASE("Port security: other ethertypes are dropped") {
  Net net(kNet);
  SIMULATE(r, net, "vm1", "eth ethertype=0x86dd eth_dst=02:00:00:00:01:0d");
  CHECK(device_of(r) == "anti-spoof:vm1");
}

TEST_CASE("Port security: the check applies to return traffic too") {
  Net net(kNet);
  SIMULATE(fwd, net, "vm4", "udp dst=10.0.1.10 dport=53 sport=5000");
  REQUIRE(net.to(fwd) == Names{"vm1"});
  // The reply of that flow, but from a spoofed source, is still dropped.
  SIMULATE(reply, net, "vm1", "udp src=10.0.1.10 dst=10.0.1.13 sport=53 dport=5000");
  CHECK(net.to(reply) == Names{"vm4"});
  SIMULATE(spoofed, net, "vm1",
           "udp src=10.0.1.10 eth_src=02:00:00:00:09:09 eth_dst=02:00:00:00:01:0d "
           "dst=10.0.1.13 sport=53 dport=5000");
  CHECK(device_of(spoofed) == "anti-spoof:vm1");
}

TEST_CASE("Port security: without it, any source passes") {
  Net net(kNet);
  SIMULATE(r, net, "vm4", "udp src=10.0.1.99 eth_src=02:00:00:00:09:09 dst=10.0.1.10 dport=53");
  CHECK(net.to(r) == Names{"vm1"});
}

TEST_CASE("Security groups: a remote group admits its members' fixed addresses only") {
  Net net(kNet);
  // vm3 is in group web: admitted to vm2:22.
  SIMULATE(member, net, "vm3", "tcp dst=10.0.1.11 dport=22");
  CHECK(net.to(member) == Names{"vm2"});
  // vm1 is not, nor is an allowed pair's address.
  SIMULATE(outsider, net, "vm1", "tcp dst=10.0.1.11 dport=22");
  CHECK(outsider.verdict == Verdict::kDropped);
  CHECK(device_of(outsider) == "sg-ingress:vm2");
  SIMULATE(pair, net, "vm1", "tcp src=10.0.1.100 dst=10.0.1.11 dport=22");
  CHECK(device_of(pair) == "sg-ingress:vm2");
}
