#pragma once
// What-if analysis, part 3: `sweep SCENARIO --fail KIND,...` (SPEC section 7): the scenario
// run once as a baseline and once per failure variant, variants ranked by what they cost.
//
// Invariants and cost:
//  - the scenario is loaded and checked once; a variant is a copy of the loaded model with one
//    failure (and its undo, with --for) appended, and builds its own Twin: no re-parsing, so a
//    variant costs what its run costs;
//  - variants are numbered in a fixed order (kinds in SPEC order host, agent, link, member,
//    nsdb, port; targets in scenario order), so shards agree on who runs what (variant i
//    belongs to shard i mod N); MPI ranks take variants one at a time as they finish, like
//    local workers, and send rank 0 each result with its index;
//  - each Twin is single-threaded and deterministic; workers share nothing but the read-only
//    scenario, and results are put in variant order, so the report is byte-identical for
//    any number of jobs, shards or ranks;
//  - a partial report carries a digest of its own content: a merge refuses parts that were
//    edited, truncated, or come from another scenario, seed, question or shard count.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "sim/render/run_report.hpp"
#include "topology/model.hpp"

namespace hivesim::whatif {

enum class FailKind : std::uint8_t { kHost, kAgent, kLink, kMember, kNsdb, kPort };

/// "host,link" -> kinds in SPEC order without duplicates; an unknown kind is an error naming
/// it and the valid ones.
Result<std::vector<FailKind>> parse_fail_kinds(std::string_view list);

struct Shard {
  std::uint32_t index = 1;  // K, 1-based
  std::uint32_t count = 1;  // N
};
/// "K/N" with 1 <= K <= N.
Result<Shard> parse_shard(std::string_view text);

struct SweepQuestion {
  std::vector<FailKind> kinds;
  std::optional<SimTime> at;    // default: a third of the duration
  std::optional<SimTime> for_;  // default: never undone
};

/// One failure variant: its name ("host_down gw1") and the failures it adds.
struct Variant {
  std::string name;
  std::vector<Failure> failures;
};

struct VariantResult {
  std::uint32_t index = 0;
  std::string name;
  std::uint64_t packets_lost = 0;
  double delivered_fraction = 1.0;
  std::optional<SimTime> recovered_after;
  nlohmann::ordered_json traffic = nlohmann::ordered_json::array();
  std::vector<std::string> expectations_failed;
  /// Not in the JSON report: the run's timeline, for the HTML page (SPEC section 9).
  Timeline timeline;
  SimTime sim_time = 0;
};

/// The baseline's run and the variants it implies.
struct SweepPlan {
  RunReport baseline;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> tunnel_pairs;  // hosts, sorted
  std::vector<Variant> variants;
  SimTime at = 0;
  std::optional<SimTime> for_;
};

/// Runs the baseline and lists the variants. Errors: a twin that cannot be built.
Result<SweepPlan> plan_sweep(const Scenario& scenario, const SweepQuestion& question);

/// Runs variant `index` of `plan` on a copy of `scenario`.
Result<VariantResult> run_variant(const Scenario& scenario, const SweepPlan& plan,
                                  std::uint32_t index);

/// Where a worker takes its next variant: its index, or nullopt when none is left. Called by
/// every worker thread without a lock (it must be thread-safe): an atomic counter for local
/// workers, a counter shared by every rank under MPI (sim/cli/sweep_mpi.hpp).
using NextVariant = std::function<std::optional<std::uint32_t>()>;

/// Runs the variants `next` hands out on up to `jobs` threads, each worker taking the next one
/// when it finishes its last; `done` is called under a lock after each variant with the count
/// finished here. Results come back sorted by variant index; the first error by index wins.
Result<std::vector<VariantResult>> run_claimed(const Scenario& scenario, const SweepPlan& plan,
                                               unsigned jobs, const NextVariant& next,
                                               const std::function<void(std::size_t)>& done);

/// Runs `indices` (ascending) on `jobs` threads, as run_claimed.
Result<std::vector<VariantResult>> run_variants(const Scenario& scenario, const SweepPlan& plan,
                                                const std::vector<std::uint32_t>& indices,
                                                unsigned jobs,
                                                const std::function<void(std::size_t)>& done);

/// The variant indices of a shard (i mod N == K-1).
std::vector<std::uint32_t> shard_indices(std::size_t total, Shard shard);

/// The complete report (SPEC 7) from every variant's result (any order).
nlohmann::ordered_json sweep_json(const Scenario& scenario, const SweepQuestion& question,
                                  const SweepPlan& plan, std::vector<VariantResult> results);
/// A partial report: the shard's results plus what a merge checks, and a digest.
nlohmann::ordered_json partial_json(const Scenario& scenario, const SweepQuestion& question,
                                    const SweepPlan& plan, Shard shard,
                                    const std::vector<VariantResult>& results);
/// What a rank sends rank 0 under MPI, where variants are handed out as ranks finish rather
/// than by shard: its results (each variant's index and report entry) as JSON text.
std::string variant_rows(const std::vector<VariantResult>& results);
/// The complete report from every rank's variant_rows; an error (a bug, not bad input) when a
/// variant is missing or came back twice.
Result<nlohmann::ordered_json> sweep_json_from_rows(const Scenario& scenario,
                                                    const SweepQuestion& question,
                                                    const SweepPlan& plan,
                                                    const std::vector<std::string>& rows);
/// Joins partial reports (their text) into the complete report; an error names the part that
/// does not fit (bad JSON, bad digest, other scenario/seed/question/shard count, a shard
/// missing or given twice, a variant missing).
Result<nlohmann::ordered_json> merge_partials(const std::vector<std::string>& names,
                                              const std::vector<std::string>& texts);

/// Exit status of a report: 1 when a variant fails an expectation the baseline passes.
bool sweep_regressed(const nlohmann::ordered_json& report);
/// The ranking as text.
std::string sweep_text(const nlohmann::ordered_json& report);

}  // namespace hivesim::whatif
