#pragma once
// Renderers: the report values of sim/report/ as documents for programs and people. The run
// report (SPEC section 5) as its JSON document, human text and JUnit XML; the timeline as JSON.
// The trace (trace_report.hpp) and the markup escaper (xml_escape.hpp) live beside them.
//
// Invariants: a rendering is a pure function of its value: keys and rows in the value's order,
// ratios rounded to 4 places, so the same value renders byte-identical documents. Nothing here
// reads a clock, a file or a hash-table iteration order. This is the lowest layer that includes
// nlohmann-json; the twin and everything below it never do.
//
// Cost: linear in the report's rows; each call builds its document anew.

#include <string>

#include <nlohmann/json.hpp>

#include "sim/report/run_report.hpp"
#include "sim/report/timeline.hpp"

namespace hivesim {

/// The SPEC section 5 document; keys in a fixed order.
nlohmann::ordered_json run_report_json(const RunReport& report);

/// A human summary, ending with a newline; failed expectations are listed with their detail.
std::string run_report_text(const RunReport& report);

/// JUnit XML: one <testsuite> named after the scenario, one <testcase> per expectation.
std::string run_report_junit(const RunReport& report);

/// {"bucket_ns": N, "series": [{"traffic", "delivered", "dropped"}], "events": [{"at_ns",
/// "event"}]}, keys in that order.
nlohmann::ordered_json timeline_json(const Timeline& timeline);

}  // namespace hivesim
