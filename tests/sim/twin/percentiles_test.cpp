// nearest_rank_percentiles against the definition (sort, take rank ceil(q * n)) on data shaped
// to hit the radix selection's edges: one value, all equal, ties across a bucket edge, spans
// from a few ns to 2^62, and sizes around the bucket count; and LatencyLog, which feeds it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "sim/twin/percentiles.hpp"

namespace hivesim {
namespace {

std::vector<SimTime> by_sorting(std::vector<SimTime> v, std::initializer_list<double> qs) {
  std::sort(v.begin(), v.end());
  std::vector<SimTime> out;
  for (double q : qs) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    out.push_back(v[std::clamp<std::size_t>(rank, 1, v.size()) - 1]);
  }
  return out;
}

}  // namespace

TEST_CASE("nearest_rank_percentiles: empty input gives zeros") {
  CHECK(nearest_rank_percentiles({}, {0.5, 0.9, 1.0}) == std::vector<SimTime>{0, 0, 0});
}

TEST_CASE("nearest_rank_percentiles: small cases by hand") {
  const std::vector<SimTime> one{42};
  CHECK(nearest_rank_percentiles(one, {0.01, 0.5, 1.0}) == std::vector<SimTime>{42, 42, 42});
  // 10 values: p50 is the 5th smallest, p90 the 9th, p99 and max the 10th.
  const std::vector<SimTime> ten{90, 10, 100, 20, 80, 30, 70, 40, 60, 50};
  CHECK(nearest_rank_percentiles(ten, {0.5, 0.9, 0.99, 1.0}) ==
        std::vector<SimTime>{50, 90, 100, 100});
}

TEST_CASE("nearest_rank_percentiles: matches sorting on random data of every shape") {
  std::mt19937_64 rng(7);
  const std::initializer_list<double> qs{0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0};
  for (int round = 0; round < 300; ++round) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 200'000)(rng) >>
                          std::uniform_int_distribution<int>(0, 12)(rng);
    // Spans from 0 (all equal) to 2^62, with a base offset: buckets of 1 ns up to 2^46 ns.
    const int span_bits = std::uniform_int_distribution<int>(0, 62)(rng);
    const SimTime span = span_bits == 0 ? 0 : (SimTime{1} << span_bits) - 1;
    const SimTime base = std::uniform_int_distribution<SimTime>(0, SimTime{1} << 40)(rng);
    const bool clustered = round % 3 == 0;  // many ties: few distinct values
    std::vector<SimTime> v(std::max<std::size_t>(n, 1));
    for (SimTime& x : v) {
      const SimTime r = std::uniform_int_distribution<SimTime>(0, span)(rng);
      x = base +
          (clustered ? r / std::max<SimTime>(span / 7, 1) * std::max<SimTime>(span / 7, 1) : r);
    }
    INFO("round " << round << ", n " << v.size() << ", span 2^" << span_bits);
    CHECK(nearest_rank_percentiles(v, qs) == by_sorting(v, qs));
  }
}

TEST_CASE("LatencyLog: percentiles as over a vector, across blocks and with long samples") {
  CHECK(LatencyLog().percentiles({0.5, 1.0}) == std::vector<SimTime>{0, 0});
  std::mt19937_64 rng(11);
  const std::initializer_list<double> qs{0.001, 0.5, 0.9, 0.99, 1.0};
  // Sizes at and around the block edges (256, 768, 1792, ... samples), and past 256 KiB blocks.
  for (const std::size_t n :
       {std::size_t{1}, std::size_t{255}, std::size_t{256}, std::size_t{257}, std::size_t{768},
        std::size_t{769}, std::size_t{70'000}, std::size_t{300'000}}) {
    for (const bool with_long : {false, true}) {
      LatencyLog log;
      std::vector<SimTime> v;
      for (std::size_t i = 0; i < n; ++i) {
        // Now and then a latency of 2^32 ns or more, which the log keeps apart.
        const bool long_one = with_long && i % 97 == 5;
        const SimTime x =
            long_one ? (SimTime{1} << 32) + std::uniform_int_distribution<SimTime>(0, 9)(rng)
                     : std::uniform_int_distribution<SimTime>(0, 4'294'967'295)(rng);
        log.add(x);
        v.push_back(x);
      }
      INFO("n " << n << (with_long ? ", with long samples" : ""));
      CHECK(log.size() == n);
      CHECK(log.percentiles(qs) == by_sorting(v, qs));
    }
  }
}

}  // namespace hivesim
