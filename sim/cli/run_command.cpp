#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>

#include "base/units.hpp"
#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"
#include "sim/io/sqlite_history.hpp"
#include "sim/render/run_report.hpp"
#include "sim/twin/twin.hpp"

namespace po = boost::program_options;

namespace hivesim::cli {

namespace {

constexpr const char* kUsage =
    "usage: hivesim run SCENARIO [--seed N] [--until T] [--format text|json] [--out DIR]\n"
    "                            [--db FILE] [--junit FILE] [--pcap-out DIR] [--html FILE] "
    "[--progress|--quiet]\n"
    "\n"
    "Runs the scenario in simulated time: every host's agent and datapath, the NSDB, the\n"
    "tunnels, the traffic and the failures; then checks the expectations. Prints the run\n"
    "report (flows, drops with the deciding device/rule, load-balancer spread, loss per\n"
    "failure, traffic latency). Exit 0: every expectation held; 1: one failed; 2: bad input.\n"
    "Same scenario + same seed = byte-identical report.\n";

/// The progress bar on stderr: simulated time reached against the end.
void draw_progress(std::ostream& err, SimTime now, SimTime end) {
  constexpr int kWidth = 40;
  const int filled =
      end > 0 ? static_cast<int>(kWidth * static_cast<double>(now) / static_cast<double>(end))
              : kWidth;
  err << "\r[" << std::string(filled, '=') << std::string(kWidth - filled, ' ') << "] "
      << format_duration(now) << " / " << format_duration(end) << std::flush;
  if (now >= end) err << "\n";
}

}  // namespace

int run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("run options");
  options.add_options()("help,h", "show this help")(
      "seed", po::value<std::string>(), "seed for every random choice (default: scenario's)")(
      "until", po::value<std::string>(), "simulated time to run to (default: scenario duration)")(
      "format", po::value<std::string>()->default_value("text"), "text or json")(
      "out", po::value<std::string>(), "folder for report.json")(
      "db", po::value<std::string>(), "SQLite file the run is appended to")(
      "junit", po::value<std::string>(), "JUnit XML file, one testcase per expectation")(
      "pcap-out", po::value<std::string>(), "folder for one pcap per exterior port")(
      "html", po::value<std::string>(), "self-contained HTML page: topology, timeline, ...")(
      "progress", "show a progress bar on stderr")("quiet", "print nothing but failures");
  po::variables_map vm;
  if (auto done = parse_command_line(args, options, "run", kUsage, vm, out, err)) return *done;
  auto fail = [&err](const std::string& message) {
    err << "hivesim run: error: " << message << "\n";
    return kExitBadInput;
  };
  const std::string format = vm["format"].as<std::string>();
  if (Status bad = check_format(format); !bad.ok()) return fail(bad.error());
  const bool progress = vm.count("progress") != 0;
  const bool quiet = vm.count("quiet") != 0;
  if (progress && quiet) return fail("--progress and --quiet exclude each other");

  std::optional<Scenario> scenario = load_or_report(vm["scenario"].as<std::string>(), err);
  if (!scenario) return kExitBadInput;
  // Laid out before the run, so that the page is the same in every process (cli_common.hpp).
  std::optional<graph::Graph> picture;
  if (vm.count("html")) picture = topology_picture(*scenario);
  if (vm.count("seed")) {
    const auto seed = parse_seed(vm["seed"].as<std::string>());
    if (!seed) return fail("--seed must be a whole number from 0 to 2^64-1");
    scenario->seed = *seed;
  }

  TwinOptions twin_options;
  if (vm.count("until")) {
    auto until = parse_duration(vm["until"].as<std::string>());
    if (!until) return fail("--until: '" + vm["until"].as<std::string>() + "' is not a duration");
    twin_options.until = *until;
  }
  if (progress) {
    twin_options.progress = [&err](SimTime now, SimTime end) { draw_progress(err, now, end); };
  }
  RunOutputs outputs;
  if (vm.count("out")) outputs.out_dir = vm["out"].as<std::string>();
  if (vm.count("db")) outputs.db = vm["db"].as<std::string>();
  if (vm.count("junit")) outputs.junit = vm["junit"].as<std::string>();
  if (vm.count("pcap-out")) outputs.pcap_out = vm["pcap-out"].as<std::string>();
  std::unique_ptr<PcapSink> sink = capture_egress(outputs, scenario->topology, twin_options);
  open_scenario_pcaps(twin_options);

  auto twin = Twin::make(*scenario, twin_options);
  if (!twin) {
    err << twin.error() << "\n";
    return kExitBadInput;
  }
  const RunReport report = (*twin)->run();
  if (const auto& stopped = (*twin)->stopped()) {  // SPEC section 10: nothing is written
    err << scenario->file << ": error: " << *stopped << "\n";
    return kExitBadInput;
  }
  if (vm.count("html")) {
    if (Status e = write_html_report(vm["html"].as<std::string>(), report, *scenario,
                                     picture ? &*picture : nullptr, "run");
        !e.ok()) {
      err << "hivesim run: error: " << e.error() << "\n";
      return kExitBadInput;
    }
  }
  if (Status e = write_outputs(outputs, report, scenario->file, "run", sink.get()); !e.ok()) {
    if (vm.count("html")) std::filesystem::remove(vm["html"].as<std::string>());
    err << e.error() << "\n";
    return kExitBadInput;
  }
  return print_report(report, format, quiet, out, err);
}

}  // namespace hivesim::cli
