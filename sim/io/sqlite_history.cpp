#include "sim/io/sqlite_history.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>

namespace hivesim {

namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

/// A prepared statement whose parameters are bound left to right, then run and reset for the
/// next row. The first failing bind is kept and reported by run().
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql) {
    rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  int status() const { return rc_; }

  Statement& text(std::string_view s) {
    return keep(
        sqlite3_bind_text64(stmt_, next_++, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  Statement& i64(std::int64_t v) { return keep(sqlite3_bind_int64(stmt_, next_++, v)); }
  // Counters fit easily; a seed of 2^63 or more is stored as its two's complement.
  Statement& u64(std::uint64_t v) { return i64(static_cast<std::int64_t>(v)); }
  Statement& real(double v) {
    // SQLite would store NaN as NULL anyway; say so explicitly for every non-finite ratio.
    if (!std::isfinite(v)) return null();
    return keep(sqlite3_bind_double(stmt_, next_++, v));
  }
  Statement& null() { return keep(sqlite3_bind_null(stmt_, next_++)); }
  template <class T>
  Statement& maybe(const std::optional<T>& v) {
    return v ? i64(static_cast<std::int64_t>(*v)) : null();
  }

  /// Executes with the bound parameters; SQLITE_OK when the statement completed.
  int run() {
    if (rc_ == SQLITE_OK) {
      const int step = sqlite3_step(stmt_);
      rc_ = step == SQLITE_DONE ? SQLITE_OK : step;
    }
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    next_ = 1;
    return rc_;
  }

  /// Executes a one-row, one-column query; SQLITE_OK with `out` set on success.
  int single_int(std::int64_t& out) {
    if (rc_ != SQLITE_OK) return rc_;
    const int step = sqlite3_step(stmt_);
    if (step == SQLITE_ROW) {
      out = sqlite3_column_int64(stmt_, 0);
      rc_ = SQLITE_OK;
    } else {
      rc_ = step == SQLITE_DONE ? SQLITE_ERROR : step;
    }
    sqlite3_reset(stmt_);
    return rc_;
  }

 private:
  Statement& keep(int rc) {
    if (rc_ == SQLITE_OK) rc_ = rc;
    return *this;
  }

  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
  int next_ = 1;
};

class HistoryWriter {
 public:
  HistoryWriter(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  /// Runs `body` in one write transaction, after checking (or creating) the schema.
  template <class Body>
  Result<std::int64_t> transaction(Body body) {
    // Ask for the write lock before looking at the schema, so that two hivesim processes
    // appending to a new file do not both decide to create it.
    if (int rc = exec("BEGIN IMMEDIATE"); rc != SQLITE_OK) return fail(rc, "cannot start a write");
    Result<std::int64_t> id = Error{""};
    if (Status bad = ensure_schema(); !bad.ok()) {
      id = Error{bad.error()};
    } else {
      id = body();
    }
    if (!id.ok()) {
      exec("ROLLBACK");
      return id;
    }
    if (int rc = exec("COMMIT"); rc != SQLITE_OK) {
      exec("ROLLBACK");
      return fail(rc, "cannot commit the run");
    }
    return id;
  }

  Result<std::int64_t> append(const RunReport& report, const std::string& scenario_file,
                              std::string_view command) {
    return transaction([&] { return write(report, scenario_file, command); });
  }

  Result<std::int64_t> append_sweep(const nlohmann::ordered_json& sweep, const RunReport* baseline,
                                    const std::string& scenario_file) {
    return transaction([&]() -> Result<std::int64_t> {
      std::optional<std::int64_t> baseline_id;
      if (baseline != nullptr) {
        auto id = write(*baseline, scenario_file, "sweep");
        if (!id.ok()) return id;
        baseline_id = *id;
      }
      return write_sweep(sweep, baseline_id, scenario_file);
    });
  }

 private:
  Status ensure_schema() {
    std::int64_t version = 0;
    if (int rc = Statement(db_, "PRAGMA user_version").single_int(version); rc != SQLITE_OK) {
      return fail_status(rc, "cannot read the schema version");
    }
    if (version == 0) {
      std::int64_t objects = 0;
      if (int rc = Statement(db_, "SELECT count(*) FROM sqlite_master").single_int(objects);
          rc != SQLITE_OK) {
        return fail_status(rc, "cannot read the schema");
      }
      if (objects != 0) {
        return Error{path_ + ": not a hivesim run history (an SQLite database with other " +
                     "tables and no schema version)"};
      }
      const std::string schema = std::string(kRunHistorySchema) +
                                 "PRAGMA user_version = " + std::to_string(kRunHistoryVersion) +
                                 ";";
      if (int rc = exec(schema.c_str()); rc != SQLITE_OK) {
        return fail_status(rc, "cannot create the schema");
      }
    } else if (version != kRunHistoryVersion) {
      return Error{path_ + ": run history schema version " + std::to_string(version) +
                   ", but this hivesim reads and writes version " +
                   std::to_string(kRunHistoryVersion)};
    }

    // Tables added to version 1 later (the sweep history): created on the first append of a
    // hivesim that knows them, harmless to one that does not.
    if (int rc = exec(std::string(kSweepHistorySchema).c_str()); rc != SQLITE_OK) {
      return fail_status(rc, "cannot create the sweep tables");
    }
    return {};
  }

  Result<std::int64_t> write(const RunReport& report, const std::string& scenario_file,
                             std::string_view command) {
    const auto failed = static_cast<std::uint64_t>(
        std::count_if(report.expectations.begin(), report.expectations.end(),
                      [](const ExpectationRow& e) { return !e.passed; }));
    const std::uint64_t passed = report.expectations.size() - failed;
    Statement run(db_,
                  "INSERT INTO runs (recorded_at, command, scenario, scenario_file, seed, "
                  "sim_time_ns, events, injected, delivered, dropped, consumed, in_flight, "
                  "simulations, flows_installed, cache_hits, cache_misses, invalidated, "
                  "expectations_passed, expectations_failed, passed) VALUES "
                  "(strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), "
                  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const PacketTotals& p = report.packets;
    const FlowStats& f = report.flows;
    run.text(command)
        .text(report.scenario)
        .text(scenario_file)
        .u64(report.seed)
        .i64(report.sim_time)
        .u64(report.events)
        .u64(p.injected)
        .u64(p.delivered)
        .u64(p.dropped)
        .u64(p.consumed)
        .u64(p.in_flight)
        .u64(f.simulations)
        .u64(f.installed)
        .u64(f.cache_hits)
        .u64(f.cache_misses)
        .u64(f.invalidated)
        .u64(passed)
        .u64(failed)
        .i64(failed == 0 ? 1 : 0);
    if (int rc = run.run(); rc != SQLITE_OK) return fail(rc, "cannot insert the run");
    const std::int64_t id = sqlite3_last_insert_rowid(db_);

    Statement traffic(db_,
                      "INSERT INTO traffic (run_id, name, sent, delivered, dropped, in_flight, "
                      "latency_p50_ns, latency_p99_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    for (const TrafficRow& t : report.traffic) {
      traffic.i64(id)
          .text(t.name)
          .u64(t.sent)
          .u64(t.delivered)
          .u64(t.dropped)
          .u64(t.in_flight)
          .i64(t.latency.p50)
          .i64(t.latency.p99);
      if (int rc = traffic.run(); rc != SQLITE_OK) return fail(rc, "cannot insert traffic rows");
    }

    Statement drops(db_,
                    "INSERT INTO drops (run_id, reason, device, rule, count) "
                    "VALUES (?, ?, ?, ?, ?)");
    for (const DropRow& d : report.drops) {
      drops.i64(id).text(to_string(d.reason)).text(d.device).maybe(d.rule).u64(d.count);
      if (int rc = drops.run(); rc != SQLITE_OK) return fail(rc, "cannot insert drop rows");
    }

    Statement members(db_,
                      "INSERT INTO lb_members (run_id, vip, member, weight, connections, share, "
                      "expected) VALUES (?, ?, ?, ?, ?, ?, ?)");
    for (const LbRow& lb : report.load_balancers) {
      for (const LbMemberRow& m : lb.members) {
        members.i64(id)
            .text(lb.vip)
            .text(m.member)
            .i64(m.weight)
            .u64(m.connections)
            .real(m.share)
            .real(m.expected);
        if (int rc = members.run(); rc != SQLITE_OK) {
          return fail(rc, "cannot insert load-balancer rows");
        }
      }
    }

    Statement failures(db_,
                       "INSERT INTO failures (run_id, at_ns, event, packets_lost, "
                       "recovered_after_ns) VALUES (?, ?, ?, ?, ?)");
    for (const FailureRow& fr : report.failures) {
      failures.i64(id).i64(fr.at).text(fr.event).u64(fr.packets_lost).maybe(fr.recovered_after);
      if (int rc = failures.run(); rc != SQLITE_OK) return fail(rc, "cannot insert failure rows");
    }

    Statement expectations(db_,
                           "INSERT INTO expectations (run_id, name, passed, detail) "
                           "VALUES (?, ?, ?, ?)");
    for (const ExpectationRow& e : report.expectations) {
      expectations.i64(id).text(e.name).i64(e.passed ? 1 : 0).text(e.detail);
      if (int rc = expectations.run(); rc != SQLITE_OK) {
        return fail(rc, "cannot insert expectation rows");
      }
    }

    Statement hosts(db_,
                    "INSERT INTO host_flows (run_id, host, installed, peak) VALUES (?, ?, ?, ?)");
    for (const FlowHostStats& h : report.flows.per_host) {
      hosts.i64(id).text(h.host).u64(h.installed).u64(h.peak);
      if (int rc = hosts.run(); rc != SQLITE_OK) return fail(rc, "cannot insert host flow rows");
    }
    return id;
  }

  /// The sweep's row, one sweep_variants row for the baseline (rank 0) and one per variant
  /// (rank in the report's order), their traffic and failed expectations. Everything comes
  /// from the report document, so the rows are the same whatever ran the variants.
  Result<std::int64_t> write_sweep(const nlohmann::ordered_json& sweep,
                                   std::optional<std::int64_t> baseline_id,
                                   const std::string& scenario_file) {
    try {
      std::set<std::string> baseline_failed;
      for (const auto& n : sweep.at("baseline").at("expectations_failed"))
        baseline_failed.insert(n.get<std::string>());
      auto newly = [&](const nlohmann::ordered_json& row) {
        std::int64_t n = 0;
        for (const auto& e : row.at("expectations_failed"))
          n += baseline_failed.count(e.get<std::string>()) ? 0 : 1;
        return n;
      };
      std::string kinds;
      for (const auto& k : sweep.at("fail"))
        kinds += (kinds.empty() ? "" : ",") + k.get<std::string>();
      std::int64_t failing = 0;
      for (const auto& v : sweep.at("variants"))
        failing += newly(v) > 0 ? 1 : 0;
      Statement head(db_,
                     "INSERT INTO sweeps (recorded_at, scenario, scenario_file, seed, fail, at_ns, "
                     "for_ns, variants, variants_failing, baseline_run_id) VALUES "
                     "(strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      const auto& for_ns = sweep.at("for_ns");
      head.text(sweep.at("scenario").get<std::string>())
          .text(scenario_file)
          .u64(sweep.at("seed").get<std::uint64_t>())
          .text(kinds)
          .i64(sweep.at("at_ns").get<std::int64_t>())
          .maybe(for_ns.is_null() ? std::nullopt
                                  : std::optional<std::int64_t>(for_ns.get<std::int64_t>()))
          .u64(sweep.at("variants").size())
          .i64(failing)
          .maybe(baseline_id);
      if (int rc = head.run(); rc != SQLITE_OK) return fail(rc, "cannot insert the sweep");
      const std::int64_t id = sqlite3_last_insert_rowid(db_);

      Statement variant(db_,
                        "INSERT INTO sweep_variants (sweep_id, rank, name, packets_lost, "
                        "delivered_fraction, recovered_after_ns, expectations_failed, "
                        "newly_failed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
      Statement traffic(db_,
                        "INSERT INTO sweep_traffic (sweep_id, rank, name, sent, delivered, "
                        "dropped) VALUES (?, ?, ?, ?, ?, ?)");
      Statement failed(db_,
                       "INSERT INTO sweep_expectations_failed (sweep_id, rank, name, new) "
                       "VALUES (?, ?, ?, ?)");
      auto add = [&](std::int64_t rank, const nlohmann::ordered_json& row,
                     const std::string& name) -> Status {
        const auto& rec = row.contains("recovered_after_ns") ? row.at("recovered_after_ns")
                                                             : nlohmann::ordered_json(nullptr);
        variant.i64(id)
            .i64(rank)
            .text(name)
            .u64(row.contains("packets_lost") ? row.at("packets_lost").get<std::uint64_t>() : 0)
            .real(row.at("delivered_fraction").get<double>())
            .maybe(rec.is_null() ? std::nullopt
                                 : std::optional<std::int64_t>(rec.get<std::int64_t>()))
            .u64(row.at("expectations_failed").size())
            .i64(rank == 0 ? 0 : newly(row));
        if (int rc = variant.run(); rc != SQLITE_OK) return fail(rc, "cannot insert variants");
        for (const auto& t : row.at("traffic")) {
          traffic.i64(id)
              .i64(rank)
              .text(t.at("name").get<std::string>())
              .u64(t.at("sent").get<std::uint64_t>())
              .u64(t.at("delivered").get<std::uint64_t>())
              .u64(t.at("dropped").get<std::uint64_t>());
          if (int rc = traffic.run(); rc != SQLITE_OK) return fail(rc, "cannot insert traffic");
        }
        for (const auto& e : row.at("expectations_failed")) {
          const std::string n = e.get<std::string>();
          failed.i64(id).i64(rank).text(n).i64(rank != 0 && !baseline_failed.count(n) ? 1 : 0);
          if (int rc = failed.run(); rc != SQLITE_OK) {
            return fail(rc, "cannot insert failed expectations");
          }
        }
        return {};
      };
      if (Status bad = add(0, sweep.at("baseline"), "baseline"); !bad.ok()) {
        return std::move(bad).take_error();
      }
      std::int64_t rank = 0;
      for (const auto& v : sweep.at("variants")) {
        if (Status bad = add(++rank, v, v.at("name").get<std::string>()); !bad.ok()) {
          return std::move(bad).take_error();
        }
      }
      return id;
    } catch (const nlohmann::json::exception& e) {
      return Error{path_ + ": not a sweep report: " + e.what()};
    }
  }

  int exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

  Status fail_status(int rc, std::string_view what) const { return fail(rc, what); }

  Error fail(int rc, std::string_view what) const {
    if ((rc & 0xff) == SQLITE_NOTADB) return Error{path_ + ": not an SQLite database"};
    return Error{path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_)};
  }

  std::string path_;
  sqlite3* db_;
};

template <class Append>
Result<std::int64_t> append_to(const std::string& db_path, Append append) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Db db(raw);  // sqlite3_open_v2 hands back a handle to close even when it fails
  if (rc != SQLITE_OK) {
    return Error{db_path + ": cannot open the run history: " +
                 (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc))};
  }
  // SQLite quietly falls back to read-only when the file is not writable.
  if (sqlite3_db_readonly(db.get(), "main") == 1) {
    return Error{db_path + ": cannot write the run history: the file is read-only"};
  }
  // Wait for a concurrent writer (parallel CI jobs sharing one history) instead of failing.
  sqlite3_busy_timeout(db.get(), 10000);
  if (sqlite3_exec(db.get(), "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Error{db_path + ": " + sqlite3_errmsg(db.get())};
  }
  // Write-ahead log: concurrent runs append one after the other (each in one transaction) while
  // readers keep reading, and a writer killed part-way leaves the history with its run entirely
  // or not at all (the log's uncommitted frames are ignored on the next open). The mode is
  // stored in the file, so this is a no-op after the first append.
  char* mode_error = nullptr;
  if (const int mode_rc =
          sqlite3_exec(db.get(), "PRAGMA journal_mode = WAL", nullptr, nullptr, &mode_error);
      mode_rc != SQLITE_OK) {
    if ((mode_rc & 0xff) == SQLITE_NOTADB) {
      sqlite3_free(mode_error);
      return Error{db_path + ": not an SQLite database"};
    }
    const std::string message = mode_error != nullptr ? mode_error : sqlite3_errmsg(db.get());
    sqlite3_free(mode_error);
    return Error{db_path + ": cannot use a write-ahead log: " + message};
  }
  HistoryWriter writer(db_path, db.get());
  return append(writer);
}

/// True when `path` holds no table (a history this process created and then rolled back).
bool holds_nothing(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return false;
  std::int64_t objects = -1;
  Statement(db.get(), "SELECT count(*) FROM sqlite_master").single_int(objects);
  return objects == 0;
}

/// Runs `append_to`, and removes the file when it created it and the append failed.
template <class Append>
Result<std::int64_t> append_or_clean(const std::string& db_path, Append append) {
  std::error_code ec;
  const bool existed = std::filesystem::exists(db_path, ec);
  Result<std::int64_t> id = append_to(db_path, append);
  // Opening creates the file (and switching to WAL writes its header); a failed first append
  // leaves no table in it, so remove it rather than leave an empty "history" behind.
  if (!id.ok() && !existed && std::filesystem::is_regular_file(db_path, ec) &&
      (std::filesystem::file_size(db_path, ec) == 0 || holds_nothing(db_path))) {
    std::filesystem::remove(db_path, ec);
    std::filesystem::remove(db_path + "-wal", ec);
    std::filesystem::remove(db_path + "-shm", ec);
  }
  return id;
}

}  // namespace

Result<std::int64_t> append_run(const std::string& db_path, const RunReport& report,
                                const std::string& scenario_file, std::string_view command) {
  if (command != "run" && command != "replay") {
    return Error{db_path + ": unknown command '" + std::string(command) +
                 "' for the run history (run or replay)"};
  }
  return append_or_clean(db_path, [&](HistoryWriter& writer) {
    return writer.append(report, scenario_file, command);
  });
}

Result<std::int64_t> append_sweep(const std::string& db_path,
                                  const nlohmann::ordered_json& sweep_report,
                                  const RunReport* baseline, const std::string& scenario_file) {
  return append_or_clean(db_path, [&](HistoryWriter& writer) {
    return writer.append_sweep(sweep_report, baseline, scenario_file);
  });
}

}  // namespace hivesim
