#include "gui/session.hpp"

#include <algorithm>

#include "base/units.hpp"

#include "sim/cli/cli_common.hpp"

namespace hivesim::gui {

Session::Session(std::shared_ptr<const Scenario> scenario)
    : opened_(scenario),
      scenario_(std::move(scenario)),
      simulator_(std::make_unique<Simulator>(opened_->topology)) {}

Result<std::unique_ptr<Session>> Session::open(const std::string& path) {
  LoadResult loaded = load_scenario(path);
  if (!loaded.scenario) {
    std::string message;
    for (const Diagnostic& d : loaded.errors) {
      if (!message.empty()) message += "\n";
      message += d.str();
    }
    return Error{message};
  }
  auto scenario = std::make_shared<const Scenario>(std::move(*loaded.scenario));
  return std::unique_ptr<Session>(new Session(std::move(scenario)));
}

Result<std::string> Session::add_failure(FailureKind kind, const std::string& target) {
  const Topology& topo = opened_->topology;
  Failure f;
  f.at = opened_->duration / 3;
  f.kind = kind;
  switch (kind) {
    case FailureKind::kHostDown:
    case FailureKind::kAgentRestart: {
      const auto host = topo.find_host(target);
      if (!host) return Error{"no host named '" + target + "'"};
      f.host = *host;
      f.label = (kind == FailureKind::kHostDown ? "host_down " : "agent_restart ") + target;
      break;
    }
    case FailureKind::kPortDown: {
      const auto port = topo.find_port(target);
      if (!port || !topo.port(*port).exterior()) {
        return Error{"'" + target + "' is not an exterior port (only those can be taken down)"};
      }
      f.port = *port;
      f.label = "port_down " + target;
      break;
    }
    default:
      return Error{"the GUI adds host_down, agent_restart and port_down failures only"};
  }
  const std::string shown = f.label + " at " + human_duration(f.at);
  if (std::find(added_.begin(), added_.end(), shown) != added_.end()) {
    return Error{shown + " is added already"};
  }
  auto next = std::make_shared<Scenario>(*scenario_);
  next->failures.push_back(std::move(f));
  scenario_ = std::move(next);
  added_.push_back(shown);
  return shown;
}

void Session::clear_added_failures() {
  scenario_ = opened_;
  added_.clear();
}

std::vector<std::string> Session::sending_ports() const {
  std::vector<std::string> names;
  for (const Port& p : scenario_->topology.ports) {
    if (p.exterior()) names.push_back(p.name);
  }
  return names;
}

Result<TraceRecord> Session::trace(const std::string& port, const std::string& spec) const {
  auto from = cli::sending_port(simulator_->topology(), port);
  if (!from) return Error{from.error()};
  auto packet = cli::packet_from(*simulator_, *from, spec);
  if (!packet) return Error{packet.error()};
  SimState state(scenario_->seed);
  TraceRecord record{*from, spec, std::move(*packet), {}};
  record.result = simulator_->simulate(*from, record.packet, state, SimulateOptions{.trace = true});
  return record;
}

}  // namespace hivesim::gui
