#include <catch2/catch.hpp>

#include <algorithm>

#include <QEventLoop>
#include <QTabWidget>
#include <QTextBrowser>

#include "gui/main_window.hpp"
#include "gui/run_panel.hpp"
#include "gui/timeline_chart.hpp"
#include "gui/topology_view.hpp"
#include "gui/trace_panel.hpp"

using namespace hivesim;
using namespace hivesim::gui;

namespace {

QString scenario(const char* name) {
  return QString(HIVESIM_SOURCE_DIR) + "/scenarios/" + name;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

TEST_CASE("GUI: opening a scenario draws its topology and lists its ports") {
  MainWindow w;
  REQUIRE(w.open_scenario(scenario("three-tier.yaml")).ok());
  CHECK(w.view()->scene()->items().size() > 10);
  CHECK(w.view()->highlighted_nodes().empty());
  CHECK(w.trace_panel()->port() == "web1");
  CHECK(w.windowTitle().contains("three-tier"));
  // Selecting a device shows its routes.
  REQUIRE(w.view()->select_node("router:r1"));
  CHECK(w.device_browser()->toPlainText().contains("10.99.0.0/16"));
}

TEST_CASE("GUI: a scenario with errors is refused and the open one stays") {
  MainWindow w;
  REQUIRE(w.open_scenario(scenario("three-tier.yaml")).ok());
  auto error = w.open_scenario(scenario("no-such-file.yaml"));
  REQUIRE_FALSE(error.ok());
  CHECK_THAT(error.error(), Catch::Contains("no-such-file.yaml"));
  CHECK(w.session()->scenario().name == "three-tier");
}

TEST_CASE("GUI: tracing a blocked packet highlights its path and names the deciding rule") {
  MainWindow w;
  REQUIRE(w.open_scenario(scenario("three-tier.yaml")).ok());
  REQUIRE(w.trace_line("web1 tcp dst=10.0.3.10 dport=5432").ok());
  TracePanel* t = w.trace_panel();
  CHECK(t->verdict_text().contains("Dropped"));
  CHECK(t->verdict_text().contains("rule 1 of db-in"));
  CHECK(t->hop_count() >= 3);
  const auto lit = w.view()->highlighted_nodes();
  CHECK(has(lit, "port:web1"));
  CHECK(has(lit, "bridge:web"));
  CHECK(has(lit, "router:r1"));
  CHECK(has(lit, "bridge:db"));
  CHECK_FALSE(has(lit, "bridge:app"));

  // Stepping: one hop at a time, framed on the drawing.
  CHECK(w.view()->focused_node().empty());
  t->next_hop();
  CHECK(t->current_hop() == 1);
  CHECK(w.view()->focused_node() == "bridge:web");
  t->next_hop();
  CHECK(w.view()->focused_node() == "router:r1");
  t->previous_hop();
  CHECK(w.view()->focused_node() == "bridge:web");
  for (int i = 0; i < 20; ++i)
    t->next_hop();
  CHECK(t->current_hop() == t->hop_count());
  CHECK(w.view()->focused_node() == "bridge:db");
}

TEST_CASE("GUI: a bad packet spec shows the parser's error and traces nothing") {
  MainWindow w;
  REQUIRE(w.open_scenario(scenario("three-tier.yaml")).ok());
  auto error = w.trace_line("web1 tcp dst=10.0.3.10 dprt=5432");
  REQUIRE_FALSE(error.ok());
  CHECK(w.trace_panel()->error_text().contains("dprt"));
  CHECK(w.trace_panel()->hop_count() == 0);
  CHECK(w.view()->highlighted_nodes().empty());
  // A good spec afterwards clears the error.
  REQUIRE(w.trace_line("web1 tcp dst=10.0.2.10 dport=8080").ok());
  CHECK(w.trace_panel()->error_text().isEmpty());
  CHECK(w.trace_panel()->verdict_text().contains("Delivered"));
}

TEST_CASE("GUI: a run fills the timeline, with the failures marked, and the report tabs") {
  MainWindow w;
  REQUIRE(w.open_scenario(scenario("failover.yaml")).ok());
  REQUIRE(w.run_and_wait().ok());
  RunPanel* run = w.run_panel();
  REQUIRE(run->report());
  const Timeline& chart = run->timeline()->data();
  REQUIRE(chart.series.size() == 2);
  CHECK(chart.series[0].traffic == "web1-out");
  CHECK(chart.bucket_ns > 0);
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  for (auto v : chart.series[0].delivered)
    delivered += v;
  for (auto v : chart.series[0].dropped)
    dropped += v;
  CHECK(delivered == run->report()->traffic[0].delivered);
  CHECK(dropped > 0);  // gw1 dies at 10s
  REQUIRE(chart.events.size() == 2);
  CHECK(chart.events[0].event == "host_down gw1");
  CHECK(chart.events[0].at == 10 * kSecond);
  CHECK(run->tabs()->tabText(4).contains("Expectations"));
  CHECK(run->status_text().contains("delivered"));
}

TEST_CASE("GUI: a what-if failure added from the drawing joins the next run, until cleared") {
  CHECK(failure_choices(ObjectKind::kHost).size() == 2);
  CHECK(failure_choices(ObjectKind::kPort).front().second == FailureKind::kPortDown);
  CHECK(failure_choices(ObjectKind::kRouter).empty());

  MainWindow w;
  REQUIRE(w.open_scenario(scenario("failover.yaml")).ok());
  RunPanel* run = w.run_panel();
  CHECK(run->what_if_text().isEmpty());
  REQUIRE(w.run_and_wait().ok());
  const std::uint64_t delivered_before = run->report()->traffic[0].delivered;
  REQUIRE(run->report()->failures.size() == 2);  // the scenario's own: gw1 down and back

  REQUIRE(w.add_failure(FailureKind::kPortDown, "web1").ok());
  CHECK(run->what_if_text().contains("port_down web1 at 10s"));
  CHECK_FALSE(run->report());  // the last report was of another scenario
  CHECK_FALSE(w.add_failure(FailureKind::kPortDown, "web1").ok());    // added already
  CHECK_FALSE(w.add_failure(FailureKind::kPortDown, "r1-web").ok());  // interior
  CHECK_FALSE(w.add_failure(FailureKind::kHostDown, "hv9").ok());     // no such host
  REQUIRE(w.run_and_wait().ok());
  const RunReport& after = *run->report();
  REQUIRE(after.failures.size() == 3);
  CHECK(std::any_of(after.failures.begin(), after.failures.end(),
                    [](const auto& f) { return f.event == "port_down web1"; }));
  CHECK(after.traffic[0].delivered < delivered_before);  // web1's traffic stops at 10s of 30s
  // Traces still see the topology as opened.
  CHECK(w.trace_line("web1 tcp dst=203.0.113.9 dport=443").ok());

  w.clear_failures();
  CHECK(run->what_if_text().isEmpty());
  REQUIRE(w.run_and_wait().ok());
  CHECK(run->report()->failures.size() == 2);
  CHECK(run->report()->traffic[0].delivered == delivered_before);
}

TEST_CASE("GUI: a run can be cancelled") {
  MainWindow w;
  REQUIRE(w.open_scenario(scenario("failover.yaml")).ok());
  RunPanel* run = w.run_panel();
  QEventLoop loop;
  bool ok = true;
  QString message;
  QObject::connect(run, &RunPanel::finished, &loop, [&](bool good, const QString& m) {
    ok = good;
    message = m;
    loop.quit();
  });
  run->start();
  run->cancel();
  loop.exec();
  CHECK_FALSE(ok);
  CHECK(message.startsWith("cancelled"));
  CHECK_FALSE(run->report());
  CHECK(run->timeline()->data().series.empty());
}
