// Rule conditions and NAT actions end to end (SPEC section 4, /tmp/notes study section 5):
// every match key, `!` negation, invert, port groups (explicit and security groups), port
// ranges; NAT with then: accept/continue/return; conditions see the rewritten headers; a
// reverse NAT with no mapping does not match.

#include <catch2/catch.hpp>

#include <string>

#include "fixtures.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

//   a [sg open, pg-ab], b [pg-ab], c, d (inbound chain d-in) ── lab ── r1 ── far ── f1, f2
// lab's outbound chain holds one drop rule per condition key, each selected by its own tcp
// dport (10xx) so that a packet meets exactly one of them; everything else falls off the end
// of the chain and is accepted.
constexpr std::string_view kKeys = R"(
hosts: [{name: hv1, ip: 192.168.0.1}]
port_groups:
  - {name: pg-ab, ports: [a, b]}
security_groups:
  - name: open
    rules: [{direction: ingress}, {direction: egress}]
chains:
  - name: lab-out
    rules:
      - {match: {proto: tcp, dport: 1000, in_port: b}, action: drop}
      - {match: {proto: tcp, dport: 1001, out_port: c}, action: drop}
      - {match: {proto: tcp, dport: 1002, port_group: pg-ab}, action: drop}
      - {match: {proto: tcp, dport: 1003, port_group: open}, action: drop}
      - {match: {proto: tcp, dport: 1004, src: "!10.0.0.0/30"}, action: drop}
      - {match: {proto: tcp, dport: 1005, dst: "!10.0.0.2"}, action: drop}
      - {match: {proto: udp, dport: 1006}, action: drop}
      - {match: {proto: tcp, dport: 1007, sport: 5000-5009}, action: drop}
      - {match: {proto: tcp, sport: 7777, dport: 2000-2009}, action: drop}
      - {match: {proto: tcp, dport: 1009, eth_src: "02:00:00:00:00:0b"}, action: drop}
      - {match: {proto: tcp, dport: 1010, eth_dst: "02:00:00:00:00:0c"}, action: drop}
      - {match: {ethertype: 0x0806, dst: 10.0.0.2}, action: drop}
      - {match: {ethertype: 0x86dd}, action: drop}
      - {match: {proto: tcp, dport: 1013, tos: 32}, action: drop}
      - {match: {proto: tcp, dport: 1014}, action: {jump: inv}}
  - name: inv
    rules:
      - {match: {src: 10.0.0.1, invert: true}, action: drop}
      - {match: {dst: "!10.0.0.3", invert: true}, action: drop}
  - name: d-in
    rules:
      - {match: {vlan: 10}, action: drop}
  - name: r-in
    rules:
      - {match: {dst: 10.0.9.100}, action: {dnat: {to: 10.0.9.5}}}
      - {match: {dst: 10.0.9.101}, action: {dnat: {to: 10.0.9.6}}, then: continue}
      - {match: {dst: 10.0.9.6, proto: udp}, action: drop}
      - {match: {dst: 10.0.9.102}, action: {jump: r-nat-return}}
      - {match: {dst: 10.0.9.5, proto: tcp, dport: 23}, action: drop}
      - {match: {dst: 10.0.9.100}, action: drop}
      - {match: {dst: 10.0.9.200}, action: rev_dnat}
      - {match: {dst: 10.0.9.200}, action: drop}
  - name: r-nat-return
    rules:
      - {match: {dst: 10.0.9.102}, action: {dnat: {to: 10.0.9.5}}, then: return}
      - {action: drop}
  - name: r-out
    rules:
      - {match: {dst: 10.0.9.5, proto: tcp, dport: 22}, action: drop}
      - {match: {src: 10.0.0.4, out_port: r1-far}, action: {snat: {to: 10.0.9.44}}}
bridges:
  - name: lab
    outbound_chain: lab-out
    ports:
      - {name: a, host: hv1, mac: "02:00:00:00:00:0a", ip: 10.0.0.1, security_groups: [open]}
      - {name: b, host: hv1, mac: "02:00:00:00:00:0b", ip: 10.0.0.2}
      - {name: c, host: hv1, mac: "02:00:00:00:00:0c", ip: 10.0.0.3}
      - {name: d, host: hv1, mac: "02:00:00:00:00:0d", ip: 10.0.0.4, inbound_chain: d-in}
      - {name: lab-r1, peer: r1-lab}
  - name: far
    ports:
      - {name: f1, host: hv1, mac: "02:00:00:00:09:05", ip: 10.0.9.5}
      - {name: f2, host: hv1, mac: "02:00:00:00:09:06", ip: 10.0.9.6}
      - {name: far-r1, peer: r1-far}
routers:
  - name: r1
    inbound_chain: r-in
    outbound_chain: r-out
    ports:
      - {name: r1-lab, ip: 10.0.0.254/24, mac: "02:00:00:00:00:fe"}
      - {name: r1-far, ip: 10.0.9.1/24, mac: "02:00:00:00:09:01"}
)";

/// `spec` from `from` is dropped by `chain` rule `rule`, with nothing sent.
void check_dropped(Net& net, const std::string& from, const std::string& spec,
                   const std::string& chain, std::uint32_t rule) {
  SIMULATE(r, net, from, spec);
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(reason_of(r) == "rule");
  CHECK(device_of(r) == chain);
  CHECK(r.drop->rule == rule);
  CHECK(r.out.empty());
}

/// `spec` from `from` is delivered to exactly `to`.
void check_delivered(Net& net, const std::string& from, const std::string& spec,
                     const std::string& to) {
  SIMULATE(r, net, from, spec);
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{to});
}

}  // namespace

TEST_CASE("Chain conditions: in_port") {
  Net net(kKeys);
  check_dropped(net, "b", "tcp dst=10.0.0.3 dport=1000", "lab-out", 0);
  check_delivered(net, "a", "tcp dst=10.0.0.3 dport=1000", "c");
}

TEST_CASE("Chain conditions: out_port") {
  Net net(kKeys);
  check_dropped(net, "a", "tcp dst=10.0.0.3 dport=1001", "lab-out", 1);
  check_delivered(net, "a", "tcp dst=10.0.0.2 dport=1001", "b");
}

TEST_CASE("Chain conditions: port_group names a top-level port group") {
  Net net(kKeys);
  check_dropped(net, "a", "tcp dst=10.0.0.3 dport=1002", "lab-out", 2);
  check_dropped(net, "b", "tcp dst=10.0.0.3 dport=1002", "lab-out", 2);
  check_delivered(net, "c", "tcp dst=10.0.0.2 dport=1002", "b");
  check_delivered(net, "d", "tcp dst=10.0.0.2 dport=1002", "b");
}

TEST_CASE("Chain conditions: port_group names a security group (its member ports)") {
  Net net(kKeys);
  check_dropped(net, "a", "tcp dst=10.0.0.3 dport=1003", "lab-out", 3);
  check_delivered(net, "b", "tcp dst=10.0.0.3 dport=1003", "c");
}

TEST_CASE("Chain conditions: src with ! negation") {
  Net net(kKeys);
  check_delivered(net, "a", "tcp dst=10.0.0.3 dport=1004", "c");
  check_delivered(net, "c", "tcp dst=10.0.0.2 dport=1004", "b");
  check_dropped(net, "d", "tcp dst=10.0.0.2 dport=1004", "lab-out", 4);
  check_dropped(net, "c", "tcp src=192.0.2.1 dst=10.0.0.2 dport=1004", "lab-out", 4);
}

TEST_CASE("Chain conditions: dst with ! negation") {
  Net net(kKeys);
  check_delivered(net, "a", "tcp dst=10.0.0.2 dport=1005", "b");
  check_dropped(net, "a", "tcp dst=10.0.0.3 dport=1005", "lab-out", 5);
}

TEST_CASE("Chain conditions: proto") {
  Net net(kKeys);
  check_dropped(net, "a", "udp dst=10.0.0.3 dport=1006", "lab-out", 6);
  check_delivered(net, "a", "tcp dst=10.0.0.3 dport=1006", "c");
}

TEST_CASE("Chain conditions: sport range N-M is inclusive") {
  Net net(kKeys);
  check_dropped(net, "a", "tcp dst=10.0.0.3 sport=5000 dport=1007", "lab-out", 7);
  check_dropped(net, "a", "tcp dst=10.0.0.3 sport=5009 dport=1007", "lab-out", 7);
  check_delivered(net, "a", "tcp dst=10.0.0.3 sport=4999 dport=1007", "c");
  check_delivered(net, "a", "tcp dst=10.0.0.3 sport=5010 dport=1007", "c");
}

TEST_CASE("Chain conditions: dport range N-M is inclusive") {
  Net net(kKeys);
  check_dropped(net, "a", "tcp dst=10.0.0.3 sport=7777 dport=2000", "lab-out", 8);
  check_dropped(net, "a", "tcp dst=10.0.0.3 sport=7777 dport=2009", "lab-out", 8);
  check_delivered(net, "a", "tcp dst=10.0.0.3 sport=7777 dport=1999", "c");
  check_delivered(net, "a", "tcp dst=10.0.0.3 sport=7777 dport=2010", "c");
}

TEST_CASE("Chain conditions: eth_src and eth_dst") {
  Net net(kKeys);
  check_dropped(net, "b", "tcp dst=10.0.0.3 dport=1009", "lab-out", 9);
  check_delivered(net, "a", "tcp dst=10.0.0.3 dport=1009", "c");
  check_dropped(net, "a", "tcp dst=10.0.0.3 dport=1010", "lab-out", 10);
  check_delivered(net, "a", "tcp dst=10.0.0.2 dport=1010", "b");
}

TEST_CASE("Chain conditions: ethertype (ARP addresses count as src/dst)") {
  Net net(kKeys);
  check_dropped(net, "a", "arp arp_op=reply arp_tpa=10.0.0.2", "lab-out", 11);
  check_delivered(net, "a", "arp arp_op=reply arp_tpa=10.0.0.3", "c");
  check_dropped(net, "a", "eth ethertype=0x86dd eth_dst=02:00:00:00:00:0c", "lab-out", 12);
  check_delivered(net, "a", "eth ethertype=0x88b5 eth_dst=02:00:00:00:00:0c", "c");
}

TEST_CASE("Chain conditions: vlan (in a port chain; bridge chains skip tagged frames)") {
  Net net(kKeys);
  check_dropped(net, "d", "udp dst=10.0.0.3 dport=9 vlan=10", "d-in", 0);
  check_delivered(net, "d", "udp dst=10.0.0.3 dport=9 vlan=20", "c");
  check_delivered(net, "d", "udp dst=10.0.0.3 dport=9", "c");
  // A tagged frame is not seen by the bridge's outbound chain: rule 6 would drop this.
  check_delivered(net, "d", "udp dst=10.0.0.3 dport=1006 vlan=20", "c");
}

TEST_CASE("Chain conditions: tos") {
  Net net(kKeys);
  check_dropped(net, "a", "tcp dst=10.0.0.3 dport=1013 tos=32", "lab-out", 13);
  check_delivered(net, "a", "tcp dst=10.0.0.3 dport=1013 tos=0", "c");
}

TEST_CASE("Chain conditions: invert negates the whole condition, after ! negation") {
  Net net(kKeys);
  check_dropped(net, "b", "tcp dst=10.0.0.3 dport=1014", "inv", 0);
  check_dropped(net, "a", "tcp dst=10.0.0.3 dport=1014", "inv", 1);
  check_delivered(net, "a", "tcp dst=10.0.0.2 dport=1014", "b");
}

TEST_CASE("Chain NAT: a NAT rule accepts by default, so later rules are not reached") {
  Net net(kKeys);
  SIMULATE(r, net, "a", "tcp dst=10.0.9.100 dport=80");
  REQUIRE(net.to(r) == Names{"f1"});
  CHECK(format_packet(net.out_at(r, "f1")) ==
        "tcp eth_src=02:00:00:00:09:01 eth_dst=02:00:00:00:09:05 src=10.0.0.1 dst=10.0.9.5 "
        "ttl=63 tos=0 sport=40000 dport=80 flags=syn len=0");
}

TEST_CASE("Chain NAT: the outbound chain sees the destination the inbound chain rewrote") {
  Net net(kKeys);
  check_dropped(net, "a", "tcp dst=10.0.9.100 dport=22", "r-out", 0);
  // Straight to the rewritten address, the same rule applies.
  check_dropped(net, "a", "tcp dst=10.0.9.5 dport=22", "r-out", 0);
}

TEST_CASE("Chain NAT: then: continue goes on with the rewritten packet") {
  Net net(kKeys);
  check_dropped(net, "a", "udp dst=10.0.9.101 dport=53", "r-in", 2);
  SIMULATE(r, net, "a", "tcp dst=10.0.9.101 dport=80");
  REQUIRE(net.to(r) == Names{"f2"});
  CHECK(net.out_at(r, "f2").dst == ip("10.0.9.6"));
}

TEST_CASE("Chain NAT: then: return resumes the calling chain with the rewritten packet") {
  Net net(kKeys);
  check_dropped(net, "a", "tcp dst=10.0.9.102 dport=23", "r-in", 4);
  SIMULATE(r, net, "a", "tcp dst=10.0.9.102 dport=80");
  REQUIRE(net.to(r) == Names{"f1"});
  CHECK(net.out_at(r, "f1").dst == ip("10.0.9.5"));
}

TEST_CASE("Chain NAT: a reverse NAT with no mapping does not match; the next rule decides") {
  Net net(kKeys);
  check_dropped(net, "a", "tcp dst=10.0.9.200 dport=80", "r-in", 7);
  check_dropped(net, "a", "udp dst=10.0.9.200 dport=53", "r-in", 7);
}

TEST_CASE("Chain NAT: static SNAT and DNAT rewrite the address only and keep no state") {
  Net net(kKeys);
  SIMULATE(r, net, "d", "tcp dst=10.0.9.6 sport=1234 dport=80");
  REQUIRE(net.to(r) == Names{"f2"});
  CHECK(format_packet(net.out_at(r, "f2")) ==
        "tcp eth_src=02:00:00:00:09:01 eth_dst=02:00:00:00:09:06 src=10.0.9.44 dst=10.0.9.6 "
        "ttl=63 tos=0 sport=1234 dport=80 flags=syn len=0");
  SIMULATE(dnat, net, "a", "udp dst=10.0.9.100 sport=1234 dport=53");
  REQUIRE(net.to(dnat) == Names{"f1"});
  CHECK(net.out_at(dnat, "f1").dport == 53);
  CHECK(net.out_at(dnat, "f1").sport == 1234);
  CHECK(net.state().nat.size() == 0);
}
