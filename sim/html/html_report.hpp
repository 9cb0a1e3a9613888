#pragma once
// hivesim::html: the self-contained HTML page of a run (`run`/`replay --html FILE`, SPEC
// sections 2 and 9): the topology picture, the timeline with the failures marked, load-balancer
// shares against expected, drops with their rule, expectations.
//
// Invariants: one page with everything inline (CSS, SVG; no script, no network fetch, no other
// file), deterministic (the same report gives the same bytes), every text HTML-escaped. The
// pieces are separate functions so that other pages (diff, sweep) can reuse them.
// Cost: linear in the report's size (series x buckets, drops, members).

#include <string>
#include <string_view>

#include "sim/graph/graph.hpp"
#include "sim/render/run_report.hpp"
#include "topology/model.hpp"

namespace hivesim::html {

/// Text for an HTML page or attribute (double-quoted): xml_escape() of element text.
std::string escape(std::string_view text);

/// A whole page: doctype, title, the shared stylesheet, `body` as given.
std::string page(std::string_view title, std::string_view body);

/// The timeline as one small SVG chart per traffic series: delivered per bucket (area) and
/// dropped (red bars), with the failure events as labelled vertical lines.
std::string timeline_section(const Timeline& timeline, SimTime sim_time);

/// Per VIP: each member's share as a bar, with its expected share marked.
std::string load_balancer_section(const std::vector<LbRow>& rows);

/// Drops by reason, device and rule; `topo` (may be null) supplies the rule's text.
std::string drops_section(const std::vector<DropRow>& drops, const Topology* topo);

/// Expectations, passed and failed, with their detail.
std::string expectations_section(const std::vector<ExpectationRow>& rows);

/// Failure events with packets lost and recovery time.
std::string failures_section(const std::vector<FailureRow>& rows);

/// The page of a run or replay report; `topology` is the placed graph to draw (or null).
std::string run_report_page(const RunReport& report, const graph::Graph* topology,
                            const Topology* topo, std::string_view command);

}  // namespace hivesim::html
