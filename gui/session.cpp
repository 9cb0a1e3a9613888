#include "gui/session.hpp"

#include "sim/cli/cli_common.hpp"

namespace hivesim::gui {

Session::Session(std::shared_ptr<const Scenario> scenario)
    : scenario_(std::move(scenario)),
      simulator_(std::make_unique<Simulator>(scenario_->topology)) {}

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
