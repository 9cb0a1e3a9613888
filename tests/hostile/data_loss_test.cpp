// No data lost (SPEC section 10): concurrent `run --db` appends all land, a run killed with
// SIGKILL leaves the history intact with that run entirely or not at all, and output files are
// complete or absent (sim/io/atomic_file).

#include <catch2/catch.hpp>

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sim/io/atomic_file.hpp"
#include "tests/hostile/child_process.hpp"

namespace fs = std::filesystem;
using hivesim::testing::run;
using hivesim::testing::slurp;
using hivesim::testing::spawn_hivesim;
using hivesim::testing::TempDir;

namespace {

/// One integer from a query on the history (opened read-only, as another process would).
std::int64_t query(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  const std::int64_t v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return v;
}

std::string integrity(const std::string& db_path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  std::string v = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return v;
}

/// A scenario whose report has many rows (300 traffic sources, 300 expectations): a history
/// append that takes long enough for a kill to land in it.
std::string wide_scenario(const TempDir& dir) {
  std::string y = slurp(HIVESIM_TEST_DATA "/hostile/demo.yaml");
  y = y.substr(0, y.find("expect:"));
  y += "traffic:\n";
  for (int i = 0; i < 300; ++i) {
    y += "  - {name: t" + std::to_string(i) +
         ", from: vm1, packet: \"udp dst=10.0.1.20 dport=" + std::to_string(1000 + i) +
         "\", flows: 2, rate: 100/s}\n";
  }
  y += "expect:\n";
  for (int i = 0; i < 300; ++i) {
    y += "  - {traffic: t" + std::to_string(i) + ", min_delivered: 0.5}\n";
  }
  return dir.write("wide.yaml", y);
}

const char* kRowsOfRun =
    "SELECT (SELECT count(*) FROM traffic WHERE run_id = r.id) + "
    "(SELECT count(*) FROM expectations WHERE run_id = r.id) FROM runs r WHERE r.id = ";

}  // namespace

TEST_CASE("concurrent runs appending to one --db all land") {
  TempDir dir;
  const std::string db = dir.file("history.db");
  const std::string scenario = wide_scenario(dir);
  constexpr int kRuns = 4;
  std::vector<pid_t> pids;
  for (int i = 0; i < kRuns; ++i) {
    pids.push_back(
        spawn_hivesim({"run", scenario, "--quiet", "--seed", std::to_string(i + 1), "--db", db},
                      dir.file("out" + std::to_string(i)), dir.file("err" + std::to_string(i))));
  }
  for (int i = 0; i < kRuns; ++i) {
    int status = 0;
    REQUIRE(::waitpid(pids[i], &status, 0) == pids[i]);
    INFO(slurp(dir.file("err" + std::to_string(i))));
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  CHECK(query(db, "SELECT count(*) FROM runs") == kRuns);
  CHECK(query(db, "SELECT count(DISTINCT seed) FROM runs") == kRuns);
  for (int id = 1; id <= kRuns; ++id) {
    CHECK(query(db, kRowsOfRun + std::to_string(id)) == 600);
  }
  CHECK(integrity(db) == "ok");
}

TEST_CASE("a run killed with SIGKILL leaves the history intact, its run whole or absent") {
  TempDir dir;
  const std::string db = dir.file("history.db");
  const std::string scenario = wide_scenario(dir);
  // A first, complete run: the history exists, and the time a whole run takes.
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(run(dir, {"run", scenario, "--quiet", "--db", db}).code == 0);
  const auto whole = std::chrono::steady_clock::now() - start;
  REQUIRE(query(db, "SELECT count(*) FROM runs") == 1);

  std::mt19937 random(20);  // fixed: the same kill points on every run of the test
  std::uniform_real_distribution<double> when(0.05, 0.9);
  std::int64_t runs = 1;
  int killed = 0;
  for (int attempt = 0; attempt < 12; ++attempt) {
    const pid_t pid =
        spawn_hivesim({"run", scenario, "--quiet", "--db", db}, dir.file("out"), dir.file("err"));
    std::this_thread::sleep_for(
        std::chrono::duration_cast<std::chrono::microseconds>(whole * when(random)));
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    killed += WIFSIGNALED(status) ? 1 : 0;
    INFO("attempt " << attempt);
    REQUIRE(integrity(db) == "ok");
    const std::int64_t now = query(db, "SELECT count(*) FROM runs");
    CHECK((now == runs || now == runs + 1));
    runs = now;
    // Every run in the history is whole: all its child rows are there.
    for (std::int64_t id = 1; id <= runs; ++id) {
      const std::int64_t exists =
          query(db, "SELECT count(*) FROM runs WHERE id = " + std::to_string(id));
      if (exists == 1) CHECK(query(db, kRowsOfRun + std::to_string(id)) == 600);
    }
  }
  WARN("killed " << killed << " of 12 runs; " << runs - 1 << " completed before the kill");
  CHECK(killed > 0);
}

TEST_CASE("write_file_atomically: complete or absent, never a temporary left behind") {
  TempDir dir;
  const std::string path = dir.file("report.json");
  REQUIRE(hivesim::write_file_atomically(path, "first\n").ok());
  CHECK(slurp(path) == "first\n");
  REQUIRE(hivesim::write_file_atomically(path, std::string(1 << 20, 'x')).ok());
  CHECK(slurp(path).size() == std::size_t{1} << 20);
  // A folder that does not exist: an error naming the file, and nothing created.
  const auto e = hivesim::write_file_atomically(dir.file("no/such/report.json"), "x");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().find("no/such/report.json") != std::string::npos);
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    (void)entry;
    ++entries;
  }
  CHECK(entries == 1);  // report.json only: no temporary file left
}

TEST_CASE("a run killed while writing --out leaves report.json complete or absent") {
  TempDir dir;
  const std::string scenario = wide_scenario(dir);
  const std::string out = dir.file("out");
  std::mt19937 random(7);
  std::uniform_int_distribution<int> ms(50, 1500);
  for (int attempt = 0; attempt < 6; ++attempt) {
    fs::remove_all(out);
    const pid_t pid = spawn_hivesim({"run", scenario, "--quiet", "--out", out, "--format", "json"},
                                    dir.file("stdout"), dir.file("stderr"));
    std::this_thread::sleep_for(std::chrono::milliseconds(ms(random)));
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    if (fs::exists(out + "/report.json")) {
      const std::string text = slurp(out + "/report.json");
      CHECK(text.rfind("{", 0) == 0);
      CHECK(text.size() > 2);
      CHECK(text.substr(text.size() - 2) == "}\n");
    }
  }
}
