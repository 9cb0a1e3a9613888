// The `graph` subcommand (SPEC section 9): formats, --trace, -o, and bad input (exit 2, nothing
// written).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "sim/cli/commands.hpp"
#include "tests/support/command_run.hpp"
#include "tests/support/temp_dir.hpp"

using hivesim::cli::graph_command;

namespace {

const std::string kThreeTier = HIVESIM_SOURCE_DIR "/scenarios/three-tier.yaml";

using hivesim::testing::Run;

Run graph(const std::vector<std::string>& args) {
  return hivesim::testing::call(graph_command, args);
}

}  // namespace

TEST_CASE("graph CLI: dot by default, mermaid and svg on request") {
  const Run dot = graph({kThreeTier});
  CHECK(dot.code == 0);
  CHECK(dot.out.rfind("graph \"three-tier\" {", 0) == 0);
  const Run mermaid = graph({kThreeTier, "--format", "mermaid"});
  CHECK(mermaid.code == 0);
  CHECK(mermaid.out.rfind("flowchart LR", 0) == 0);
  const Run svg =
      graph({kThreeTier, "--format", "svg", "--trace", "web1 tcp dst=10.0.3.10 dport=5432"});
  CHECK(svg.code == 0);
  CHECK(svg.out.find("<svg") != std::string::npos);
  CHECK(svg.out.find("verdict: dropped: rule (db-in rule 1)") != std::string::npos);
}

TEST_CASE("graph CLI: -o writes the file; bad input is exit 2 with nothing written") {
  hivesim::testing::TempDir dir;
  const std::string file = dir.path().string() + "/g.svg";
  const Run ok = graph({kThreeTier, "--format", "svg", "-o", file});
  CHECK(ok.code == 0);
  CHECK(ok.out.empty());
  std::ifstream in(file);
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(written.rfind("<?xml", 0) == 0);

  const std::string never = dir.path().string() + "/never.svg";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {kThreeTier, "--format", "png", "-o", never},
           {kThreeTier, "--trace", "nosuch tcp dst=10.0.3.10 dport=1", "-o", never},
           {kThreeTier, "--trace", "web1 tcp dst=10.0.3.10", "-o", never},
           {kThreeTier, "--trace", "web1", "-o", never},
           {HIVESIM_SOURCE_DIR "/scenarios/missing.yaml", "-o", never}}) {
    const Run bad = graph(args);
    INFO(args[1] << " " << (args.size() > 2 ? args[2] : ""));
    CHECK(bad.code == 2);
    CHECK(bad.err.find("error") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(never));
  }
  const Run unknown = graph({kThreeTier, "--trace", "nosuch tcp dst=10.0.3.10 dport=1"});
  CHECK(unknown.err.find("nosuch") != std::string::npos);
}

TEST_CASE("run CLI: --html writes one page; a bad --html path is exit 2") {
  hivesim::testing::TempDir dir;
  const std::string page = dir.path().string() + "/report.html";
  std::ostringstream out;
  std::ostringstream err;
  const int code = hivesim::cli::run_command(
      {HIVESIM_SOURCE_DIR "/scenarios/failover.yaml", "--quiet", "--html", page}, out, err);
  CHECK(code == 0);
  std::ifstream in(page);
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("host_down gw1") != std::string::npos);
  CHECK(html.find("id=\"topology-svg\"") != std::string::npos);

  std::ostringstream out2;
  std::ostringstream err2;
  const int bad =
      hivesim::cli::run_command({HIVESIM_SOURCE_DIR "/scenarios/failover.yaml", "--quiet", "--html",
                                 dir.path().string() + "/no/such/dir/report.html"},
                                out2, err2);
  CHECK(bad == 2);
  CHECK(err2.str().find("--html") != std::string::npos);
}
