// First-packet simulations per second: what an agent does on every datapath miss.
// Issue target: >= 1,000,000/s on one core through bridge -> router -> bridge.

#include <benchmark/benchmark.h>

#include <memory>

#include "sim/flow/simulator.hpp"
#include "sim/packet/spec.hpp"
#include "topology/loader.hpp"

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

struct Fixture {
  std::unique_ptr<Scenario> scenario;  // heap: the Simulator keeps a reference to its topology
  std::unique_ptr<Simulator> sim;
  PortId from;
  Packet packet;
};

std::optional<Fixture> make_fixture(const char* yaml, const char* port, const char* spec) {
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

/// Every iteration is a different flow (source port), as on a stream of datapath misses.
void run_first_packets(benchmark::State& state, const char* spec) {
  auto f = make_fixture(kTwoTier, "vm1", spec);
  if (!f) {
    state.SkipWithError("fixture did not load");
    return;
  }
  SimState sim_state;
  Packet packet = f->packet;
  std::uint16_t sport = 1024;
  for (auto _ : state) {
    packet.sport = sport++;
    SimulationResult r = f->sim->simulate(f->from, packet, sim_state);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_FirstPacket_BridgeRouterBridge(benchmark::State& state) {
  run_first_packets(state, "tcp dst=10.0.2.30 dport=5432");
}
BENCHMARK(BM_FirstPacket_BridgeRouterBridge);

void BM_FirstPacket_Bridged(benchmark::State& state) {
  run_first_packets(state, "tcp dst=10.0.1.10 dport=80 eth_dst=02:00:00:00:01:0b");
}
BENCHMARK(BM_FirstPacket_Bridged);

void BM_FirstPacket_ToUplink(benchmark::State& state) {
  run_first_packets(state, "udp dst=8.8.8.8 dport=53");
}
BENCHMARK(BM_FirstPacket_ToUplink);

}  // namespace

BENCHMARK_MAIN();
