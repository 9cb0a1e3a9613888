#pragma once
// TimelineRecorder: counts, per traffic source, the packets that land (delivered or answered,
// or dropped) in fixed-width time buckets, for the report's `timeline` (sim/report/timeline.hpp).
//
// With a known run length the width is ceil(length / buckets) and stays so; a packet landing
// at the end (or counted as landed a little after it) counts in the last bucket. With an unknown
// length (replay runs until idle) the width starts at 1us and doubles, merging neighbour buckets,
// whenever a packet lands beyond the last bucket: at most `buckets` buckets, each at least half
// used at the end. Cost: record() is O(1) amortised (a doubling touches every bucket once); memory
// is sources x buckets counters.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/report/run_report.hpp"
#include "sim/report/timeline.hpp"
#include "sim/twin/ids.hpp"
#include "topology/model.hpp"

namespace hivesim {

class TimelineRecorder {
 public:
  /// `length`: the run's simulated length, or 0 when unknown. `buckets` > 0.
  explicit TimelineRecorder(SimTime length, std::uint32_t buckets = 100);

  /// A packet of traffic source `source` landed at `at` (>= 0): delivered or dropped.
  void record(SourceId source, SimTime at, bool delivered) {
    std::uint64_t index = static_cast<std::uint64_t>(at / width_);
    if (index >= buckets_) {
      if (length_ > 0) {
        index = buckets_ - 1;
      } else {
        widen(at);
        index = static_cast<std::uint64_t>(at / width_);
      }
    }
    if (source.value >= counts_.size()) counts_.resize(source.value + 1);
    auto& series = counts_[source.value];
    if (series.empty()) series.resize(buckets_);
    ++series[index][delivered ? 0 : 1];
  }

  /// The timeline of a run that ended at `end`: one series per traffic row (source order), and
  /// the failures that happened by `end`, in time order (scenario order among equal times).
  Timeline finish(SimTime end, const std::vector<TrafficRow>& traffic,
                  const std::vector<Failure>& failures) const;

 private:
  void widen(SimTime at);

  SimTime length_;
  std::uint32_t buckets_;
  SimTime width_;
  std::vector<std::vector<std::array<std::uint64_t, 2>>> counts_;  // [source][bucket]
};

}  // namespace hivesim
