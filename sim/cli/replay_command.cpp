#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>

#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"
#include "sim/io/pcap_source.hpp"
#include "sim/render/run_report.hpp"
#include "sim/twin/twin.hpp"

namespace po = boost::program_options;

namespace hivesim::cli {

namespace {

constexpr const char* kUsage =
    "usage: hivesim replay SCENARIO --pcap FILE --port PORT [--speed X|--topspeed]\n"
    "                      [--pcap-out DIR] [--format text|json] [--out DIR] [--db FILE]\n"
    "                      [--junit FILE] [--seed N] [--html FILE]\n"
    "\n"
    "Replays a capture (pcap or pcapng, Ethernet) into the virtual network: every packet enters\n"
    "the datapath of the host that owns PORT at its capture time (scaled by --speed), or with\n"
    "--topspeed back to back at the underlay bandwidth. Flow-table hits are forwarded at once,\n"
    "misses go to the agent's flow simulation, and packets leave through tunnels like any\n"
    "traffic. The scenario's topology, failures and expectations apply; its own `traffic` is not\n"
    "generated. Prints the run report plus the replay's actuals; the wall-clock rate goes to\n"
    "stderr.\n"
    "Exit 0/1 as `run`; 2 for bad input, including a capture that breaks part-way (what was\n"
    "replayed is still reported, with replay.error saying where it broke).\n";

}  // namespace

int replay_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("replay options");
  options.add_options()("help,h", "show this help")("pcap", po::value<std::string>(),
                                                    "capture to replay (pcap or pcapng)")(
      "port", po::value<std::string>(), "exterior port the packets enter by")(
      "speed", po::value<double>(), "time scale: 2 plays twice as fast (default 1)")(
      "topspeed", "send back to back at the underlay bandwidth")(
      "pcap-out", po::value<std::string>(), "folder for one pcap per exterior port")(
      "html", po::value<std::string>(), "self-contained HTML page: topology, timeline, ...")(
      "format", po::value<std::string>()->default_value("text"), "text or json")(
      "out", po::value<std::string>(), "folder for report.json")(
      "db", po::value<std::string>(), "SQLite file the run is appended to")(
      "junit", po::value<std::string>(), "JUnit XML file, one testcase per expectation")(
      "seed", po::value<std::string>(), "seed for every random choice (default: scenario's)");
  po::variables_map vm;
  if (auto done = parse_command_line(args, options, "replay", kUsage, vm, out, err)) return *done;
  auto fail = [&err](const std::string& message) {
    err << "hivesim replay: error: " << message << "\n";
    return kExitBadInput;
  };
  if (!vm.count("pcap")) return fail("missing --pcap FILE");
  if (!vm.count("port")) return fail("missing --port PORT");
  const std::string format = vm["format"].as<std::string>();
  if (Status bad = check_format(format); !bad.ok()) return fail(bad.error());
  const bool topspeed = vm.count("topspeed") != 0;
  double speed = 1.0;
  if (vm.count("speed")) {
    if (topspeed) return fail("--speed and --topspeed exclude each other");
    speed = vm["speed"].as<double>();
    if (!(speed > 0) || !std::isfinite(speed)) return fail("--speed must be a positive number");
  }

  std::optional<Scenario> scenario = load_or_report(vm["scenario"].as<std::string>(), err);
  if (!scenario) return kExitBadInput;
  if (vm.count("seed")) {
    const auto seed = parse_seed(vm["seed"].as<std::string>());
    if (!seed) return fail("--seed must be a whole number from 0 to 2^64-1");
    scenario->seed = *seed;
  }
  const std::string port_name = vm["port"].as<std::string>();
  auto port = sending_port(scenario->topology, port_name);
  if (!port) return fail("--port: " + port.error());

  const std::string pcap_path = vm["pcap"].as<std::string>();
  PcapOptions pcap_options{*port, speed, topspeed, 0};
  // --topspeed: back to back at the ingress host's line rate (the underlay bandwidth), as
  // tcpreplay --topspeed sends a capture through a NIC.
  if (topspeed) pcap_options.line_rate_bps = scenario->underlay.bandwidth_bps;
  // Payload bytes matter only to the egress captures.
  pcap_options.keep_payload = vm.count("pcap-out") != 0;
  auto opened = PcapSource::open(pcap_path, pcap_options);
  if (!opened) {
    err << opened.error() << "\n";
    return kExitBadInput;
  }
  PcapSource& capture = **opened;

  RunOutputs outputs;
  if (vm.count("out")) outputs.out_dir = vm["out"].as<std::string>();
  if (vm.count("db")) outputs.db = vm["db"].as<std::string>();
  if (vm.count("junit")) outputs.junit = vm["junit"].as<std::string>();
  if (vm.count("pcap-out")) outputs.pcap_out = vm["pcap-out"].as<std::string>();

  // Laid out before the replay, so that the page is the same in every process (cli_common.hpp).
  std::optional<graph::Graph> picture;
  if (vm.count("html")) picture = topology_picture(*scenario);

  TwinOptions twin_options;
  twin_options.scenario_traffic = false;
  twin_options.until_idle = true;
  std::unique_ptr<PcapSink> sink = capture_egress(outputs, scenario->topology, twin_options);
  auto twin = Twin::make(*scenario, twin_options);
  if (!twin) {
    err << twin.error() << "\n";
    return kExitBadInput;
  }
  (*twin)->add_source("replay", std::move(*opened), false);

  const auto wall_start = std::chrono::steady_clock::now();
  RunReport report = (*twin)->run();
  if (const auto& stopped = (*twin)->stopped()) {  // SPEC section 10: nothing is written
    err << scenario->file << ": error: " << *stopped << "\n";
    return kExitBadInput;
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  ReplayTotals totals;
  totals.pcap = pcap_path;
  totals.port = port_name;
  totals.packets = capture.packets();
  totals.bytes = capture.bytes();
  totals.flows = capture.flows();
  totals.duration = capture.duration();
  totals.error = capture.error();
  report.replay = totals;

  err << "replayed " << totals.packets << " packets (" << totals.bytes << " bytes) in " << wall
      << " s of wall time: " << static_cast<std::uint64_t>(totals.packets / std::max(wall, 1e-9))
      << " packets/s\n";
  if (vm.count("html")) {
    if (Status e = write_html_report(vm["html"].as<std::string>(), report, *scenario,
                                     picture ? &*picture : nullptr, "replay");
        !e.ok()) {
      err << "hivesim replay: error: " << e.error() << "\n";
      return kExitBadInput;
    }
  }
  if (Status e = write_outputs(outputs, report, scenario->file, "replay", sink.get()); !e.ok()) {
    if (vm.count("html")) std::filesystem::remove(vm["html"].as<std::string>());
    err << e.error() << "\n";
    return kExitBadInput;
  }
  const int code = print_report(report, format, false, out, err);
  if (totals.error) {
    err << *totals.error << " (the packets before it were replayed and are reported)\n";
    return kExitBadInput;
  }
  return code;
}

}  // namespace hivesim::cli
