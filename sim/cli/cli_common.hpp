#pragma once
// Shared pieces of the subcommands: exit codes, loading a scenario with its messages printed,
// and building a packet from a spec as the VM behind a port would send it.

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options.hpp>

#include "base/result.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/graph/graph.hpp"
#include "sim/html/whatif_pages.hpp"
#include "sim/io/pcap_sink.hpp"
#include "sim/render/run_report.hpp"
#include "sim/twin/twin.hpp"
#include "sim/whatif/diff.hpp"
#include "topology/load/loader.hpp"

namespace hivesim::cli {

/// SPEC section 2 exit codes.
enum ExitCode : int {
  kExitOk = 0,
  kExitExpectationFailed = 1,
  kExitBadInput = 2,
  kExitInternal = 3,
};

/// Parses a subcommand's arguments: `options` plus one positional SCENARIO. On --help prints
/// `usage` and the options and returns kExitOk; on bad arguments or no SCENARIO prints a message
/// and returns kExitBadInput; otherwise fills `vm` and returns nullopt.
std::optional<int> parse_command_line(const std::vector<std::string>& args,
                                      const boost::program_options::options_description& options,
                                      std::string_view command, std::string_view usage,
                                      boost::program_options::variables_map& vm, std::ostream& out,
                                      std::ostream& err);

/// Success for `text` or `json`, else the message for a bad --format.
Status check_format(const std::string& format);

/// Loads the scenario; on failure prints every diagnostic to `err` and returns nullopt.
std::optional<Scenario> load_or_report(const std::string& path, std::ostream& err);

/// The exterior port `name` packets can be sent from, or an error naming the problem.
Result<PortId> sending_port(const Topology& topo, std::string_view name);

/// Parses `spec` and builds the packet the VM behind `port` would send.
Result<Packet> packet_from(const Simulator& sim, PortId port, std::string_view spec);

/// A --seed value: decimal digits only (Boost would wrap "-5" into a huge unsigned number).
std::optional<std::uint64_t> parse_seed(const std::string& text);

/// Writes `content` to `path` through a temporary file renamed into place, so that a reader
/// never sees half a file.
Status write_file_atomically(const std::string& path, const std::string& content);

/// Where `run` and `replay` put their artefacts besides stdout.
struct RunOutputs {
  std::optional<std::string> out_dir;  // report.json
  std::optional<std::string> db;       // SQLite history
  std::optional<std::string> junit;
  std::optional<std::string> pcap_out;  // one pcap per exterior port that received packets
};

/// With --pcap-out: a sink that `options.on_egress` feeds; else nullptr. `topo` must outlive it.
std::unique_ptr<PcapSink> capture_egress(const RunOutputs& outputs, const Topology& topo,
                                         TwinOptions& options);

/// Lets the twin open the scenario's `pcap` traffic entries with the io layer's reader.
void open_scenario_pcaps(TwinOptions& options);

/// Writes every requested artefact, or none: on a failure what was written is removed.
Status write_outputs(const RunOutputs& outputs, const RunReport& report,
                     const std::string& scenario_file, std::string_view command,
                     PcapSink* sink = nullptr);

/// The scenario's topology laid out for an HTML page (html_output.cpp); nullopt when Graphviz
/// cannot place it (the page then goes without the picture). Call it before simulating: Graphviz
/// orders some of its sets by memory address, so a layout made on the heap a run leaves behind
/// moves nodes by a few points from one process to the next, while one made first is the same
/// in every process.
std::optional<graph::Graph> topology_picture(const Scenario& scenario);

/// --html FILE: writes the self-contained report page atomically; `picture` may be null.
Status write_html_report(const std::string& path, const RunReport& report, const Scenario& scenario,
                         const graph::Graph* picture, std::string_view command);

/// --html FILE of diff: the what-if page with AFTER's topology `picture` (may be null), the
/// deciding devices marked on it, atomically.
Status write_diff_html(const std::string& path, const whatif::DiffReport& report,
                       const Scenario& after, graph::Graph* picture);

/// --html FILE of sweep: the ranking page; `timelines` may be null (a merged report).
Status write_sweep_html(const std::string& path, const nlohmann::ordered_json& report,
                        const html::SweepTimelines* timelines);

/// Prints the report in `format` (failed expectations also on `err` unless the text report
/// shows them) and returns exit code 0 or 1.
int print_report(const RunReport& report, const std::string& format, bool quiet, std::ostream& out,
                 std::ostream& err);

}  // namespace hivesim::cli
