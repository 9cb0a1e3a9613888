// The run loop's merge of streams (run_loop.hpp, a 4-ary heap): items come out in (time, key)
// order whatever the order they were pushed and rescheduled in, and runs_next() says whether the
// top would still run next, against a plain sorted set as the reference.

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <set>
#include <utility>

#include "sim/engine/scheduler.hpp"
#include "sim/twin/run_loop.hpp"

namespace hivesim {
namespace {

constexpr SimTime kForeverForTests = SimTime{1} << 62;

TEST_CASE("Merge: streams come out in time order, then by key, as a sorted set's") {
  std::mt19937_64 rng(7);
  for (std::uint32_t streams : {1U, 2U, 5U, 17U, 64U, 301U}) {
    Scheduler sched;  // empty: only the streams are due
    Merge merge;
    std::set<std::pair<SimTime, std::uint32_t>> reference;
    std::uniform_int_distribution<SimTime> start(0, 50);
    for (std::uint32_t k = 0; k < streams; ++k) {
      const Due d = Due::frames(HostId{k}, start(rng));
      merge.push(d);
      reference.emplace(d.at, d.key);
    }
    SimTime last = -1;
    std::uniform_int_distribution<SimTime> step(0, 30);
    for (int round = 0; round < 5000 && !reference.empty(); ++round) {
      const Merge::Next n = merge.next(sched, kForeverForTests);
      REQUIRE(n.kind == Merge::Next::Kind::kFrameLands);
      const auto expected = *reference.begin();
      REQUIRE(n.item.at == expected.first);
      REQUIRE(n.item.key == expected.second);
      CHECK(n.item.at >= last);
      last = n.item.at;
      reference.erase(reference.begin());
      // The stream's next item: sooner or later, or the stream ends (one in ten).
      if (rng() % 10 == 0) {
        merge.reschedule_top(n.item.key, std::nullopt);
        continue;
      }
      const Due later{n.item.at + step(rng), n.item.key};
      // runs_next: the same item again would run next exactly when it is still the smallest.
      const bool smallest =
          reference.empty() || std::make_pair(later.at, later.key) < *reference.begin();
      CHECK(merge.runs_next(later, kForeverForTests, sched) == smallest);
      merge.reschedule_top(later.key, later.at);
      reference.emplace(later.at, later.key);
    }
    if (reference.empty())
      CHECK(merge.next(sched, kForeverForTests).kind == Merge::Next::Kind::kNothing);
  }
}

}  // namespace
}  // namespace hivesim
