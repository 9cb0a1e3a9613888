#include "sim/twin/percentiles.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <utility>

#include "topology/check.hpp"

namespace hivesim {

// Radix selection: a counting pass over the high bits finds the bucket that holds each rank, and
// only those buckets' values are selected among: three sequential passes over millions of
// latencies (range, counts, the wanted buckets) instead of a selection each over all of them.
std::vector<SimTime> nearest_rank_percentiles(std::span<const SimTime> values,
                                              std::initializer_list<double> qs) {
  if (values.empty()) return std::vector<SimTime>(qs.size(), 0);
  HIVESIM_CHECK(qs.size() < 256, "too many percentiles at once");
  // About one bucket per value, up to 2^16: a short row costs no more than its own size.
  const int bucket_bits = std::min<int>(16, std::bit_width(values.size()));
  const auto [min, max] = std::minmax_element(values.begin(), values.end());
  const SimTime base = *min;
  int shift = 0;
  while ((static_cast<std::uint64_t>(*max - base) >> shift) >> bucket_bits != 0)
    ++shift;
  const auto bucket = [base, shift](SimTime v) {
    return static_cast<std::size_t>(static_cast<std::uint64_t>(v - base) >> shift);
  };
  std::vector<std::uint64_t> below(std::size_t{1} << bucket_bits, 0);  // then: values before
  for (SimTime v : values)
    ++below[bucket(v)];
  std::uint64_t sum = 0;
  for (std::uint64_t& c : below)
    sum += std::exchange(c, sum);
  // The bucket holding each rank (the last one with no more values before it than the rank),
  // then one more pass collects the values of those buckets (a few, often one).
  std::vector<std::size_t> ranks;
  std::vector<std::size_t> wanted;  // distinct buckets, in first-seen order
  std::vector<std::size_t> slot;    // per q: its bucket's index in `wanted`
  for (double q : qs) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    const std::size_t i = std::clamp<std::size_t>(rank, 1, values.size()) - 1;
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
  for (SimTime v : values) {
    if (const std::uint8_t w = wanted_at[bucket(v)]; w != 0) in_bucket[w - 1U].push_back(v);
  }
  std::vector<SimTime> out;
  for (std::size_t q = 0; q < ranks.size(); ++q) {
    std::vector<SimTime>& candidates = in_bucket[slot[q]];
    const auto k = static_cast<std::ptrdiff_t>(ranks[q] - below[wanted[slot[q]]]);
    std::nth_element(candidates.begin(), candidates.begin() + k, candidates.end());
    out.push_back(candidates[static_cast<std::size_t>(k)]);
  }
  return out;
}

}  // namespace hivesim
