// The run report (SPEC section 5): JSON key order and presence, rounding, nulls, the text
// summary and JUnit XML.

#include <catch2/catch.hpp>

#include <limits>
#include <string>
#include <vector>

#include "sim/render/run_report.hpp"

using namespace hivesim;

namespace {

RunReport sample_report() {
  RunReport r;
  r.scenario = "three-tier";
  r.seed = 7;
  r.sim_time = 30 * kSecond;
  r.events = 123456;
  r.packets = {1000, 900, 80, 15, 5};
  r.flows.simulations = 120;
  r.flows.installed = 118;
  r.flows.cache_hits = 880;
  r.flows.cache_misses = 120;
  r.flows.invalidated = 3;
  r.flows.expired = 10;
  r.flows.evicted = 1;
  // Not alphabetical: the JSON keeps the scenario's host order.
  r.flows.per_host = {{"hv2", 50, 20}, {"hv1", 68, 30}};
  r.drops = {{DropReason::kRule, "db-in", 2, 12}, {DropReason::kNoRoute, "edge", std::nullopt, 3}};
  LbRow lb;
  lb.vip = "web-vip";
  lb.connections = 3;
  lb.members = {{"10.0.1.10:8080", 1, 1, 1.0 / 3.0, 1.0 / 3.0},
                {"10.0.1.11:8080", 2, 2, 2.0 / 3.0, 2.0 / 3.0}};
  lb.max_skew = 0.0123456;
  r.load_balancers = {lb};
  r.failures = {{10 * kSecond, "host_down hv2", 12, 1200 * kMillisecond},
                {20 * kSecond, "link_down hv1", 4, std::nullopt}};
  TrafficRow t;
  t.name = "clients";
  t.sent = 500;
  t.delivered = 490;
  t.dropped = 8;
  t.in_flight = 2;
  t.latency = {123457, 200000, 1234567, 5 * kMillisecond};
  r.traffic = {t};
  r.expectations = {{"web reachable", true, "490/500 delivered"},
                    {"db isolated", false, "3 packets from web reached db (rule 2 in db-in)"}};
  r.nsdb_writes = 4;
  r.nsdb_notifications = 12;
  r.state_pushes = 9;
  r.timeline.bucket_ns = 300 * kMillisecond;
  r.timeline.series = {{"clients", {200, 290}, {0, 8}}};
  r.timeline.events = {{10 * kSecond, "host_down hv2"}, {20 * kSecond, "link_down hv1"}};
  return r;
}

std::vector<std::string> keys(const nlohmann::ordered_json& j) {
  std::vector<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it)
    out.push_back(it.key());
  return out;
}

std::size_t count_of(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("RunReport: JSON keys appear in SPEC order") {
  const auto doc = run_report_json(sample_report());
  CHECK(keys(doc) == std::vector<std::string>{"scenario", "seed", "sim_time_ns", "events",
                                              "packets", "flows", "drops", "load_balancers",
                                              "failures", "traffic", "expectations", "nsdb",
                                              "state_pushes", "flow_state", "timeline"});
  CHECK(keys(doc["packets"]) ==
        std::vector<std::string>{"injected", "delivered", "dropped", "consumed", "in_flight"});
  CHECK(keys(doc["flows"]) == std::vector<std::string>{"simulations", "installed", "cache_hits",
                                                       "cache_misses", "invalidated", "expired",
                                                       "evicted", "per_host"});
  CHECK(keys(doc["flows"]["per_host"]) == std::vector<std::string>{"hv2", "hv1"});
  CHECK(keys(doc["flows"]["per_host"]["hv1"]) == std::vector<std::string>{"installed", "peak"});
  CHECK(keys(doc["drops"][0]) == std::vector<std::string>{"reason", "device", "rule", "count"});
  CHECK(keys(doc["load_balancers"][0]) ==
        std::vector<std::string>{"vip", "connections", "members", "max_skew"});
  CHECK(keys(doc["load_balancers"][0]["members"][0]) ==
        std::vector<std::string>{"member", "weight", "connections", "share", "expected"});
  CHECK(keys(doc["failures"][0]) == std::vector<std::string>{"at_ns", "event", "packets_lost",
                                                             "recovered_after_ns",
                                                             "flows_invalidated"});
  CHECK(keys(doc["traffic"][0]) == std::vector<std::string>{"name", "sent", "delivered", "dropped",
                                                            "in_flight", "replies_sent",
                                                            "replies_delivered", "latency_ns"});
  CHECK(keys(doc["traffic"][0]["latency_ns"]) ==
        std::vector<std::string>{"p50", "p90", "p99", "max"});
  CHECK(keys(doc["expectations"][0]) == std::vector<std::string>{"name", "passed", "detail"});
  CHECK(keys(doc["nsdb"]) == std::vector<std::string>{"writes", "notifications"});
}

TEST_CASE("RunReport: JSON values match the report") {
  const auto doc = run_report_json(sample_report());
  CHECK(doc["scenario"] == "three-tier");
  CHECK(doc["seed"] == 7);
  CHECK(doc["sim_time_ns"] == 30000000000LL);
  CHECK(doc["events"] == 123456);
  CHECK(doc["packets"]["consumed"] == 15);
  CHECK(doc["flows"]["per_host"]["hv2"]["peak"] == 20);
  CHECK(doc["drops"][0]["reason"] == "rule");
  CHECK(doc["drops"][0]["rule"] == 2);
  CHECK(doc["drops"][0]["count"] == 12);
  CHECK(doc["failures"][0]["recovered_after_ns"] == 1200000000);
  CHECK(doc["traffic"][0]["latency_ns"]["p99"] == 1234567);
  CHECK(doc["expectations"][1]["passed"] == false);
  CHECK(doc["nsdb"]["notifications"] == 12);
  CHECK(doc["state_pushes"] == 9);
}

TEST_CASE("RunReport: a drop without a rule omits the rule key") {
  const auto doc = run_report_json(sample_report());
  CHECK(doc["drops"][1]["reason"] == "no_route");
  CHECK_FALSE(doc["drops"][1].contains("rule"));
  CHECK(keys(doc["drops"][1]) == std::vector<std::string>{"reason", "device", "count"});
}

TEST_CASE("RunReport: an unrecovered failure has a null recovered_after_ns") {
  const auto doc = run_report_json(sample_report());
  REQUIRE(doc["failures"][1].contains("recovered_after_ns"));
  CHECK(doc["failures"][1]["recovered_after_ns"].is_null());
  CHECK(doc.dump().find("\"recovered_after_ns\":null") != std::string::npos);
}

TEST_CASE("RunReport: ratios are rounded to 4 decimal places") {
  const auto doc = run_report_json(sample_report());
  const std::string text = doc.dump();
  CHECK(text.find("\"share\":0.3333,") != std::string::npos);
  CHECK(text.find("\"expected\":0.6667}") != std::string::npos);
  CHECK(text.find("\"max_skew\":0.0123}") != std::string::npos);

  RunReport r = sample_report();
  r.load_balancers[0].max_skew = -0.00001;  // rounds to zero, printed without a sign
  r.load_balancers[0].members[0].expected = 0.0;
  r.load_balancers[0].members[0].share = std::numeric_limits<double>::infinity();
  const std::string odd = run_report_json(r).dump();
  CHECK(odd.find("\"max_skew\":0.0}") != std::string::npos);
  CHECK(odd.find("\"share\":null") != std::string::npos);
}

TEST_CASE("RunReport: the replay object appears only for replay, before nsdb") {
  RunReport r = sample_report();
  CHECK_FALSE(run_report_json(r).contains("replay"));

  r.replay = ReplayTotals{"in.pcap", "vm1", 10, 1500, 3, 2 * kMillisecond, std::nullopt};
  auto doc = run_report_json(r);
  const auto top = keys(doc);
  REQUIRE(top.size() == 16);
  CHECK(top[11] == "replay");
  CHECK(top[12] == "nsdb");
  CHECK(keys(doc["replay"]) ==
        std::vector<std::string>{"pcap", "port", "packets", "bytes", "flows", "duration_ns"});
  CHECK(doc["replay"]["duration_ns"] == 2000000);

  r.replay->error = "in.pcap: truncated record at byte 4000";
  doc = run_report_json(r);
  CHECK(doc["replay"]["error"] == "in.pcap: truncated record at byte 4000");
}

TEST_CASE("RunReport: all_passed needs every expectation to hold") {
  RunReport r = sample_report();
  CHECK_FALSE(r.all_passed());
  r.expectations[1].passed = true;
  CHECK(r.all_passed());
  r.expectations.clear();
  CHECK(r.all_passed());
}

TEST_CASE("RunReport: the text summary lists totals, drops and failed expectations") {
  RunReport r = sample_report();
  r.failures[0].flows_invalidated = 7;
  const std::string text = run_report_text(r);
  CHECK(text.back() == '\n');
  CHECK(text.find("7 flows invalidated") != std::string::npos);
  CHECK(text.find("scenario three-tier  seed 7  sim time 30s  events 123456") == 0);
  CHECK(text.find("injected 1000") != std::string::npos);
  CHECK(text.find("db-in") != std::string::npos);
  CHECK(text.find("web-vip: 3 connections") != std::string::npos);
  CHECK(text.find("share 33.3%") != std::string::npos);
  CHECK(text.find("recovered after 1.2s") != std::string::npos);
  CHECK(text.find("not recovered") != std::string::npos);
  CHECK(text.find("p50 123us") != std::string::npos);
  CHECK(text.find("p99 1.23ms") != std::string::npos);
  CHECK(text.find("1 passed, 1 failed") != std::string::npos);
  CHECK(text.find("PASS web reachable") != std::string::npos);
  CHECK(text.find("FAIL db isolated") != std::string::npos);
  CHECK(text.find("3 packets from web reached db (rule 2 in db-in)") != std::string::npos);
  // A passing expectation's detail is not repeated.
  CHECK(text.find("490/500 delivered") == std::string::npos);
}

TEST_CASE("RunReport: the text summary shows the top 10 drops and counts the rest") {
  RunReport r = sample_report();
  r.drops.clear();
  for (int i = 0; i < 13; ++i) {
    r.drops.push_back({DropReason::kRule, "chain" + std::to_string(i),
                       static_cast<std::uint32_t>(i), static_cast<std::uint64_t>(100 - i)});
  }
  const std::string text = run_report_text(r);
  CHECK(text.find("chain9") != std::string::npos);
  CHECK(text.find("chain10") == std::string::npos);
  CHECK(text.find("… 3 more (267 packets)") != std::string::npos);
}

TEST_CASE("RunReport: JUnit XML has one testcase per expectation and failures with detail") {
  const std::string xml = run_report_junit(sample_report());
  CHECK(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0) == 0);
  CHECK(count_of(xml, "<testsuites ") == 1);
  CHECK(count_of(xml, "</testsuites>") == 1);
  CHECK(count_of(xml, "<testsuite ") == 1);
  CHECK(count_of(xml, "</testsuite>") == 1);
  CHECK(count_of(xml, "<testcase ") == 2);
  CHECK(count_of(xml, "<failure ") == 1);
  CHECK(count_of(xml, "</failure>") == 1);
  CHECK(xml.find("<testsuite name=\"three-tier\" tests=\"2\" failures=\"1\"") != std::string::npos);
  CHECK(xml.find("<testcase classname=\"hivesim.three-tier\" name=\"web reachable\"/>") !=
        std::string::npos);
  CHECK(xml.find(">3 packets from web reached db (rule 2 in db-in)</failure>") !=
        std::string::npos);
}

TEST_CASE("RunReport: JUnit XML escapes markup in names and details") {
  RunReport r = sample_report();
  r.scenario = "a&b";
  r.expectations = {{"x < y & \"z\" 'q'", false, "got <3> & wanted \"1\"\nsecond line"}};
  const std::string xml = run_report_junit(r);
  CHECK(xml.find("name=\"a&amp;b\"") != std::string::npos);
  CHECK(xml.find("classname=\"hivesim.a&amp;b\"") != std::string::npos);
  CHECK(xml.find("name=\"x &lt; y &amp; &quot;z&quot; &apos;q&apos;\"") != std::string::npos);
  CHECK(xml.find("message=\"got &lt;3&gt; &amp; wanted &quot;1&quot;\"") != std::string::npos);
  CHECK(xml.find(">got &lt;3&gt; &amp; wanted &quot;1&quot;\nsecond line</failure>") !=
        std::string::npos);
  // No raw markup characters leak: every '<' opens a tag we wrote, every '&' starts an entity.
  CHECK(count_of(xml, "<") == count_of(xml, ">"));
  for (std::size_t at = xml.find('&'); at != std::string::npos; at = xml.find('&', at + 1)) {
    const std::size_t semi = xml.find(';', at);
    REQUIRE(semi != std::string::npos);
    const std::string entity = xml.substr(at, semi - at + 1);
    CHECK((entity == "&amp;" || entity == "&lt;" || entity == "&gt;" || entity == "&quot;" ||
           entity == "&apos;" || entity == "&#10;"));
  }
}

TEST_CASE("RunReport: JUnit XML for a scenario without expectations is an empty suite") {
  RunReport r = sample_report();
  r.expectations.clear();
  const std::string xml = run_report_junit(r);
  CHECK(xml.find("tests=\"0\" failures=\"0\"") != std::string::npos);
  CHECK(count_of(xml, "<testcase ") == 0);
}

TEST_CASE("RunReport: the timeline block (SPEC section 9) has its keys in order") {
  const auto doc = run_report_json(sample_report());
  const auto& t = doc["timeline"];
  CHECK(keys(t) == std::vector<std::string>{"bucket_ns", "series", "events"});
  CHECK(t["bucket_ns"] == 300000000);
  CHECK(keys(t["series"][0]) == std::vector<std::string>{"traffic", "delivered", "dropped"});
  CHECK(t["series"][0]["delivered"] == nlohmann::json::array({200, 290}));
  CHECK(t["series"][0]["dropped"] == nlohmann::json::array({0, 8}));
  CHECK(keys(t["events"][1]) == std::vector<std::string>{"at_ns", "event"});
  CHECK(t["events"][1]["at_ns"] == 20000000000LL);
  CHECK(t["events"][1]["event"] == "link_down hv1");
}
