#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "base/units.hpp"
#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/trace_batch.hpp"
#include "sim/io/bounded_input.hpp"
#include "sim/render/trace_report.hpp"
#include "sim/twin/twin.hpp"

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

/// One batch line, parsed: the port and the packet, or the problem (without the location).
Result<Request> parse_batch_line(std::string line, const Simulator& sim) {
  if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos) return Error{""};  // blank: the caller skips it
  const auto space = line.find_first_of(" \t", first);
  const std::string port_name = line.substr(first, space - first);
  const auto spec_start = space == std::string::npos ? space : line.find_first_not_of(" \t", space);
  std::string spec = spec_start == std::string::npos ? "" : line.substr(spec_start);
  while (!spec.empty() && (spec.back() == ' ' || spec.back() == '\t' || spec.back() == '\r')) {
    spec.pop_back();
  }
  auto port = sending_port(sim.topology(), port_name);
  if (!port) return Error{port.error()};
  if (spec.empty()) return Error{"no packet spec after the port name"};
  auto packet = packet_from(sim, *port, spec);
  if (!packet) return Error{packet.error()};
  return Request{*port, std::move(spec), std::move(*packet)};
}

/// Checks every line of a batch file (FILE:LINE: error: ... for each bad one) without keeping
/// any: a batch of a million packets is read twice rather than held (SPEC section 10).
bool check_batch(LineReader& in, const std::string& path, const Simulator& sim, std::ostream& err) {
  bool ok = true;
  std::string line;
  while (in.next(line)) {
    auto request = parse_batch_line(line, sim);
    if (!request && !request.error().empty()) {
      err << path << ":" << in.line_number() << ": error: " << request.error() << "\n";
      ok = false;
    }
  }
  if (in.error()) {
    err << *in.error() << "\n";
    return false;
  }
  return ok;
}

/// Simulates `r` against the flow state of its ingress host (what it writes is pushed to the
/// hosts of the return traffic), with the hops recorded.
TraceRecord trace_one(const Simulator& sim, HostStates& states, const Request& r,
                      const std::string& scenario_file) {
  TraceRecord record{r.from, r.spec, r.packet, {}, scenario_file};
  record.result = states.run(r.from, [&](SimState& state) {
    return sim.simulate(r.from, r.packet, state, SimulateOptions{.trace = true});
  });
  return record;
}

/// Writes `doc` as an element of a top-level JSON array printed with indent 2, exactly as
/// nlohmann::json::dump(2) of the whole array would (so that the output streams).
void write_array_element(std::ostream& out, const nlohmann::json& doc, bool first) {
  out << (first ? "[\n  " : ",\n  ");
  const std::string text = doc.dump(2);
  std::size_t start = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    out.write(text.data() + start, static_cast<std::streamsize>(nl + 1 - start));
    out << "  ";
    start = nl + 1;
  }
  out.write(text.data() + start, static_cast<std::streamsize>(text.size() - start));
}

}  // namespace

int trace_batch(const std::string& path, const Simulator& sim, HostStates& states,
                const std::string& scenario_file, bool json, std::ostream& out, std::ostream& err) {
  // Every line is checked before any result is printed, then the packets are simulated and
  // printed one at a time (streamed: memory does not grow with the batch).
  LineReader in(path);
  if (!in.ok()) {
    err << *in.error() << "\n";
    return kExitBadInput;
  }
  if (!check_batch(in, path, sim, err)) return kExitBadInput;
  if (!in.rewind()) {
    err << in.error().value_or(path + ": error: cannot read the batch file again") << "\n";
    return kExitBadInput;
  }
  bool first = true;
  std::string line;
  while (in.next(line)) {
    auto request = parse_batch_line(line, sim);
    if (!request) continue;  // blank or comment (every other problem was reported above)
    const TraceRecord record = trace_one(sim, states, *request, scenario_file);
    if (json) {
      write_array_element(out, trace_json(sim.topology(), record), first);
    } else {
      if (!first) out << "\n";
      out << trace_text(sim.topology(), record);
    }
    first = false;
  }
  if (in.error()) {  // the file changed between the two passes
    err << *in.error() << "\n";
    return kExitBadInput;
  }
  if (json) out << (first ? "[]\n" : "\n]\n");
  return kExitOk;
}

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
  if (Status bad = check_format(format); !bad.ok()) return fail(bad.error());
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
    if (const auto& stopped = twin->stopped()) {
      err << scenario->file << ": error: " << *stopped << "\n";
      return kExitBadInput;
    }
    states.emplace(twin->host_states());
  }
  const Simulator& sim = twin ? twin->simulator() : *initial;

  if (!batch) {
    auto port = sending_port(sim.topology(), vm["from"].as<std::string>());
    if (!port) return fail("--from: " + port.error());
    const std::string spec = vm["packet"].as<std::string>();
    auto packet = packet_from(sim, *port, spec);
    if (!packet) return fail("--packet: " + packet.error());
    const TraceRecord record =
        trace_one(sim, *states, Request{*port, spec, std::move(*packet)}, scenario->file);
    if (format == "json") {
      out << trace_json(sim.topology(), record).dump(2) << "\n";
    } else {
      out << trace_text(sim.topology(), record);
    }
    return kExitOk;
  }

  return trace_batch(vm["batch"].as<std::string>(), sim, *states, scenario->file, format == "json",
                     out, err);
}

}  // namespace hivesim::cli
