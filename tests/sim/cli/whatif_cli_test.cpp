// `reach`, `diff` and `sweep` from the command line: exit codes, outputs written all or none,
// JUnit, byte-identical reports across jobs and shards, and refused bad input (SPEC 7).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/cli/commands.hpp"
#include "tests/support/command_run.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using hivesim::testing::TempDir;

const std::string kBefore = HIVESIM_SOURCE_DIR "/scenarios/whatif/before.yaml";
const std::string kAfter = HIVESIM_SOURCE_DIR "/scenarios/whatif/after.yaml";
const std::string kThreeTier = HIVESIM_SOURCE_DIR "/scenarios/three-tier.yaml";
const std::string kDemo = HIVESIM_SOURCE_DIR "/scenarios/demo.yaml";

using hivesim::testing::call;
using hivesim::testing::read;
using hivesim::testing::Run;

}  // namespace

TEST_CASE("reach CLI: JSON document, text matrix and bad arguments") {
  const Run json =
      call(hivesim::cli::reach_command, {kThreeTier, "--from", "web1", "--to", "db1,10.0.1.11",
                                         "--services", "tcp/5432,icmp", "--format", "json"});
  REQUIRE(json.code == 0);
  const auto doc = nlohmann::json::parse(json.out);
  CHECK(doc["scenario"] == "three-tier");
  CHECK(doc["at_ns"] == 0);
  REQUIRE(doc["connections"].size() == 4);
  CHECK(doc["connections"][0]["to"] == "10.0.1.11");
  CHECK(doc["connections"][0]["service"] == "icmp");
  CHECK(doc["connections"][0]["result"] == "open");
  CHECK_FALSE(doc["connections"][0].contains("drop"));
  CHECK(doc["connections"][3]["drop"]["source"] == kThreeTier + ":37");
  const Run text = call(hivesim::cli::reach_command, {kThreeTier});
  CHECK(text.code == 0);
  CHECK(text.out.find("summary:") != std::string::npos);
  CHECK(call(hivesim::cli::reach_command, {kThreeTier, "--to", "nowhere"}).code == 2);
  CHECK(call(hivesim::cli::reach_command, {kThreeTier, "--services", "tcp/x"}).code == 2);
  CHECK(call(hivesim::cli::reach_command, {kThreeTier, "--from", "zz*"}).code == 2);
  CHECK(call(hivesim::cli::reach_command, {kThreeTier, "--at", "soon"}).code == 2);
}

TEST_CASE("diff CLI: a regression exits 1 with a failed JUnit testcase; no change exits 0") {
  TempDir dir;
  const std::string junit = dir.file("diff.xml");
  const Run r = call(hivesim::cli::diff_command, {kBefore, kAfter, "--junit", junit, "--out",
                                                  dir.file("out"), "--format", "json"});
  REQUIRE(r.code == 1);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["regressions"].get<int>() >= 3);
  REQUIRE(doc["reach"]["changed"].size() == 1);
  CHECK(doc["reach"]["changed"][0]["from"] == "app1");
  CHECK(doc["reach"]["changed"][0]["before"] == "open");
  CHECK(doc["reach"]["changed"][0]["after"] == "blocked");
  CHECK(doc["reach"]["changed"][0]["after_drop"]["device"] == "sg-ingress:db1");
  const std::string xml = read(junit);
  CHECK(xml.find("name=\"app1 -&gt; 10.0.3.10 tcp/5432\">") != std::string::npos);
  CHECK(xml.find("<failure") != std::string::npos);
  CHECK(std::filesystem::exists(dir.file("out") + "/report.json"));
  CHECK(r.err.find("REGRESSION") != std::string::npos);

  const Run same = call(hivesim::cli::diff_command, {kBefore, kBefore, "--static-only"});
  CHECK(same.code == 0);
  CHECK(same.out.find("0 regressions") != std::string::npos);
  // Backwards, the change is an improvement: nothing regressed.
  CHECK(call(hivesim::cli::diff_command, {kAfter, kBefore}).code == 0);
}

TEST_CASE("diff CLI: scenarios without a common source are refused, nothing written") {
  TempDir dir;
  const std::string junit = dir.file("diff.xml");
  const Run r = call(hivesim::cli::diff_command, {kDemo, kBefore, "--junit", junit});
  CHECK(r.code == 2);
  CHECK(r.err.find("no exterior port in common") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(junit));
  CHECK(call(hivesim::cli::diff_command, {kBefore}).code == 2);
  CHECK(call(hivesim::cli::diff_command, {kBefore, kAfter, "--tolerance", "2"}).code == 2);
}

TEST_CASE("sweep CLI: same report for any jobs and shards; exit codes; bad input refused") {
  TempDir dir;
  const std::vector<std::string> base{kBefore,    "--fail", "host,link,port",
                                      "--format", "json",   "--quiet"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return call(hivesim::cli::sweep_command, args);
  };
  const Run one = with({"--jobs", "1"});
  const Run two = with({"--jobs", "2"});
  REQUIRE(one.code == 1);  // host_down hv1 breaks expectations the baseline passes
  CHECK(one.out == two.out);
  std::vector<std::string> parts;
  for (const char* k : {"1/2", "2/2"}) {
    const Run p = with({"--shard", k, "--out", dir.file("parts")});
    REQUIRE((p.code == 0 || p.code == 1));
  }
  const Run merged = call(hivesim::cli::sweep_command,
                          {"--merge", dir.file("parts") + "/partial-2-of-2.json",
                           dir.file("parts") + "/partial-1-of-2.json", "--format", "json"});
  CHECK(merged.code == 1);
  CHECK(merged.out == one.out);

  // A part of another question (--at differs) is refused and nothing is written.
  REQUIRE((with({"--shard", "2/2", "--at", "1s", "--out", dir.file("other")}).code <= 1));
  const Run mixed = call(hivesim::cli::sweep_command,
                         {"--merge", dir.file("parts") + "/partial-1-of-2.json",
                          dir.file("other") + "/partial-2-of-2.json", "--out", dir.file("m")});
  CHECK(mixed.code == 2);
  CHECK(mixed.err.find("another sweep") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.file("m")));

  CHECK(with({"--jobs", "0"}).code == 2);
  CHECK(with({"--shard", "0/2"}).code == 2);
  CHECK(with({"--shard", "3/2"}).code == 2);
  CHECK(call(hivesim::cli::sweep_command, {kBefore, "--fail", "disk"}).code == 2);
  CHECK(call(hivesim::cli::sweep_command, {kBefore}).code == 2);
  CHECK(call(hivesim::cli::sweep_command, {"--merge", dir.file("missing.json")}).code == 2);
  const Run text =
      call(hivesim::cli::sweep_command, {kBefore, "--fail", "nsdb", "--quiet", "--jobs", "2"});
  CHECK(text.code == 0);
  CHECK(text.out.find("nsdb_down 0") != std::string::npos);
}
