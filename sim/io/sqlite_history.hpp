#pragma once
// Run history in SQLite (`hivesim run|replay|sweep --db FILE`): each run appends one row to `runs`
// and its per-traffic, per-drop, per-LB-member, per-failure, per-expectation and per-host rows
// to child tables, so CI can compare runs over time with plain SQL.
//
// Invariants: an append is one transaction (all rows or none); the schema version lives in
// `PRAGMA user_version` and a database of another version, or a file that is not SQLite, is
// refused untouched; values are bound to prepared statements, never spliced into SQL. The only
// wall-clock value is `runs.recorded_at`, which is not part of the report.
// Cost: one file open and one fsync'd commit per run; a few inserts per report row.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "sim/report/run_report.hpp"

namespace hivesim {

/// The schema version stored in `PRAGMA user_version`; bump it when kRunHistorySchema changes.
inline constexpr int kRunHistoryVersion = 1;

/// The run-history schema (version kRunHistoryVersion), documented in sim/io/SCHEMA.md.
/// Unsigned 64-bit counters and the seed are stored as SQLite's signed 64-bit integers (a seed
/// of 2^63 or more reads back negative, as its two's complement). Times are integer
/// nanoseconds of simulated time. Child rows reference runs(id).
inline constexpr std::string_view kRunHistorySchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  recorded_at TEXT NOT NULL,            -- UTC ISO-8601 wall clock of the append
  command TEXT NOT NULL,                -- 'run', 'replay' or 'sweep' (a sweep's baseline)
  scenario TEXT NOT NULL,               -- the scenario's name
  scenario_file TEXT NOT NULL,          -- the path given on the command line
  seed INTEGER NOT NULL,
  sim_time_ns INTEGER NOT NULL,
  events INTEGER NOT NULL,
  injected INTEGER NOT NULL,
  delivered INTEGER NOT NULL,
  dropped INTEGER NOT NULL,
  consumed INTEGER NOT NULL,
  in_flight INTEGER NOT NULL,
  simulations INTEGER NOT NULL,
  flows_installed INTEGER NOT NULL,
  cache_hits INTEGER NOT NULL,
  cache_misses INTEGER NOT NULL,
  invalidated INTEGER NOT NULL,
  expectations_passed INTEGER NOT NULL,
  expectations_failed INTEGER NOT NULL,
  passed INTEGER NOT NULL               -- 1 when every expectation held, else 0
);
CREATE TABLE IF NOT EXISTS traffic (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name TEXT NOT NULL,
  sent INTEGER NOT NULL,
  delivered INTEGER NOT NULL,
  dropped INTEGER NOT NULL,
  in_flight INTEGER NOT NULL,
  latency_p50_ns INTEGER NOT NULL,
  latency_p99_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS drops (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  reason TEXT NOT NULL,                 -- SPEC section 5 drop reason
  device TEXT NOT NULL,                 -- '' when no device decided
  rule INTEGER,                         -- NULL unless a chain rule decided
  count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS lb_members (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  vip TEXT NOT NULL,
  member TEXT NOT NULL,                 -- 'IP:PORT'
  weight INTEGER NOT NULL,
  connections INTEGER NOT NULL,
  share REAL,                           -- connections / all connections to the VIP
  expected REAL                         -- weight / sum of eligible weights (NULL: undefined)
);
CREATE TABLE IF NOT EXISTS failures (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  at_ns INTEGER NOT NULL,
  event TEXT NOT NULL,
  packets_lost INTEGER NOT NULL,
  recovered_after_ns INTEGER            -- NULL when traffic never recovered
);
CREATE TABLE IF NOT EXISTS expectations (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name TEXT NOT NULL,
  passed INTEGER NOT NULL,              -- 0 or 1
  detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS host_flows (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  host TEXT NOT NULL,
  installed INTEGER NOT NULL,
  peak INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS traffic_run ON traffic(run_id);
CREATE INDEX IF NOT EXISTS drops_run ON drops(run_id);
CREATE INDEX IF NOT EXISTS lb_members_run ON lb_members(run_id);
CREATE INDEX IF NOT EXISTS failures_run ON failures(run_id);
CREATE INDEX IF NOT EXISTS expectations_run ON expectations(run_id);
CREATE INDEX IF NOT EXISTS host_flows_run ON host_flows(run_id);
)sql";

/// Tables of `sweep --db` (SPEC section 7), added to version 1 without changing it: every
/// append creates them when missing, and a hivesim that predates them ignores them. One
/// `sweeps` row per sweep; `sweep_variants` holds the baseline (rank 0) and each variant (rank
/// 1.. in the report's order, worst first); the baseline's whole run is a `runs` row with
/// command 'sweep' that sweeps.baseline_run_id points at (NULL for a merged report).
inline constexpr std::string_view kSweepHistorySchema = R"sql(
CREATE TABLE IF NOT EXISTS sweeps (
  id INTEGER PRIMARY KEY,
  recorded_at TEXT NOT NULL,            -- UTC ISO-8601 wall clock of the append
  scenario TEXT NOT NULL,
  scenario_file TEXT NOT NULL,          -- the path given on the command line ('' after --merge)
  seed INTEGER NOT NULL,
  fail TEXT NOT NULL,                   -- the --fail kinds, 'host,link'
  at_ns INTEGER NOT NULL,               -- when each variant's failure happens
  for_ns INTEGER,                       -- undone after this long; NULL: never
  variants INTEGER NOT NULL,
  variants_failing INTEGER NOT NULL,    -- variants failing an expectation the baseline passes
  baseline_run_id INTEGER REFERENCES runs(id)
);
CREATE TABLE IF NOT EXISTS sweep_variants (
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  rank INTEGER NOT NULL,                -- 0: the baseline; 1, 2, ...: variants, worst first
  name TEXT NOT NULL,                   -- 'baseline', 'host_down gw1'
  packets_lost INTEGER NOT NULL,        -- 0 for the baseline
  delivered_fraction REAL,              -- delivered / sent over all traffic entries
  recovered_after_ns INTEGER,           -- NULL: not recovered (or nothing lost)
  expectations_failed INTEGER NOT NULL,
  newly_failed INTEGER NOT NULL         -- of those, how many the baseline passes
);
CREATE TABLE IF NOT EXISTS sweep_traffic (
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  rank INTEGER NOT NULL,                -- sweep_variants.rank
  name TEXT NOT NULL,
  sent INTEGER NOT NULL,
  delivered INTEGER NOT NULL,
  dropped INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_expectations_failed (
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  rank INTEGER NOT NULL,                -- sweep_variants.rank
  name TEXT NOT NULL,
  new INTEGER NOT NULL                  -- 1 when the baseline passes it
);
CREATE INDEX IF NOT EXISTS sweep_variants_sweep ON sweep_variants(sweep_id);
CREATE INDEX IF NOT EXISTS sweep_traffic_sweep ON sweep_traffic(sweep_id);
CREATE INDEX IF NOT EXISTS sweep_expectations_failed_sweep ON sweep_expectations_failed(sweep_id);
)sql";

/// Appends `report` to the history at `db_path`, creating the file and schema when absent.
/// `scenario_file` is recorded as given; `command` is "run" or "replay". Returns the new
/// runs.id, or an Error naming the file (not SQLite, another schema version, unwritable, ...)
/// with nothing written.
Result<std::int64_t> append_run(const std::string& db_path, const RunReport& report,
                                const std::string& scenario_file, std::string_view command);

/// Appends a complete sweep report (SPEC section 7 JSON) to the history: the rows of
/// kSweepHistorySchema, and `baseline` (may be null) as a run with command 'sweep'. One
/// transaction; returns the new sweeps.id, or an Error with nothing written.
Result<std::int64_t> append_sweep(const std::string& db_path,
                                  const nlohmann::ordered_json& sweep_report,
                                  const RunReport* baseline, const std::string& scenario_file);

}  // namespace hivesim
