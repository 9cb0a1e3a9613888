// The run report's timeline (SPEC section 9) from a real run: each delivered packet counts in
// the bucket of the time it left the virtual network (checked against the egress callback),
// the drops fall in the outage, and the sums equal the traffic rows.

#include <catch2/catch.hpp>

#include "sim/twin/twin.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;

TEST_CASE("Twin timeline: deliveries per bucket match the egress times, drops the outage") {
  LoadResult loaded =
      load_scenario(std::string(HIVESIM_TEST_DATA) + "/scenarios/twin/host-down.yaml");
  REQUIRE(loaded.scenario);
  const Scenario& s = *loaded.scenario;
  std::vector<SimTime> egress;
  TwinOptions options;
  options.on_egress = [&egress](PortId, const Packet&, SimTime at) { egress.push_back(at); };
  auto twin = Twin::make(s, std::move(options));
  REQUIRE(twin);
  const RunReport r = (*twin)->run();
  const Timeline& t = r.timeline;

  CHECK(t.bucket_ns == s.duration / 100);
  REQUIRE(t.series.size() == 1);
  const TimelineSeries& series = t.series[0];
  CHECK(series.traffic == "vm1-to-vm2");
  REQUIRE(series.delivered.size() == 100);

  std::vector<std::uint64_t> expected(100, 0);
  for (SimTime at : egress)
    ++expected[static_cast<std::size_t>(std::min<SimTime>(at / t.bucket_ns, 99))];
  CHECK(series.delivered == expected);

  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  for (std::size_t i = 0; i < 100; ++i) {
    delivered += series.delivered[i];
    dropped += series.dropped[i];
    const SimTime bucket_start = static_cast<SimTime>(i) * t.bucket_ns;
    if (series.dropped[i] > 0) {
      INFO("bucket " << i);
      CHECK(bucket_start + t.bucket_ns > s.failures[0].at);
      CHECK(bucket_start <= s.failures[1].at);
    }
  }
  CHECK(delivered == r.traffic[0].delivered);
  CHECK(dropped == r.traffic[0].dropped);
  CHECK(dropped > 0);

  REQUIRE(t.events.size() == 2);
  CHECK(t.events[0].at == s.failures[0].at);
  CHECK(t.events[0].event == "host_down hv2");
  CHECK(t.events[1].event == "host_up hv2");
}

TEST_CASE("Twin timeline: packets counted on the fast paths (nobody watching) are in it too") {
  LoadResult loaded =
      load_scenario(std::string(HIVESIM_TEST_DATA) + "/scenarios/twin/host-down.yaml");
  REQUIRE(loaded.scenario);
  for (const bool failures : {false, true}) {
    Scenario s = *loaded.scenario;
    if (!failures) s.failures.clear();
    auto twin = Twin::make(s, TwinOptions{});
    REQUIRE(twin);
    const RunReport r = (*twin)->run();
    REQUIRE(r.timeline.series.size() == 1);
    std::uint64_t delivered = 0;
    std::uint64_t dropped = 0;
    for (std::size_t i = 0; i < r.timeline.series[0].delivered.size(); ++i) {
      delivered += r.timeline.series[0].delivered[i];
      dropped += r.timeline.series[0].dropped[i];
    }
    INFO("failures " << failures);
    CHECK(r.timeline.series[0].delivered.size() == 100);
    CHECK(delivered == r.traffic[0].delivered);
    CHECK(dropped == r.traffic[0].dropped);
    CHECK(delivered > 0);
  }
}
