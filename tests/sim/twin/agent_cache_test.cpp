// An agent's cache of NSDB objects: what a simulation reads is loaded once (an NSDB read, a
// crossing), and loaded again after the agent stops, whatever it remembers of the objects the
// last simulation at a port read (Agents::loaded(), LoadedTags: recorded with the agent's epoch).

#include <catch2/catch.hpp>

#include <string>
#include <variant>
#include <vector>

#include "sim/twin/twin.hpp"
#include "topology/load/loader.hpp"

namespace hivesim {
namespace {

TEST_CASE("Agent cache: a host that comes back loads again the objects its simulations read") {
  // failover.yaml: gw1 is down from 10 s to 20 s. Only web1's connections, so that every
  // answer entering at gw1's uplink reads the same objects as the one before it there.
  LoadResult loaded = load_scenario(std::string(HIVESIM_SOURCE_DIR) + "/scenarios/failover.yaml");
  REQUIRE(loaded.scenario);
  Scenario s = std::move(*loaded.scenario);
  REQUIRE(s.traffic.size() == 2);
  s.traffic.pop_back();  // web2-out
  const auto gw1 = s.topology.find_host("gw1");
  REQUIRE(gw1);

  std::vector<Crossing> reads;  // NSDB reads by gw1's agent
  TwinOptions options;
  options.on_crossing = [&](const Crossing& c) {
    if (c.kind == Crossing::Kind::kNsdbRead && c.to == *gw1) reads.push_back(c);
  };
  auto twin = Twin::make(s, options);
  REQUIRE(twin);
  (void)(*twin)->run();

  std::size_t before = 0;
  std::size_t after = 0;
  for (const Crossing& c : reads) {
    if (c.sent < 10 * kSecond) ++before;
    if (c.sent >= 20 * kSecond) ++after;
  }
  CHECK(before > 0);  // gw1 simulated answers before it went down
  CHECK(after > 0);   // and its cache was empty when it came back
}

}  // namespace
}  // namespace hivesim
