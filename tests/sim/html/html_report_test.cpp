// The HTML report page (SPEC sections 2 and 9): self-contained (nothing fetched), escaped,
// deterministic, with every section; the rendering in a browser is checked by the
// html_in_chromium test (tests/support/html_in_chromium.cmake).

#include <catch2/catch.hpp>

#include <regex>

#include "sim/html/html_report.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;

namespace {

RunReport sample() {
  RunReport r;
  r.scenario = "three-tier <&>";
  r.seed = 7;
  r.sim_time = 30 * kSecond;
  r.packets = {1000, 900, 80, 15, 5};
  r.drops = {{DropReason::kRule, "db-in", 1, 12}, {DropReason::kNoRoute, "r1", std::nullopt, 3}};
  LbRow lb;
  lb.vip = "web-vip";
  lb.connections = 3;
  lb.members = {{"10.0.1.10:8080", 1, 1, 1.0 / 3.0, 0.25},
                {"10.0.1.11:8080", 3, 2, 2.0 / 3.0, 0.75}};
  r.load_balancers = {lb};
  r.failures = {{10 * kSecond, "host_down hv2", 12, 1200 * kMillisecond}};
  TrafficRow t;
  t.name = "clients";
  t.sent = 500;
  t.delivered = 490;
  t.dropped = 10;
  r.traffic = {t};
  r.expectations = {{"web reachable", true, "490/500 delivered"},
                    {"db <isolated>", false, "3 packets reached db"}};
  r.timeline.bucket_ns = 300 * kMillisecond;
  r.timeline.series = {
      {"clients", std::vector<std::uint64_t>(100, 5), std::vector<std::uint64_t>(100, 0)}};
  r.timeline.series[0].dropped[34] = 10;
  r.timeline.events = {{10 * kSecond, "host_down hv2"}};
  return r;
}

std::size_t count_of(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("HTML report: every section, the verdict, the rule text of a drop") {
  LoadResult loaded = load_scenario(HIVESIM_SOURCE_DIR "/scenarios/three-tier.yaml");
  REQUIRE(loaded.scenario);
  const Topology& topo = loaded.scenario->topology;
  graph::Graph g = graph::build_graph(topo, "three-tier");
  REQUIRE(graph::lay_out(g).ok());
  const std::string page = html::run_report_page(sample(), &g, &topo, "run");
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  for (const char* id :
       {"expectations", "topology", "timeline", "failures", "lb", "drops", "traffic"}) {
    INFO(id);
    CHECK(count_of(page, std::string("<section id=\"") + id + "\"") == 1);
  }
  CHECK(page.find("expectation failed") != std::string::npos);
  CHECK(count_of(page, "class=\"pill fail\"") == 2);  // the header and the failed row
  // db-in rule 1 is "any: reject" in three-tier.yaml.
  CHECK(page.find("#1 <code>any: reject</code>") != std::string::npos);
  // The topology picture is inline, one timeline chart per series, one line per failure.
  CHECK(page.find("id=\"topology-svg\"") != std::string::npos);
  CHECK(count_of(page, "<title>timeline of clients</title>") == 1);
  CHECK(count_of(page, "stroke-dasharray=\"4 3\"") == 1);
  CHECK(page.find("fill=\"#dc2626\"><title>10.2s: 5 delivered, 10 dropped") != std::string::npos);
  // Shares as bars with the expected marker where the weights put it.
  CHECK(page.find("width:33.33%") != std::string::npos);
  CHECK(page.find("left:75.00%") != std::string::npos);
}

TEST_CASE("HTML report: self-contained and escaped") {
  const std::string page = html::run_report_page(sample(), nullptr, nullptr, "replay");
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<link") == std::string::npos);
  CHECK(page.find("@import") == std::string::npos);
  CHECK(page.find("url(") == std::string::npos);
  CHECK(page.find(" src=") == std::string::npos);
  // The only URLs are SVG namespace names, which are never fetched.
  const std::regex url("https?://[^\"]*");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), url); it != std::sregex_iterator();
       ++it) {
    CHECK(it->str() == "http://www.w3.org/2000/svg");
  }
  CHECK(page.find("three-tier &lt;&amp;&gt;") != std::string::npos);
  CHECK(page.find("db &lt;isolated&gt;") != std::string::npos);
  CHECK(page.find("<isolated>") == std::string::npos);
}
