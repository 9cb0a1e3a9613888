#pragma once
// Shared pieces of the subcommands: exit codes, loading a scenario with its messages printed,
// and building a packet from a spec as the VM behind a port would send it.

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/flow/simulator.hpp"
#include "topology/loader.hpp"
#include "topology/result.hpp"

namespace hivesim::cli {

/// SPEC section 2 exit codes.
enum ExitCode : int {
  kExitOk = 0,
  kExitExpectationFailed = 1,
  kExitBadInput = 2,
  kExitInternal = 3,
};

/// Loads the scenario; on failure prints every diagnostic to `err` and returns nullopt.
std::optional<Scenario> load_or_report(const std::string& path, std::ostream& err);

/// The exterior port `name` packets can be sent from, or an error naming the problem.
Result<PortId> sending_port(const Topology& topo, std::string_view name);

/// Parses `spec` and builds the packet the VM behind `port` would send.
Result<Packet> packet_from(const Simulator& sim, PortId port, std::string_view spec);

}  // namespace hivesim::cli
