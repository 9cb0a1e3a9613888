// The hive's boundary (message.hpp): hosts affect each other only through crossings over the
// underlay or the NSDB, each taking at least that part's latency; a host's flow state changes
// only through what it simulated itself or pushes it received.

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "sim/twin/twin.hpp"
#include "topology/load/loader.hpp"

namespace hivesim {
namespace {

Scenario load_example(const std::string& file) {
  LoadResult loaded = load_scenario(std::string(HIVESIM_SOURCE_DIR) + "/scenarios/" + file);
  REQUIRE(loaded.scenario);
  return std::move(*loaded.scenario);
}

struct Observed {
  std::vector<Crossing> crossings;
  HostStates states;
};

Observed run_observed(const Scenario& s) {
  std::vector<Crossing> seen;
  TwinOptions options;
  options.on_crossing = [&seen](const Crossing& c) { seen.push_back(c); };
  auto twin = Twin::make(s, options);
  REQUIRE(twin);
  (void)(*twin)->run();
  return Observed{std::move(seen), (*twin)->host_states()};
}

TEST_CASE("Boundary: every crossing lands at least the underlay or NSDB latency after it is sent") {
  std::size_t frames = 0;
  std::size_t pushes = 0;
  std::size_t writes = 0;
  std::size_t reads = 0;
  for (const char* file :
       {"asymmetric-return.yaml", "asymmetric-return-failover.yaml", "failover.yaml", "lb.yaml",
        "lb-fip.yaml", "sg-change.yaml", "stateful.yaml", "three-tier.yaml", "demo.yaml"}) {
    const Scenario s = load_example(file);
    const Observed o = run_observed(s);
    for (const Crossing& c : o.crossings) {
      INFO(file << ": kind " << static_cast<int>(c.kind) << " sent " << c.sent << " lands "
                << c.lands);
      CHECK(c.lands - c.sent >= min_latency(c.kind, s.underlay.latency, s.nsdb.latency));
      switch (c.kind) {
        case Crossing::Kind::kFrame:
        case Crossing::Kind::kStatePush:
          // Host to another host: a frame to its own host never enters the underlay.
          CHECK(c.from.valid());
          CHECK(c.to.valid());
          CHECK(c.from != c.to);
          ++(c.kind == Crossing::Kind::kFrame ? frames : pushes);
          break;
        case Crossing::Kind::kNsdbWrite:
          ++writes;
          break;
        case Crossing::Kind::kNsdbRead:
          CHECK(c.to.valid());
          ++reads;
          break;
      }
    }
  }
  // Every kind was seen (else the loop above proved nothing about it).
  CHECK(frames > 1000);
  CHECK(pushes > 100);
  CHECK(writes > 0);
  CHECK(reads > 0);
}

TEST_CASE("Boundary: a host holds flow state only where packets entered or pushes landed") {
  // Without answers, with and without the stateful group over the uplinks: the gateway the
  // traffic does not leave by holds state only when pushes reach it.
  for (const bool stateful : {false, true}) {
    Scenario s = load_example("asymmetric-return.yaml");
    s.topology.port_groups[0].stateful = stateful;
    for (Traffic& t : s.traffic) {
      auto& syn = std::get<SyntheticTraffic>(t.source);
      syn.reply = false;
      syn.reply_from.clear();
    }
    const Observed o = run_observed(s);
    std::set<HostId> allowed;  // hosts where packets entered, and hosts pushes reached
    for (const Traffic& t : s.traffic)
      allowed.insert(*s.topology.ports[std::get<SyntheticTraffic>(t.source).from.value].host);
    for (const Crossing& c : o.crossings) {
      if (c.kind == Crossing::Kind::kStatePush) allowed.insert(c.to);
    }
    std::size_t with_state = 0;
    for (std::uint32_t h = 0; h < s.topology.hosts.size(); ++h) {
      const HostFlowState& st = o.states.host(HostId{h});
      if (st.conntrack.size() + st.nat.size() == 0) continue;
      ++with_state;
      INFO("stateful " << stateful << ": host " << s.topology.hosts[h].name);
      CHECK(allowed.contains(HostId{h}));
    }
    CHECK(with_state == allowed.size());  // the ingress host and every host pushes reached
    CHECK(allowed.size() == (stateful ? 3U : 2U));
  }
}

}  // namespace
}  // namespace hivesim
