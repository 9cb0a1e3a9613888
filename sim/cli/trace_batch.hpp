#pragma once
// `hivesim trace SCENARIO --batch FILE` once the scenario is loaded and its state built
// (trace_command.cpp): the batch half on its own, so that the fuzz target (fuzz/fuzz_batch)
// runs the command's own code on a scenario it loads once.

#include <iosfwd>
#include <string>

namespace hivesim {
class Simulator;
class HostStates;
}  // namespace hivesim

namespace hivesim::cli {

/// Checks every line of the batch file `path` (FILE:LINE: error: ... on `err` for each bad one:
/// exit 2 before any trace is printed), then simulates its packets in order on `sim`, each
/// against the flow state of its ingress host in `states` (which carries over from packet to
/// packet), and prints each trace to `out` as it goes: text, or one JSON array when `json`.
/// `scenario_file` names the scenario in the traces. Returns the exit code (cli_common.hpp).
int trace_batch(const std::string& path, const Simulator& sim, HostStates& states,
                const std::string& scenario_file, bool json, std::ostream& out, std::ostream& err);

}  // namespace hivesim::cli
