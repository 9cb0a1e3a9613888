// What-if throughput. reach: connections (forward + reply) per second on the bundled 3-tier
// scenario, in-process, one core (target >= 1,000,000/s). sweep: the same set of failure
// variants run with 1 and 2 worker threads (target: 2 workers >= 1.8x). Run:
// build/bench/whatif_bench
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <numeric>
#include <string>

#include "sim/whatif/reach.hpp"
#include "sim/whatif/sweep.hpp"
#include "topology/load/loader.hpp"

namespace {

using namespace hivesim;

const Scenario& load(const char* relative) {
  static std::map<std::string, Scenario> cache;
  const std::string path = std::string(HIVESIM_SOURCE_DIR) + "/" + relative;
  auto it = cache.find(path);
  if (it == cache.end()) {
    LoadResult loaded = load_scenario(path);
    if (!loaded.scenario) std::abort();
    it = cache.emplace(path, std::move(*loaded.scenario)).first;
  }
  return it->second;
}

void BM_ReachThreeTier(benchmark::State& st) {
  const Scenario& scenario = load("scenarios/three-tier.yaml");
  auto plan = whatif::plan_reach(scenario, {});
  if (!plan) std::abort();
  const Simulator sim(scenario.topology);
  SimState state(scenario.seed);
  std::uint64_t connections = 0;
  for (auto _ : st) {
    whatif::ReachReport r = whatif::run_reach(scenario, sim, state, *plan);
    connections += r.rows.size();
    benchmark::DoNotOptimize(r.open);
  }
  st.counters["connections/s"] =
      benchmark::Counter(static_cast<double>(connections), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReachThreeTier)->Unit(benchmark::kMicrosecond);

// The what-if example's stateful security groups (every reply meets conntrack).
void BM_ReachStatefulGroups(benchmark::State& st) {
  const Scenario& scenario = load("scenarios/whatif/before.yaml");
  auto plan = whatif::plan_reach(scenario, {});
  if (!plan) std::abort();
  const Simulator sim(scenario.topology);
  SimState state(scenario.seed);
  std::uint64_t connections = 0;
  for (auto _ : st) {
    whatif::ReachReport r = whatif::run_reach(scenario, sim, state, *plan);
    connections += r.rows.size();
    benchmark::DoNotOptimize(r.open);
  }
  st.counters["connections/s"] =
      benchmark::Counter(static_cast<double>(connections), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReachStatefulGroups)->Unit(benchmark::kMicrosecond);

// 56 variants (bench/whatif/sweep50.yaml, every kind), on 1 or 2 worker threads.
void BM_SweepWorkers(benchmark::State& st) {
  const Scenario& scenario = load("bench/whatif/sweep50.yaml");
  whatif::SweepQuestion q;
  q.kinds = {whatif::FailKind::kHost, whatif::FailKind::kAgent, whatif::FailKind::kLink,
             whatif::FailKind::kNsdb, whatif::FailKind::kPort};
  auto plan = whatif::plan_sweep(scenario, q);
  if (!plan) std::abort();
  std::vector<std::uint32_t> indices(plan->variants.size());
  std::iota(indices.begin(), indices.end(), 0U);
  for (auto _ : st) {
    auto r =
        whatif::run_variants(scenario, *plan, indices, static_cast<unsigned>(st.range(0)), nullptr);
    if (!r) std::abort();
    benchmark::DoNotOptimize(r->size());
  }
  st.counters["variants/s"] = benchmark::Counter(
      static_cast<double>(indices.size() * st.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SweepWorkers)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
