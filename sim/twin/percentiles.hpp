#pragma once
// Latency percentiles for the run report, and the log of samples they are taken from.

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "base/units.hpp"

namespace hivesim {

/// The nearest-rank percentile of `values` for each q in `qs` (0 < q <= 1): the value of rank
/// ceil(q * n), at least 1. All zeros when `values` is empty. Values must be >= 0 (latencies).
/// Cost: O(n) per q plus one counting pass, whatever the order of `values`.
std::vector<SimTime> nearest_rank_percentiles(std::span<const SimTime> values,
                                              std::initializer_list<double> qs);

/// One source's latency samples (ns, >= 0), in the order added, for nearest_rank_percentiles.
/// A replay adds one per packet, millions: a sample under 2^32 ns (4.29 s) takes 4 bytes, in
/// blocks that double up to 256 KiB and are never copied as the log grows (a vector's growth
/// would copy and fault in twice the memory); longer ones are kept apart, at 8 bytes.
class LatencyLog {
 public:
  void add(SimTime ns) {
    if (next_ == end_ || static_cast<std::uint64_t>(ns) > kNarrowMax) [[unlikely]] {
      add_slow(ns);
      return;
    }
    *next_++ = static_cast<std::uint32_t>(ns);
  }
  std::size_t size() const;
  /// nearest_rank_percentiles over the samples.
  std::vector<SimTime> percentiles(std::initializer_list<double> qs) const;

 private:
  static constexpr std::uint64_t kNarrowMax = std::numeric_limits<std::uint32_t>::max();
  static constexpr std::size_t kFirstBlock = 256;
  static constexpr std::size_t kLargestBlock = 65536;

  void add_slow(SimTime ns);

  struct Block {
    std::unique_ptr<std::uint32_t[]> samples;
    std::size_t capacity = 0;
  };
  std::vector<Block> blocks_;  // all full but the last, which is filled up to next_
  std::uint32_t* next_ = nullptr;
  std::uint32_t* end_ = nullptr;
  std::vector<SimTime> wide_;  // samples of 2^32 ns or more
};

}  // namespace hivesim
