#pragma once
// Test fixtures for the flow core: load a scenario from YAML text, build packets from packet
// specs as the VM behind a port would send them, simulate them one after another on one
// SimState (so MAC and ARP learning carry over, as in `trace --batch`), and look at results.
//
// Typical use:
//   Net net(kYaml);
//   SIMULATE(r, net, "vm1", "tcp dst=10.0.2.30 dport=22");   // also INFOs the trace
//   CHECK(net.to(r) == Names{"vm3"});

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/flow/simulator.hpp"
#include "sim/packet/spec.hpp"
#include "sim/render/trace_report.hpp"
#include "topology/load/loader.hpp"

namespace hivesim::test {

using Names = std::vector<std::string>;

/// The scenario of a YAML text; fails the test (with every diagnostic) when it does not load.
inline Scenario load_yaml(std::string_view yaml) {
  LoadResult loaded = load_scenario_text(yaml, "test.yaml", ".");
  std::string problems;
  for (const Diagnostic& d : loaded.errors)
    problems += d.str() + "\n";
  INFO(problems);
  REQUIRE(loaded.errors.empty());
  REQUIRE(loaded.scenario);
  return std::move(*loaded.scenario);
}

/// A loaded scenario, its simulator and one simulation state. Not movable: the simulator
/// refers to the topology.
class Net {
 public:
  explicit Net(std::string_view yaml) : scenario_(load_yaml(yaml)), sim_(scenario_.topology) {}
  Net(const Net&) = delete;
  Net& operator=(const Net&) = delete;

  const Topology& topo() const { return scenario_.topology; }
  const Simulator& sim() const { return sim_; }
  SimState& state() { return state_; }

  PortId port(std::string_view name) const {
    const auto id = topo().find_port(name);
    INFO("port " << name);
    REQUIRE(id);
    return *id;
  }
  BridgeId bridge(std::string_view name) const {
    const auto id = topo().find_bridge(name);
    INFO("bridge " << name);
    REQUIRE(id);
    return *id;
  }
  RouterId router(std::string_view name) const {
    const auto id = topo().find_router(name);
    INFO("router " << name);
    REQUIRE(id);
    return *id;
  }
  ChainId chain(std::string_view name) const {
    const auto id = topo().find_chain(name);
    INFO("chain " << name);
    REQUIRE(id);
    return *id;
  }

  /// The packet the VM behind `from` sends for `spec` (SPEC section 3 defaults).
  Packet packet(std::string_view from, std::string_view spec) const {
    auto parsed = parse_packet_spec(spec);
    INFO("packet spec: " << spec << (parsed ? "" : " -> " + parsed.error()));
    REQUIRE(parsed);
    auto built = build_packet(*parsed, sim_.spec_defaults(port(from)));
    INFO((built ? std::string() : built.error()));
    REQUIRE(built);
    return std::move(*built);
  }

  /// Simulates `packet` entering at `from` on this Net's state, with tracing on.
  SimulationResult send(std::string_view from, const Packet& packet, std::string spec = "") {
    const PortId in = port(from);
    SimulationResult r = sim_.simulate(in, packet, state_, SimulateOptions{.trace = true});
    last_trace_ = trace_text(topo(), TraceRecord{in, std::move(spec), packet, r});
    return r;
  }
  SimulationResult send(std::string_view from, std::string_view spec) {
    return send(from, packet(from, spec), std::string(spec));
  }

  /// The text trace of the last simulation, for failure messages.
  const std::string& last_trace() const { return last_trace_; }

  std::string name(PortId p) const { return topo().port(p).name; }

  /// Names of the ports where the original packet leaves (SPEC "to"), sorted.
  Names to(const SimulationResult& r) const {
    Names names;
    for (PortId p : r.delivered_ports())
      names.push_back(name(p));
    std::sort(names.begin(), names.end());
    return names;
  }

  /// The packet that leaves by `port` (original, not generated); REQUIREs exactly one.
  const Packet& out_at(const SimulationResult& r, std::string_view port_name) const {
    const OutPacket* found = nullptr;
    int count = 0;
    for (const OutPacket& o : r.out) {
      if (!o.generated && name(o.port) == port_name) {
        found = &o;
        ++count;
      }
    }
    INFO("original packet out of " << port_name);
    REQUIRE(count == 1);
    return found->packet;
  }

  /// The generated packets (ICMP errors, echo replies, ARP replies and requests).
  std::vector<OutPacket> generated(const SimulationResult& r) const {
    std::vector<OutPacket> g;
    for (const OutPacket& o : r.out) {
      if (o.generated) g.push_back(o);
    }
    return g;
  }

  /// The single generated packet; REQUIREs that there is exactly one.
  OutPacket only_generated(const SimulationResult& r) const {
    const auto g = generated(r);
    REQUIRE(g.size() == 1);
    return g.front();
  }

  /// Devices of the recorded hops, in order (tracing is on in send()).
  Names hop_devices(const SimulationResult& r) const {
    Names names;
    for (const Hop& h : r.hops)
      names.push_back(h.device);
    return names;
  }

  bool has_tag(const SimulationResult& r, FlowTag::Kind kind, std::uint32_t id) const {
    return std::find(r.tags.begin(), r.tags.end(), FlowTag{kind, id}) != r.tags.end();
  }

 private:
  Scenario scenario_;
  Simulator sim_;
  SimState state_;
  std::string last_trace_;
};

inline Mac mac(std::string_view text) {
  const auto m = Mac::parse(text);
  REQUIRE(m);
  return *m;
}

inline Ipv4 ip(std::string_view text) {
  const auto a = Ipv4::parse(text);
  REQUIRE(a);
  return *a;
}

inline std::string reason_of(const SimulationResult& r) {
  return r.drop ? std::string(to_string(r.drop->reason)) : std::string("(no drop)");
}

inline std::string device_of(const SimulationResult& r) {
  return r.drop ? r.drop->device : std::string("(no drop)");
}

}  // namespace hivesim::test

/// Simulates SPEC from port FROM on NET into a new const `var`, and attaches the trace to every
/// later assertion in the scope.
#define SIMULATE(var, net, from, spec)                            \
  const ::hivesim::SimulationResult var = (net).send(from, spec); \
  INFO("trace:\n" << (net).last_trace())
