#pragma once
// hivesim::html, what-if pages: the self-contained HTML pages of `diff --html FILE` and
// `sweep --html FILE` (SPEC sections 2, 7 and 9), built from the same sections as the run page
// (html_report.hpp: stylesheet, cards, timeline charts, escaping).
//
// - diff: the verdict first (regressions, improvements, what the exit code means), then the
//   reachability changes with the deciding drop and its FILE:LINE, the dynamic part (traffic,
//   drops, LB shares, failures, expectations that changed; each traffic's AFTER timeline with
//   BEFORE's deliveries drawn over it), and AFTER's topology with the devices that decided a
//   changed connection marked.
// - sweep: the verdict, the baseline, the variants ranked as in the JSON report (a bar of
//   packets lost and of the delivered fraction each), and the timelines of the worst variants
//   with the baseline's deliveries drawn over them.
// Invariants: as the run page (one file, no script, no fetch, every text escaped,
// deterministic: the same report gives the same bytes). Cost: linear in the report.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/graph/graph.hpp"
#include "sim/render/run_report.hpp"
#include "sim/whatif/diff.hpp"

namespace hivesim::html {

/// The diff page. `after_graph` is AFTER's placed topology (or null: no picture), marked by
/// mark_changed_devices() when wanted.
std::string diff_page(const whatif::DiffReport& report, const graph::Graph* after_graph);

/// Marks on `graph` the devices (port, bridge, router; a chain or security group through the
/// port or device it filters) that decided a changed connection: `dropped` (red) for a
/// regression's deciding drop in AFTER, `highlighted` (blue) for an improvement's in BEFORE.
/// Returns how many nodes were marked.
std::size_t mark_changed_devices(graph::Graph& graph, const Topology& after_topo,
                                 const whatif::DiffReport& report);

/// A variant's run as the sweep page draws it.
struct VariantTimeline {
  std::string name;
  Timeline timeline;
  SimTime sim_time = 0;
};

/// What the sweep page draws besides the JSON report: the baseline's timeline and the worst
/// variants' (in rank order). Without it (e.g. a merged report) the page says so.
struct SweepTimelines {
  Timeline baseline;
  SimTime baseline_time = 0;
  std::vector<VariantTimeline> worst;
};

/// The names of the variants whose timelines the page shows: the first `n` in rank order that
/// lost packets or fail an expectation the baseline passes.
std::vector<std::string> worst_variants(const nlohmann::ordered_json& sweep_report,
                                        std::size_t n = 3);

/// The sweep page of a complete (or merged) SPEC section 7 sweep report.
std::string sweep_page(const nlohmann::ordered_json& sweep_report, const SweepTimelines* timelines);

}  // namespace hivesim::html
