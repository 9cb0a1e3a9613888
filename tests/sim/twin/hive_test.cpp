// The hive's parts on their own (NSDB quorum and watches, the underlay's FIFO and loss, push
// targets, per-host flow state) and SPEC section 6 through whole runs of the bundled examples.

#include <catch2/catch.hpp>

#include <string>

#include "sim/packet/spec.hpp"
#include "sim/twin/flow_state.hpp"
#include "sim/twin/nsdb.hpp"
#include "sim/twin/twin.hpp"
#include "sim/twin/underlay.hpp"
#include "topology/load/loader.hpp"

namespace hivesim {
namespace {

Scenario load_example(const std::string& file) {
  LoadResult loaded = load_scenario(std::string(HIVESIM_SOURCE_DIR) + "/scenarios/" + file);
  REQUIRE(loaded.scenario);
  return std::move(*loaded.scenario);
}

RunReport run(const Scenario& s) {
  auto twin = Twin::make(s, TwinOptions{});
  REQUIRE(twin);
  return (*twin)->run();
}

TEST_CASE("Nsdb: a write without a quorum stalls and commits when the quorum returns") {
  Nsdb nsdb(3, 2 * kMillisecond);
  Change c;
  REQUIRE(nsdb.write(c, 0) == std::optional<SimTime>(2 * kMillisecond));
  CHECK_FALSE(nsdb.set_replica(0, false));
  CHECK(nsdb.quorum());
  CHECK_FALSE(nsdb.set_replica(1, false));
  CHECK_FALSE(nsdb.quorum());
  CHECK_FALSE(nsdb.write(c, 10));
  CHECK(nsdb.writes() == 1);
  CHECK(nsdb.set_replica(1, true));  // the quorum is back
  CHECK(nsdb.take_stalled().size() == 1);
  CHECK(nsdb.take_stalled().empty());
}

TEST_CASE("Nsdb: commits become visible after the latency, in order; stale follows the tags") {
  Nsdb nsdb(1, 5);
  Change a;
  a.port = PortId{1};
  Change b;
  b.port = PortId{2};
  nsdb.commit(a, 0);
  nsdb.commit(b, 1);
  CHECK(nsdb.take_visible(4).empty());
  auto first = nsdb.take_visible(5);
  REQUIRE(first.size() == 1);
  CHECK(first[0].port == PortId{1});
  CHECK(nsdb.pending());
  CHECK(nsdb.take_visible(6).size() == 1);
  const FlowTag port{FlowTag::Kind::kPort, 3};
  const FlowTag chain{FlowTag::Kind::kChain, 3};
  const std::uint64_t before = nsdb.sequence();
  nsdb.changed({port});
  CHECK(nsdb.stale({port}, before));
  CHECK_FALSE(nsdb.stale({chain}, before));
  CHECK_FALSE(nsdb.stale({port}, nsdb.sequence()));
}

Topology two_hosts(double /*unused*/ = 0) {
  Topology t;
  t.hosts.resize(3);
  TunnelZone z;
  z.hosts = {HostId{0}, HostId{1}};
  t.tunnel_zones.push_back(z);
  return t;
}

TEST_CASE("Underlay: a link is FIFO and serialises frames back to back") {
  const Topology t = two_hosts();
  Underlay config;
  config.bandwidth_bps = 8'000'000'000ULL;  // one byte a nanosecond
  config.latency = 100;
  UnderlayNet net(t, config, 1);
  const SimTime a = net.serialise(HostId{0}, 1000, 0, SIZE_MAX);
  const SimTime b = net.serialise(HostId{0}, 500, 0, SIZE_MAX);
  CHECK(a == 1100);
  CHECK(b == 1600);  // behind the first
  Frame f1;
  f1.at = a;
  Frame f2;
  f2.at = b;
  CHECK(net.enqueue(HostId{0}, f1));
  CHECK_FALSE(net.enqueue(HostId{0}, f2));
  CHECK(net.pop(HostId{0}).at == a);
  CHECK(net.front_at(HostId{0}) == std::optional<SimTime>(b));
}

TEST_CASE("Underlay: routes need a shared zone and an up link; loss follows its rate") {
  const Topology t = two_hosts();
  Underlay config;
  config.loss = 0.25;
  UnderlayNet net(t, config, 7);
  CHECK(net.route(HostId{0}, HostId{2}).lost == UnderlayNet::Route::Lost::kTunnel);
  net.set_link(HostId{0}, HostId{1}, false);
  CHECK(net.route(HostId{1}, HostId{0}).lost == UnderlayNet::Route::Lost::kTunnel);
  CHECK_FALSE(net.message_reaches(HostId{0}, HostId{1}));
  net.set_link(HostId{0}, HostId{1}, true);
  int lost = 0;
  int pushes_lost = 0;
  for (int i = 0; i < 4000; ++i) {
    lost += net.route(HostId{0}, HostId{1}).lost == UnderlayNet::Route::Lost::kUnderlay;
    pushes_lost += !net.message_reaches(HostId{0}, HostId{1});
  }
  CHECK(lost > 850);
  CHECK(lost < 1150);
  CHECK(pushes_lost > 850);
  CHECK(pushes_lost < 1150);
}

TEST_CASE("Flow state: pushes go to egress hosts, and to stateful groups' hosts only") {
  Scenario s = load_example("asymmetric-return.yaml");
  const Topology& t = s.topology;
  const PortId app1 = *t.find_port("app1");
  const PortId up1 = *t.find_port("r1-up1");
  const HostId hv1 = *t.ports[app1.value].host;
  std::vector<OutPacket> out{OutPacket{up1, Packet{}, false}};
  auto targets = PushTargets(t).of(app1, out, hv1);
  CHECK(targets.size() == 2);  // gw1 (egress) and gw2 (the stateful group)
  s.topology.port_groups[0].stateful = false;
  targets = PushTargets(s.topology).of(app1, out, hv1);
  REQUIRE(targets.size() == 1);
  CHECK(targets[0] == *t.ports[up1.value].host);
}

TEST_CASE("Flow state: a reply entering a host without the state is a new forward flow") {
  for (const bool stateful : {true, false}) {
    Scenario s = load_example("asymmetric-return.yaml");
    s.topology.port_groups[0].stateful = stateful;
    Simulator sim(s.topology);
    HostStates states(sim.topology(), s.seed);
    const PortId app1 = *s.topology.find_port("app1");
    const PortId up2 = *s.topology.find_port("r1-up2");
    auto spec = parse_packet_spec("tcp dst=203.0.113.9 dport=443");
    REQUIRE(spec);
    auto out = build_packet(*spec, sim.spec_defaults(app1));
    REQUIRE(out);
    const SimulationResult fwd =
        states.run(app1, [&](SimState& st) { return sim.simulate(app1, *out, st); });
    REQUIRE(fwd.out.size() == 1);
    const Packet& sent = fwd.out[0].packet;
    auto back = parse_packet_spec("tcp src=203.0.113.9 dst=" + sent.src.str() +
                                  " sport=443 dport=" + std::to_string(sent.sport));
    REQUIRE(back);
    auto answer = build_packet(*back, sim.spec_defaults(up2));
    REQUIRE(answer);
    const SimulationResult r =
        states.run(up2, [&](SimState& st) { return sim.simulate(up2, *answer, st); });
    INFO("stateful " << stateful);
    CHECK((r.verdict == Verdict::kDelivered) == stateful);
  }
}

TEST_CASE("Run: answers through the other gateway need the stateful group (SPEC 6 example)") {
  const RunReport with = run(load_example("asymmetric-return.yaml"));
  CHECK(with.flow_state.pushes == 1000);  // 500 connections x (gw1, gw2)
  CHECK(with.flow_state.delivered == 1000);
  CHECK(with.flow_state.replies_without_state == 0);
  CHECK(with.packets.dropped == 0);
  const RunReport without = run(load_example("asymmetric-return-stateless.yaml"));
  CHECK(without.flow_state.pushes == 500);
  CHECK(without.flow_state.replies_without_state == 2000);
  CHECK(without.packets.dropped == 2000);
  // Determinism: the same scenario and seed give the same report.
  const RunReport again = run(load_example("asymmetric-return.yaml"));
  CHECK(again.events == with.events);
}

TEST_CASE("Run: pushes are lost to underlay loss, and a dead host loses its state") {
  Scenario lossy = load_example("asymmetric-return.yaml");
  lossy.underlay.loss = 0.2;
  const RunReport r = run(lossy);
  CHECK(r.flow_state.lost > 0);
  CHECK(r.flow_state.delivered + r.flow_state.lost == r.flow_state.pushes);
  CHECK(r.flow_state.replies_without_state > 0);
  const RunReport f = run(load_example("asymmetric-return-failover.yaml"));
  CHECK(f.flow_state.lost > 0);  // pushes to gw1 while it is down
  CHECK(f.flow_state.replies_without_state > 0);
}

}  // namespace
}  // namespace hivesim
