// The bundled examples (scenarios/) must keep working: each loads cleanly, its trace
// expectations hold, and its batch file (if any) traces without error.

#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

#include "sim/cli/commands.hpp"
#include "sim/flow/expectation.hpp"
#include "topology/load/loader.hpp"

namespace fs = std::filesystem;
using namespace hivesim;

TEST_CASE("Examples: every bundled scenario loads and its trace expectations hold") {
  int scenarios = 0;
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(HIVESIM_SOURCE_DIR "/scenarios")) {
    if (entry.path().extension() != ".yaml") continue;
    ++scenarios;
    const std::string path = entry.path().string();
    LoadResult loaded = load_scenario(path);
    std::string problems;
    for (const Diagnostic& d : loaded.errors)
      problems += d.str() + "\n";
    INFO(path << "\n" << problems);
    REQUIRE(loaded.scenario);
    const Simulator sim(loaded.scenario->topology);
    for (const Expectation& e : loaded.scenario->expectations) {
      const auto* trace = std::get_if<ExpectTrace>(&e.what);
      if (trace == nullptr) continue;
      SimState state(loaded.scenario->seed);  // each expectation on the initial state
      const auto failure = check_trace_expectation(sim, *trace, state);
      INFO("expectation '" << e.name << "': " << failure.value_or("holds"));
      CHECK_FALSE(failure);
      ++checked;
    }
  }
  CHECK(scenarios >= 4);
  CHECK(checked >= 11);
}

TEST_CASE("Examples: every bundled batch file traces without error") {
  int batches = 0;
  for (const auto& entry : fs::directory_iterator(HIVESIM_SOURCE_DIR "/scenarios")) {
    if (entry.path().extension() != ".batch") continue;
    ++batches;
    fs::path yaml = entry.path();
    yaml.replace_extension(".yaml");
    std::ostringstream out;
    std::ostringstream err;
    const int code = cli::trace_command(
        {yaml.string(), "--batch", entry.path().string(), "--format", "json"}, out, err);
    INFO(entry.path() << "\n" << err.str());
    CHECK(code == 0);
    CHECK(err.str().empty());
  }
  CHECK(batches >= 4);
}

TEST_CASE("Expectations: a failing trace expectation says what happened instead") {
  LoadResult loaded = load_scenario(HIVESIM_SOURCE_DIR "/scenarios/demo.yaml");
  REQUIRE(loaded.scenario);
  const Simulator sim(loaded.scenario->topology);
  ExpectTrace e;
  e.from = *loaded.scenario->topology.find_port("vm1");
  e.packet = "tcp dst=10.0.2.30 dport=80";
  e.verdict = Verdict::kDelivered;
  SimState state;
  CHECK(check_trace_expectation(sim, e, state) ==
        "verdict dropped (rule at green-in rule 2), expected delivered");
  e.verdict = Verdict::kDropped;
  e.reason = DropReason::kNoRoute;
  CHECK(check_trace_expectation(sim, e, state) ==
        "verdict dropped (rule at green-in rule 2), expected drop reason no_route");
  e.reason.reset();
  e.verdict.reset();
  e.packet = "tcp dst=10.0.2.30 dport=22";
  e.to = {*loaded.scenario->topology.find_port("vm2")};
  CHECK(check_trace_expectation(sim, e, state) ==
        "verdict delivered to vm3, expected delivery to any of vm2");
}
