// --html FILE for run and replay (the report page with the scenario's topology picture), and
// for diff (AFTER's picture, the deciding devices marked) and sweep.

#include <filesystem>

#include "sim/cli/cli_common.hpp"
#include "sim/graph/graph.hpp"
#include "sim/html/html_report.hpp"
#include "sim/html/whatif_pages.hpp"

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

namespace hivesim::cli {

Status write_diff_html(const std::string& path, const whatif::DiffReport& report,
                       const Scenario& after) {
  graph::Graph picture = graph::build_graph(after.topology, after.name);
  const bool placed = !graph::lay_out(picture).has_value();
  if (placed) html::mark_changed_devices(picture, after.topology, report);
  if (auto failed =
          write_file_atomically(path, html::diff_page(report, placed ? &picture : nullptr))) {
    return Error{"--html: " + failed->message};
  }
  return std::nullopt;
}

Status write_sweep_html(const std::string& path, const nlohmann::ordered_json& report,
                        const html::SweepTimelines* timelines) {
  if (auto failed = write_file_atomically(path, html::sweep_page(report, timelines))) {
    return Error{"--html: " + failed->message};
  }
  return std::nullopt;
}

}  // namespace hivesim::cli
