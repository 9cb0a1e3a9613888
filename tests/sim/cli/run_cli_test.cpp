// The `run` subcommand (SPEC section 2): exit codes, messages, the SPEC section 5 JSON document
// and the artefacts (--out, --junit, --db). Temp dirs only.

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/cli/commands.hpp"
#include "tests/support/command_run.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using hivesim::cli::run_command;

namespace {

using hivesim::testing::TempDir;

const std::string kLbFip = HIVESIM_SOURCE_DIR "/scenarios/lb-fip.yaml";
const std::string kSgChange = HIVESIM_SOURCE_DIR "/scenarios/sg-change.yaml";

using hivesim::testing::Run;

Run run(const std::vector<std::string>& args) {
  return hivesim::testing::call(run_command, args);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::size_t occurrences(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

/// One integer from a query on an SQLite file.
std::int64_t query_int(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  const bool prepared = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK;
  std::int64_t value = -1;
  if (prepared && sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  INFO(sql);
  REQUIRE(prepared);
  return value;
}

/// A scenario with an unknown key on line 4, column 5.
constexpr const char* kBroken =
    "hosts: [{name: hv1, ip: 192.168.0.1}]\n"
    "bridges:\n"
    "  - name: br\n"
    "    colour: blue\n"
    "    ports: [{name: vm1, host: hv1}]\n";

}  // namespace

TEST_CASE("Run CLI: a scenario whose expectations hold exits 0") {
  const Run r = run({kLbFip, "--quiet"});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());

  const Run text = run({kLbFip});
  CHECK(text.code == 0);
  CHECK(contains(text.out, "lb-fip"));
  CHECK(contains(text.out, "expectations: 3 passed, 0 failed"));
}

TEST_CASE("Run CLI: a failed expectation exits 1 and each failure is printed") {
  const Run text = run({kSgChange});
  INFO(text.out << text.err);
  CHECK(text.code == 1);
  CHECK(contains(text.out, "app-to-db traffic is delivered"));
  CHECK(contains(text.out, "no packet dropped by db-in"));
  CHECK(occurrences(text.out, "FAIL ") == 3);

  const Run json = run({kSgChange, "--format", "json"});
  CHECK(json.code == 1);
  CHECK(occurrences(json.err, "FAILED: ") == 3);
  CHECK(contains(json.err, "FAILED: app-to-db traffic is delivered: delivered "));
  CHECK(contains(json.err, "FAILED: no packet dropped by db-in: "));
  const auto doc = nlohmann::json::parse(json.out);
  REQUIRE(doc["expectations"].size() == 3);
  for (const auto& e : doc["expectations"])
    CHECK(e["passed"] == false);

  const Run quiet = run({kSgChange, "--quiet"});
  CHECK(quiet.code == 1);
  CHECK(quiet.out.empty());
  CHECK(occurrences(quiet.err, "FAILED: ") == 3);
}

TEST_CASE("Run CLI: bad input exits 2 with a message and writes nothing") {
  TempDir dir;
  const std::string out_dir = dir.file("out");

  SECTION("a missing scenario file") {
    const std::string missing = dir.file("no-such.yaml");
    const Run r = run({missing, "--out", out_dir});
    CHECK(r.code == 2);
    CHECK(contains(r.err, missing));
    CHECK(r.out.empty());
  }
  SECTION("no scenario at all") {
    const Run r = run({});
    CHECK(r.code == 2);
    CHECK(contains(r.err, "SCENARIO"));
  }
  SECTION("a bad --until") {
    const Run r = run({kLbFip, "--until", "soon", "--out", out_dir});
    CHECK(r.code == 2);
    CHECK(contains(r.err, "--until"));
    CHECK(contains(r.err, "soon"));
    CHECK(r.out.empty());
  }
  SECTION("a bad --format") {
    const Run r = run({kLbFip, "--format", "xml", "--out", out_dir});
    CHECK(r.code == 2);
    CHECK(contains(r.err, "xml"));
    CHECK(r.out.empty());
  }
  SECTION("a bad --seed") {
    const Run r = run({kLbFip, "--seed", "many"});
    CHECK(r.code == 2);
    CHECK(contains(r.err, "seed"));
  }
  SECTION("an unknown option") {
    const Run r = run({kLbFip, "--colour", "blue"});
    CHECK(r.code == 2);
    CHECK(contains(r.err, "colour"));
  }
  SECTION("a broken scenario is FILE:LINE:COL") {
    const std::string broken = dir.write("broken.yaml", kBroken);
    const Run r = run({broken, "--out", out_dir, "--format", "json"});
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK(contains(r.err, broken + ":4:5: error: "));
    CHECK(contains(r.err, "colour"));
    CHECK(r.out.empty());
  }
  CHECK_FALSE(fs::exists(out_dir));
}

TEST_CASE("Run CLI: --format json prints one SPEC section 5 document") {
  const Run r = run({kLbFip, "--format", "json"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  // Exactly one document: it parses as a whole (trailing garbage would not).
  nlohmann::json doc;
  REQUIRE_NOTHROW(doc = nlohmann::json::parse(r.out));
  REQUIRE(doc.is_object());
  for (const char* key : {"scenario", "seed", "sim_time_ns", "events", "packets", "flows", "drops",
                          "load_balancers", "failures", "traffic", "expectations"}) {
    INFO(key);
    CHECK(doc.contains(key));
  }
  CHECK(doc["scenario"] == "lb-fip");
  CHECK(doc["seed"] == 5);
  CHECK(doc["sim_time_ns"] == 20'000'000'000LL);
  for (const char* key : {"injected", "delivered", "dropped"})
    CHECK(doc["packets"].contains(key));
  for (const char* key :
       {"simulations", "installed", "cache_hits", "cache_misses", "invalidated", "per_host"}) {
    CHECK(doc["flows"].contains(key));
  }
  CHECK(doc["flows"]["per_host"].contains("gw1"));
  // scenarios/lb-fip.yaml: 4000 flows of 3 packets, each answered.
  CHECK(doc["packets"]["injected"] == 24000);
  CHECK(doc["packets"]["delivered"] == 24000);
  REQUIRE(doc["traffic"].size() == 1);
  CHECK(doc["traffic"][0]["name"] == "clients");
  CHECK(doc["traffic"][0]["sent"] == 12000);
  CHECK(doc["traffic"][0]["latency_ns"].contains("p50"));
  CHECK(doc["traffic"][0]["latency_ns"].contains("p99"));
  REQUIRE(doc["load_balancers"].size() == 1);
  const auto& lb = doc["load_balancers"][0];
  CHECK(lb["vip"] == "web-vip");
  REQUIRE(lb["members"].size() == 3);
  CHECK(lb["members"][0]["member"] == "10.0.1.10:8080");
  CHECK(lb["members"][2]["weight"] == 2);
  std::int64_t connections = 0;
  for (const auto& m : lb["members"]) {
    for (const char* key : {"member", "weight", "connections", "share", "expected"}) {
      CHECK(m.contains(key));
    }
    connections += m["connections"].get<std::int64_t>();
  }
  CHECK(connections == 4000);
  CHECK(lb["max_skew"].get<double>() < 0.15);
  CHECK(doc["failures"].empty());
  REQUIRE(doc["expectations"].size() == 3);
  for (const auto& e : doc["expectations"]) {
    CHECK(e.contains("name"));
    CHECK(e.contains("detail"));
    CHECK(e["passed"] == true);
  }

  SECTION("failures rows carry SPEC keys") {
    const Run f = run({HIVESIM_SOURCE_DIR "/scenarios/failover.yaml", "--format", "json"});
    const auto fd = nlohmann::json::parse(f.out);
    REQUIRE(fd["failures"].size() == 2);
    CHECK(fd["failures"][0]["at_ns"] == 10'000'000'000LL);
    CHECK(fd["failures"][0]["event"] == "host_down gw1");
    CHECK(fd["failures"][0]["packets_lost"].get<std::int64_t>() > 0);
    CHECK(fd["failures"][0].contains("recovered_after_ns"));
    REQUIRE(fd["drops"].size() >= 1);
    CHECK(fd["drops"][0]["reason"] == "host_down");
    CHECK(fd["drops"][0].contains("device"));
    CHECK(fd["drops"][0].contains("count"));
  }
}

TEST_CASE("Run CLI: two runs are byte-identical; --seed and --until change the report") {
  const Run a = run({kLbFip, "--format", "json"});
  const Run b = run({kLbFip, "--format", "json"});
  REQUIRE(a.code == 0);
  CHECK(a.out == b.out);
  const Run ta = run({kSgChange});
  const Run tb = run({kSgChange});
  CHECK(ta.out == tb.out);

  const Run seeded = run({kLbFip, "--format", "json", "--seed", "99"});
  REQUIRE(seeded.code == 0);
  const auto da = nlohmann::json::parse(a.out);
  const auto ds = nlohmann::json::parse(seeded.out);
  CHECK(da["seed"] == 5);
  CHECK(ds["seed"] == 99);
  CHECK(da["load_balancers"][0]["members"] != ds["load_balancers"][0]["members"]);
  CHECK(run({kLbFip, "--format", "json", "--seed", "99"}).out == seeded.out);

  const Run cut = run({kLbFip, "--format", "json", "--until", "2s"});
  const auto dc = nlohmann::json::parse(cut.out);
  CHECK(dc["sim_time_ns"] == 2'000'000'000LL);
  // 250 flows a second of 3 packets from 1s: by 2s, 750 packets and the first of the flow
  // starting at 2s itself, which is still in the tunnel when the run stops. In-flight packets
  // are neither delivered nor lost, so "min_delivered: 1.0" holds (exit 0).
  CHECK(dc["traffic"][0]["sent"] == 250 * 3 + 1);
  CHECK(dc["traffic"][0]["in_flight"] == 1);
  CHECK(dc["packets"]["in_flight"] == 1);
  CHECK(dc["traffic"][0]["delivered"] == 250 * 3);
  CHECK(cut.code == 0);
}

TEST_CASE("Run CLI: --out, --junit and --db write their artefacts") {
  TempDir dir;
  const std::string out_dir = dir.file("out");
  const std::string junit = dir.file("junit.xml");
  const std::string db = dir.file("history.sqlite");

  const Run r =
      run({kSgChange, "--format", "json", "--out", out_dir, "--junit", junit, "--db", db});
  INFO(r.err);
  REQUIRE(r.code == 1);
  // --out: report.json is the document stdout printed.
  CHECK(slurp(out_dir + "/report.json") == r.out);
  CHECK(nlohmann::json::parse(slurp(out_dir + "/report.json"))["scenario"] == "sg-change");

  // --junit: one testcase per expectation (3), a failure element for each failed one (3).
  const std::string xml = slurp(junit);
  CHECK(contains(xml, "<?xml"));
  CHECK(contains(xml, "<testsuite"));
  CHECK(contains(xml, "sg-change"));
  CHECK(occurrences(xml, "<testcase") == 3);
  CHECK(occurrences(xml, "<failure") == 3);
  CHECK(contains(xml, "app-to-db traffic is delivered"));
  CHECK(contains(xml, "at most 0 allowed"));

  const Run ok = run({kLbFip, "--quiet", "--junit", junit});
  CHECK(ok.code == 0);
  const std::string passed = slurp(junit);
  CHECK(occurrences(passed, "<testcase") == 3);
  CHECK(occurrences(passed, "<failure") == 0);

  // --db appends: two runs, two rows, with their seeds and outcomes.
  CHECK(query_int(db, "SELECT COUNT(*) FROM runs") == 1);
  const Run again = run({kSgChange, "--quiet", "--seed", "17", "--db", db});
  CHECK(again.code == 1);
  CHECK(query_int(db, "SELECT COUNT(*) FROM runs") == 2);
  CHECK(query_int(db, "SELECT COUNT(*) FROM runs WHERE scenario = 'sg-change'") == 2);
  CHECK(query_int(db, "SELECT seed FROM runs ORDER BY id LIMIT 1") == 3);
  CHECK(query_int(db, "SELECT seed FROM runs ORDER BY id DESC LIMIT 1") == 17);
  CHECK(query_int(db, "SELECT SUM(passed) FROM runs") == 0);
  CHECK(query_int(db, "SELECT COUNT(*) FROM runs WHERE command = 'run'") == 2);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(query_int(db, "SELECT dropped FROM runs ORDER BY id LIMIT 1") ==
        doc["packets"]["dropped"].get<std::int64_t>());
  CHECK(query_int(db, "SELECT COUNT(*) FROM traffic") == 2);

  // Only what was asked for was written. The history is a write-ahead-log database: SQLite
  // keeps its -wal and -shm side files beside it while readers (this test's queries) open it.
  std::vector<std::string> files = dir.files();
  std::erase_if(files, [](const std::string& f) {
    return f == "history.sqlite-wal" || f == "history.sqlite-shm";
  });
  CHECK(files == std::vector<std::string>{"history.sqlite", "junit.xml", "out"});
}

// Boost would wrap a negative number into a huge unsigned seed (`--seed -5` ran with seed
// 18446744073709551611); SPEC section 2: bad arguments are exit 2 with a message.
TEST_CASE("Run CLI: a negative --seed is bad input") {
  const Run r = run({kLbFip, "--quiet", "--seed", "-5"});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "seed"));
}

TEST_CASE("Run CLI: the failover example loses packets only until gw1's routes are withdrawn") {
  const Run r = run({HIVESIM_SOURCE_DIR "/scenarios/failover.yaml", "--format", "json"});
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  // gw1 dies at 10s; its session expires after 2s and the withdrawal reaches agents 2ms later.
  const auto& down = doc["failures"][0];
  const auto& up = doc["failures"][1];
  CHECK(down["event"] == "host_down gw1");
  CHECK(down["packets_lost"].get<std::uint64_t>() > 0);
  const auto recovered = down["recovered_after_ns"].get<std::int64_t>();
  CHECK(recovered >= 2'000'000'000LL);
  CHECK(recovered <= 2'010'000'000LL);
  CHECK(up["packets_lost"] == 0);
  // Every loss is a packet tunnelled to the dead gateway.
  REQUIRE(doc["drops"].size() == 1);
  CHECK(doc["drops"][0]["reason"] == "host_down");
  CHECK(doc["drops"][0]["device"] == "gw1");
  CHECK(doc["drops"][0]["count"] == down["packets_lost"]);
}
