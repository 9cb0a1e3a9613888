// Connection tracking (MidoNet's ConnTrackState, /tmp/notes study section 6): a stateful
// firewall built from forward_flow/return_flow rules; the key is the original 5-tuple (ICMP
// echo id as the ports) plus the device the packet entered; classification is lazy; packets
// the devices generate count as return traffic.

#include <catch2/catch.hpp>

#include <string>

#include "fixtures.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

//   vm1, vm2 ── net ── r1 ── net2 ── vm4 [fw], vm5 [lazy], vm6
//                      └── r1-up (exterior)
// vm4's port: towards the VM only return flows pass (fw-to-vm); from the VM every packet asks
// conntrack (fw-from-vm), so its forward flows are recorded. vm5's port asks only for TCP.
constexpr std::string_view kFw = R"(
hosts: [{name: hv1, ip: 192.168.0.1}, {name: gw1, ip: 192.168.0.10}]
chains:
  - name: fw-to-vm
    rules:
      - {match: {return_flow: true}, action: accept}
      - {action: drop}
  - name: fw-from-vm
    rules:
      - {match: {forward_flow: true}, action: accept}
  - name: tcp-only-from-vm
    rules:
      - {match: {proto: tcp, forward_flow: true}, action: accept}
bridges:
  - name: net
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10}
      - {name: vm2, host: hv1, mac: "02:00:00:00:01:0b", ip: 10.0.1.11}
      - {name: net-r1, peer: r1-net}
  - name: net2
    ports:
      - {name: vm4, host: hv1, mac: "02:00:00:00:02:14", ip: 10.0.2.20,
         inbound_chain: fw-from-vm, outbound_chain: fw-to-vm}
      - {name: vm5, host: hv1, mac: "02:00:00:00:02:15", ip: 10.0.2.21,
         inbound_chain: tcp-only-from-vm, outbound_chain: fw-to-vm}
      - {name: vm6, host: hv1, mac: "02:00:00:00:02:16", ip: 10.0.2.22}
      - {name: net2-r1, peer: r1-net2}
routers:
  - name: r1
    ports:
      - {name: r1-net, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-net2, ip: 10.0.2.1/24, mac: "02:00:00:00:02:01"}
      - {name: r1-up, ip: 180.0.1.2/24, mac: "02:0a:08:06:04:02", host: gw1}
)";

void check_fw_drop(const Net& net, const SimulationResult& r) {
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(net.to(r).empty());
  CHECK(reason_of(r) == "rule");
  CHECK(device_of(r) == "fw-to-vm");
  CHECK(r.drop->rule == 1U);
}

}  // namespace

TEST_CASE("Conntrack: a reply before its request is dropped, after it delivered") {
  Net net(kFw);
  const std::string reply = "udp dst=10.0.2.20 sport=53 dport=40000";
  SIMULATE(early, net, "vm1", reply);
  check_fw_drop(net, early);

  SIMULATE(request, net, "vm4", "udp dst=10.0.1.10 dport=53");
  CHECK(net.to(request) == Names{"vm1"});

  SIMULATE(late, net, "vm1", reply);
  CHECK(late.verdict == Verdict::kDelivered);
  CHECK(net.to(late) == Names{"vm4"});
  // The trace says why.
  CHECK(net.last_trace().find("conntrack: return flow") != std::string::npos);

  // Repeat replies stay return traffic; other tuples do not.
  SIMULATE(again, net, "vm1", reply);
  CHECK(net.to(again) == Names{"vm4"});
  SIMULATE(other_port, net, "vm1", "udp dst=10.0.2.20 sport=53 dport=40001");
  check_fw_drop(net, other_port);
  SIMULATE(other_proto, net, "vm1", "tcp dst=10.0.2.20 sport=53 dport=40000 flags=syn,ack");
  check_fw_drop(net, other_proto);
  SIMULATE(other_host, net, "vm2", "udp dst=10.0.2.20 sport=53 dport=40000");
  check_fw_drop(net, other_host);
}

TEST_CASE("Conntrack: the key includes the device the reply enters") {
  Net net(kFw);
  SIMULATE(request, net, "vm4", "udp dst=10.0.1.10 dport=53");
  REQUIRE(net.to(request) == Names{"vm1"});
  // The same tuple entering r1 instead of vm1's bridge is not the recorded return flow.
  SIMULATE(r, net, "r1-up",
           "udp src=10.0.1.10 dst=10.0.2.20 sport=53 dport=40000 eth_src=aa:bb:aa:cc:dd:cc");
  check_fw_drop(net, r);
  // Entering the bridge by another port is the same device: a return flow.
  SIMULATE(same_device, net, "vm2", "udp src=10.0.1.10 dst=10.0.2.20 sport=53 dport=40000");
  CHECK(net.to(same_device) == Names{"vm4"});
}

TEST_CASE("Conntrack: the ICMP echo id stands in for the ports") {
  Net net(kFw);
  SIMULATE(request, net, "vm4", "icmp dst=10.0.1.10 icmp_id=5");
  REQUIRE(net.to(request) == Names{"vm1"});
  SIMULATE(reply, net, "vm1", "icmp dst=10.0.2.20 icmp_type=0 icmp_id=5");
  CHECK(net.to(reply) == Names{"vm4"});
  SIMULATE(other_id, net, "vm1", "icmp dst=10.0.2.20 icmp_type=0 icmp_id=6");
  check_fw_drop(net, other_id);
}

TEST_CASE("Conntrack: a flow no rule classified records nothing (lazy)") {
  Net net(kFw);
  // vm5's inbound chain tests proto before forward_flow: UDP never asks conntrack.
  SIMULATE(udp_request, net, "vm5", "udp dst=10.0.1.10 dport=53");
  REQUIRE(net.to(udp_request) == Names{"vm1"});
  SIMULATE(udp_reply, net, "vm1", "udp dst=10.0.2.21 sport=53 dport=40000");
  check_fw_drop(net, udp_reply);

  SIMULATE(tcp_request, net, "vm5", "tcp dst=10.0.1.10 dport=80");
  REQUIRE(net.to(tcp_request) == Names{"vm1"});
  SIMULATE(tcp_reply, net, "vm1", "tcp dst=10.0.2.21 sport=80 dport=40000 flags=syn,ack");
  CHECK(net.to(tcp_reply) == Names{"vm5"});
}

TEST_CASE("Conntrack: a router's echo reply passes a return_flow-only chain") {
  Net net(kFw);
  SIMULATE(r, net, "vm4", "icmp dst=10.0.2.1 icmp_id=3");
  CHECK(r.verdict == Verdict::kConsumed);
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "vm4");
  CHECK(format_packet(g.packet) ==
        "icmp eth_src=02:00:00:00:02:01 eth_dst=02:00:00:00:02:14 src=10.0.2.1 dst=10.0.2.20 "
        "ttl=64 tos=0 icmp_type=0 icmp_code=0 icmp_id=3 len=0");
  // The same echo reply sent by a VM, unsolicited, is not return traffic.
  SIMULATE(forged, net, "vm1", "icmp dst=10.0.2.20 icmp_type=0 icmp_id=3");
  check_fw_drop(net, forged);
}

TEST_CASE("Conntrack: a router's ICMP error passes a return_flow-only chain") {
  Net net(kFw);
  SIMULATE(r, net, "vm4", "udp dst=99.0.0.1 dport=53");
  CHECK(reason_of(r) == "no_route");
  CHECK(device_of(r) == "r1");
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "vm4");
  CHECK(format_packet(g.packet) ==
        "icmp eth_src=02:00:00:00:02:01 eth_dst=02:00:00:00:02:14 src=10.0.2.1 dst=10.0.2.20 "
        "ttl=64 tos=0 icmp_type=3 icmp_code=0 inner_proto=udp inner_src=10.0.2.20 "
        "inner_dst=99.0.0.1 inner_sport=40000 inner_dport=53 inner_ttl=64 len=0");
}

TEST_CASE("Conntrack: a bridge's ARP reply passes a return_flow-only chain") {
  Net net(kFw);
  SIMULATE(r, net, "vm4", "arp arp_tpa=10.0.2.1");
  CHECK(r.verdict == Verdict::kConsumed);
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "vm4");
  CHECK(g.packet.arp_op == arpop::kReply);
  CHECK(g.packet.arp_sha == mac("02:00:00:00:02:01"));
}

// MidoNet builds the conntrack key only for IPv4 (it reads the ethertype), so a flow installed
// after a conntrack lookup must match on the ethertype as well as the 5-tuple.
TEST_CASE("Conntrack: a classified flow's mask covers the whole conntrack key") {
  Net net(kFw);
  // Bridged only (a router would read the ethertype anyway).
  SIMULATE(request, net, "vm4", "udp dst=10.0.2.22 dport=53");
  REQUIRE(net.to(request) == Names{"vm6"});
  SIMULATE(reply, net, "vm6", "udp dst=10.0.2.20 sport=53 dport=40000");
  REQUIRE(net.to(reply) == Names{"vm4"});
  for (const Field f : {Field::kEthertype, Field::kNwSrc, Field::kNwDst, Field::kNwProto,
                        Field::kTpSrc, Field::kTpDst}) {
    INFO("field " << static_cast<int>(f));
    CHECK(request.mask.has(f));
    CHECK(reply.mask.has(f));
  }
}
