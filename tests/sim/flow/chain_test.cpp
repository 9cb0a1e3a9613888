// Chains (MidoNet semantics, /tmp/notes study section 5): evaluation order, jumps, returns,
// where REJECT is silent and where it is an ICMP error, drop attribution, masks and tags.

#include <catch2/catch.hpp>

#include "fixtures.hpp"
#include "sim/flow/chain.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

/// A chain environment with no conntrack (everything is a forward flow) and no NAT.
class PlainEnv final : public ChainEnv {
 public:
  bool is_return_flow() override { return false; }
  bool apply_nat(const Action&, Packet&) override { return false; }
  void note(std::string) override {}
  bool tracing() const override { return false; }
};

constexpr std::string_view kChains = R"(
hosts: [{name: hv1, ip: 192.168.0.1}]
chains:
  - name: main
    rules:
      - {match: {proto: tcp}, action: {jump: a}}
      - {match: {proto: udp, dport: 7}, action: continue}
      - {match: {proto: udp, dport: 7}, action: accept}
      - {match: {proto: udp, dport: 9}, action: return}
      - {action: drop}
  - name: a
    rules:
      - {match: {dport: 22}, action: accept}
      - {match: {dport: 80}, action: return}
      - {action: {jump: b}}
      - {match: {dport: 8080}, action: drop}
  - name: b
    rules:
      - {match: {dport: 443}, action: reject}
      - {match: {dport: 25}, action: return}
      - {match: {dport: 25}, action: drop}
  - name: loop-x
    rules:
      - {action: {jump: loop-y}}
      - {action: accept}
  - name: loop-y
    rules:
      - {action: {jump: loop-x}}
      - {match: {dport: 22}, action: drop}
  - name: quiet
    rules:
      - {match: {dport: 1}, action: drop}
  - name: empty
    rules: []
bridges:
  - name: br
    ports:
      - {name: p1, host: hv1, ip: 10.0.0.1}
      - {name: p2, host: hv1, ip: 10.0.0.2}
)";

struct Eval {
  ChainDecision decision;
  std::vector<std::string> visited;
};

Eval evaluate(const Net& net, std::string_view chain, std::string_view spec) {
  Packet p = net.packet("p1", spec);
  PlainEnv env;
  FieldMask mask;
  std::vector<ChainId> visited;
  const MatchContext ctx{net.port("p1"), std::nullopt, net.port("p1")};
  Eval e{evaluate_chain(net.topo(), net.chain(chain), p, ctx, env, mask, visited), {}};
  for (ChainId c : visited)
    e.visited.push_back(net.topo().chain(c).name);
  return e;
}

std::string decider(const Net& net, const ChainDecision& d) {
  return d.chain.valid() ? net.topo().chain(d.chain).name : std::string("(none)");
}

}  // namespace

TEST_CASE("Chain: the first decisive rule wins") {
  Net net(kChains);
  const Eval e = evaluate(net, "main", "tcp dst=10.0.0.2 dport=22");
  CHECK(e.decision.kind == ChainDecision::Kind::kAccept);
  CHECK(decider(net, e.decision) == "a");
  CHECK(e.decision.rule == 0U);
}

TEST_CASE("Chain: a drop reports its chain and rule index") {
  Net net(kChains);
  const Eval e = evaluate(net, "main", "icmp dst=10.0.0.2");
  CHECK(e.decision.kind == ChainDecision::Kind::kDrop);
  CHECK(decider(net, e.decision) == "main");
  CHECK(e.decision.rule == 4U);
}

TEST_CASE("Chain: continue goes on with the next rule") {
  Net net(kChains);
  const Eval e = evaluate(net, "main", "udp dst=10.0.0.2 dport=7");
  CHECK(e.decision.kind == ChainDecision::Kind::kAccept);
  CHECK(decider(net, e.decision) == "main");
  CHECK(e.decision.rule == 2U);
}

TEST_CASE("Chain: return at top level accepts") {
  Net net(kChains);
  const Eval e = evaluate(net, "main", "udp dst=10.0.0.2 dport=9");
  CHECK(e.decision.kind == ChainDecision::Kind::kAccept);
  CHECK_FALSE(e.decision.rule);
}

TEST_CASE("Chain: return from a jumped-to chain resumes after the jump") {
  Net net(kChains);
  const Eval e = evaluate(net, "main", "tcp dst=10.0.0.2 dport=80");
  CHECK(e.decision.kind == ChainDecision::Kind::kDrop);
  CHECK(decider(net, e.decision) == "main");
  CHECK(e.decision.rule == 4U);
}

TEST_CASE("Chain: jumps nest and a decision deep down ends the evaluation") {
  Net net(kChains);
  const Eval e = evaluate(net, "main", "tcp dst=10.0.0.2 dport=443");
  CHECK(e.decision.kind == ChainDecision::Kind::kReject);
  CHECK(decider(net, e.decision) == "b");
  CHECK(e.decision.rule == 0U);
  CHECK(e.visited == std::vector<std::string>{"main", "a", "b"});
}

TEST_CASE("Chain: return from a nested chain resumes in its caller, not the top") {
  Net net(kChains);
  // b returns for 25, so a goes on after its jump and drops 8080 only: 25 falls off a, then
  // main drops at rule 4.
  const Eval e25 = evaluate(net, "main", "tcp dst=10.0.0.2 dport=25");
  CHECK(e25.decision.kind == ChainDecision::Kind::kDrop);
  CHECK(decider(net, e25.decision) == "main");
  CHECK(e25.decision.rule == 4U);
  const Eval e8080 = evaluate(net, "main", "tcp dst=10.0.0.2 dport=8080");
  CHECK(e8080.decision.kind == ChainDecision::Kind::kDrop);
  CHECK(decider(net, e8080.decision) == "a");
  CHECK(e8080.decision.rule == 3U);
}

TEST_CASE("Chain: a jump to a chain already visited is ignored") {
  Net net(kChains);
  const Eval e22 = evaluate(net, "loop-x", "tcp dst=10.0.0.2 dport=22");
  CHECK(e22.decision.kind == ChainDecision::Kind::kDrop);
  CHECK(decider(net, e22.decision) == "loop-y");
  CHECK(e22.decision.rule == 1U);
  const Eval e80 = evaluate(net, "loop-x", "tcp dst=10.0.0.2 dport=80");
  CHECK(e80.decision.kind == ChainDecision::Kind::kAccept);
  CHECK(decider(net, e80.decision) == "loop-x");
  CHECK(e80.decision.rule == 1U);
  CHECK(e80.visited == std::vector<std::string>{"loop-x", "loop-y"});
}

TEST_CASE("Chain: no decision accepts") {
  Net net(kChains);
  const Eval quiet = evaluate(net, "quiet", "tcp dst=10.0.0.2 dport=2");
  CHECK(quiet.decision.kind == ChainDecision::Kind::kAccept);
  CHECK_FALSE(quiet.decision.rule);
  CHECK_FALSE(quiet.decision.chain.valid());
  const Eval empty = evaluate(net, "empty", "tcp dst=10.0.0.2 dport=2");
  CHECK(empty.decision.kind == ChainDecision::Kind::kAccept);
  CHECK_FALSE(empty.decision.rule);
}

// ---------------------------------------------------------------------------------------------
// Chains in the walk

namespace {

constexpr std::string_view kPlaces = R"(
hosts: [{name: hv1, ip: 192.168.0.1}, {name: hv2, ip: 192.168.0.2}]
chains:
  - name: vm-out
    rules:
      - {match: {proto: tcp, dport: 23}, action: drop}
      - {match: {proto: tcp, dport: 24}, action: reject}
  - name: vm-in
    rules:
      - {match: {proto: tcp, dport: 25}, action: drop}
  - name: bridge-in
    rules:
      - {match: {proto: tcp, dport: 26}, action: reject}
  - name: bridge-out
    rules:
      - {match: {out_port: vm2, proto: tcp, dport: 27}, action: drop}
      - {match: {proto: udp, dport: 27}, action: drop}
  - name: router-in
    rules:
      - {match: {proto: tcp, dport: 28}, action: reject}
      - {match: {proto: udp, dport: 28}, action: drop}
      - {match: {proto: tcp, dport: 31}, action: {jump: nested}}
  - name: nested
    rules:
      - {match: {src: 10.0.1.10}, action: drop}
  - name: router-out
    rules:
      - {match: {out_port: r1-green, proto: tcp, dport: 29}, action: reject}
      - {match: {in_port: r1-blue, proto: tcp, dport: 32}, action: drop}
  - name: rport-out
    rules:
      - {match: {proto: tcp, dport: 30}, action: reject}
bridges:
  - name: blue
    inbound_chain: bridge-in
    outbound_chain: bridge-out
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10,
         inbound_chain: vm-out}
      - {name: vm2, host: hv2, mac: "02:00:00:00:01:14", ip: 10.0.1.20, outbound_chain: vm-in}
      - {name: vm5, host: hv2, mac: "02:00:00:00:01:32", ip: 10.0.1.50}
      - {name: blue-r1, peer: r1-blue}
  - name: green
    ports:
      - {name: vm3, host: hv2, mac: "02:00:00:00:02:1e", ip: 10.0.2.30}
      - {name: green-r1, peer: r1-green}
routers:
  - name: r1
    inbound_chain: router-in
    outbound_chain: router-out
    ports:
      - {name: r1-blue, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-green, ip: 10.0.2.1/24, mac: "02:00:00:00:02:01", outbound_chain: rport-out}
)";

void check_prohibited_to_vm1(const Net& net, const SimulationResult& r) {
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "vm1");
  CHECK(g.packet.icmp_type == icmptype::kUnreachable);
  CHECK(int{g.packet.icmp_code} == 13);
  CHECK(g.packet.src == ip("10.0.1.1"));
  CHECK(g.packet.dst == ip("10.0.1.10"));
  REQUIRE(g.packet.quoted);
  CHECK(g.packet.quoted->dst == ip("10.0.2.30"));
  CHECK(int{g.packet.quoted->ttl} == 64);  // as the router received it
}

}  // namespace

TEST_CASE("Chain: a port inbound chain drop names the chain and rule") {
  Net net(kPlaces);
  SIMULATE(r, net, "vm1", "tcp dst=10.0.1.20 dport=23");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(reason_of(r) == "rule");
  CHECK(device_of(r) == "vm-out");
  REQUIRE(r.drop);
  CHECK(r.drop->rule == 0U);
  CHECK(r.out.empty());
  CHECK(net.has_tag(r, FlowTag::Kind::kChain, net.chain("vm-out").value));
  CHECK(r.mask.has(Field::kTpDst));
  CHECK(r.mask.has(Field::kNwProto));
}

TEST_CASE("Chain: a port outbound chain drops at the egress port") {
  Net net(kPlaces);
  SIMULATE(r, net, "vm5", "tcp dst=10.0.1.20 dport=25");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(device_of(r) == "vm-in");
  REQUIRE(r.drop);
  CHECK(r.drop->rule == 0U);
  CHECK(r.out.empty());
  SIMULATE(other, net, "vm5", "tcp dst=10.0.1.20 dport=22");
  CHECK(net.to(other) == Names{"vm2"});
}

TEST_CASE("Chain: REJECT on a bridge port or bridge chain is a silent drop") {
  Net net(kPlaces);
  {
    SIMULATE(r, net, "vm1", "tcp dst=10.0.1.20 dport=24");
    CHECK(r.verdict == Verdict::kDropped);
    CHECK(reason_of(r) == "rule");
    CHECK(device_of(r) == "vm-out");
    CHECK(r.drop->rule == 1U);
    CHECK(r.out.empty());
  }
  {
    SIMULATE(r, net, "vm5", "tcp dst=10.0.1.20 dport=26");
    CHECK(r.verdict == Verdict::kDropped);
    CHECK(device_of(r) == "bridge-in");
    CHECK(r.drop->rule == 0U);
    CHECK(r.out.empty());
  }
}

TEST_CASE("Chain: a bridge outbound chain sees the out port on unicast only") {
  Net net(kPlaces);
  {
    SIMULATE(r, net, "vm5", "tcp dst=10.0.1.20 dport=27");
    CHECK(r.verdict == Verdict::kDropped);
    CHECK(device_of(r) == "bridge-out");
    CHECK(r.drop->rule == 0U);
  }
  {
    // Flooded (unknown MAC): rule 0's out_port test does not match, so it is delivered.
    SIMULATE(r, net, "vm5", "tcp dst=10.0.1.20 dport=27 eth_dst=02:00:00:00:01:99");
    CHECK(r.verdict == Verdict::kDelivered);
    CHECK(net.to(r) == Names{"vm1", "vm2"});
  }
  {
    // The outbound chain runs on floods too.
    SIMULATE(r, net, "vm5", "udp dst=10.0.1.20 dport=27 eth_dst=02:00:00:00:01:99");
    CHECK(r.verdict == Verdict::kDropped);
    CHECK(device_of(r) == "bridge-out");
    CHECK(r.drop->rule == 1U);
  }
}

TEST_CASE("Chain: REJECT in a router inbound chain sends ICMP 3/13 from the ingress port") {
  Net net(kPlaces);
  SIMULATE(r, net, "vm1", "tcp dst=10.0.2.30 dport=28");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(reason_of(r) == "rule");
  CHECK(device_of(r) == "router-in");
  CHECK(r.drop->rule == 0U);
  CHECK(net.to(r).empty());
  check_prohibited_to_vm1(net, r);
}

TEST_CASE("Chain: DROP in a router inbound chain is silent except for a first fragment") {
  Net net(kPlaces);
  {
    SIMULATE(r, net, "vm1", "udp dst=10.0.2.30 dport=28");
    CHECK(device_of(r) == "router-in");
    CHECK(r.drop->rule == 1U);
    CHECK(r.out.empty());
  }
  {
    // MidoNet answers a dropped header fragment with ICMP fragmentation needed (3/4).
    SIMULATE(r, net, "vm1", "udp dst=10.0.2.30 dport=28 frag=first");
    CHECK(device_of(r) == "router-in");
    const OutPacket g = net.only_generated(r);
    CHECK(g.packet.icmp_type == icmptype::kUnreachable);
    CHECK(int{g.packet.icmp_code} == 4);
  }
}

TEST_CASE("Chain: a jump from a router chain attributes the drop to the jumped-to chain") {
  Net net(kPlaces);
  SIMULATE(r, net, "vm1", "tcp dst=10.0.2.30 dport=31");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(device_of(r) == "nested");
  CHECK(r.drop->rule == 0U);
  CHECK(net.has_tag(r, FlowTag::Kind::kChain, net.chain("router-in").value));
  CHECK(net.has_tag(r, FlowTag::Kind::kChain, net.chain("nested").value));
  CHECK(r.mask.has(Field::kNwSrc));
  CHECK(net.generated(r).empty());  // DROP, not REJECT
}

TEST_CASE("Chain: REJECT in a router outbound chain sends ICMP 3/13 from the ingress port") {
  Net net(kPlaces);
  SIMULATE(r, net, "vm1", "tcp dst=10.0.2.30 dport=29");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(device_of(r) == "router-out");
  CHECK(r.drop->rule == 0U);
  check_prohibited_to_vm1(net, r);
}

TEST_CASE("Chain: a router outbound chain sees the in port") {
  Net net(kPlaces);
  SIMULATE(r, net, "vm1", "tcp dst=10.0.2.30 dport=32");
  CHECK(device_of(r) == "router-out");
  CHECK(r.drop->rule == 1U);
  CHECK(net.generated(r).empty());
}

TEST_CASE("Chain: REJECT in a router port outbound chain sends ICMP 3/13 from the ingress port") {
  Net net(kPlaces);
  SIMULATE(r, net, "vm1", "tcp dst=10.0.2.30 dport=30");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(device_of(r) == "rport-out");
  CHECK(r.drop->rule == 0U);
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "vm1");
  CHECK(int{g.packet.icmp_code} == 13);
  CHECK(g.packet.src == ip("10.0.1.1"));
  CHECK(g.packet.eth_dst == mac("02:00:00:00:01:0a"));
}

TEST_CASE("Chain: packets that no rule decides are accepted everywhere") {
  Net net(kPlaces);
  SIMULATE(r, net, "vm1", "tcp dst=10.0.2.30 dport=22");
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{"vm3"});
  // Every chain on the path was read and is a flow tag.
  for (const char* c :
       {"vm-out", "bridge-in", "bridge-out", "router-in", "router-out", "rport-out"}) {
    INFO(c);
    CHECK(net.has_tag(r, FlowTag::Kind::kChain, net.chain(c).value));
  }
  CHECK_FALSE(net.has_tag(r, FlowTag::Kind::kChain, net.chain("vm-in").value));
}
