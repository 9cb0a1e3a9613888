// Simulator::simulate into a reused SimulationResult (the twin simulates into its flights'
// results, keeping their vectors' memory): whatever the result held before, the outcome is the
// one a fresh result gets.

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "fixtures.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

// vm1 (security group) and vm2 on net, vm3 behind r1: delivered, dropped by a rule, routed,
// answered by the router (a generated packet), traced.
constexpr std::string_view kNet = R"(
hosts: [{name: hv1, ip: 192.168.0.1}, {name: hv2, ip: 192.168.0.2}]
security_groups:
  - name: web
    rules:
      - {direction: ingress, proto: tcp, port: 80, remote: 0.0.0.0/0}
      - {direction: egress}
bridges:
  - name: net
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10, security_groups: [web]}
      - {name: vm2, host: hv1, mac: "02:00:00:00:01:0b", ip: 10.0.1.11}
      - {name: net-r1, peer: r1-net}
  - name: net2
    ports:
      - {name: vm3, host: hv2, mac: "02:00:00:00:02:1e", ip: 10.0.2.30}
      - {name: net2-r1, peer: r1-net2}
routers:
  - name: r1
    ports:
      - {name: r1-net, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-net2, ip: 10.0.2.1/24, mac: "02:00:00:00:02:01"}
)";

void check_same(const SimulationResult& a, const SimulationResult& b) {
  CHECK(a.verdict == b.verdict);
  REQUIRE(a.drop.has_value() == b.drop.has_value());
  if (a.drop) {
    CHECK(a.drop->reason == b.drop->reason);
    CHECK(a.drop->device == b.drop->device);
    CHECK(a.drop->rule == b.drop->rule);
  }
  CHECK(a.drop_source.line == b.drop_source.line);
  CHECK(a.drop_source.col == b.drop_source.col);
  REQUIRE(a.out.size() == b.out.size());
  for (std::size_t i = 0; i < a.out.size(); ++i) {
    CHECK(a.out[i].port == b.out[i].port);
    CHECK(a.out[i].packet == b.out[i].packet);
    CHECK(a.out[i].generated == b.out[i].generated);
  }
  CHECK(a.mask == b.mask);
  CHECK(a.tags == b.tags);
  REQUIRE(a.balanced.has_value() == b.balanced.has_value());
  REQUIRE(a.hops.size() == b.hops.size());
  for (std::size_t i = 0; i < a.hops.size(); ++i) {
    CHECK(a.hops[i].device == b.hops[i].device);
    CHECK(a.hops[i].detail == b.hops[i].detail);
    CHECK(a.hops[i].out_port == b.hops[i].out_port);
  }
}

}  // namespace

TEST_CASE("Simulating into a reused result gives what a fresh result gets") {
  Net net(kNet);
  // (from, packet spec, trace): each step's result starts from the one before it.
  const std::vector<std::pair<std::string, std::string>> steps = {
      {"vm2", "udp dst=10.0.1.10 dport=53"},   // dropped by sg-ingress:vm1
      {"vm3", "tcp dst=10.0.1.10 dport=80"},   // routed, delivered
      {"vm2", "icmp dst=10.0.1.1"},            // answered by r1: a generated packet
      {"vm1", "tcp dst=10.0.2.30 dport=22"},   // routed the other way
      {"vm2", "udp dst=10.0.1.10 dport=53"},   // dropped again
      {"vm2", "tcp dst=10.0.1.10 dport=80"}};  // delivered on the bridge
  for (const bool trace_first : {false, true}) {
    SimState fresh_state;
    SimState reused_state;
    SimulationResult reused;
    bool trace = trace_first;
    for (const auto& [from, spec] : steps) {
      INFO(from << ": " << spec << (trace ? " (traced)" : ""));
      SimulateOptions opts;
      opts.trace = trace;
      const Packet p = net.packet(from, spec);
      const SimulationResult fresh = net.sim().simulate(net.port(from), p, fresh_state, opts);
      net.sim().simulate(net.port(from), p, reused_state, opts, reused);
      check_same(fresh, reused);
      trace = !trace;  // a traced result (hops) is followed by an untraced one, and back
    }
  }
}
