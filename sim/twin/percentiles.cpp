#include "sim/twin/percentiles.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <utility>

namespace hivesim {

// Radix selection: a counting pass over the high bits finds the bucket that holds each rank, and
// only that bucket's values are selected among: a few sequential passes over millions of
// latencies instead of a selection each over all of them.
std::vector<SimTime> nearest_rank_percentiles(std::span<const SimTime> values,
                                              std::initializer_list<double> qs) {
  if (values.empty()) return std::vector<SimTime>(qs.size(), 0);
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
  std::vector<SimTime> out;
  std::vector<SimTime> in_bucket;
  for (double q : qs) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    const std::size_t i = std::clamp<std::size_t>(rank, 1, values.size()) - 1;
    // The bucket holding the i-th smallest: the last one with fewer than i + 1 values before.
    const auto b = static_cast<std::size_t>(
        std::upper_bound(below.begin(), below.end(), std::uint64_t{i}) - below.begin() - 1);
    in_bucket.clear();
    for (SimTime v : values) {
      if (bucket(v) == b) in_bucket.push_back(v);
    }
    const auto k = static_cast<std::ptrdiff_t>(i - below[b]);
    std::nth_element(in_bucket.begin(), in_bucket.begin() + k, in_bucket.end());
    out.push_back(in_bucket[static_cast<std::size_t>(k)]);
  }
  return out;
}

}  // namespace hivesim
