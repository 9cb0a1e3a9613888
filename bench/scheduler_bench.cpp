// Raw discrete-event throughput of the Scheduler: the workload of
// ../shared/bench-peers/ns3_events.cc, so the two print comparable events/s.
// N agents each keep one pending event; each event reschedules itself 1 + xorshift32() % 100000 ns
// later; E events run (the first N are scheduled at xorshift32() % 100000, outside the timing).
// Issue target: >= 2x ns-3's best scheduler with 10,000 pending, >= 4x with 1,000,000.
// Run: build/bench/scheduler_bench (compare: ns3_events --agents=N --events=E --sched=...).

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>

#include "sim/engine/scheduler.hpp"

namespace {

using hivesim::Scheduler;

/// The peer's generator and seed: same delays, in the same order.
struct XorShift32 {
  std::uint32_t state = 12345;
  std::uint32_t operator()() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
};

struct Workload {
  Scheduler scheduler;
  XorShift32 rng;
};

/// One agent's event: 16 bytes, so it sits in the callback's inline storage like ns-3's
/// (function pointer, agent) pair sits in its event.
struct Tick {
  Workload* world;
  std::uint32_t agent;
  void operator()() const {
    world->scheduler.schedule_in(1 + world->rng() % 100000, Tick{world, agent});
  }
};

void BM_SchedulerHold(benchmark::State& state) {
  const auto agents = static_cast<std::uint32_t>(state.range(0));
  const auto events = static_cast<std::uint64_t>(state.range(1));
  for (auto _ : state) {
    state.PauseTiming();
    auto world = std::make_unique<Workload>();
    for (std::uint32_t i = 0; i < agents; ++i) {
      world->scheduler.schedule_at(world->rng() % 100000, Tick{world.get(), i});
    }
    state.ResumeTiming();
    for (std::uint64_t i = 0; i < events; ++i)
      world->scheduler.step();
    state.PauseTiming();
    if (world->scheduler.events_run() != events || world->scheduler.size() != agents) {
      state.SkipWithError("wrong number of events");
    }
    world.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events));
}
BENCHMARK(BM_SchedulerHold)
    ->ArgNames({"pending", "events"})
    ->Args({10'000, 10'000'000})
    ->Args({1'000'000, 20'000'000})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
