#pragma once
// hivesim::html: the self-contained HTML page of a run (`run`/`replay --html FILE`, SPEC
// sections 2 and 9): the topology picture, the timeline with the failures marked, load-balancer
// shares against expected, drops with their rule, expectations.
//
// Invariants: one page with everything inline (CSS, SVG; no script, no network fetch, no other
// file), deterministic (the same report gives the same bytes), every text HTML-escaped. The
// pieces are separate functions that the diff and sweep pages (whatif_pages.hpp) reuse.
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

/// `v` with `decimals` digits after the point ("%.*f").
std::string num(double v, int decimals);

/// "12.5%" of a fraction; the width of a bar ("12.50%", clamped to [0, 100]).
std::string percent(double fraction);
std::string css_percent(double fraction);

/// A summary card: a big value over a small caption.
std::string card(const std::string& value, std::string_view what);

/// A second series drawn over a chart as a step line of its delivered packets per bucket
/// (a run's "before", a sweep's baseline), on the same scales as the bars.
struct ChartReference {
  const TimelineSeries& series;
  SimTime bucket_ns = 1;
  SimTime sim_time = 0;
  std::string label;  // "before", "baseline"
};

/// One SVG chart of one traffic series: delivered (green) and dropped (red) per bucket, the
/// failure events of `timeline` as labelled vertical lines, and `reference` (may be null).
std::string timeline_chart(const TimelineSeries& series, const Timeline& timeline, SimTime sim_time,
                           const ChartReference* reference = nullptr);

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
