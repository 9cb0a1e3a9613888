#pragma once
// hivesim-gui's command line (SPEC section 2):
//   hivesim-gui [SCENARIO] [--screenshot FILE.png [--trace "PORT SPEC"] [--run]]
// and, beyond SPEC, --fail KIND:TARGET (repeatable): the what-if failures the drawing's
// right-click menu adds (host_down:HOST, agent_restart:HOST, port_down:PORT).
// Parsed before Qt starts, so a bad command line exits 2 without needing a display.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "topology/model.hpp"

namespace hivesim::gui {

struct AppArgs {
  std::optional<std::string> scenario;
  std::optional<std::string> screenshot;  // render offscreen to this PNG and exit
  std::optional<std::string> trace;       // "PORT SPEC", traced after opening
  bool run = false;                       // run the scenario after opening (and tracing)
  std::vector<std::pair<FailureKind, std::string>> fail;  // --fail KIND:TARGET, in order
  bool help = false;
  bool version = false;
};

/// Parses the arguments after the program name. Errors name the argument: an unknown option,
/// a missing value, a second SCENARIO, --trace/--run without SCENARIO, a --screenshot file not
/// ending in .png. --trace and --run also work without --screenshot (then the window opens
/// after doing them).
Result<AppArgs> parse_app_args(const std::vector<std::string>& args);

/// The usage text for --help and after an argument error.
extern const char* const kAppUsage;

}  // namespace hivesim::gui
