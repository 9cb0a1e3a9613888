// hivesim: the command-line entry point. Dispatches to a subcommand and turns anything that
// escapes it into exit code 3 (an internal error is a bug, never the user's fault).

#include <malloc.h>

#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "sim/cli/cli_common.hpp"
#include "sim/cli/commands.hpp"

namespace {

constexpr const char* kHelp =
    "hivesim " HIVESIM_VERSION
    " - a digital twin of a MidoNet-style network-virtualization overlay\n"
    "\n"
    "usage:\n"
    "  hivesim run      SCENARIO [--seed N] [--until T] [--format text|json] [--out DIR] ...\n"
    "  hivesim trace    SCENARIO --from PORT --packet SPEC [--at T] [--format text|json]\n"
    "  hivesim trace    SCENARIO --batch FILE [--format text|json]\n"
    "  hivesim replay   SCENARIO --pcap FILE --port PORT [--speed X|--topspeed] ...\n"
    "  hivesim check    SCENARIO\n"
    "  hivesim graph    SCENARIO [--format dot|svg|mermaid] [--trace \"PORT SPEC\"] [-o FILE]\n"
    "  hivesim --help | --version\n"
    "\n"
    "Every subcommand has --help. Exit codes: 0 ok, 1 an expectation failed, 2 bad input,\n"
    "3 internal error.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace hivesim::cli;
  // A run's memory grows by doubling vectors and deque blocks, most of it in the packets
  // in flight on a congested underlay. glibc would give each large block it frees back to the
  // kernel (mmap/munmap, heap trimming), so the next one faults in fresh pages, which costs
  // more than the simulation on a virtual machine. Keeping freed memory in the heap lets it be
  // reused (a 2M-packet replay: 42k page faults fewer by a third).
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
      std::cerr << kHelp;
      return kExitBadInput;
    }
    const std::string_view command = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (command == "--help" || command == "-h" || command == "help") {
      std::cout << kHelp;
      return kExitOk;
    }
    if (command == "--version") {
      std::cout << "hivesim " << HIVESIM_VERSION << "\n";
      return kExitOk;
    }
    if (command == "trace") return trace_command(rest, std::cout, std::cerr);
    if (command == "check") return check_command(rest, std::cout, std::cerr);
    if (command == "run") return run_command(rest, std::cout, std::cerr);
    if (command == "replay") return replay_command(rest, std::cout, std::cerr);
    if (command == "graph") return graph_command(rest, std::cout, std::cerr);
    std::cerr << "hivesim: error: unknown command '" << command << "'\n\n" << kHelp;
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "hivesim: internal error: " << e.what() << "\n";
    return kExitInternal;
  } catch (...) {
    std::cerr << "hivesim: internal error\n";
    return kExitInternal;
  }
}
