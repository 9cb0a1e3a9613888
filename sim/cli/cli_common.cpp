#include "sim/cli/cli_common.hpp"

#include <ostream>

#include "sim/packet/spec.hpp"

namespace hivesim::cli {

std::optional<Scenario> load_or_report(const std::string& path, std::ostream& err) {
  LoadResult loaded = load_scenario(path);
  for (const Diagnostic& d : loaded.errors)
    err << d.str() << "\n";
  return std::move(loaded.scenario);
}

Result<PortId> sending_port(const Topology& topo, std::string_view name) {
  const auto port = topo.find_port(name);
  if (!port) return Error{"unknown port '" + std::string(name) + "'"};
  if (!topo.port(*port).exterior()) {
    return Error{"port '" + std::string(name) +
                 "' is not an exterior port (it has no host): packets enter the virtual network "
                 "only at exterior ports"};
  }
  return *port;
}

Result<Packet> packet_from(const Simulator& sim, PortId port, std::string_view spec) {
  auto parsed = parse_packet_spec(spec);
  if (!parsed) return Error{parsed.error()};
  return build_packet(*parsed, sim.spec_defaults(port));
}

}  // namespace hivesim::cli
