// --html FILE for run and replay: the report page with the scenario's topology picture.

#include <filesystem>

#include "sim/cli/cli_common.hpp"
#include "sim/graph/graph.hpp"
#include "sim/html/html_report.hpp"

namespace hivesim::cli {

Status write_html_report(const std::string& path, const RunReport& report, const Scenario& scenario,
                         std::string_view command) {
  graph::Graph picture = graph::build_graph(scenario.topology, scenario.name);
  const bool placed = graph::lay_out(picture).ok();
  const std::string page =
      html::run_report_page(report, placed ? &picture : nullptr, &scenario.topology, command);
  if (Status failed = write_file_atomically(path, page); !failed.ok()) {
    return Error{"--html: " + failed.error()};
  }
  return {};
}

}  // namespace hivesim::cli
