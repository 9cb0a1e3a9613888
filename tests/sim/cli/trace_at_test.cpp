// `trace --at T` (SPEC section 2): the packet meets the topology and state the scenario's
// traffic and failures have made by T, not the initial ones.

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/cli/commands.hpp"

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
