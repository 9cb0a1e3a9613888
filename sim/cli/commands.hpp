#pragma once
// The subcommands. Each takes its own arguments (after the subcommand word), writes its
// report to `out` and its messages to `err`, and returns an exit code (cli_common.hpp).

#include <iosfwd>
#include <string>
#include <vector>

namespace hivesim::cli {

int trace_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int replay_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int check_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int graph_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace hivesim::cli
