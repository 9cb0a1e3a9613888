#include <iostream>

#include <boost/program_options.hpp>

#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"

namespace po = boost::program_options;

namespace hivesim::cli {

namespace {

constexpr const char* kUsage =
    "usage: hivesim check SCENARIO\n"
    "\n"
    "Validates the scenario file: schema, names and references, addresses, and every packet\n"
    "spec in `traffic` and `expect`. Prints every problem as FILE:LINE:COL: error: ... and\n"
    "exits 2, or prints a short summary and exits 0.\n";

/// The packet specs that only the flow layer can check (they need port defaults).
std::vector<Diagnostic> check_packet_specs(const Scenario& s, const Simulator& sim) {
  std::vector<Diagnostic> problems;
  auto check = [&](PortId from, const std::string& spec, SourceLoc loc, const std::string& what) {
    // The loader has checked that `from` is an exterior port.
    auto packet = packet_from(sim, from, spec);
    if (!packet) {
      problems.push_back(Diagnostic{s.file, loc.line, loc.col, what + ": " + packet.error()});
    }
  };
  for (const Traffic& t : s.traffic) {
    if (const auto* synthetic = std::get_if<SyntheticTraffic>(&t.source)) {
      check(synthetic->from, synthetic->packet, synthetic->packet_loc,
            "traffic '" + t.name + "': packet");
    }
  }
  for (const Expectation& e : s.expectations) {
    if (const auto* trace = std::get_if<ExpectTrace>(&e.what)) {
      check(trace->from, trace->packet, trace->packet_loc, "expect '" + e.name + "': packet");
    }
  }
  return problems;
}

}  // namespace

int check_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("check options");
  options.add_options()("help,h", "show this help");
  po::variables_map vm;
  if (auto done = parse_command_line(args, options, "check", kUsage, vm, out, err)) return *done;
  auto scenario = load_or_report(vm["scenario"].as<std::string>(), err);
  if (!scenario) return kExitBadInput;
  // The scenario's chains, before its security groups compile into more.
  const std::size_t chains = scenario->topology.chains.size();
  // The simulator takes the topology over: check needs no second copy of the model.
  const Simulator sim(std::move(scenario->topology));
  const auto problems = check_packet_specs(*scenario, sim);
  for (const Diagnostic& d : problems)
    err << d.str() << "\n";
  if (!problems.empty()) return kExitBadInput;

  const Topology& m = sim.topology();
  out << scenario->file << ": ok: scenario '" << scenario->name << "', " << m.hosts.size()
      << " hosts, " << m.bridges.size() << " bridges, " << m.routers.size() << " routers, "
      << m.ports.size() << " ports, " << chains << " chains, " << scenario->traffic.size()
      << " traffic sources, " << scenario->failures.size() << " failures, "
      << scenario->expectations.size() << " expectations\n";
  return kExitOk;
}

}  // namespace hivesim::cli
