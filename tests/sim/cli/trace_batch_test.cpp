// trace_batch (sim/cli/trace_batch.hpp): the batch half of `trace`, which fuzz/fuzz_batch runs
// on a scenario it loads once. Called that way, with fresh per-host state, it prints what
// `hivesim trace SCENARIO --batch FILE` prints, and each call starts from the initial state.

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "sim/cli/commands.hpp"
#include "sim/cli/trace_batch.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/twin/flow_state.hpp"
#include "tests/support/command_run.hpp"
#include "tests/support/temp_dir.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;

namespace {

const std::string kDemo = HIVESIM_SOURCE_DIR "/scenarios/demo.yaml";
const std::string kBatch = HIVESIM_SOURCE_DIR "/scenarios/demo.batch";

struct Printed {
  int code = -1;
  std::string out;
  std::string err;
};

Printed batch_on(const Scenario& scenario, const Simulator& sim, const std::string& path,
                 bool json) {
  HostStates states(sim.topology(), scenario.seed);
  std::ostringstream out;
  std::ostringstream err;
  Printed p;
  p.code = cli::trace_batch(path, sim, states, scenario.file, json, out, err);
  p.out = out.str();
  p.err = err.str();
  return p;
}

}  // namespace

TEST_CASE("trace_batch on a scenario loaded once prints what trace --batch prints") {
  const LoadResult loaded = load_scenario(kDemo);
  REQUIRE(loaded.scenario);
  const Simulator sim(loaded.scenario->topology);
  for (const bool json : {true, false}) {
    INFO((json ? "json" : "text"));
    const testing::Run command = testing::call(
        cli::trace_command, {kDemo, "--batch", kBatch, "--format", json ? "json" : "text"});
    REQUIRE(command.code == 0);
    const Printed first = batch_on(*loaded.scenario, sim, kBatch, json);
    CHECK(first.code == 0);
    CHECK(first.err.empty());
    CHECK(first.out == command.out);
    // A second call on the same simulator, with fresh state, prints the same again: nothing
    // of the first batch's learning or connections carries over.
    CHECK(batch_on(*loaded.scenario, sim, kBatch, json).out == command.out);
  }
}

TEST_CASE("trace_batch: a bad line is exit 2 naming the file and line, with nothing printed") {
  const LoadResult loaded = load_scenario(kDemo);
  REQUIRE(loaded.scenario);
  const Simulator sim(loaded.scenario->topology);
  testing::TempDir dir;
  const std::string path = dir.write("bad.batch", "vm1 tcp dst=10.0.2.30 dport=22\nvm9 tcp\n");
  const Printed p = batch_on(*loaded.scenario, sim, path, true);
  CHECK(p.code == 2);
  CHECK(p.out.empty());
  CHECK(p.err.find(path + ":2: error:") != std::string::npos);
}
