// `diff --html`, `sweep --html` and `sweep --db` from the command line (SPEC sections 2, 7 and
// 9): the pages say what the reports say, a bad path writes nothing, the history holds the
// sweep whatever the number of workers, and a shard (a part) is refused.

#include <sqlite3.h>

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

using hivesim::testing::call;
using hivesim::testing::read;
using hivesim::testing::Run;

std::size_t count_of(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1))
    ++n;
  return n;
}

/// Every row of `sql`, columns joined by '|', rows by '\n'.
std::string rows(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::string text;
  auto add = [](void* out, int n, char** values, char**) {
    auto& t = *static_cast<std::string*>(out);
    for (int i = 0; i < n; ++i)
      t += std::string(i ? "|" : "") + (values[i] ? values[i] : "NULL");
    t += "\n";
    return 0;
  };
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), add, &text, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  INFO(message);
  REQUIRE(rc == SQLITE_OK);
  return text;
}

/// The sweep part of a history, without the wall-clock column.
std::string sweep_rows(const std::string& db) {
  return rows(db,
              "SELECT scenario, seed, fail, at_ns, for_ns, variants, variants_failing, "
              "baseline_run_id IS NOT NULL FROM sweeps ORDER BY id") +
         rows(db, "SELECT * FROM sweep_variants ORDER BY sweep_id, rank") +
         rows(db, "SELECT * FROM sweep_traffic ORDER BY sweep_id, rank, name") +
         rows(db, "SELECT * FROM sweep_expectations_failed ORDER BY sweep_id, rank, name");
}

}  // namespace

TEST_CASE("diff --html: the verdict, the changed connection with its FILE:LINE, AFTER's picture") {
  TempDir dir;
  const std::string page = dir.file("diff.html");
  const Run r = call(hivesim::cli::diff_command, {kBefore, kAfter, "--html", page});
  REQUIRE(r.code == 1);
  const std::string html = read(page);
  REQUIRE(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));
  // The verdict comes before the details and says what the exit code means.
  const auto verdict = html.find("<section id=\"verdict\"");
  REQUIRE(verdict != std::string::npos);
  CHECK(verdict < html.find("<section id=\"reach\""));
  CHECK(html.find("4 regressions</span>") != std::string::npos);
  CHECK(html.find("exit 1</span>") != std::string::npos);
  // app1 -> db on 5432 went from open to blocked at db1's security group, written at line 53.
  CHECK(html.find("after: forward rule at sg-ingress:db1 rule 2 <code class=\"src\">") !=
        std::string::npos);
  CHECK(html.find("after.yaml:53</code>") != std::string::npos);
  // One chart per traffic entry with BEFORE drawn over it, and db1 marked on the picture.
  CHECK(count_of(html, "<polyline class=\"reference\"") == 2);
  CHECK(html.find("id=\"topology-svg\"") != std::string::npos);
  CHECK(count_of(html, "fill=\"#fee2e2\"") >= 1);

  // No change: exit 0 and a page that says so.
  const Run same = call(hivesim::cli::diff_command,
                        {kBefore, kBefore, "--static-only", "--html", dir.file("same.html")});
  CHECK(same.code == 0);
  CHECK(read(dir.file("same.html")).find("no regression</span>") != std::string::npos);
}

TEST_CASE("diff --html: a bad path is exit 2 and nothing is written") {
  TempDir dir;
  const Run r = call(hivesim::cli::diff_command,
                     {kBefore, kAfter, "--static-only", "--junit", dir.file("diff.xml"), "--out",
                      dir.file("out"), "--html", dir.file("no/such/folder/diff.html")});
  CHECK(r.code == 2);
  CHECK(r.err.find("--html") != std::string::npos);
  CHECK(r.out.empty());
  CHECK_FALSE(std::filesystem::exists(dir.file("diff.xml")));
  CHECK_FALSE(std::filesystem::exists(dir.file("out/report.json")));
}

TEST_CASE("sweep --html: the ranking of the JSON report, the worst variants' timelines") {
  TempDir dir;
  const Run r =
      call(hivesim::cli::sweep_command, {kBefore, "--fail", "host,nsdb", "--quiet", "--format",
                                         "json", "--html", dir.file("sweep.html"), "--jobs", "2"});
  REQUIRE(r.code == 1);
  const auto doc = nlohmann::json::parse(r.out);
  const std::string html = read(dir.file("sweep.html"));
  CHECK(html.find("<script") == std::string::npos);
  // Every variant, in the report's order.
  std::size_t at = 0;
  for (const auto& v : doc["variants"]) {
    const auto found = html.find("<code>" + v["name"].get<std::string>() + "</code></td>", at);
    INFO(v["name"]);
    REQUIRE(found != std::string::npos);
    at = found;
  }
  // host_down hv1 loses the most: its bar is full; the three hosts lose packets, the NSDB
  // replicas none, so three variants are drawn against the baseline.
  CHECK(doc["variants"][0]["name"] == "host_down hv1");
  CHECK(html.find("class=\"fill bad\" style=\"width:100.00%\"") != std::string::npos);
  CHECK(count_of(html, "<h3><code>host_down") == 3);
  CHECK(html.find("<h3><code>nsdb_down") == std::string::npos);
  CHECK(count_of(html, "<polyline class=\"reference\"") == 6);  // 3 variants x 2 traffic

  // A bad path: exit 2, no page, and the --out report is taken back.
  const Run bad =
      call(hivesim::cli::sweep_command, {kBefore, "--fail", "nsdb", "--quiet", "--out",
                                         dir.file("o"), "--html", dir.file("missing/sweep.html")});
  CHECK(bad.code == 2);
  CHECK_FALSE(std::filesystem::exists(dir.file("o/report.json")));
  // A shard is a part: its page would show half a sweep.
  const Run shard = call(hivesim::cli::sweep_command, {kBefore, "--fail", "nsdb", "--shard", "1/2",
                                                       "--html", dir.file("s.html")});
  CHECK(shard.code == 2);
  CHECK(shard.err.find("--merge") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.file("s.html")));
}

TEST_CASE("sweep --db: one sweep, the baseline and every variant; the same rows for any jobs") {
  TempDir dir;
  const std::vector<std::string> base{kBefore, "--fail", "host,link,nsdb", "--quiet"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return call(hivesim::cli::sweep_command, args);
  };
  const Run one = with({"--jobs", "1", "--db", dir.file("one.db"), "--format", "json"});
  REQUIRE(one.code == 1);
  REQUIRE(with({"--jobs", "2", "--db", dir.file("two.db")}).code == 1);
  const auto doc = nlohmann::json::parse(one.out);
  const std::string db = dir.file("one.db");
  CHECK(sweep_rows(db) == sweep_rows(dir.file("two.db")));
  CHECK(rows(db, "SELECT count(*) FROM sweeps") == "1\n");
  CHECK(rows(db, "SELECT count(*) FROM sweep_variants") ==
        std::to_string(doc["variants"].size() + 1) + "\n");
  // Rank 1 is the report's first (worst) variant; rank 0 the baseline.
  CHECK(rows(db, "SELECT name, packets_lost FROM sweep_variants WHERE rank = 1") ==
        doc["variants"][0]["name"].get<std::string>() + "|" +
            std::to_string(doc["variants"][0]["packets_lost"].get<std::uint64_t>()) + "\n");
  CHECK(rows(db, "SELECT name, packets_lost FROM sweep_variants WHERE rank = 0") == "baseline|0\n");
  // The baseline's whole run, tied to the sweep.
  CHECK(rows(db,
             "SELECT r.command, r.scenario FROM sweeps s JOIN runs r ON "
             "r.id = s.baseline_run_id") == "sweep|shop\n");
  CHECK(rows(db,
             "SELECT count(*) FROM traffic t JOIN sweeps s ON t.run_id = "
             "s.baseline_run_id") == "2\n");
  // A second sweep appends; variants_failing counts the variants that break an expectation.
  REQUIRE(with({"--db", db}).code == 1);
  CHECK(rows(db, "SELECT count(*), min(variants_failing) > 0 FROM sweeps") == "2|1\n");

  // A run history made by `run --db` takes sweeps too (the tables are added).
  REQUIRE(call(hivesim::cli::run_command, {kBefore, "--quiet", "--db", dir.file("runs.db")}).code ==
          0);
  REQUIRE(with({"--db", dir.file("runs.db")}).code == 1);
  CHECK(rows(dir.file("runs.db"), "SELECT command FROM runs ORDER BY id") == "run\nsweep\n");

  // A shard is refused before anything runs; the merge records the whole sweep (no baseline
  // run: partial reports carry its summary only).
  const Run shard = with({"--shard", "1/2", "--db", dir.file("shard.db")});
  CHECK(shard.code == 2);
  CHECK(shard.err.find("--merge") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.file("shard.db")));
  for (const char* k : {"1/2", "2/2"})
    REQUIRE(with({"--shard", k, "--out", dir.file("parts")}).code <= 1);
  const Run merged =
      call(hivesim::cli::sweep_command,
           {"--merge", dir.file("parts/partial-1-of-2.json"), dir.file("parts/partial-2-of-2.json"),
            "--db", dir.file("merged.db"), "--html", dir.file("merged.html")});
  CHECK(merged.code == 1);
  CHECK(rows(dir.file("merged.db"), "SELECT * FROM sweep_variants ORDER BY rank") ==
        rows(db, "SELECT * FROM sweep_variants WHERE sweep_id = 1 ORDER BY rank"));
  CHECK(rows(dir.file("merged.db"), "SELECT baseline_run_id FROM sweeps") == "NULL\n");
  CHECK(read(dir.file("merged.html")).find("partial reports do not carry them") !=
        std::string::npos);

  // Not a history: exit 2, the file untouched, and --out taken back.
  const std::string junk = dir.write("junk.db", "not a database at all, just text\n");
  const Run bad = with({"--db", junk, "--out", dir.file("o2")});
  CHECK(bad.code == 2);
  CHECK(read(junk) == "not a database at all, just text\n");
  CHECK_FALSE(std::filesystem::exists(dir.file("o2/report.json")));
}
