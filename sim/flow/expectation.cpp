#include "sim/flow/expectation.hpp"

#include <algorithm>

#include "sim/packet/spec.hpp"

namespace hivesim {

std::optional<std::string> check_trace_expectation(const Simulator& sim, const ExpectTrace& e,
                                                   SimState& state, SimulationResult* result) {
  const Topology& topo = sim.topology();
  auto spec = parse_packet_spec(e.packet);
  if (!spec) return "bad packet spec: " + spec.error();
  auto packet = build_packet(*spec, sim.spec_defaults(e.from));
  if (!packet) return "bad packet spec: " + packet.error();
  const SimulationResult r = sim.simulate(e.from, *packet, state);
  if (result != nullptr) *result = r;  // the caller replicates the flow state it wrote

  auto outcome = [&] {
    std::string s = "verdict " + std::string(to_string(r.verdict));
    if (r.drop) {
      s += " (" + std::string(to_string(r.drop->reason)) + " at " + r.drop->device;
      if (r.drop->rule) s += " rule " + std::to_string(*r.drop->rule);
      s += ")";
    }
    const auto ports = r.delivered_ports();
    if (!ports.empty()) {
      s += " to";
      for (PortId p : ports)
        s += " " + topo.port(p).name;
    }
    return s;
  };
  if (e.verdict && r.verdict != *e.verdict) {
    return outcome() + ", expected " + std::string(to_string(*e.verdict));
  }
  if (e.reason && (!r.drop || r.drop->reason != *e.reason)) {
    return outcome() + ", expected drop reason " + std::string(to_string(*e.reason));
  }
  if (!e.to.empty()) {
    const auto ports = r.delivered_ports();
    const bool any = std::any_of(ports.begin(), ports.end(), [&](PortId p) {
      return std::find(e.to.begin(), e.to.end(), p) != e.to.end();
    });
    if (!any) {
      std::string expected;
      for (PortId p : e.to)
        expected += (expected.empty() ? "" : ", ") + topo.port(p).name;
      return outcome() + ", expected delivery to any of " + expected;
    }
  }
  return std::nullopt;
}

}  // namespace hivesim
