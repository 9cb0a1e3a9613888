#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>

#include "base/units.hpp"
#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"
#include "sim/whatif/diff.hpp"

namespace po = boost::program_options;

namespace hivesim::cli {

namespace {

constexpr const char* kUsage =
    "usage: hivesim diff BEFORE AFTER [--seed N] [--until T] [--static-only] [--tolerance X]\n"
    "                    [--from GLOB] [--to LIST] [--services LIST] [--format text|json]\n"
    "                    [--junit FILE] [--out DIR] [--html FILE]\n"
    "\n"
    "What a change does. Static part: reach on both scenarios over the union of their default\n"
    "destinations and services, from the exterior ports both have. Dynamic part (unless\n"
    "--static-only): run on both with the same seed, compared per traffic entry, drop, LB\n"
    "member share, failure and expectation. Exit 0: nothing regressed; 1: something did (each\n"
    "regression printed); 2: bad input. --html writes one self-contained page: the verdict,\n"
    "the changed connections with their deciding rule, the runs' timelines, AFTER's topology.\n";

}  // namespace

int diff_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("diff options");
  options.add_options()("help,h", "show this help")("seed", po::value<std::string>(),
                                                    "seed of both runs (default: BEFORE's)")(
      "until", po::value<std::string>(), "simulated time both runs go to")(
      "static-only", "compare reachability only, run nothing")(
      "tolerance", po::value<double>()->default_value(0.001),
      "how far a traffic entry's delivered fraction may fall")("from", po::value<std::string>(),
                                                               "source ports, a shell glob")(
      "to", po::value<std::string>(), "destinations: port names and IPv4s")(
      "services", po::value<std::string>(), "e.g. tcp/22,udp/53,icmp")(
      "format", po::value<std::string>()->default_value("text"), "text or json")(
      "junit", po::value<std::string>(), "JUnit XML, one testcase per compared item")(
      "out", po::value<std::string>(), "folder for report.json")(
      "html", po::value<std::string>(), "self-contained HTML page of the comparison");
  po::options_description all;
  all.add(options).add_options()("scenarios", po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add("scenarios", 2);
  po::variables_map vm;
  auto fail = [&err](const std::string& message) {
    err << "hivesim diff: error: " << message << "\n";
    return kExitBadInput;
  };
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "hivesim diff: error: " << e.what() << "\n" << kUsage;
    return kExitBadInput;
  }
  if (vm.count("help")) {
    out << kUsage << "\n" << options;
    return kExitOk;
  }
  if (!vm.count("scenarios") || vm["scenarios"].as<std::vector<std::string>>().size() != 2) {
    return fail("give two scenarios, BEFORE and AFTER (see hivesim diff --help)");
  }
  const std::string format = vm["format"].as<std::string>();
  if (Status bad = check_format(format); !bad.ok()) return fail(bad.error());
  whatif::DiffOptions opts;
  if (auto done = parse_reach_query(vm, opts.query, "diff", err)) return *done;
  if (vm.count("seed")) {
    opts.seed = parse_seed(vm["seed"].as<std::string>());
    if (!opts.seed) return fail("--seed must be a whole number from 0 to 2^64-1");
  }
  if (vm.count("until")) {
    opts.until = parse_duration(vm["until"].as<std::string>());
    if (!opts.until)
      return fail("--until: '" + vm["until"].as<std::string>() + "' is not a duration");
  }
  opts.static_only = vm.count("static-only") != 0;
  opts.tolerance = vm["tolerance"].as<double>();
  if (!(opts.tolerance >= 0 && opts.tolerance <= 1)) return fail("--tolerance must be in [0, 1]");

  const auto& files = vm["scenarios"].as<std::vector<std::string>>();
  const auto before = load_or_report(files[0], err);
  const auto after = load_or_report(files[1], err);
  if (!before || !after) return kExitBadInput;
  // Laid out before the runs, so that the page is the same in every process (cli_common.hpp).
  std::optional<graph::Graph> picture;
  if (vm.count("html")) picture = topology_picture(*after);
  auto report = whatif::diff(*before, *after, opts);
  if (!report) return fail(report.error());

  const std::string json = whatif::diff_json(*report).dump(2) + "\n";
  std::vector<std::string> written;
  auto undo = [&written] {
    std::error_code ignored;
    for (const std::string& p : written)
      std::filesystem::remove(p, ignored);
  };
  if (vm.count("out")) {
    const std::string dir = vm["out"].as<std::string>();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(dir + ": cannot create the output folder");
    if (Status e = write_file_atomically(dir + "/report.json", json); !e.ok())
      return fail(e.error());
    written.push_back(dir + "/report.json");
  }
  if (vm.count("junit")) {
    if (Status e =
            write_file_atomically(vm["junit"].as<std::string>(), whatif::diff_junit(*report));
        !e.ok()) {
      undo();
      return fail(e.error());
    }
    written.push_back(vm["junit"].as<std::string>());
  }
  if (vm.count("html")) {
    if (Status e = write_diff_html(vm["html"].as<std::string>(), *report, *after,
                                   picture ? &*picture : nullptr);
        !e.ok()) {
      undo();
      return fail(e.error());
    }
  }
  if (format == "json") {
    out << json;
  } else {
    out << whatif::diff_text(*report);
  }
  for (const whatif::DiffItem& i : report->items) {
    if (i.regression && format == "json")
      err << "REGRESSION: " << i.kind << " " << i.name << ": " << i.detail << "\n";
  }
  return report->regressions > 0 ? kExitExpectationFailed : kExitOk;
}

}  // namespace hivesim::cli
