#include "gui/app_args.hpp"

namespace hivesim::gui {

const char* const kAppUsage =
    "usage: hivesim-gui [SCENARIO] [--screenshot FILE.png [--trace \"PORT SPEC\"] [--run]]\n"
    "                   [--fail KIND:TARGET]...\n"
    "\n"
    "Opens SCENARIO in the hivesim window: the topology, packet traces, runs with their\n"
    "timeline. --trace traces a packet after opening (its last hop selected), --run plays\n"
    "the scenario. With --screenshot the window is drawn offscreen after those, into\n"
    "FILE.png (1200x800), and the program exits: 0 when written, 2 for bad arguments, a\n"
    "scenario with errors, a bad trace or a run that cannot start.\n"
    "--fail adds a what-if failure to the runs, at a third of the scenario's duration, as a\n"
    "right click on a host or port does: host_down:HOST, agent_restart:HOST or\n"
    "port_down:PORT (repeatable).\n";

namespace {

Status add_fail(const std::string& value, AppArgs& a) {
  const auto colon = value.find(':');
  const std::string kind = value.substr(0, colon);
  const std::string target = colon == std::string::npos ? "" : value.substr(colon + 1);
  FailureKind k{};
  if (kind == "host_down") {
    k = FailureKind::kHostDown;
  } else if (kind == "agent_restart") {
    k = FailureKind::kAgentRestart;
  } else if (kind == "port_down") {
    k = FailureKind::kPortDown;
  } else {
    return Error{"--fail '" + value + "': the kind is host_down, agent_restart or port_down"};
  }
  if (target.empty()) return Error{"--fail '" + value + "': give KIND:TARGET, e.g. host_down:hv1"};
  a.fail.emplace_back(k, target);
  return {};
}

}  // namespace

Result<AppArgs> parse_app_args(const std::vector<std::string>& args) {
  AppArgs a;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&](std::optional<std::string>& into) -> Status {
      if (into) return Error{arg + " given twice"};
      if (i + 1 >= args.size()) return Error{arg + " needs a value"};
      into = args[++i];
      return {};
    };
    if (arg == "--help" || arg == "-h") {
      a.help = true;
    } else if (arg == "--version") {
      a.version = true;
    } else if (arg == "--screenshot") {
      if (Status e = value(a.screenshot); !e.ok()) return std::move(e).take_error();
    } else if (arg == "--trace") {
      if (Status e = value(a.trace); !e.ok()) return std::move(e).take_error();
    } else if (arg == "--run") {
      a.run = true;
    } else if (arg == "--fail") {
      if (i + 1 >= args.size()) return Error{arg + " needs a value"};
      if (Status e = add_fail(args[++i], a); !e.ok()) return std::move(e).take_error();
    } else if (arg.size() > 1 && arg[0] == '-') {
      return Error{"unknown option '" + arg + "'"};
    } else if (a.scenario) {
      return Error{"one SCENARIO only (got '" + *a.scenario + "' and '" + arg + "')"};
    } else {
      a.scenario = arg;
    }
  }
  if (a.help || a.version) return a;
  if ((a.trace || a.run || !a.fail.empty()) && !a.scenario) {
    return Error{"--trace, --run and --fail need a SCENARIO"};
  }
  if (a.trace && a.trace->find_first_not_of(" \t") == std::string::npos) {
    return Error{"--trace needs \"PORT SPEC\", e.g. --trace \"web1 tcp dst=10.0.3.10 dport=5432\""};
  }
  if (a.screenshot) {
    const std::string& f = *a.screenshot;
    if (f.size() < 5 || f.compare(f.size() - 4, 4, ".png") != 0) {
      return Error{"--screenshot writes a PNG: give a file name ending in .png, not '" + f + "'"};
    }
  }
  return a;
}

}  // namespace hivesim::gui
