#include "sim/twin/timeline.hpp"

#include <algorithm>

#include "base/check.hpp"

namespace hivesim {

TimelineRecorder::TimelineRecorder(SimTime length, std::uint32_t buckets)
    : length_(std::max<SimTime>(length, 0)),
      buckets_(buckets),
      width_(length_ > 0 ? (length_ + buckets - 1) / buckets : kMicrosecond) {
  HIVESIM_CHECK(buckets > 0, "a timeline needs at least one bucket");
}

void TimelineRecorder::widen(SimTime at) {
  while (static_cast<std::uint64_t>(at / width_) >= buckets_) {
    width_ *= 2;
    for (auto& series : counts_) {
      for (std::size_t i = 0; i < series.size(); ++i) {
        auto& into = series[i / 2];
        const auto from = series[i];
        if (i % 2 == 0) {
          into = from;
        } else {
          into[0] += from[0];
          into[1] += from[1];
        }
      }
      std::fill(series.begin() + static_cast<std::ptrdiff_t>((series.size() + 1) / 2), series.end(),
                std::array<std::uint64_t, 2>{0, 0});
    }
  }
}

Timeline TimelineRecorder::finish(SimTime end, const std::vector<TrafficRow>& traffic,
                                  const std::vector<Failure>& failures) const {
  Timeline t;
  t.bucket_ns = width_;
  // Enough buckets to hold `end` (the last one closed), and every bucket anything landed in.
  std::size_t used = static_cast<std::size_t>(std::max<SimTime>(end, 0) / width_);
  if (used >= buckets_) used = buckets_ - 1;
  for (const auto& series : counts_) {
    for (std::size_t i = used + 1; i < series.size(); ++i) {
      if (series[i][0] || series[i][1]) used = i;
    }
  }
  const std::size_t n = used + 1;
  for (std::size_t s = 0; s < traffic.size(); ++s) {
    TimelineSeries out{traffic[s].name, std::vector<std::uint64_t>(n, 0),
                       std::vector<std::uint64_t>(n, 0)};
    if (s < counts_.size() && !counts_[s].empty()) {
      for (std::size_t i = 0; i < n; ++i) {
        out.delivered[i] = counts_[s][i][0];
        out.dropped[i] = counts_[s][i][1];
      }
    }
    t.series.push_back(std::move(out));
  }
  for (const Failure& f : failures) {
    if (f.at <= end) t.events.push_back(TimelineEvent{f.at, f.label});
  }
  std::stable_sort(t.events.begin(), t.events.end(),
                   [](const TimelineEvent& a, const TimelineEvent& b) { return a.at < b.at; });
  return t;
}

}  // namespace hivesim
