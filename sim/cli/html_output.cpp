// --html FILE for run and replay (the report page with the scenario's topology picture), and
// for diff (AFTER's picture, the deciding devices marked) and sweep.

#include <filesystem>

#include "sim/cli/cli_common.hpp"
#include "sim/graph/graph.hpp"
#include "sim/html/html_report.hpp"
#include "sim/html/whatif_pages.hpp"

namespace hivesim::cli {

std::optional<graph::Graph> topology_picture(const Scenario& scenario) {
  graph::Graph picture = graph::build_graph(scenario.topology, scenario.name);
  if (!graph::lay_out(picture).ok()) return std::nullopt;
  return picture;
}

Status write_html_report(const std::string& path, const RunReport& report, const Scenario& scenario,
                         const graph::Graph* picture, std::string_view command) {
  const std::string page = html::run_report_page(report, picture, &scenario.topology, command);
  if (Status failed = write_file_atomically(path, page); !failed.ok()) {
    return Error{"--html: " + failed.error()};
  }
  return {};
}

Status write_diff_html(const std::string& path, const whatif::DiffReport& report,
                       const Scenario& after, graph::Graph* picture) {
  if (picture != nullptr) html::mark_changed_devices(*picture, after.topology, report);
  if (Status failed = write_file_atomically(path, html::diff_page(report, picture)); !failed.ok()) {
    return Error{"--html: " + failed.error()};
  }
  return {};
}

Status write_sweep_html(const std::string& path, const nlohmann::ordered_json& report,
                        const html::SweepTimelines* timelines) {
  if (Status failed = write_file_atomically(path, html::sweep_page(report, timelines));
      !failed.ok()) {
    return Error{"--html: " + failed.error()};
  }
  return {};
}

}  // namespace hivesim::cli
