// The SQLite run history: schema creation, appends, NULLs, refusing foreign files and other
// schema versions, and all-or-nothing writes. Every test works in its own temporary folder.

#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "sim/io/sqlite_history.hpp"
#include "tests/support/temp_dir.hpp"

using namespace hivesim;
namespace fs = std::filesystem;

namespace {

using hivesim::testing::TempDir;

/// A read-only view of a history for checks.
class Reader {
 public:
  explicit Reader(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  }
  ~Reader() { sqlite3_close(db_); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  /// The first column of the first row as text; nullopt for NULL.
  std::optional<std::string> value(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    std::optional<std::string> out;
    if (sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }
  std::int64_t count(const std::string& table) {
    return std::stoll(*value("SELECT count(*) FROM " + table));
  }

 private:
  sqlite3* db_ = nullptr;
};

void exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

RunReport sample_report() {
  RunReport r;
  r.scenario = "three-tier";
  r.seed = 7;
  r.sim_time = 30 * kSecond;
  r.events = 123456;
  r.packets = {1000, 900, 80, 15, 5};
  r.flows.simulations = 120;
  r.flows.installed = 118;
  r.flows.cache_hits = 880;
  r.flows.cache_misses = 120;
  r.flows.invalidated = 3;
  r.flows.per_host = {{"hv1", 68, 30}, {"hv2", 50, 20}};
  r.drops = {{DropReason::kRule, "db-in", 2, 12}, {DropReason::kNoRoute, "edge", std::nullopt, 3}};
  LbRow lb;
  lb.vip = "web-vip";
  lb.connections = 3;
  lb.members = {{"10.0.1.10:8080", 1, 1, 1.0 / 3.0, 1.0 / 3.0},
                {"10.0.1.11:8080", 2, 2, 2.0 / 3.0, 2.0 / 3.0}};
  r.load_balancers = {lb};
  r.failures = {{10 * kSecond, "host_down hv2", 12, 1200 * kMillisecond},
                {20 * kSecond, "link_down hv1", 4, std::nullopt}};
  TrafficRow t;
  t.name = "clients";
  t.sent = 500;
  t.delivered = 490;
  t.latency = {120000, 200000, 1000000, 5000000};
  r.traffic = {t};
  r.expectations = {{"web reachable", true, "490/500 delivered"},
                    {"db isolated", false, "3 packets reached db; 'quoted' \"text\""}};
  return r;
}

}  // namespace

TEST_CASE("SqliteHistory: appending twice creates the schema once and two runs") {
  TempDir dir;
  const std::string db = dir.file("history.sqlite");
  const auto first = append_run(db, sample_report(), "scenarios/three-tier.yaml", "run");
  REQUIRE(first.ok());
  RunReport second_report = sample_report();
  second_report.seed = 8;
  second_report.expectations[1].passed = true;
  const auto second = append_run(db, second_report, "scenarios/three-tier.yaml", "replay");
  REQUIRE(second.ok());
  CHECK(*second == *first + 1);

  Reader r(db);
  CHECK(r.value("PRAGMA user_version") == std::to_string(kRunHistoryVersion));
  CHECK(r.count("runs") == 2);
  CHECK(r.count("traffic") == 2);
  CHECK(r.count("drops") == 4);
  CHECK(r.count("lb_members") == 4);
  CHECK(r.count("failures") == 4);
  CHECK(r.count("expectations") == 4);
  CHECK(r.count("host_flows") == 4);

  const std::string run1 = "FROM runs WHERE id = " + std::to_string(*first);
  CHECK(r.value("SELECT command " + run1) == "run");
  CHECK(r.value("SELECT scenario " + run1) == "three-tier");
  CHECK(r.value("SELECT scenario_file " + run1) == "scenarios/three-tier.yaml");
  CHECK(r.value("SELECT seed " + run1) == "7");
  CHECK(r.value("SELECT sim_time_ns " + run1) == "30000000000");
  CHECK(r.value("SELECT injected || ',' || delivered || ',' || dropped || ',' || consumed || "
                "',' || in_flight " +
                run1) == "1000,900,80,15,5");
  CHECK(r.value("SELECT simulations || ',' || flows_installed || ',' || cache_hits || ',' || "
                "cache_misses || ',' || invalidated " +
                run1) == "120,118,880,120,3");
  CHECK(r.value("SELECT expectations_passed || '/' || expectations_failed || '/' || passed " +
                run1) == "1/1/0");
  CHECK(r.value("SELECT passed FROM runs WHERE id = " + std::to_string(*second)) == "1");
  CHECK(r.value("SELECT command FROM runs WHERE id = " + std::to_string(*second)) == "replay");
  // recorded_at is UTC ISO-8601: 2024-01-02T03:04:05Z.
  const auto recorded = r.value("SELECT recorded_at " + run1);
  REQUIRE(recorded);
  CHECK(recorded->size() == 20);
  CHECK(recorded->at(10) == 'T');
  CHECK(recorded->back() == 'Z');

  CHECK(r.value("SELECT latency_p50_ns || '/' || latency_p99_ns FROM traffic WHERE run_id = " +
                std::to_string(*first)) == "120000/1000000");
  CHECK(r.value("SELECT detail FROM expectations WHERE name = 'db isolated' AND run_id = " +
                std::to_string(*first)) == "3 packets reached db; 'quoted' \"text\"");
  CHECK(r.value("SELECT count(*) FROM lb_members WHERE abs(share - 1.0/3.0) < 1e-12") == "2");
  CHECK(r.value("SELECT peak FROM host_flows WHERE host = 'hv2' AND run_id = " +
                std::to_string(*second)) == "20");
  CHECK(r.value("SELECT count(*) FROM pragma_foreign_key_check") == "0");
}

TEST_CASE("SqliteHistory: optional values are stored as NULL") {
  TempDir dir;
  const std::string db = dir.file("h.db");
  REQUIRE(append_run(db, sample_report(), "s.yaml", "run").ok());
  Reader r(db);
  CHECK(r.value("SELECT rule FROM drops WHERE reason = 'no_route'") == std::nullopt);
  CHECK(r.value("SELECT rule FROM drops WHERE reason = 'rule'") == "2");
  CHECK(r.value("SELECT count(*) FROM drops WHERE rule IS NULL") == "1");
  CHECK(r.value("SELECT recovered_after_ns FROM failures WHERE event = 'link_down hv1'") ==
        std::nullopt);
  CHECK(r.value("SELECT recovered_after_ns FROM failures WHERE event = 'host_down hv2'") ==
        "1200000000");
}

TEST_CASE("SqliteHistory: an empty report appends a run without child rows") {
  TempDir dir;
  const std::string db = dir.file("h.db");
  RunReport empty;
  empty.scenario = "empty";
  REQUIRE(append_run(db, empty, "empty.yaml", "run").ok());
  Reader r(db);
  CHECK(r.count("runs") == 1);
  CHECK(r.count("drops") == 0);
  CHECK(r.value("SELECT passed FROM runs") == "1");
}

TEST_CASE("SqliteHistory: a file that is not SQLite is refused untouched") {
  TempDir dir;
  const std::string db = dir.file("notes.txt");
  const std::string garbage = "this is not a database, just some text that is long enough\n";
  {
    std::ofstream out(db, std::ios::binary);
    for (int i = 0; i < 100; ++i)
      out << garbage;
  }
  const auto size = fs::file_size(db);
  const auto result = append_run(db, sample_report(), "s.yaml", "run");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().find(db) != std::string::npos);
  CHECK(result.error().find("not an SQLite database") != std::string::npos);
  CHECK(fs::file_size(db) == size);
}

TEST_CASE("SqliteHistory: another schema version is refused") {
  TempDir dir;
  const std::string db = dir.file("h.db");
  exec(db, "CREATE TABLE runs (id INTEGER PRIMARY KEY); PRAGMA user_version = 2;");
  const auto result = append_run(db, sample_report(), "s.yaml", "run");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().find(db) != std::string::npos);
  CHECK(result.error().find("version 2") != std::string::npos);
  Reader r(db);
  CHECK(r.count("runs") == 0);
  CHECK(r.value("PRAGMA user_version") == "2");
}

TEST_CASE("SqliteHistory: another application's database is refused") {
  TempDir dir;
  const std::string db = dir.file("other.db");
  exec(db, "CREATE TABLE notes (text TEXT);");
  const auto result = append_run(db, sample_report(), "s.yaml", "run");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().find("not a hivesim run history") != std::string::npos);
  Reader r(db);
  CHECK(r.value("SELECT count(*) FROM sqlite_master WHERE name = 'runs'") == "0");
}

TEST_CASE("SqliteHistory: an unwritable path is an error naming the file") {
  TempDir dir;
  // A regular file used as a folder: no user, not even root, can create a file under it.
  const std::string blocker = dir.file("blocker");
  std::ofstream(blocker) << "x";
  const std::string db = blocker + "/history.db";
  const auto result = append_run(db, sample_report(), "s.yaml", "run");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().find(db) != std::string::npos);

  const auto missing = append_run(dir.file("no/such/dir/h.db"), sample_report(), "s.yaml", "run");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().find("no/such/dir/h.db") != std::string::npos);
}

TEST_CASE("SqliteHistory: a read-only file is an error and stays unchanged") {
  if (::geteuid() == 0) {
    WARN("skipped: root can write read-only files");
    return;
  }
  TempDir dir;
  const std::string db = dir.file("h.db");
  REQUIRE(append_run(db, sample_report(), "s.yaml", "run").ok());
  fs::permissions(db, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const auto result = append_run(db, sample_report(), "s.yaml", "run");
  CHECK_FALSE(result.ok());
  CHECK(result.error().find(db) != std::string::npos);
  fs::permissions(db, fs::perms::owner_all);
  Reader r(db);
  CHECK(r.count("runs") == 1);
}

TEST_CASE("SqliteHistory: a failing insert leaves nothing half-written") {
  TempDir dir;
  const std::string db = dir.file("h.db");
  REQUIRE(append_run(db, sample_report(), "s.yaml", "run").ok());
  // Make the last child table reject rows, after the run and most child rows went in.
  exec(db,
       "CREATE TRIGGER no_hosts BEFORE INSERT ON host_flows "
       "BEGIN SELECT RAISE(ABORT, 'host_flows is closed'); END;");
  const auto result = append_run(db, sample_report(), "s.yaml", "run");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().find("host_flows is closed") != std::string::npos);
  Reader r(db);
  CHECK(r.count("runs") == 1);
  CHECK(r.count("traffic") == 1);
  CHECK(r.count("drops") == 2);
  CHECK(r.count("expectations") == 2);
}

TEST_CASE("SqliteHistory: an unknown command is refused before the file is created") {
  TempDir dir;
  const std::string db = dir.file("h.db");
  const auto result = append_run(db, sample_report(), "s.yaml", "bogus");
  REQUIRE_FALSE(result.ok());
  CHECK_FALSE(fs::exists(db));
}

namespace {

nlohmann::ordered_json sample_sweep() {
  using Json = nlohmann::ordered_json;
  auto row = [](std::uint64_t lost, std::vector<std::string> failed) {
    return Json{{"packets_lost", lost},
                {"delivered_fraction", 0.5},
                {"recovered_after_ns", lost ? Json(7) : Json(nullptr)},
                {"traffic",
                 Json::array({Json{{"name", "t"}, {"sent", 4}, {"delivered", 2}, {"dropped", 2}}})},
                {"expectations_failed", failed}};
  };
  Json doc{{"scenario", "s"},
           {"seed", 1},
           {"fail", {"host", "port"}},
           {"at_ns", 5},
           {"for_ns", nullptr}};
  doc["baseline"] = row(0, {"old"});
  doc["baseline"].erase("packets_lost");
  doc["baseline"].erase("recovered_after_ns");
  Json a = row(9, {"old", "new"});
  a["name"] = "host_down a";
  Json b = row(3, {"old"});
  b["name"] = "port_down b";
  doc["variants"] = {a, b};
  return doc;
}

}  // namespace

TEST_CASE("SqliteHistory: a sweep appends its rows, the baseline run tied to it") {
  TempDir dir;
  const std::string db = dir.file("h.db");
  const RunReport baseline = sample_report();
  const auto id = append_sweep(db, sample_sweep(), &baseline, "s.yaml");
  REQUIRE(id.ok());
  Reader r(db);
  CHECK(r.count("sweeps") == 1);
  CHECK(r.count("sweep_variants") == 3);
  CHECK(r.count("sweep_traffic") == 3);
  CHECK(r.count("sweep_expectations_failed") == 4);
  CHECK(*r.value("SELECT fail || ' ' || variants || ' ' || variants_failing FROM sweeps") ==
        "host,port 2 1");
  CHECK(*r.value("SELECT group_concat(rank || ':' || name || ':' || newly_failed, ' ') FROM "
                 "(SELECT * FROM sweep_variants ORDER BY rank)") ==
        "0:baseline:0 1:host_down a:1 2:port_down b:0");
  CHECK(*r.value("SELECT name FROM sweep_expectations_failed WHERE new = 1") == "new");
  CHECK(*r.value("SELECT r.command FROM runs r JOIN sweeps s ON s.baseline_run_id = r.id") ==
        "sweep");
  CHECK_FALSE(r.value("SELECT for_ns FROM sweeps").has_value());
}

TEST_CASE("SqliteHistory: a malformed sweep report writes nothing") {
  TempDir dir;
  const std::string db = dir.file("h.db");
  auto doc = sample_sweep();
  doc["variants"][1].erase("traffic");  // the second variant fails after the first went in
  const auto id = append_sweep(db, doc, nullptr, "s.yaml");
  REQUIRE_FALSE(id.ok());
  CHECK(id.error().find("not a sweep report") != std::string::npos);
  CHECK_FALSE(fs::exists(db));
  // Into an existing history: rolled back whole.
  REQUIRE(append_run(db, sample_report(), "s.yaml", "run").ok());
  const RunReport baseline = sample_report();
  REQUIRE_FALSE(append_sweep(db, doc, &baseline, "s.yaml").ok());
  Reader r(db);
  CHECK(r.count("runs") == 1);
  CHECK(r.count("sweeps") == 0);
  CHECK(r.count("sweep_variants") == 0);
}
