// Fragment policies (MidoNet's FragmentPolicy, /tmp/notes study C5.5, C5.7, R3.9): any, header,
// nonheader, unfragmented and the default (header when the rule reads L4 ports, else any), on
// a bridge chain and on a router chain; a router inbound chain dropping a first fragment
// answers ICMP 3/4 from the ingress port, a later fragment gets nothing.

#include <catch2/catch.hpp>

#include <string>

#include "fixtures.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

//   vm1, t21..t27 ── net ── r1 ── net2 ── u21..u29
// net's inbound chain sends dst 10.0.1.2N to policy chain N; r1's inbound chain sends dst
// 10.0.2.2N to the same chains; r1's outbound chain drops/rejects header fragments to .28/.29.
constexpr std::string_view kFrag = R"(
hosts: [{name: hv1, ip: 192.168.0.1}]
chains:
  - name: f-any
    rules: [{match: {proto: udp, frag: any}, action: drop}]
  - name: f-header
    rules: [{match: {proto: udp, frag: header}, action: drop}]
  - name: f-nonheader
    rules: [{match: {proto: udp, frag: nonheader}, action: drop}]
  - name: f-unfragmented
    rules: [{match: {proto: udp, frag: unfragmented}, action: drop}]
  - name: f-default-l4
    rules: [{match: {proto: udp, dport: 53}, action: drop}]
  - name: f-default
    rules: [{match: {proto: udp}, action: drop}]
  - name: f-inverted
    rules: [{match: {proto: udp, frag: nonheader, invert: true}, action: drop}]
  - name: br-frag
    rules:
      - {match: {dst: 10.0.1.21}, action: {jump: f-any}}
      - {match: {dst: 10.0.1.22}, action: {jump: f-header}}
      - {match: {dst: 10.0.1.23}, action: {jump: f-nonheader}}
      - {match: {dst: 10.0.1.24}, action: {jump: f-unfragmented}}
      - {match: {dst: 10.0.1.25}, action: {jump: f-default-l4}}
      - {match: {dst: 10.0.1.26}, action: {jump: f-default}}
      - {match: {dst: 10.0.1.27}, action: {jump: f-inverted}}
  - name: rt-frag
    rules:
      - {match: {dst: 10.0.2.21}, action: {jump: f-any}}
      - {match: {dst: 10.0.2.22}, action: {jump: f-header}}
      - {match: {dst: 10.0.2.23}, action: {jump: f-nonheader}}
      - {match: {dst: 10.0.2.24}, action: {jump: f-unfragmented}}
      - {match: {dst: 10.0.2.25}, action: {jump: f-default-l4}}
      - {match: {dst: 10.0.2.26}, action: {jump: f-default}}
      - {match: {dst: 10.0.2.27}, action: {jump: f-inverted}}
  - name: rt-out
    rules:
      - {match: {dst: 10.0.2.28, proto: udp, frag: header}, action: drop}
      - {match: {dst: 10.0.2.29, proto: udp, frag: header}, action: reject}
bridges:
  - name: net
    inbound_chain: br-frag
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10}
      - {name: t21, host: hv1, mac: "02:00:00:00:01:15", ip: 10.0.1.21}
      - {name: t22, host: hv1, mac: "02:00:00:00:01:16", ip: 10.0.1.22}
      - {name: t23, host: hv1, mac: "02:00:00:00:01:17", ip: 10.0.1.23}
      - {name: t24, host: hv1, mac: "02:00:00:00:01:18", ip: 10.0.1.24}
      - {name: t25, host: hv1, mac: "02:00:00:00:01:19", ip: 10.0.1.25}
      - {name: t26, host: hv1, mac: "02:00:00:00:01:1a", ip: 10.0.1.26}
      - {name: t27, host: hv1, mac: "02:00:00:00:01:1b", ip: 10.0.1.27}
      - {name: net-r1, peer: r1-net}
  - name: net2
    ports:
      - {name: u21, host: hv1, mac: "02:00:00:00:02:15", ip: 10.0.2.21}
      - {name: u22, host: hv1, mac: "02:00:00:00:02:16", ip: 10.0.2.22}
      - {name: u23, host: hv1, mac: "02:00:00:00:02:17", ip: 10.0.2.23}
      - {name: u24, host: hv1, mac: "02:00:00:00:02:18", ip: 10.0.2.24}
      - {name: u25, host: hv1, mac: "02:00:00:00:02:19", ip: 10.0.2.25}
      - {name: u26, host: hv1, mac: "02:00:00:00:02:1a", ip: 10.0.2.26}
      - {name: u27, host: hv1, mac: "02:00:00:00:02:1b", ip: 10.0.2.27}
      - {name: u28, host: hv1, mac: "02:00:00:00:02:1c", ip: 10.0.2.28}
      - {name: u29, host: hv1, mac: "02:00:00:00:02:1d", ip: 10.0.2.29}
      - {name: net2-r1, peer: r1-net2}
routers:
  - name: r1
    inbound_chain: rt-frag
    outbound_chain: rt-out
    ports:
      - {name: r1-net, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-net2, ip: 10.0.2.1/24, mac: "02:00:00:00:02:01"}
)";

struct PolicyCase {
  int host;           // last octet of the destination (chain N = policy)
  const char* chain;  // the chain that drops
  bool drops[3];      // for frag=none, first, later
};

// MidoNet: any = all; header = unfragmented + first; nonheader = later; unfragmented = none;
// default = header when the rule reads ports, else any; invert never widens the policy.
constexpr PolicyCase kCases[] = {
    {21, "f-any", {true, true, true}},         {22, "f-header", {true, true, false}},
    {23, "f-nonheader", {false, false, true}}, {24, "f-unfragmented", {true, false, false}},
    {25, "f-default-l4", {true, true, false}}, {26, "f-default", {true, true, true}},
    {27, "f-inverted", {false, false, false}},
};

constexpr const char* kFragWords[] = {"none", "first", "later"};

std::string udp_to(const std::string& dst, int frag) {
  // A later fragment carries no L4 header, so the spec has no ports for it.
  return "udp dst=" + dst + (frag == 2 ? std::string() : std::string(" dport=53")) +
         " frag=" + kFragWords[frag];
}

}  // namespace

TEST_CASE("Fragments: each fragment policy on a bridge chain") {
  Net net(kFrag);
  for (const PolicyCase& c : kCases) {
    for (int frag = 0; frag < 3; ++frag) {
      const std::string dst = "10.0.1." + std::to_string(c.host);
      INFO("policy chain " << c.chain << ", frag=" << kFragWords[frag]);
      SIMULATE(r, net, "vm1", udp_to(dst, frag));
      if (c.drops[frag]) {
        CHECK(r.verdict == Verdict::kDropped);
        CHECK(reason_of(r) == "rule");
        CHECK(device_of(r) == c.chain);
        CHECK(r.drop->rule == 0U);
      } else {
        CHECK(net.to(r) == Names{"t" + std::to_string(c.host)});
      }
      // A bridge never answers with an ICMP error.
      CHECK(net.generated(r).empty());
    }
  }
}

TEST_CASE("Fragments: each fragment policy on a router chain") {
  Net net(kFrag);
  for (const PolicyCase& c : kCases) {
    for (int frag = 0; frag < 3; ++frag) {
      const std::string dst = "10.0.2." + std::to_string(c.host);
      INFO("policy chain " << c.chain << ", frag=" << kFragWords[frag]);
      SIMULATE(r, net, "vm1", udp_to(dst, frag));
      if (c.drops[frag]) {
        CHECK(r.verdict == Verdict::kDropped);
        CHECK(reason_of(r) == "rule");
        CHECK(device_of(r) == c.chain);
        CHECK(r.drop->rule == 0U);
      } else {
        CHECK(net.to(r) == Names{"u" + std::to_string(c.host)});
        CHECK(net.out_at(r, "u" + std::to_string(c.host)).ttl == 63);
      }
    }
  }
}

TEST_CASE("Fragments: a router inbound chain dropping a first fragment answers ICMP 3/4") {
  Net net(kFrag);
  SIMULATE(r, net, "vm1", "udp dst=10.0.2.22 dport=53 frag=first");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(device_of(r) == "f-header");
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "vm1");
  CHECK(format_packet(g.packet) ==
        "icmp eth_src=02:00:00:00:01:01 eth_dst=02:00:00:00:01:0a src=10.0.1.1 dst=10.0.1.10 "
        "ttl=64 tos=0 icmp_type=3 icmp_code=4 inner_proto=udp inner_src=10.0.1.10 "
        "inner_dst=10.0.2.22 inner_sport=40000 inner_dport=53 inner_ttl=64 len=0");
}

TEST_CASE("Fragments: a later fragment dropped by a router inbound chain gets no ICMP") {
  Net net(kFrag);
  SIMULATE(r, net, "vm1", "udp dst=10.0.2.21 frag=later");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(device_of(r) == "f-any");
  CHECK(r.out.empty());
}

TEST_CASE("Fragments: an unfragmented packet dropped by a router inbound chain gets no ICMP") {
  Net net(kFrag);
  SIMULATE(r, net, "vm1", "udp dst=10.0.2.21 dport=53");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(device_of(r) == "f-any");
  CHECK(r.out.empty());
}

TEST_CASE("Fragments: a router outbound chain dropping a first fragment sends no ICMP 3/4") {
  Net net(kFrag);
  SIMULATE(r, net, "vm1", "udp dst=10.0.2.28 dport=53 frag=first");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(device_of(r) == "rt-out");
  CHECK(r.drop->rule == 0U);
  CHECK(r.out.empty());
  SIMULATE(later, net, "vm1", "udp dst=10.0.2.28 frag=later");
  CHECK(net.to(later) == Names{"u28"});
}

TEST_CASE("Fragments: a router REJECT of a first fragment answers 3/13, not 3/4") {
  Net net(kFrag);
  SIMULATE(r, net, "vm1", "udp dst=10.0.2.29 dport=53 frag=first");
  CHECK(device_of(r) == "rt-out");
  CHECK(r.drop->rule == 1U);
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "vm1");
  CHECK(g.packet.icmp_type == 3);
  CHECK(g.packet.icmp_code == 13);
}

TEST_CASE("Fragments: a flow a fragment rule let pass still matches on the fragment type") {
  Net net(kFrag);
  // f-nonheader's rule did not match this unfragmented packet only because of its fragment
  // type: the installed flow must not also catch later fragments (which that rule drops).
  SIMULATE(r, net, "vm1", "udp dst=10.0.1.23 dport=53");
  REQUIRE(net.to(r) == Names{"t23"});
  CHECK(r.mask.has(Field::kNwFrag));
  CHECK(r.mask.has(Field::kNwDst));
  SIMULATE(later, net, "vm1", "udp dst=10.0.1.23 frag=later");
  CHECK(device_of(later) == "f-nonheader");
}
