#pragma once
// What-if analysis, part 2: `diff BEFORE AFTER` (SPEC section 7): what a change does.
//
// Static part: reach on both scenarios over the union of their default sources (those that
// exist as exterior ports in both), destinations and services, matched by names and
// addresses. Dynamic part: `run` on both with the same seed, compared per traffic entry, drop
// (reason, device, rule), LB member share, failure and expectation, all matched by name.
// Regressions: a connection that got worse, a traffic entry whose delivered fraction fell by
// more than the tolerance, an expectation that held before and fails after; improvements the
// reverse. Only what changed is listed; every list is in a fixed order.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/render/run_report.hpp"
#include "sim/whatif/reach.hpp"

namespace hivesim::whatif {

struct DiffOptions {
  ReachQuery query;                   // explicit --from/--to/--services, else the union of defaults
  std::optional<std::uint64_t> seed;  // default: BEFORE's
  std::optional<SimTime> until;
  bool static_only = false;
  double tolerance = 0.001;
};

struct ReachChange {
  std::string from, to, service;
  Reach before = Reach::kOpen;
  Reach after = Reach::kOpen;
  nlohmann::ordered_json before_drop;  // null when open
  nlohmann::ordered_json after_drop;
  bool regression() const { return after > before; }
};

/// One compared item with its verdict; `kind` names the list it belongs to.
struct DiffItem {
  std::string kind;  // reach, traffic, drop, load_balancer, failure, expectation
  std::string name;
  bool regression = false;
  bool improvement = false;
  std::string detail;
};

struct DiffReport {
  std::string before, after;            // scenario names
  std::string before_file, after_file;  // as given on the command line
  std::uint64_t seed = 0;
  bool dynamic = false;
  std::vector<ReachChange> reach_changed;
  std::uint64_t reach_unchanged = 0;
  nlohmann::ordered_json traffic = nlohmann::ordered_json::array();
  nlohmann::ordered_json drops = nlohmann::ordered_json::array();
  nlohmann::ordered_json load_balancers = nlohmann::ordered_json::array();
  nlohmann::ordered_json failures = nlohmann::ordered_json::array();
  nlohmann::ordered_json expectations = nlohmann::ordered_json::array();
  std::vector<DiffItem> items;  // every compared item, for JUnit and the text report
  std::uint64_t regressions = 0;
  std::uint64_t improvements = 0;
  /// The two runs of the dynamic part (empty when static only), for the HTML page's timelines.
  std::optional<RunReport> before_run, after_run;
};

/// Compares two loaded scenarios. Errors (exit 2): no common source, a bad query, a twin
/// that cannot be built.
Result<DiffReport> diff(const Scenario& before, const Scenario& after, const DiffOptions& options);

/// The dynamic comparison alone, of two run reports (public for tests).
void diff_runs(const RunReport& before, const RunReport& after, double tolerance, DiffReport& out);

nlohmann::ordered_json diff_json(const DiffReport& report);
std::string diff_text(const DiffReport& report);
/// One testsuite, one testcase per compared item, a <failure> for each regression.
std::string diff_junit(const DiffReport& report);

}  // namespace hivesim::whatif
