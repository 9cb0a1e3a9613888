#pragma once
// Rendering a reach report (sim/whatif/reach.hpp): the SPEC section 7 JSON document and a
// readable text matrix. Both list connections in the report's order (from, to, service).

#include <string>

#include <nlohmann/json.hpp>

#include "sim/whatif/reach.hpp"

namespace hivesim::whatif {

/// {"scenario", "at_ns", "services", "connections": [...], "summary"}; each connection that
/// is not open has "drop": {"direction", "reason", "device", "rule"?, "source"?}.
nlohmann::ordered_json reach_json(const ReachReport& report);

/// One connection's JSON object (also used by `diff`).
nlohmann::ordered_json reach_drop_json(const ReachReport& report, const ReachDrop& drop);

/// A matrix: one line per (from, to), one column per service, then every connection that is
/// not open with its deciding drop; ends with a newline.
std::string reach_text(const ReachReport& report);

/// "blocked by rule at db-in rule 1 (forward), scenarios/x.yaml:42".
std::string describe_drop(const ReachReport& report, const ReachDrop& drop);

}  // namespace hivesim::whatif
