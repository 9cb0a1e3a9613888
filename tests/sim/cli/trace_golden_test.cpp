// Scenario golden tests: every tests/data/scenarios/flow/NAME.yaml with a NAME.batch is traced
// with `hivesim trace NAME.yaml --batch NAME.batch --format json` and the output must equal
// NAME.golden.json byte for byte. Run with HIVESIM_UPDATE_GOLDEN=1 to rewrite the golden files
// instead (then review the diff before committing).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sim/cli/commands.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(HIVESIM_TEST_DATA) / "scenarios" / "flow";

bool updating() {
  const char* v = std::getenv("HIVESIM_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

std::vector<std::string> scenario_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kDir)) {
    const fs::path& p = entry.path();
    if (p.extension() != ".yaml") continue;
    if (!fs::exists(fs::path(p).replace_extension(".batch"))) continue;
    names.push_back(p.stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The first line where `a` and `b` differ, for the failure message.
std::string first_difference(const std::string& want, const std::string& got) {
  std::istringstream a(want);
  std::istringstream b(got);
  std::string la;
  std::string lb;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(a, la));
    const bool more_b = static_cast<bool>(std::getline(b, lb));
    if (!more_a && !more_b) return "identical lines (line endings differ?)";
    if (!more_a || !more_b || la != lb) {
      return "line " + std::to_string(line) + ":\n  golden: " + (more_a ? la : "<end>") +
             "\n  actual: " + (more_b ? lb : "<end>");
    }
  }
}

}  // namespace

TEST_CASE("Trace golden: every flow scenario's batch trace matches its golden file") {
  const std::vector<std::string> names = scenario_names();
  REQUIRE(names.size() >= 3);
  for (const std::string& name : names) {
    DYNAMIC_SECTION(name) {
      const fs::path yaml = kDir / (name + ".yaml");
      const fs::path batch = kDir / (name + ".batch");
      const fs::path golden = kDir / (name + ".golden.json");
      std::ostringstream out;
      std::ostringstream err;
      const int code = hivesim::cli::trace_command(
          {yaml.string(), "--batch", batch.string(), "--format", "json"}, out, err);
      INFO(err.str());
      REQUIRE(code == 0);
      CHECK(err.str().empty());
      // Drops name where their rule or route is written ("source": "FILE:LINE", FILE as given
      // on the command line); the golden files hold it relative to their own folder.
      std::string got = out.str();
      const std::string prefix = kDir.string() + "/";
      for (auto at = got.find(prefix); at != std::string::npos; at = got.find(prefix, at)) {
        got.erase(at, prefix.size());
      }
      CHECK(got.find(HIVESIM_TEST_DATA) == std::string::npos);
      if (updating()) {
        std::ofstream(golden, std::ios::binary) << got;
        WARN("HIVESIM_UPDATE_GOLDEN=1: rewrote " << golden.string() << "; review the diff");
        continue;
      }
      INFO("golden file " << golden.string()
                          << " (regenerate with HIVESIM_UPDATE_GOLDEN=1 and review the diff)");
      REQUIRE(fs::exists(golden));
      const std::string want = read_file(golden);
      INFO(first_difference(want, got));
      CHECK(want == got);
    }
  }
}
