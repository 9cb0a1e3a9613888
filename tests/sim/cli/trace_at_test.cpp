// `trace --at T` (SPEC section 2): the packet meets the topology and state the scenario's
// traffic and failures have made by T, not the initial ones.

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"
#include "sim/twin/twin.hpp"
#include "topology/load/loader.hpp"

namespace {

const std::string kFailover = HIVESIM_SOURCE_DIR "/scenarios/failover.yaml";
const std::string kSgChange = HIVESIM_SOURCE_DIR "/scenarios/sg-change.yaml";

nlohmann::json trace_json(const std::string& scenario, const std::string& from,
                          const std::string& packet, const std::string& at) {
  std::ostringstream out, err;
  const int code = hivesim::cli::trace_command(
      {scenario, "--from", from, "--packet", packet, "--at", at, "--format", "json"}, out, err);
  INFO(err.str());
  REQUIRE(code == 0);
  return nlohmann::json::parse(out.str());
}

}  // namespace

TEST_CASE("Trace --at: a rule changed mid-run decides packets traced after the change") {
  const std::string packet = "tcp dst=10.0.3.10 dport=5432";
  // The `set` happens at 5s and reaches the agents 2ms later.
  CHECK(trace_json(kSgChange, "app1", packet, "0s")["verdict"] == "delivered");
  CHECK(trace_json(kSgChange, "app1", packet, "4s")["verdict"] == "delivered");
  const auto after = trace_json(kSgChange, "app1", packet, "6s");
  CHECK(after["verdict"] == "dropped");
  CHECK(after["drop"]["device"] == "db-in");
  CHECK(after["drop"]["rule"] == 0);
}

TEST_CASE("Trace --at: routes through a dead gateway are gone once its session expired") {
  // gw1 dies at 10s; its session expires 2s later and the write is visible 2ms after that.
  // Before the failure some connections hash to gw1's uplink; after the expiry none does.
  int via_up1_before = 0;
  for (int sport = 40000; sport < 40008; ++sport) {
    const std::string packet = "tcp dst=203.0.113.9 dport=443 sport=" + std::to_string(sport);
    const auto before = trace_json(kFailover, "web1", packet, "5s");
    const auto after = trace_json(kFailover, "web1", packet, "13s");
    REQUIRE(before["to"].size() == 1);
    via_up1_before += before["to"][0] == "r1-up1" ? 1 : 0;
    CHECK(after["to"] == nlohmann::json::array({"r1-up2"}));
  }
  CHECK(via_up1_before > 0);
}

TEST_CASE("Trace --at: a bad time is bad input") {
  std::ostringstream out, err;
  CHECK(hivesim::cli::trace_command({kFailover, "--from", "web1", "--packet",
                                     "tcp dst=203.0.113.9 dport=443", "--at", "soon"},
                                    out, err) == 2);
}

// The twin runs up to T and no further, even where it injects a source's packets back to back:
// with a capture as scenario traffic (packets 10 us apart, each client's first one simulated
// and its MAC learned at once), the MACs learned by advance(T) are those of a run that ends at
// T, for every T through the first 130 us, and more of them as T grows.
TEST_CASE("Trace --at: the twin stops at T, with a capture's packets injected back to back") {
  hivesim::LoadResult loaded = hivesim::load_scenario(HIVESIM_SOURCE_DIR "/scenarios/replay.yaml");
  REQUIRE(loaded.scenario);
  hivesim::Scenario s = std::move(*loaded.scenario);
  hivesim::PcapTraffic capture;
  capture.path = HIVESIM_SOURCE_DIR "/pcaps/clients.pcap";
  capture.port = *s.topology.find_port("tap");
  hivesim::Traffic traffic;
  traffic.name = "capture";
  traffic.source = capture;
  s.traffic = {traffic};
  const auto learned = [&s](hivesim::SimTime t, bool advance) {
    hivesim::TwinOptions options;
    hivesim::cli::open_scenario_pcaps(options);
    if (!advance) options.until = t;
    auto twin = hivesim::Twin::make(s, std::move(options));
    REQUIRE(twin);
    if (advance) {
      (*twin)->advance(t);
    } else {
      (*twin)->run();
    }
    return (*twin)->state().macs.size();
  };
  std::size_t previous = 0;
  for (hivesim::SimTime t = 0; t <= 130 * hivesim::kMicrosecond; t += 5 * hivesim::kMicrosecond) {
    INFO("T = " << t << " ns");
    const std::size_t at_t = learned(t, true);
    CHECK(at_t == learned(t, false));
    CHECK(at_t >= previous);
    previous = at_t;
  }
  CHECK(previous >= 8);  // the eight clients, by 120 us
}
