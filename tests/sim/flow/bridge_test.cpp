// Bridges (MidoNet semantics, /tmp/notes study section 2): learning, flooding, unicast, ARP
// answers, admin state, VLANs.

#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

// One bridge with three exterior ports whose MACs are learned (a, b, c), one with a declared
// MAC and IP (vm1), and an interior port to a router.
constexpr std::string_view kL2 = R"(
hosts: [{name: hv1, ip: 192.168.0.1}, {name: hv2, ip: 192.168.0.2}]
bridges:
  - name: br
    arp_table: {10.0.1.50: "02:00:00:00:01:32"}
    ports:
      - {name: a, host: hv1, ip: 10.0.1.2}
      - {name: b, host: hv1}
      - {name: c, host: hv2}
      - {name: vm1, host: hv2, mac: "02:00:00:00:01:0a", ip: 10.0.1.10}
      - {name: br-r1, peer: r1-br}
routers:
  - name: r1
    ports:
      - {name: r1-br, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-up, ip: 10.0.9.1/24, mac: "02:00:00:00:09:01", host: hv1}
)";

constexpr const char* kMacB = "02:00:00:00:00:0b";
constexpr const char* kMacC = "02:00:00:00:00:0c";
constexpr const char* kUnknown = "02:00:00:00:00:99";

/// An L2 frame (an ethertype no device interprets) from eth_src to eth_dst.
std::string frame(const std::string& src, const std::string& dst) {
  return "eth ethertype=0x88b5 eth_src=" + src + " eth_dst=" + dst;
}

}  // namespace

TEST_CASE("Bridge: floods unknown unicast to exterior ports only") {
  Net net(kL2);
  SIMULATE(r, net, "b", frame(kMacB, kUnknown));
  CHECK(r.verdict == Verdict::kDelivered);
  // Not back out of b, and never into the router's interior port.
  CHECK(net.to(r) == Names{"a", "c", "vm1"});
  CHECK(net.hop_devices(r) == Names{"br"});
  CHECK(net.generated(r).empty());
  CHECK_FALSE(r.drop);
}

TEST_CASE("Bridge: floods broadcast to every exterior port but the ingress port") {
  Net net(kL2);
  SIMULATE(r, net, "a", frame("02:00:00:00:00:0a", "ff:ff:ff:ff:ff:ff"));
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{"b", "c", "vm1"});
  // The flooded copies are unchanged.
  CHECK(net.out_at(r, "c").eth_dst == Mac::broadcast());
}

TEST_CASE("Bridge: unicasts to a learned MAC, state carrying over between simulations") {
  Net net(kL2);
  {
    SIMULATE(learn, net, "b", frame(kMacB, kUnknown));
    REQUIRE(net.to(learn) == Names{"a", "c", "vm1"});
  }
  const SimState::MacKey key{net.bridge("br").value, 0, mac(kMacB)};
  REQUIRE(net.state().macs.count(key) == 1);
  CHECK(net.state().macs.at(key) == net.port("b"));

  SIMULATE(r, net, "c", frame(kMacC, kMacB));
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{"b"});
  CHECK(net.out_at(r, "b").eth_dst == mac(kMacB));
}

TEST_CASE("Bridge: a MAC seen on another port moves there") {
  Net net(kL2);
  net.send("b", frame(kMacB, kUnknown));
  // The same MAC now shows up behind c (a VM migrated).
  net.send("c", frame(kMacB, kUnknown));
  CHECK(net.state().macs.at(SimState::MacKey{net.bridge("br").value, 0, mac(kMacB)}) ==
        net.port("c"));
  SIMULATE(r, net, "a", frame("02:00:00:00:00:0a", kMacB));
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{"c"});
}

TEST_CASE("Bridge: unicasts to a declared port MAC without having learned it") {
  Net net(kL2);
  SIMULATE(r, net, "a", frame("02:00:00:00:00:0a", "02:00:00:00:01:0a"));
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{"vm1"});
}

TEST_CASE("Bridge: drops a frame whose destination was learned on the ingress port") {
  Net net(kL2);
  net.send("b", frame(kMacB, kUnknown));
  // A second host behind b talks to kMacB: the bridge must not send it back out of b.
  SIMULATE(r, net, "b", frame("02:00:00:00:00:bb", kMacB));
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(r.out.empty());
  REQUIRE(r.drop);
  CHECK(r.drop->device == "br");
}

TEST_CASE("Bridge: drops a frame with a multicast source MAC and learns nothing") {
  Net net(kL2);
  SIMULATE(r, net, "b", frame("03:00:00:00:00:0b", kUnknown));
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(r.out.empty());
  CHECK(reason_of(r) == "malformed");
  CHECK(device_of(r) == "br");
  CHECK(net.state().macs.empty());
}

TEST_CASE("Bridge: unicasts a frame for a router port's MAC to the router") {
  Net net(kL2);
  SIMULATE(r, net, "vm1", "icmp dst=10.0.9.1");
  REQUIRE(r.hops.size() >= 2);
  CHECK(r.hops[0].device == "br");
  CHECK(r.hops[0].out_port == "br-r1");
  CHECK(r.hops[1].device == "r1");
  // The router answered the ping: the reply comes back to vm1.
  CHECK(r.verdict == Verdict::kConsumed);
  const OutPacket reply = net.only_generated(r);
  CHECK(net.name(reply.port) == "vm1");
  CHECK(reply.packet.icmp_type == icmptype::kEchoReply);
}

TEST_CASE("Bridge: does not learn router port MACs from frames the router sends") {
  Net net(kL2);
  net.send("vm1", "icmp dst=10.0.1.1");  // the echo reply enters br from the router
  REQUIRE_FALSE(net.state().macs.empty());
  for (const auto& [key, port] : net.state().macs) {
    CHECK(key.mac != mac("02:00:00:00:01:01"));
  }
}

TEST_CASE("Bridge: bridges IPv6 as plain L2") {
  Net net(kL2);
  SIMULATE(r, net, "a", "eth ethertype=0x86dd eth_dst=02:00:00:00:01:0a");
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{"vm1"});
  CHECK(net.out_at(r, "vm1").ethertype == ethertype::kIpv6);
}

TEST_CASE("Bridge: a pure L2 flow's mask reads MACs, not IP fields") {
  Net net(kL2);
  SIMULATE(r, net, "a", "tcp dst=10.0.1.10 dport=80");
  REQUIRE(r.verdict == Verdict::kDelivered);
  REQUIRE(net.to(r) == Names{"vm1"});
  CHECK(r.mask.has(Field::kInPort));
  CHECK(r.mask.has(Field::kEthDst));
  CHECK(r.mask.has(Field::kEthSrc));
  CHECK_FALSE(r.mask.has(Field::kNwDst));
  CHECK_FALSE(r.mask.has(Field::kNwSrc));
  CHECK_FALSE(r.mask.has(Field::kNwTtl));
  CHECK_FALSE(r.mask.has(Field::kTpDst));
  // Tags: the bridge and both ports it used; not the router.
  CHECK(net.has_tag(r, FlowTag::Kind::kBridge, net.bridge("br").value));
  CHECK(net.has_tag(r, FlowTag::Kind::kPort, net.port("a").value));
  CHECK(net.has_tag(r, FlowTag::Kind::kPort, net.port("vm1").value));
  CHECK_FALSE(net.has_tag(r, FlowTag::Kind::kRouter, net.router("r1").value));
}

// ---------------------------------------------------------------------------------------------
// ARP

TEST_CASE("Bridge: answers ARP requests for a linked router port's IP") {
  Net net(kL2);
  SIMULATE(r, net, "vm1", "arp dst=10.0.1.1");
  CHECK(r.verdict == Verdict::kConsumed);
  CHECK_FALSE(r.drop);
  CHECK(net.hop_devices(r) == Names{"br"});  // the router never sees the request
  const OutPacket reply = net.only_generated(r);
  CHECK(net.name(reply.port) == "vm1");
  CHECK(reply.packet.is_arp());
  CHECK(reply.packet.arp_op == arpop::kReply);
  CHECK(reply.packet.eth_src == mac("02:00:00:00:01:01"));
  CHECK(reply.packet.eth_dst == mac("02:00:00:00:01:0a"));
  CHECK(reply.packet.arp_sha == mac("02:00:00:00:01:01"));
  CHECK(reply.packet.arp_spa == ip("10.0.1.1"));
  CHECK(reply.packet.arp_tpa == ip("10.0.1.10"));
  CHECK(reply.packet.arp_tha == mac("02:00:00:00:01:0a"));
}

TEST_CASE("Bridge: answers ARP requests for arp_table entries and declared port IPs") {
  Net net(kL2);
  {
    SIMULATE(r, net, "a", "arp eth_src=02:00:00:00:00:0a dst=10.0.1.50");
    CHECK(r.verdict == Verdict::kConsumed);
    const OutPacket reply = net.only_generated(r);
    CHECK(net.name(reply.port) == "a");
    CHECK(reply.packet.arp_spa == ip("10.0.1.50"));
    CHECK(reply.packet.arp_sha == mac("02:00:00:00:01:32"));
    CHECK(reply.packet.eth_dst == mac("02:00:00:00:00:0a"));
    CHECK(reply.packet.arp_tpa == ip("10.0.1.2"));
  }
  {
    SIMULATE(r, net, "a", "arp eth_src=02:00:00:00:00:0a dst=10.0.1.10");
    CHECK(r.verdict == Verdict::kConsumed);
    const OutPacket reply = net.only_generated(r);
    CHECK(reply.packet.arp_spa == ip("10.0.1.10"));
    CHECK(reply.packet.arp_sha == mac("02:00:00:00:01:0a"));
    CHECK(reply.packet.eth_src == mac("02:00:00:00:01:0a"));
  }
}

TEST_CASE("Bridge: floods ARP requests for unknown IPs to exterior ports") {
  Net net(kL2);
  SIMULATE(r, net, "vm1", "arp dst=10.0.1.77");
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{"a", "b", "c"});
  CHECK(net.generated(r).empty());
}

TEST_CASE("Bridge: does not answer VLAN-tagged ARP requests") {
  Net net(kL2);
  SIMULATE(r, net, "vm1", "arp dst=10.0.1.1 vlan=5");
  CHECK(net.generated(r).empty());
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{"a", "b", "c"});  // flooded to exterior ports, not to the router
}

TEST_CASE("Bridge: does not answer gratuitous ARP") {
  Net net(kL2);
  // vm1 announces its own (declared, so known to the bridge) address.
  SIMULATE(r, net, "vm1", "arp arp_spa=10.0.1.10 arp_tpa=10.0.1.10");
  CHECK(net.generated(r).empty());
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{"a", "b", "c"});
}

// ---------------------------------------------------------------------------------------------
// Admin state

TEST_CASE("Bridge: an admin-down bridge drops silently") {
  Net net(R"(
hosts: [{name: hv1, ip: 192.168.0.1}]
bridges:
  - name: br
    admin_up: false
    ports:
      - {name: a, host: hv1}
      - {name: b, host: hv1, mac: "02:00:00:00:00:0b"}
)");
  SIMULATE(r, net, "a", frame("02:00:00:00:00:0a", kMacB));
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(reason_of(r) == "admin_down");
  CHECK(device_of(r) == "br");
  CHECK(r.out.empty());
  CHECK(net.state().macs.empty());  // no learning on a down bridge
}

TEST_CASE("Bridge: an admin-down bridge port drops silently on ingress and egress") {
  Net net(R"(
hosts: [{name: hv1, ip: 192.168.0.1}]
bridges:
  - name: br
    ports:
      - {name: a, host: hv1, mac: "02:00:00:00:00:0a"}
      - {name: b, host: hv1, mac: "02:00:00:00:00:0b", admin_up: false}
      - {name: c, host: hv1, mac: "02:00:00:00:00:0c"}
)");
  SECTION("ingress") {
    SIMULATE(r, net, "b", frame(kMacB, "02:00:00:00:00:0a"));
    CHECK(r.verdict == Verdict::kDropped);
    CHECK(reason_of(r) == "admin_down");
    CHECK(r.out.empty());
  }
  SECTION("egress, unicast") {
    SIMULATE(r, net, "a", frame("02:00:00:00:00:0a", kMacB));
    CHECK(r.verdict == Verdict::kDropped);
    CHECK(reason_of(r) == "admin_down");
    CHECK(r.out.empty());
  }
  SECTION("egress, flood: the other ports still get the frame") {
    SIMULATE(r, net, "a", frame("02:00:00:00:00:0a", "ff:ff:ff:ff:ff:ff"));
    CHECK(r.verdict == Verdict::kDelivered);
    CHECK(net.to(r) == Names{"c"});
  }
}

// ---------------------------------------------------------------------------------------------
// Chains and VLANs

TEST_CASE("Bridge: bridge chains are skipped for VLAN-tagged frames, port chains are not") {
  Net net(R"(
hosts: [{name: hv1, ip: 192.168.0.1}]
chains:
  - name: deny-all
    rules: [{action: drop}]
  - name: deny-vlan-7
    rules: [{match: {vlan: 7}, action: drop}]
bridges:
  - name: br
    inbound_chain: deny-all
    ports:
      - {name: a, host: hv1, mac: "02:00:00:00:00:0a"}
      - {name: b, host: hv1, mac: "02:00:00:00:00:0b"}
      - {name: c, host: hv1, mac: "02:00:00:00:00:0c", inbound_chain: deny-vlan-7}
)");
  {
    SIMULATE(r, net, "a", frame("02:00:00:00:00:0a", kMacB));
    CHECK(r.verdict == Verdict::kDropped);
    CHECK(reason_of(r) == "rule");
    CHECK(device_of(r) == "deny-all");
    REQUIRE(r.drop);
    CHECK(r.drop->rule == 0U);
  }
  {
    SIMULATE(r, net, "a", frame("02:00:00:00:00:0a", kMacB) + " vlan=7");
    CHECK(r.verdict == Verdict::kDelivered);
    CHECK(net.to(r) == Names{"b"});
    CHECK(net.out_at(r, "b").vlan_count == 1);
  }
  {
    SIMULATE(r, net, "c", frame("02:00:00:00:00:0c", kMacB) + " vlan=7");
    CHECK(r.verdict == Verdict::kDropped);
    CHECK(device_of(r) == "deny-vlan-7");
  }
}

TEST_CASE("Bridge: learns the source MAC even when the bridge inbound chain drops the frame") {
  Net net(R"(
hosts: [{name: hv1, ip: 192.168.0.1}]
chains:
  - name: deny-all
    rules: [{action: drop}]
bridges:
  - name: br
    inbound_chain: deny-all
    ports:
      - {name: a, host: hv1}
      - {name: b, host: hv1}
)");
  SIMULATE(r, net, "a", frame("02:00:00:00:00:0a", kMacB));
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(net.state().macs.count(
            SimState::MacKey{net.bridge("br").value, 0, mac("02:00:00:00:00:0a")}) == 1);
}

namespace {

// A VLAN-aware bridge `trunk` with two trunk (exterior) ports and VLAN links to the
// VLAN-unaware bridges v10 and v20.
constexpr std::string_view kVlans = R"(
hosts: [{name: hv1, ip: 192.168.0.1}, {name: hv2, ip: 192.168.0.2}]
bridges:
  - name: trunk
    ports:
      - {name: t1, host: hv1}
      - {name: t2, host: hv2}
      - {name: trunk-v10, peer: v10-up, vlan: 10}
      - {name: trunk-v20, peer: v20-up, vlan: 20}
  - name: v10
    ports:
      - {name: a10, host: hv1, mac: "02:00:00:00:10:0a", ip: 10.10.0.10}
      - {name: b10, host: hv2}
      - {name: v10-up}
  - name: v20
    ports:
      - {name: a20, host: hv1, mac: "02:00:00:00:20:0a", ip: 10.20.0.10}
      - {name: v20-up}
)";

constexpr const char* kTrunkHost = "02:00:00:00:99:01";

}  // namespace

TEST_CASE("VLAN bridge: a frame from a VLAN link is tagged on the trunk ports only") {
  Net net(kVlans);
  SIMULATE(r, net, "a10", frame("02:00:00:00:10:0a", "ff:ff:ff:ff:ff:ff"));
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{"b10", "t1", "t2"});  // never into the VLAN 20 side
  CHECK(net.out_at(r, "b10").vlan_count == 0);
  const Packet& at_t1 = net.out_at(r, "t1");
  REQUIRE(at_t1.vlan_count == 1);
  CHECK(at_t1.vlans[0] == 10);
  REQUIRE(net.out_at(r, "t2").vlan_count == 1);
  CHECK(net.out_at(r, "t2").vlans[0] == 10);
}

TEST_CASE("VLAN bridge: a tagged trunk frame reaches only its VLAN's bridge, untagged") {
  Net net(kVlans);
  SIMULATE(r, net, "t1", frame(kTrunkHost, "ff:ff:ff:ff:ff:ff") + " vlan=20");
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{"a20", "t2"});
  CHECK(net.out_at(r, "a20").vlan_count == 0);
  REQUIRE(net.out_at(r, "t2").vlan_count == 1);
  CHECK(net.out_at(r, "t2").vlans[0] == 20);
}

TEST_CASE("VLAN bridge: unicast from a trunk to a MAC behind a VLAN link pops the tag") {
  Net net(kVlans);
  // a10 talks first, so the VLAN-aware bridge learns its MAC on trunk-v10 (VLAN 10).
  net.send("a10", frame("02:00:00:00:10:0a", "ff:ff:ff:ff:ff:ff"));
  SIMULATE(r, net, "t1", frame(kTrunkHost, "02:00:00:00:10:0a") + " vlan=10");
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{"a10"});
  CHECK(net.out_at(r, "a10").vlan_count == 0);
}

TEST_CASE("VLAN bridge: learns MACs per VLAN") {
  Net net(kVlans);
  const std::uint32_t trunk = net.bridge("trunk").value;
  // The same MAC on VLAN 10 behind t1 and on VLAN 20 behind t2: two entries, no move.
  net.send("t1", frame(kTrunkHost, "ff:ff:ff:ff:ff:ff") + " vlan=10");
  net.send("t2", frame(kTrunkHost, "ff:ff:ff:ff:ff:ff") + " vlan=20");
  CHECK(net.state().macs.at(SimState::MacKey{trunk, 10, mac(kTrunkHost)}) == net.port("t1"));
  CHECK(net.state().macs.at(SimState::MacKey{trunk, 20, mac(kTrunkHost)}) == net.port("t2"));
  {
    SIMULATE(r, net, "a10", frame("02:00:00:00:10:0a", kTrunkHost));
    CHECK(r.verdict == Verdict::kDelivered);
    // v10 learned it behind its link (the VLAN 10 broadcast came in that way); the trunk
    // bridge sends it to t1 only, tagged 10.
    CHECK(net.to(r) == Names{"t1"});
    REQUIRE(net.out_at(r, "t1").vlan_count == 1);
    CHECK(net.out_at(r, "t1").vlans[0] == 10);
  }
  {
    SIMULATE(r, net, "a20", frame("02:00:00:00:20:0a", kTrunkHost));
    CHECK(r.verdict == Verdict::kDelivered);
    CHECK(net.to(r) == Names{"t2"});
    REQUIRE(net.out_at(r, "t2").vlan_count == 1);
    CHECK(net.out_at(r, "t2").vlans[0] == 20);
  }
}

TEST_CASE("VLAN bridge: a trunk frame of another VLAN never reaches a MAC learned on VLAN 10") {
  Net net(kVlans);
  net.send("a10", frame("02:00:00:00:10:0a", "ff:ff:ff:ff:ff:ff"));
  SIMULATE(r, net, "t1", frame(kTrunkHost, "02:00:00:00:10:0a") + " vlan=20");
  // Unknown on VLAN 20: flooded within VLAN 20 only.
  CHECK(net.to(r) == Names{"a20", "t2"});
}
