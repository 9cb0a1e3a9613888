// hivesim graph: the scenario's topology as DOT, Mermaid or SVG (SPEC section 9).

#include <iostream>

#include <boost/program_options.hpp>

#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"
#include "sim/graph/graph.hpp"

namespace po = boost::program_options;

namespace hivesim::cli {

namespace {

constexpr const char* kUsage =
    "usage: hivesim graph SCENARIO [--format dot|svg|mermaid] [--trace \"PORT SPEC\"] [-o FILE]\n"
    "\n"
    "Draws the scenario: tunnel zones and hosts as boxes around the ports bound to them,\n"
    "bridges, routers, uplinks and the interior links between devices. With --trace, the\n"
    "packet is simulated on the initial state (as `hivesim trace` does) and its path is\n"
    "drawn in blue hop by hop, numbered, with each device's decision listed; where it was\n"
    "dropped is red. dot and mermaid are text; svg is laid out by Graphviz's dot layout.\n";

}  // namespace

int graph_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("graph options");
  options.add_options()("help,h", "show this help")(
      "format", po::value<std::string>()->default_value("dot"), "dot, svg or mermaid")(
      "trace", po::value<std::string>(), "\"PORT SPEC\": a packet whose path to draw")(
      "output,o", po::value<std::string>(), "write to FILE instead of stdout");
  po::variables_map vm;
  if (auto done = parse_command_line(args, options, "graph", kUsage, vm, out, err)) return *done;
  auto fail = [&err](const std::string& message) {
    err << "hivesim graph: error: " << message << "\n";
    return kExitBadInput;
  };
  const std::string format = vm["format"].as<std::string>();
  if (format != "dot" && format != "svg" && format != "mermaid") {
    return fail("--format must be dot, svg or mermaid, not '" + format + "'");
  }
  const auto scenario = load_or_report(vm["scenario"].as<std::string>(), err);
  if (!scenario) return kExitBadInput;

  std::optional<graph::TraceInput> trace;
  if (vm.count("trace")) {
    const std::string line = vm["trace"].as<std::string>();
    const auto first = line.find_first_not_of(" \t");
    const auto space = first == std::string::npos ? first : line.find_first_of(" \t", first);
    const auto spec_start =
        space == std::string::npos ? space : line.find_first_not_of(" \t", space);
    if (spec_start == std::string::npos) {
      return fail("--trace: give \"PORT SPEC\", e.g. \"web1 tcp dst=10.0.2.10 dport=8080\"");
    }
    const std::string port_name = line.substr(first, space - first);
    const std::string spec = line.substr(spec_start);
    const Simulator sim(scenario->topology);
    auto port = sending_port(sim.topology(), port_name);
    if (!port) return fail("--trace: " + port.error());
    auto packet = packet_from(sim, *port, spec);
    if (!packet) return fail("--trace: " + packet.error());
    SimState state(scenario->seed);
    trace = graph::TraceInput{*port, spec, {}};
    trace->result = sim.simulate(*port, *packet, state, SimulateOptions{.trace = true});
  }

  graph::Graph g =
      graph::build_graph(scenario->topology, scenario->name, trace ? &*trace : nullptr);
  std::string text;
  if (format == "dot") {
    text = graph::to_dot(g);
  } else if (format == "mermaid") {
    text = graph::to_mermaid(g);
  } else {
    if (Status failed = graph::lay_out(g); !failed.ok()) {
      err << "hivesim graph: internal error: " << failed.error() << "\n";
      return kExitInternal;
    }
    text = graph::to_svg(g);
  }
  if (vm.count("output")) {
    if (Status failed = write_file_atomically(vm["output"].as<std::string>(), text); !failed.ok()) {
      return fail(failed.error());
    }
  } else {
    out << text;
  }
  return kExitOk;
}

}  // namespace hivesim::cli
