#include "sim/cli/cli_common.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "sim/io/atomic_file.hpp"
#include "sim/io/pcap_source.hpp"
#include "sim/io/sqlite_history.hpp"

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

std::optional<int> parse_command_line(const std::vector<std::string>& args,
                                      const boost::program_options::options_description& options,
                                      std::string_view command, std::string_view usage,
                                      boost::program_options::variables_map& vm, std::ostream& out,
                                      std::ostream& err) {
  namespace po = boost::program_options;
  po::options_description all;
  all.add(options).add_options()("scenario", po::value<std::string>(), "scenario file");
  po::positional_options_description positional;
  positional.add("scenario", 1);
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "hivesim " << command << ": error: " << e.what() << "\n" << usage;
    return kExitBadInput;
  }
  if (vm.count("help")) {
    out << usage << "\n" << options;
    return kExitOk;
  }
  if (!vm.count("scenario")) {
    err << "hivesim " << command << ": error: missing SCENARIO (see hivesim " << command
        << " --help)\n";
    return kExitBadInput;
  }
  return std::nullopt;
}

Status check_format(const std::string& format) {
  if (format == "text" || format == "json") return {};
  return Error{"--format must be text or json, not '" + format + "'"};
}

std::optional<std::uint64_t> parse_seed(const std::string& text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

Status write_file_atomically(const std::string& path, const std::string& content) {
  return hivesim::write_file_atomically(path, std::string_view(content));
}

std::unique_ptr<PcapSink> capture_egress(const RunOutputs& outputs, const Topology& topo,
                                         TwinOptions& options) {
  if (!outputs.pcap_out) return nullptr;
  auto sink = std::make_unique<PcapSink>(*outputs.pcap_out);
  options.on_egress = [sink = sink.get(), &topo](PortId port, const Packet& packet, SimTime at) {
    sink->record(topo.port(port).name, packet, at);
  };
  return sink;
}

void open_scenario_pcaps(TwinOptions& options) {
  options.open_pcap = [](const Traffic&,
                         const PcapTraffic& t) -> Result<std::unique_ptr<TrafficSource>> {
    auto source = PcapSource::open(t.path, PcapOptions{t.port, t.speed, false, 0});
    if (!source) return Error{source.error()};
    return std::unique_ptr<TrafficSource>(std::move(*source));
  };
}

Status write_outputs(const RunOutputs& outputs, const RunReport& report,
                     const std::string& scenario_file, std::string_view command, PcapSink* sink) {
  // The captures first: PcapSink::write() cleans up after itself when it fails.
  if (sink) {
    if (Status e = sink->write(); !e.ok()) return e;
  }
  std::vector<std::string> written;
  auto undo = [&written] {
    std::error_code ignored;
    for (const std::string& p : written)
      std::filesystem::remove(p, ignored);
  };
  if (outputs.out_dir) {
    std::error_code ec;
    std::filesystem::create_directories(*outputs.out_dir, ec);
    if (ec) return Error{*outputs.out_dir + ": error: cannot create the output folder"};
    const std::string path = *outputs.out_dir + "/report.json";
    if (Status e = write_file_atomically(path, run_report_json(report).dump(2) + "\n"); !e.ok())
      return e;
    written.push_back(path);
  }
  if (outputs.junit) {
    if (Status e = write_file_atomically(*outputs.junit, run_report_junit(report)); !e.ok()) {
      undo();
      return e;
    }
    written.push_back(*outputs.junit);
  }
  if (outputs.db) {
    auto id = append_run(*outputs.db, report, scenario_file, command);
    if (!id) {
      undo();
      return Error{id.error()};
    }
  }
  return {};
}

int print_report(const RunReport& report, const std::string& format, bool quiet, std::ostream& out,
                 std::ostream& err) {
  if (format == "json") {
    out << run_report_json(report).dump(2) << "\n";
    for (const ExpectationRow& e : report.expectations) {
      if (!e.passed) err << "FAILED: " << e.name << ": " << e.detail << "\n";
    }
  } else if (!quiet) {
    out << run_report_text(report);
  } else {
    for (const ExpectationRow& e : report.expectations) {
      if (!e.passed) err << "FAILED: " << e.name << ": " << e.detail << "\n";
    }
  }
  return report.all_passed() ? kExitOk : kExitExpectationFailed;
}

}  // namespace hivesim::cli
