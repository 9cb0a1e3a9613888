#pragma once
// The run's timeline (SPEC section 9): per traffic source, how many packets were delivered and
// dropped in each time bucket, and the failure events; drawn by the HTML report and the GUI.
// A plain value: its JSON rendering is timeline_json (sim/render/run_report.hpp).
//
// Invariants: `bucket_ns` > 0; every series has the same number of buckets, covering
// [0, buckets * bucket_ns) which holds the run's simulated time; bucket i counts the packets
// that landed (were delivered or answered, or were dropped) in [i * bucket_ns, (i+1) *
// bucket_ns); the sums over a series equal its traffic row's `delivered` and `dropped`
// (replies are not counted, as in the row). Series are in traffic order, events in time order.

#include <cstdint>
#include <string>
#include <vector>

#include "base/units.hpp"

namespace hivesim {

struct TimelineSeries {
  std::string traffic;
  std::vector<std::uint64_t> delivered;
  std::vector<std::uint64_t> dropped;
};

struct TimelineEvent {
  SimTime at = 0;
  std::string event;  // Failure::label, "host_down gw1"
};

struct Timeline {
  SimTime bucket_ns = 1;
  std::vector<TimelineSeries> series;
  std::vector<TimelineEvent> events;
};

}  // namespace hivesim
