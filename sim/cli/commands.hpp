#pragma once
// The subcommands. Each takes its own arguments (after the subcommand word), writes its
// report to `out` and its messages to `err`, and returns an exit code (cli_common.hpp).

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options/variables_map.hpp>

namespace hivesim::cli {

int trace_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int replay_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int import_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int check_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int graph_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int reach_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int diff_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int sweep_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace hivesim::cli

namespace hivesim::whatif {
struct ReachQuery;
}

namespace hivesim::cli {

/// "a,b,c" -> items; nullopt when an item is empty.
std::optional<std::vector<std::string>> split_list(const std::string& list);

/// Fills `query` from --from/--to/--services (reach and diff); an exit code on bad input.
std::optional<int> parse_reach_query(const boost::program_options::variables_map& vm,
                                     whatif::ReachQuery& query, std::string_view command,
                                     std::ostream& err);

}  // namespace hivesim::cli
