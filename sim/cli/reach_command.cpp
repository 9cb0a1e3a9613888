#include <iostream>

#include <boost/program_options.hpp>

#include "base/units.hpp"
#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"
#include "sim/whatif/reach.hpp"
#include "sim/whatif/reach_report.hpp"

namespace po = boost::program_options;

namespace hivesim::cli {

namespace {

constexpr const char* kUsage =
    "usage: hivesim reach SCENARIO [--from GLOB] [--to LIST] [--services LIST] [--at T]\n"
    "                              [--format text|json]\n"
    "\n"
    "For every (source port, destination, service), whether a connection opens: the forward\n"
    "packet from the source port and, when it is delivered, the reply from the port it was\n"
    "delivered to. open: both delivered; one_way: the reply is dropped; blocked: the forward\n"
    "packet is dropped or answered by a device. Each connection starts from the scenario's\n"
    "initial state (or its state at --at T). Defaults: every exterior port; every IP on an\n"
    "exterior port, floating IP and VIP; every (proto, port) the scenario names, plus icmp.\n";

}  // namespace

std::optional<std::vector<std::string>> split_list(const std::string& list) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (true) {
    const auto comma = list.find(',', start);
    std::string item = list.substr(start, comma - start);
    if (item.empty()) return std::nullopt;
    items.push_back(std::move(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

std::optional<int> parse_reach_query(const po::variables_map& vm, whatif::ReachQuery& query,
                                     std::string_view command, std::ostream& err) {
  auto fail = [&](const std::string& message) -> std::optional<int> {
    err << "hivesim " << command << ": error: " << message << "\n";
    return kExitBadInput;
  };
  if (vm.count("from")) query.from_glob = vm["from"].as<std::string>();
  if (vm.count("to")) {
    query.to = split_list(vm["to"].as<std::string>());
    if (!query.to) return fail("--to: an empty item in '" + vm["to"].as<std::string>() + "'");
  }
  if (vm.count("services")) {
    auto services = whatif::parse_services(vm["services"].as<std::string>());
    if (!services) return fail("--services: " + services.error());
    query.services = std::move(*services);
  }
  return std::nullopt;
}

int reach_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("reach options");
  options.add_options()("help,h", "show this help")("from", po::value<std::string>(),
                                                    "source ports, a shell glob over port names")(
      "to", po::value<std::string>(), "destinations: comma-separated port names and IPv4s")(
      "services", po::value<std::string>(), "e.g. tcp/22,udp/53,icmp")(
      "at", po::value<std::string>()->default_value("0s"), "simulated time of the state to use")(
      "format", po::value<std::string>()->default_value("text"), "text or json");
  po::variables_map vm;
  if (auto done = parse_command_line(args, options, "reach", kUsage, vm, out, err)) return *done;
  auto fail = [&err](const std::string& message) {
    err << "hivesim reach: error: " << message << "\n";
    return kExitBadInput;
  };
  const std::string format = vm["format"].as<std::string>();
  if (Status bad = check_format(format); !bad.ok()) return fail(bad.error());
  const auto at = parse_duration(vm["at"].as<std::string>());
  if (!at) return fail("--at: bad duration '" + vm["at"].as<std::string>() + "' (e.g. 5ms, 2s)");
  whatif::ReachQuery query;
  if (auto done = parse_reach_query(vm, query, "reach", err)) return *done;

  const auto scenario = load_or_report(vm["scenario"].as<std::string>(), err);
  if (!scenario) return kExitBadInput;
  auto report = whatif::reach(*scenario, query, *at);
  if (!report) return fail(report.error());
  for (const std::string& note : report->notes)
    err << "hivesim reach: note: " << note << "\n";
  if (format == "json") {
    out << whatif::reach_json(*report).dump(2) << "\n";
  } else {
    out << whatif::reach_text(*report);
  }
  return kExitOk;
}

}  // namespace hivesim::cli
