#pragma once
// Latency percentiles for the run report.

#include <initializer_list>
#include <span>
#include <vector>

#include "topology/units.hpp"

namespace hivesim {

/// The nearest-rank percentile of `values` for each q in `qs` (0 < q <= 1): the value of rank
/// ceil(q * n), at least 1. All zeros when `values` is empty. Values must be >= 0 (latencies).
/// Cost: O(n) per q plus one counting pass, whatever the order of `values`.
std::vector<SimTime> nearest_rank_percentiles(std::span<const SimTime> values,
                                              std::initializer_list<double> qs);

}  // namespace hivesim
