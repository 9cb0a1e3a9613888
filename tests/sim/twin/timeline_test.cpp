// The timeline recorder: bucket widths, the closed last bucket, doubling for runs of unknown
// length, and the failure events; checked against a naive per-packet list.

#include <catch2/catch.hpp>

#include <random>

#include "sim/twin/timeline.hpp"

using namespace hivesim;

namespace {

std::vector<TrafficRow> rows(std::initializer_list<const char*> names) {
  std::vector<TrafficRow> out;
  for (const char* n : names) {
    TrafficRow r;
    r.name = n;
    out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE("Timeline: a known length gives exactly that many buckets; the end is in the last") {
  TimelineRecorder rec(30 * kSecond, 100);
  rec.record(SourceId{0}, 0, true);
  rec.record(SourceId{0}, 299 * kMillisecond, false);
  rec.record(SourceId{0}, 300 * kMillisecond, true);
  rec.record(SourceId{1}, 30 * kSecond, true);  // lands exactly at the end
  const Timeline t = rec.finish(30 * kSecond, rows({"a", "b"}), {});
  CHECK(t.bucket_ns == 300 * kMillisecond);
  REQUIRE(t.series.size() == 2);
  CHECK(t.series[0].traffic == "a");
  CHECK(t.series[0].delivered.size() == 100);
  CHECK(t.series[1].dropped.size() == 100);
  CHECK(t.series[0].delivered[0] == 1);
  CHECK(t.series[0].dropped[0] == 1);
  CHECK(t.series[0].delivered[1] == 1);
  CHECK(t.series[1].delivered[99] == 1);
}

TEST_CASE("Timeline: a source that landed nothing still has a series of zeros") {
  TimelineRecorder rec(kSecond, 10);
  const Timeline t = rec.finish(kSecond, rows({"quiet"}), {});
  REQUIRE(t.series.size() == 1);
  CHECK(t.series[0].delivered == std::vector<std::uint64_t>(10, 0));
}

TEST_CASE("Timeline: an unknown length widens buckets and keeps every count (naive model)") {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 20; ++round) {
    TimelineRecorder rec(0, 100);
    const SimTime span = static_cast<SimTime>(rng() % (100 * kSecond)) + 1;
    std::vector<std::pair<SimTime, bool>> landed;
    SimTime last = 0;
    for (int i = 0; i < 500; ++i) {
      const SimTime at = static_cast<SimTime>(rng() % static_cast<std::uint64_t>(span));
      const bool delivered = rng() % 3 != 0;
      rec.record(SourceId{0}, at, delivered);
      landed.emplace_back(at, delivered);
      last = std::max(last, at);
    }
    const Timeline t = rec.finish(last, rows({"x"}), {});
    const auto& s = t.series[0];
    REQUIRE(s.delivered.size() <= 100);
    CHECK(static_cast<SimTime>(s.delivered.size()) * t.bucket_ns > last);
    std::vector<std::uint64_t> delivered(s.delivered.size(), 0);
    std::vector<std::uint64_t> dropped(s.delivered.size(), 0);
    for (const auto& [at, ok] : landed) {
      const auto i = static_cast<std::size_t>(at / t.bucket_ns);
      REQUIRE(i < delivered.size());
      ++(ok ? delivered : dropped)[i];
    }
    CHECK(s.delivered == delivered);
    CHECK(s.dropped == dropped);
  }
}

TEST_CASE("Timeline: failure events up to the end, in time order") {
  TimelineRecorder rec(10 * kSecond, 100);
  std::vector<Failure> failures(3);
  failures[0].at = 8 * kSecond;
  failures[0].label = "host_up hv1";
  failures[1].at = 2 * kSecond;
  failures[1].label = "host_down hv1";
  failures[2].at = 12 * kSecond;
  failures[2].label = "link_down hv1 hv2";
  const Timeline t = rec.finish(10 * kSecond, rows({}), failures);
  REQUIRE(t.events.size() == 2);
  CHECK(t.events[0].event == "host_down hv1");
  CHECK(t.events[0].at == 2 * kSecond);
  CHECK(t.events[1].event == "host_up hv1");
}
