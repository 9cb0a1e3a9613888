#include <catch2/catch.hpp>

#include "base/units.hpp"

using namespace hivesim;

TEST_CASE("Units: durations in every unit") {
  CHECK(parse_duration("250ns") == 250);
  CHECK(parse_duration("10us") == 10 * kMicrosecond);
  CHECK(parse_duration("5ms") == 5 * kMillisecond);
  CHECK(parse_duration("2s") == 2 * kSecond);
  CHECK(parse_duration("1m") == kMinute);
  CHECK(parse_duration("0s") == 0);
  CHECK(parse_duration("1.5s") == 1500 * kMillisecond);
  CHECK(parse_duration("0.001ms") == kMicrosecond);
}

TEST_CASE("Units: malformed, fractional-nanosecond and overflowing durations are rejected") {
  for (const char* bad : {"", "10", "s", "-1s", "1.5ns", "5 ms", "5MS", "1h", "1..5s", "1e3s",
                          "99999999999999999999s", "10000000000s"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("Units: durations format in the largest exact unit") {
  CHECK(format_duration(2 * kSecond) == "2s");
  CHECK(format_duration(1500 * kMillisecond) == "1500ms");
  CHECK(format_duration(40 * kMicrosecond) == "40us");
  CHECK(format_duration(7) == "7ns");
  CHECK(format_duration(0) == "0s");
}

TEST_CASE("Units: rates per second, millisecond and minute") {
  CHECK(parse_rate("200/s") == Approx(200.0));
  CHECK(parse_rate("5/ms") == Approx(5000.0));
  CHECK(parse_rate("60/m") == Approx(1.0));
  CHECK(parse_rate("0.5/s") == Approx(0.5));
  for (const char* bad : {"", "200", "0/s", "-1/s", "1/h", "/s", "x/s"}) {
    INFO(bad);
    CHECK_FALSE(parse_rate(bad));
  }
}

TEST_CASE("Units: bandwidths with SI prefixes") {
  CHECK(parse_bandwidth("10Gbps") == 10'000'000'000ULL);
  CHECK(parse_bandwidth("100Mbps") == 100'000'000ULL);
  CHECK(parse_bandwidth("1.5Gbps") == 1'500'000'000ULL);
  CHECK(parse_bandwidth("1500bps") == 1500ULL);
  CHECK(parse_bandwidth("64kbps") == 64'000ULL);
  for (const char* bad : {"", "10", "0bps", "10gbps", "10 Gbps", "1.5bps", "-1Mbps"}) {
    INFO(bad);
    CHECK_FALSE(parse_bandwidth(bad));
  }
}
