#pragma once
// The GUI's hold on one opened scenario: the loaded Scenario, the flow Simulator compiled from
// it, and packet tracing on the scenario's initial state, all through the same library calls as
// `hivesim check` and `hivesim trace` (topology loader, cli::sending_port, cli::packet_from,
// Simulator::simulate). No Qt here, so the tests and the widgets share it.
//
// Invariants: a Session exists only for a scenario that loaded without errors; every trace starts
// from a fresh SimState seeded with the scenario seed (as one `hivesim trace` does at time 0).
// Cost: opening compiles the topology once; a trace is one flow simulation.

#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/render/trace_report.hpp"
#include "topology/load/loader.hpp"

namespace hivesim::gui {

class Session {
 public:
  /// Loads and validates `path`. On failure the error message holds every diagnostic, one
  /// "FILE:LINE:COL: error: ..." per line.
  static Result<std::unique_ptr<Session>> open(const std::string& path);

  const Scenario& scenario() const { return *scenario_; }
  /// Shared so that a run on a worker thread keeps the scenario alive on its own.
  std::shared_ptr<const Scenario> shared_scenario() const { return scenario_; }
  /// The compiled topology (including the chains security groups compile to).
  const Simulator& simulator() const { return *simulator_; }

  /// Names of the ports a packet can be sent from (exterior ports), in scenario order.
  std::vector<std::string> sending_ports() const;

  /// Traces `spec` sent from `port`, as `hivesim trace --from PORT --packet SPEC` does. Fails
  /// with the message of an unknown/interior port or of the packet spec parser.
  Result<TraceRecord> trace(const std::string& port, const std::string& spec) const;

 private:
  Session(std::shared_ptr<const Scenario> scenario);
  std::shared_ptr<const Scenario> scenario_;
  std::unique_ptr<Simulator> simulator_;
};

}  // namespace hivesim::gui
