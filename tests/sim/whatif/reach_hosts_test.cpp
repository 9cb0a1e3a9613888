// reach --at T against per-host flow state (SPEC sections 6 and 7): a connection's forward sees
// its ingress host's conntrack and NAT tables only, and every table is left as it was.

#include <catch2/catch.hpp>

#include <string>

#include "sim/packet/spec.hpp"
#include "sim/twin/flow_state.hpp"
#include "sim/whatif/reach.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;
using namespace hivesim::whatif;

namespace {

Scenario load(const std::string& relative) {
  LoadResult r = load_scenario(std::string(HIVESIM_SOURCE_DIR) + "/" + relative);
  REQUIRE(r.scenario);
  return std::move(*r.scenario);
}

Packet build(const Simulator& sim, PortId from, const std::string& spec) {
  auto parsed = parse_packet_spec(spec);
  REQUIRE(parsed);
  auto built = build_packet(*parsed, sim.spec_defaults(from));
  REQUIRE(built);
  return std::move(*built);
}

std::size_t entries(const HostFlowState& h) {
  return h.conntrack.size() + h.nat.size();
}

}  // namespace

TEST_CASE("reach at T: an answer is let in by the SNAT binding of the host it enters, only") {
  // app1 (on hv1) opened a connection to the upstream neighbour behind r1-up1 (on gw1): the
  // SNAT binding is on hv1 (ingress) and gw1 (egress); no stateful group takes it to gw2.
  const Scenario s = load("scenarios/asymmetric-return-stateless.yaml");
  const Simulator sim(s.topology);
  const PortId app1 = *s.topology.find_port("app1");
  const PortId up1 = *s.topology.find_port("r1-up1");
  const HostId hv1 = *s.topology.ports[app1.value].host;
  const HostId gw1 = *s.topology.ports[up1.value].host;
  // What the neighbour sends towards the SNAT address, as reach builds it (dport replaced).
  const Packet probe = build(sim, up1, "tcp dst=200.0.0.10 dport=1");
  HostStates states(sim.topology(), s.seed);
  const Packet out = build(
      sim, app1, "tcp dst=" + probe.src.str() + " sport=5000 dport=" + std::to_string(probe.sport));
  const SimulationResult fwd =
      states.run(app1, [&](SimState& st) { return sim.simulate(app1, out, st); });
  REQUIRE(fwd.verdict == Verdict::kDelivered);
  REQUIRE(fwd.out.front().port == up1);
  const std::uint16_t snat_port = fwd.out.front().packet.sport;
  REQUIRE(entries(states.host(gw1)) > 0);

  ReachPlan plan;
  plan.sources = {up1};
  plan.destinations = {Destination{"200.0.0.10", Ipv4::parse("200.0.0.10").value()}};
  plan.services = {Service{ipproto::kTcp, snat_port}};

  // gw1 has the binding: the neighbour's packet is translated back to app1, and app1 answers.
  const std::size_t gw1_before = entries(states.host(gw1));
  const std::size_t hv1_before = entries(states.host(hv1));
  ReachReport r = run_reach(s, sim, states, plan, 5 * kSecond);
  REQUIRE(r.rows.size() == 1);
  CHECK(r.rows[0].result == Reach::kOpen);
  CHECK(entries(states.host(gw1)) == gw1_before);  // left as it was
  CHECK(entries(states.host(hv1)) == hv1_before);

  // gw1 lost its state (its agent restarted); hv1 still holds the binding, but the packet
  // enters at gw1: the SNAT guard drops it.
  states.tables(gw1) = HostFlowState{};
  r = run_reach(s, sim, states, plan, 5 * kSecond);
  REQUIRE(r.rows.size() == 1);
  CHECK(r.rows[0].result == Reach::kBlocked);
  REQUIRE(r.rows[0].drop);
  CHECK(r.rows[0].drop->info.device == "r1-in");

  // One store for every host (what reach consulted before) would have let it in.
  SimState shared(s.seed);
  shared.conntrack = states.host(hv1).conntrack;
  NatTable bindings = states.host(hv1).nat;
  shared.nat.swap_bindings(bindings);
  r = run_reach(s, sim, shared, plan, 5 * kSecond);
  REQUIRE(r.rows.size() == 1);
  CHECK(r.rows[0].result == Reach::kOpen);
}

TEST_CASE("reach at T: the answer's host gets the forward's keys, then loses them again") {
  // A connection from app1 out through gw1: its answer enters at gw1, which lacks any state
  // before the forward; it finds the forward's SNAT binding there (pushed to the egress host).
  const Scenario s = load("scenarios/asymmetric-return-stateless.yaml");
  const Simulator sim(s.topology);
  HostStates states(sim.topology(), s.seed);
  auto plan = plan_reach(s, ReachQuery{std::nullopt, std::vector<std::string>{"app1"},
                                       std::vector<std::string>{"203.0.113.9"},
                                       std::vector<Service>{Service{ipproto::kTcp, 443}}});
  REQUIRE(plan);
  const ReachReport r = run_reach(s, sim, states, *plan, kSecond);
  REQUIRE(r.rows.size() == 1);
  CHECK(r.rows[0].result == Reach::kOpen);
  for (std::uint32_t h = 0; h < s.topology.hosts.size(); ++h)
    CHECK(entries(states.host(HostId{h})) == 0);
}
