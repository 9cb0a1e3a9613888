// The diff and sweep pages (whatif_pages.hpp): built from report values, escaped, the verdict
// first, the ranking in the report's order with bars to scale, the worst variants chosen by
// their losses, the deciding devices marked on the picture. The pages in a browser are checked
// by html_in_chromium (tests/support/html_in_chromium.cmake).

#include <catch2/catch.hpp>

#include "sim/html/whatif_pages.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;
using Json = nlohmann::ordered_json;

namespace {

std::size_t count_of(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1))
    ++n;
  return n;
}

Json variant(const std::string& name, std::uint64_t lost, double delivered,
             std::vector<std::string> failed) {
  return Json{{"name", name},
              {"packets_lost", lost},
              {"delivered_fraction", delivered},
              {"recovered_after_ns", lost == 0 ? Json(nullptr) : Json(1500000000)},
              {"traffic", Json::array()},
              {"expectations_failed", failed}};
}

Json sweep_report() {
  Json doc{{"scenario", "shop <&>"},
           {"seed", 7},
           {"fail", {"host", "nsdb"}},
           {"at_ns", 2000000000},
           {"for_ns", nullptr}};
  doc["baseline"] = Json{
      {"packets",
       {{"injected", 100}, {"delivered", 90}, {"dropped", 10}, {"consumed", 0}, {"in_flight", 0}}},
      {"delivered_fraction", 0.9},
      {"traffic", Json::array()},
      {"expectations_failed", {"always broken"}}};
  doc["variants"] = {variant("host_down a", 400, 0.5, {"always broken", "web up"}),
                     variant("host_down b", 100, 0.8, {"always broken"}),
                     variant("nsdb_down 0", 0, 0.9, {"always broken"}),
                     variant("nsdb_down 1", 0, 0.9, {"always broken"})};
  return doc;
}

Timeline flat(const std::string& traffic, std::uint64_t per_bucket) {
  Timeline t;
  t.bucket_ns = 100000000;
  t.series = {
      {traffic, std::vector<std::uint64_t>(10, per_bucket), std::vector<std::uint64_t>(10, 0)}};
  return t;
}

}  // namespace

TEST_CASE("sweep page: verdict, ranking in the report's order, bars to scale, escaping") {
  const Json doc = sweep_report();
  // Only variants that lost packets or newly fail are "worst"; an old failure does not count.
  CHECK(html::worst_variants(doc) == std::vector<std::string>{"host_down a", "host_down b"});
  CHECK(html::worst_variants(doc, 1) == std::vector<std::string>{"host_down a"});

  html::SweepTimelines t;
  t.baseline = flat("clients", 10);
  t.baseline_time = kSecond;
  t.worst.push_back({"host_down a", flat("clients", 4), kSecond});
  t.worst[0].timeline.events = {{2 * kSecond / 10, "host_down a"}};
  const std::string page = html::sweep_page(doc, &t);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("sweep shop &lt;&amp;&gt;") != std::string::npos);
  // One variant breaks an expectation the baseline passes ("always broken" fails in both).
  CHECK(page.find("1 of 4 variants break an expectation") != std::string::npos);
  CHECK(page.find("exit 1</span>") != std::string::npos);
  CHECK(count_of(page, "<span class=\"pill fail\">web up</span>") == 1);
  CHECK(count_of(page, "<span class=\"pill fail\">always broken</span>") == 1);  // baseline
  // Ranked as given; lost bars against the worst (400): 100% and 25%.
  CHECK(page.find("host_down a") < page.find("host_down b"));
  CHECK(page.find("host_down b") < page.find("nsdb_down 0"));
  CHECK(page.find("class=\"fill bad\" style=\"width:100.00%\"") != std::string::npos);
  CHECK(page.find("class=\"fill bad\" style=\"width:25.00%\"") != std::string::npos);
  CHECK(page.find("class=\"fill good\" style=\"width:50.00%\"") != std::string::npos);
  // The worst variant's chart with the baseline's line, at one scale (top 10 per bucket).
  CHECK(count_of(page, "<polyline class=\"reference\"") == 1);
  CHECK(page.find("56.00,30.00 159.20,30.00") != std::string::npos);
  CHECK(page.find("host_down a @ 200ms") != std::string::npos);

  // Without timelines (a merged report) the page says why the section is empty.
  const std::string merged = html::sweep_page(doc, nullptr);
  CHECK(merged.find("partial reports do not carry them") != std::string::npos);
  CHECK(merged.find("<polyline") == std::string::npos);
  // Nothing newly failing: exit 0.
  Json fine = doc;
  fine["variants"][0]["expectations_failed"] = {"always broken"};
  CHECK(html::sweep_page(fine, nullptr).find("exit 0</span>") != std::string::npos);
}

TEST_CASE("diff page: verdict first, reach changes with their source, runs, marked devices") {
  LoadResult loaded = load_scenario(HIVESIM_SOURCE_DIR "/scenarios/three-tier.yaml");
  REQUIRE(loaded.scenario);
  const Topology& topo = loaded.scenario->topology;

  whatif::DiffReport r;
  r.before = "a <1>";
  r.after = "b";
  r.before_file = "before.yaml";
  r.after_file = "after.yaml";
  r.seed = 3;
  r.dynamic = false;
  whatif::ReachChange worse{
      "app1",  "10.0.3.10", "tcp/5432", whatif::Reach::kOpen, whatif::Reach::kBlocked,
      nullptr, nullptr};
  worse.after_drop = Json{{"direction", "forward"},
                          {"reason", "rule"},
                          {"device", "db-in"},
                          {"rule", 1},
                          {"source", "after.yaml:37"}};
  whatif::ReachChange better{
      "web1",  "10.0.2.10", "tcp/8080", whatif::Reach::kBlocked, whatif::Reach::kOpen,
      nullptr, nullptr};
  better.before_drop = Json{{"direction", "forward"}, {"reason", "rule"}, {"device", "app1"}};
  r.reach_changed = {worse, better};
  r.reach_unchanged = 7;
  r.regressions = 1;
  r.improvements = 1;
  r.items = {{"reach", "app1 -> 10.0.3.10 tcp/5432", true, false, "open -> blocked"},
             {"reach", "web1 -> 10.0.2.10 tcp/8080", false, true, "blocked -> open"}};

  graph::Graph g = graph::build_graph(topo, "three-tier");
  REQUIRE(graph::lay_out(g).ok());
  // db-in filters db1: the regression marks db1 red; the improvement's device app1 blue.
  CHECK(html::mark_changed_devices(g, topo, r) == 2);
  CHECK(g.find_node("port:db1")->dropped);
  CHECK(g.find_node("port:app1")->highlighted);
  CHECK_FALSE(g.find_node("port:web1")->dropped);

  const std::string page = html::diff_page(r, &g);
  CHECK(page.find("diff a &lt;1&gt; &rarr; b") != std::string::npos);
  CHECK(page.find("1 regression</span>") != std::string::npos);
  CHECK(page.find("<section id=\"verdict\"") < page.find("<section id=\"reach\""));
  CHECK(page.find("after: forward rule at db-in rule 1 <code class=\"src\">after.yaml:37</code>") !=
        std::string::npos);
  CHECK(page.find("before: forward rule at app1") != std::string::npos);
  CHECK(count_of(page, "<tr class=\"regression\">") == 1);
  CHECK(count_of(page, "<tr class=\"improvement\">") == 1);
  // Static only: no run sections.
  CHECK(page.find("<section id=\"traffic\"") == std::string::npos);

  // With runs: the traffic table and AFTER's chart with BEFORE's line.
  r.dynamic = true;
  RunReport b;
  b.sim_time = kSecond;
  b.timeline = flat("clients", 10);
  RunReport a = b;
  a.timeline = flat("clients", 5);
  r.before_run = b;
  r.after_run = a;
  r.traffic = Json::array({Json{
      {"name", "clients"},
      {"before", {{"sent", 100}, {"delivered", 100}, {"dropped", 0}, {"delivered_fraction", 1.0}}},
      {"after",
       {{"sent", 100}, {"delivered", 50}, {"dropped", 50}, {"delivered_fraction", 0.5}}}}});
  const std::string with_runs = html::diff_page(r, nullptr);
  CHECK(with_runs.find("-50.0 points") != std::string::npos);
  CHECK(count_of(with_runs, "<polyline class=\"reference\"") == 1);
  CHECK(with_runs.find("No picture.") != std::string::npos);
}
