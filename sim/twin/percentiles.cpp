#include "sim/twin/percentiles.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>

#include "base/check.hpp"

namespace hivesim {

namespace {

// Radix selection: a counting pass over the high bits finds the bucket that holds each rank, and
// only those buckets' values are selected among: three sequential passes over millions of
// latencies (range, counts, the wanted buckets) instead of a selection each over all of them.
// `for_each(f)` calls f(v) for each of the n values, in the same order every time.
template <typename ForEach>
std::vector<SimTime> select_ranks(std::size_t n, const ForEach& for_each,
                                  std::initializer_list<double> qs) {
  if (n == 0) return std::vector<SimTime>(qs.size(), 0);
  HIVESIM_CHECK(qs.size() < 256, "too many percentiles at once");
  // About one bucket per value, up to 2^16: a short row costs no more than its own size.
  const int bucket_bits = std::min<int>(16, std::bit_width(n));
  SimTime min = std::numeric_limits<SimTime>::max();
  SimTime max = std::numeric_limits<SimTime>::min();
  for_each([&](SimTime v) {
    min = std::min(min, v);
    max = std::max(max, v);
  });
  const SimTime base = min;
  int shift = 0;
  while ((static_cast<std::uint64_t>(max - base) >> shift) >> bucket_bits != 0)
    ++shift;
  const auto bucket = [base, shift](SimTime v) {
    return static_cast<std::size_t>(static_cast<std::uint64_t>(v - base) >> shift);
  };
  std::vector<std::uint64_t> below(std::size_t{1} << bucket_bits, 0);  // then: values before
  for_each([&](SimTime v) { ++below[bucket(v)]; });
  std::uint64_t sum = 0;
  for (std::uint64_t& c : below)
    sum += std::exchange(c, sum);
  // The bucket holding each rank (the last one with no more values before it than the rank),
  // then one more pass collects the values of those buckets (a few, often one).
  std::vector<std::size_t> ranks;
  std::vector<std::size_t> wanted;  // distinct buckets, in first-seen order
  std::vector<std::size_t> slot;    // per q: its bucket's index in `wanted`
  for (double q : qs) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
    const std::size_t i = std::clamp<std::size_t>(rank, 1, n) - 1;
    const auto b = static_cast<std::size_t>(
        std::upper_bound(below.begin(), below.end(), std::uint64_t{i}) - below.begin() - 1);
    ranks.push_back(i);
    const auto at = std::find(wanted.begin(), wanted.end(), b);
    slot.push_back(static_cast<std::size_t>(at - wanted.begin()));
    if (at == wanted.end()) wanted.push_back(b);
  }
  std::vector<std::vector<SimTime>> in_bucket(wanted.size());
  std::vector<std::uint8_t> wanted_at(below.size(), 0);  // per bucket: 1 + its index in `wanted`
  for (std::size_t w = 0; w < wanted.size(); ++w)
    wanted_at[wanted[w]] = static_cast<std::uint8_t>(w + 1);
  for_each([&](SimTime v) {
    if (const std::uint8_t w = wanted_at[bucket(v)]; w != 0) in_bucket[w - 1U].push_back(v);
  });
  std::vector<SimTime> out;
  for (std::size_t q = 0; q < ranks.size(); ++q) {
    std::vector<SimTime>& candidates = in_bucket[slot[q]];
    const auto k = static_cast<std::ptrdiff_t>(ranks[q] - below[wanted[slot[q]]]);
    std::nth_element(candidates.begin(), candidates.begin() + k, candidates.end());
    out.push_back(candidates[static_cast<std::size_t>(k)]);
  }
  return out;
}

}  // namespace

std::vector<SimTime> nearest_rank_percentiles(std::span<const SimTime> values,
                                              std::initializer_list<double> qs) {
  return select_ranks(
      values.size(),
      [values](const auto& f) {
        for (SimTime v : values)
          f(v);
      },
      qs);
}

void LatencyLog::add_slow(SimTime ns) {
  if (static_cast<std::uint64_t>(ns) > kNarrowMax) {
    wide_.push_back(ns);
    return;
  }
  const std::size_t capacity =
      blocks_.empty() ? kFirstBlock : std::min(2 * blocks_.back().capacity, kLargestBlock);
  // Uninitialised: the log writes each sample before it reads it.
  blocks_.push_back(Block{std::make_unique_for_overwrite<std::uint32_t[]>(capacity), capacity});
  next_ = blocks_.back().samples.get();
  end_ = next_ + capacity;
  *next_++ = static_cast<std::uint32_t>(ns);
}

std::size_t LatencyLog::size() const {
  std::size_t n = wide_.size();
  for (const Block& b : blocks_)
    n += b.capacity;
  if (!blocks_.empty()) n -= static_cast<std::size_t>(end_ - next_);
  return n;
}

std::vector<SimTime> LatencyLog::percentiles(std::initializer_list<double> qs) const {
  return select_ranks(
      size(),
      [this](const auto& f) {
        for (std::size_t i = 0; i < blocks_.size(); ++i) {
          const std::uint32_t* begin = blocks_[i].samples.get();
          const std::uint32_t* end = i + 1 == blocks_.size() ? next_ : begin + blocks_[i].capacity;
          for (const std::uint32_t* p = begin; p != end; ++p)
            f(static_cast<SimTime>(*p));
        }
        for (SimTime v : wide_)
          f(v);
      },
      qs);
}

}  // namespace hivesim
