#pragma once
// Checking a scenario's trace expectations (`expect: {from, packet, verdict, to, reason}`)
// against the flow core. The run engine evaluates them at the end of a run; tests and examples
// evaluate them on the initial state.

#include <optional>
#include <string>

#include "sim/flow/simulator.hpp"
#include "topology/model.hpp"

namespace hivesim {

/// Simulates the expectation's packet on `state` and compares. nullopt when it holds, else a
/// detail such as "verdict dropped (rule at db-in rule 2), expected delivered".
std::optional<std::string> check_trace_expectation(const Simulator& sim, const ExpectTrace& e,
                                                   SimState& state,
                                                   SimulationResult* result = nullptr);

}  // namespace hivesim
