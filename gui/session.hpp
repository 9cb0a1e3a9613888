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

  /// The scenario as the next run plays it: as opened, plus the failures added below.
  const Scenario& scenario() const { return *scenario_; }
  /// Shared so that a run on a worker thread keeps the scenario alive on its own.
  std::shared_ptr<const Scenario> shared_scenario() const { return scenario_; }

  /// What-if from the GUI: the next run also fails `target` (host_down or agent_restart of a
  /// host, port_down of an exterior port) at a third of the run, as `hivesim sweep` does by
  /// default, never undone. The topology, and so every trace, is the scenario's as opened.
  /// Returns what the run's failure table will call it with its time ("host_down hv2 at
  /// 3.33s"); an error for another kind, an unknown target, or one added already.
  Result<std::string> add_failure(FailureKind kind, const std::string& target);
  /// Back to the scenario's own failures.
  void clear_added_failures();
  /// The failures added, as add_failure returned them, in order.
  const std::vector<std::string>& added_failures() const { return added_; }
  /// The compiled topology (including the chains security groups compile to).
  const Simulator& simulator() const { return *simulator_; }

  /// Names of the ports a packet can be sent from (exterior ports), in scenario order.
  std::vector<std::string> sending_ports() const;

  /// Traces `spec` sent from `port`, as `hivesim trace --from PORT --packet SPEC` does. Fails
  /// with the message of an unknown/interior port or of the packet spec parser.
  Result<TraceRecord> trace(const std::string& port, const std::string& spec) const;

 private:
  Session(std::shared_ptr<const Scenario> scenario);
  std::shared_ptr<const Scenario> opened_;    // as loaded; the simulator is compiled from it
  std::shared_ptr<const Scenario> scenario_;  // opened_ with the added failures
  std::unique_ptr<Simulator> simulator_;
  std::vector<std::string> added_;
};

}  // namespace hivesim::gui
