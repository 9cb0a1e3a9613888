// First-packet simulations per second: what an agent does on every datapath miss.
// Issue target: >= 1,000,000/s on one core through bridge -> router -> bridge.

#include <benchmark/benchmark.h>

#include <memory>

#include "sim/flow/simulator.hpp"
#include "sim/packet/spec.hpp"
#include "topology/load/loader.hpp"

namespace {

using namespace hivesim;

constexpr const char* kTwoTier = R"(
name: bench-l3
hosts:
  - {name: hv1, ip: 192.168.0.1}
  - {name: hv2, ip: 192.168.0.2}
chains:
  - name: app-in
    rules:
      - {match: {proto: tcp, dport: 22}, action: accept}
      - {match: {proto: tcp, dport: 5432, src: 10.0.1.0/24}, action: accept}
      - {action: drop}
bridges:
  - name: web
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10}
      - {name: vm2, host: hv2, mac: "02:00:00:00:01:0b", ip: 10.0.1.11}
      - {name: web-r1, peer: r1-web}
  - name: app
    ports:
      - {name: vm3, host: hv2, mac: "02:00:00:00:02:1e", ip: 10.0.2.30, outbound_chain: app-in}
      - {name: app-r1, peer: r1-app}
routers:
  - name: r1
    ports:
      - {name: r1-web, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-app, ip: 10.0.2.1/24, mac: "02:00:00:00:02:01"}
      - {name: r1-up, ip: 180.0.1.2/24, mac: "02:0a:08:06:04:02", host: hv1}
    routes:
      - {dst: 0.0.0.0/0, via: 180.0.1.1, port: r1-up}
    arp_table: {180.0.1.1: "aa:bb:aa:cc:dd:cc"}
)";

/// Three tiers behind one router with an uplink: a VIP balancing to two web VMs, a 100-rule
/// security group on every VM (the rule that matters is the last), SNAT for the way out.
std::string three_tier_yaml() {
  std::string sg_rules;
  for (int i = 0; i < 99; ++i) {
    sg_rules += "      - {direction: ingress, proto: tcp, port: " + std::to_string(10000 + i) +
                ", remote: 172.16." + std::to_string(i) + ".0/24}\n";
  }
  sg_rules += "      - {direction: ingress, proto: tcp, port: 8080, remote: 0.0.0.0/0}\n";
  sg_rules += "      - {direction: egress}\n";
  return R"(
name: bench-3tier
hosts:
  - {name: hv1, ip: 192.168.0.1}
  - {name: hv2, ip: 192.168.0.2}
  - {name: gw1, ip: 192.168.0.10}
security_groups:
  - name: web
    rules:
)" + sg_rules +
         R"(
chains:
  - name: snat-out
    rules:
      - {match: {src: 10.0.0.0/8, out_port: r1-up}, action: {snat: {to: 180.0.1.2, ports: 1024-65535}}}
  - name: snat-in
    rules:
      - {match: {dst: 180.0.1.2}, action: rev_snat}
bridges:
  - name: web
    ports:
      - {name: web1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10, security_groups: [web]}
      - {name: web2, host: hv2, mac: "02:00:00:00:01:0b", ip: 10.0.1.11, security_groups: [web]}
      - {name: web-r1, peer: r1-web}
  - name: app
    ports:
      - {name: app1, host: hv1, mac: "02:00:00:00:02:0a", ip: 10.0.2.10, security_groups: [web]}
      - {name: app-r1, peer: r1-app}
  - name: db
    ports:
      - {name: db1, host: hv2, mac: "02:00:00:00:03:0a", ip: 10.0.3.10, security_groups: [web]}
      - {name: db-r1, peer: r1-db}
routers:
  - name: r1
    inbound_chain: snat-in
    outbound_chain: snat-out
    ports:
      - {name: r1-web, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-app, ip: 10.0.2.1/24, mac: "02:00:00:00:02:01"}
      - {name: r1-db, ip: 10.0.3.1/24, mac: "02:00:00:00:03:01"}
      - {name: r1-up, ip: 180.0.1.2/24, mac: "02:0a:08:06:04:02", host: gw1}
    routes:
      - {dst: 0.0.0.0/0, via: 180.0.1.1, port: r1-up}
    arp_table: {180.0.1.1: "aa:bb:aa:cc:dd:cc"}
load_balancers:
  - name: lb1
    router: r1
    vips: [{name: web-vip, ip: 180.0.1.100, port: 80, proto: tcp, pool: web-pool}]
    pools:
      - name: web-pool
        members: [{ip: 10.0.1.10, port: 8080, weight: 1}, {ip: 10.0.1.11, port: 8080, weight: 2}]
)";
}

struct Fixture {
  std::unique_ptr<Scenario> scenario;  // heap: the Simulator keeps a reference to its topology
  std::unique_ptr<Simulator> sim;
  PortId from;
  Packet packet;
};

std::optional<Fixture> make_fixture(const std::string& yaml, const char* port, const char* spec) {
  LoadResult loaded = load_scenario_text(yaml, "bench.yaml");
  if (!loaded.scenario) return std::nullopt;
  Fixture f{std::make_unique<Scenario>(std::move(*loaded.scenario)), nullptr, {}, {}};
  f.sim = std::make_unique<Simulator>(f.scenario->topology);
  f.from = *f.scenario->topology.find_port(port);
  auto parsed = parse_packet_spec(spec);
  if (!parsed) return std::nullopt;
  auto built = build_packet(*parsed, f.sim->spec_defaults(f.from));
  if (!built) return std::nullopt;
  f.packet = *built;
  return f;
}

/// Every iteration is a different flow (source address and port), as on a stream of datapath
/// misses. Stateful tables are emptied (untimed) every kFlowsPerState flows, as idle expiry
/// would, so they stay at a realistic size and SNAT ports never run out.
void run_first_packets(benchmark::State& state, const std::string& yaml, const char* from,
                       const char* spec) {
  constexpr std::uint32_t kFlowsPerState = 16384;
  auto f = make_fixture(yaml, from, spec);
  if (!f) {
    state.SkipWithError("fixture did not load");
    return;
  }
  auto sim_state = std::make_unique<SimState>();
  // Measure only what works: the workload's packet must be delivered.
  if (SimState probe; f->sim->simulate(f->from, f->packet, probe).verdict != Verdict::kDelivered) {
    state.SkipWithError("the benchmark packet is not delivered");
    return;
  }
  Packet packet = f->packet;
  std::uint32_t flow = 0;
  for (auto _ : state) {
    if (++flow % kFlowsPerState == 0) {
      state.PauseTiming();
      sim_state = std::make_unique<SimState>();
      state.ResumeTiming();
    }
    packet.sport = static_cast<std::uint16_t>(1024 + flow % 60000);
    SimulationResult r = f->sim->simulate(f->from, packet, *sim_state);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_FirstPacket_BridgeRouterBridge(benchmark::State& state) {
  run_first_packets(state, kTwoTier, "vm1", "tcp dst=10.0.2.30 dport=5432");
}
BENCHMARK(BM_FirstPacket_BridgeRouterBridge);

void BM_FirstPacket_Bridged(benchmark::State& state) {
  run_first_packets(state, kTwoTier, "vm1", "tcp dst=10.0.1.11 dport=80");
}
BENCHMARK(BM_FirstPacket_Bridged);

void BM_FirstPacket_ToUplink(benchmark::State& state) {
  run_first_packets(state, kTwoTier, "vm1", "udp dst=8.8.8.8 dport=53");
}
BENCHMARK(BM_FirstPacket_ToUplink);

// Issue target: >= 500,000/s on one core for these two.
void BM_FirstPacket_3Tier_VipToSecurityGroup(benchmark::State& state) {
  // Internet client -> VIP (LB picks a member) -> router -> web VM behind 100 SG rules.
  run_first_packets(state, three_tier_yaml(), "r1-up",
                    "tcp src=198.51.100.7 eth_src=aa:bb:aa:cc:dd:cc dst=180.0.1.100 dport=80");
}
BENCHMARK(BM_FirstPacket_3Tier_VipToSecurityGroup);

void BM_FirstPacket_3Tier_SecurityGroupToSnat(benchmark::State& state) {
  // App VM -> its security group (egress) -> router SNAT -> uplink.
  run_first_packets(state, three_tier_yaml(), "app1", "tcp dst=9.9.9.9 dport=443");
}
BENCHMARK(BM_FirstPacket_3Tier_SecurityGroupToSnat);

}  // namespace

BENCHMARK_MAIN();
