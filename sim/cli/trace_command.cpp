#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"
#include "sim/report/trace_report.hpp"
#include "sim/twin/twin.hpp"
#include "topology/units.hpp"

namespace po = boost::program_options;

namespace hivesim::cli {

namespace {

constexpr const char* kUsage =
    "usage: hivesim trace SCENARIO --from PORT --packet SPEC [--at T] [--format text|json]\n"
    "       hivesim trace SCENARIO --batch FILE [--format text|json]\n"
    "\n"
    "Simulates packets through the scenario's virtual topology as the agent on the ingress\n"
    "host would on a flow miss, and prints the verdict, the ports where the packet leaves,\n"
    "the rewritten headers, the hop-by-hop trace and the wildcarded flow. In a batch (one\n"
    "'PORT SPEC' per line, '#' starts a comment) state carries over from packet to packet:\n"
    "MAC learning, ARP, conntrack, NAT mappings, LB stickiness.\n";

struct Request {
  PortId from;
  std::string spec;
  Packet packet;
};

/// Reads a batch file; every bad line is reported (FILE:LINE: error: ...) before any result.
std::optional<std::vector<Request>> read_batch(const std::string& path, const Simulator& sim,
                                               std::ostream& err) {
  std::ifstream in(path);
  if (!in) {
    err << path << ": error: cannot read the batch file\n";
    return std::nullopt;
  }
  std::vector<Request> requests;
  bool ok = true;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const auto space = line.find_first_of(" \t", first);
    const std::string port_name = line.substr(first, space - first);
    const auto spec_start =
        space == std::string::npos ? space : line.find_first_not_of(" \t", space);
    std::string spec = spec_start == std::string::npos ? "" : line.substr(spec_start);
    while (!spec.empty() && (spec.back() == ' ' || spec.back() == '\t' || spec.back() == '\r')) {
      spec.pop_back();
    }
    const std::string where = path + ":" + std::to_string(number) + ": error: ";
    auto port = sending_port(sim.topology(), port_name);
    if (!port) {
      err << where << port.error() << "\n";
      ok = false;
      continue;
    }
    if (spec.empty()) {
      err << where << "no packet spec after the port name\n";
      ok = false;
      continue;
    }
    auto packet = packet_from(sim, *port, spec);
    if (!packet) {
      err << where << packet.error() << "\n";
      ok = false;
      continue;
    }
    requests.push_back(Request{*port, spec, std::move(*packet)});
  }
  if (!ok) return std::nullopt;
  return requests;
}

}  // namespace

int trace_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("trace options");
  options.add_options()("help,h", "show this help")("from", po::value<std::string>(),
                                                    "exterior port the packet enters by")(
      "packet", po::value<std::string>(), "packet spec, e.g. \"tcp dst=10.0.2.12 dport=5432\"")(
      "batch", po::value<std::string>(), "file of 'PORT SPEC' lines, simulated in order")(
      "at", po::value<std::string>()->default_value("0s"), "simulated time of the state to use")(
      "format", po::value<std::string>()->default_value("text"), "text or json");
  po::variables_map vm;
  if (auto done = parse_command_line(args, options, "trace", kUsage, vm, out, err)) return *done;
  auto fail = [&err](const std::string& message) {
    err << "hivesim trace: error: " << message << "\n";
    return kExitBadInput;
  };
  const std::string format = vm["format"].as<std::string>();
  if (auto bad = check_format(format)) return fail(*bad);
  const bool batch = vm.count("batch") != 0;
  if (batch && (vm.count("from") || vm.count("packet"))) {
    return fail("--batch cannot be combined with --from/--packet");
  }
  if (!batch && (!vm.count("from") || !vm.count("packet"))) {
    return fail("give --from PORT and --packet SPEC, or --batch FILE");
  }
  const auto at = parse_duration(vm["at"].as<std::string>());
  if (!at) return fail("--at: bad duration '" + vm["at"].as<std::string>() + "' (e.g. 5ms, 2s)");

  const auto scenario = load_or_report(vm["scenario"].as<std::string>(), err);
  if (!scenario) return kExitBadInput;
  // At 0s: the scenario's initial state. Later: the twin runs the scenario's traffic and
  // failures up to T, and the packet meets the topology and state of that moment.
  std::unique_ptr<Simulator> initial;
  std::unique_ptr<Twin> twin;
  std::optional<HostStates> states;  // one flow state per host (SPEC section 6)
  if (*at == 0) {
    initial = std::make_unique<Simulator>(scenario->topology);
    states.emplace(initial->topology(), scenario->seed);
  } else {
    TwinOptions twin_options;
    twin_options.until = *at;
    auto made = Twin::make(*scenario, twin_options);
    if (!made) {
      err << made.error() << "\n";
      return kExitBadInput;
    }
    twin = std::move(*made);
    twin->advance(*at);
    states.emplace(twin->host_states());
  }
  const Simulator& sim = twin ? twin->simulator() : *initial;

  std::vector<Request> requests;
  if (batch) {
    auto read = read_batch(vm["batch"].as<std::string>(), sim, err);
    if (!read) return kExitBadInput;
    requests = std::move(*read);
  } else {
    auto port = sending_port(sim.topology(), vm["from"].as<std::string>());
    if (!port) return fail("--from: " + port.error());
    const std::string spec = vm["packet"].as<std::string>();
    auto packet = packet_from(sim, *port, spec);
    if (!packet) return fail("--packet: " + packet.error());
    requests.push_back(Request{*port, spec, std::move(*packet)});
  }

  nlohmann::json docs = nlohmann::json::array();
  std::string text;
  for (Request& r : requests) {
    TraceRecord record{r.from, r.spec, r.packet, {}, scenario->file};
    record.result = states->run(r.from, [&](SimState& state) {
      return sim.simulate(r.from, r.packet, state, SimulateOptions{.trace = true});
    });
    if (format == "json") {
      docs.push_back(trace_json(sim.topology(), record));
    } else {
      if (!text.empty()) text += "\n";
      text += trace_text(sim.topology(), record);
    }
  }
  if (format == "json") {
    out << (batch ? docs : docs.at(0)).dump(2) << "\n";
  } else {
    out << text;
  }
  return kExitOk;
}

}  // namespace hivesim::cli
