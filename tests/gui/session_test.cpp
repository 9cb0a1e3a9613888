#include <catch2/catch.hpp>

#include "gui/app_args.hpp"
#include "gui/device_info.hpp"
#include "gui/session.hpp"

using namespace hivesim;
using namespace hivesim::gui;

namespace {
const std::string kThreeTier = std::string(HIVESIM_SOURCE_DIR) + "/scenarios/three-tier.yaml";
}

TEST_CASE("Session: a blocked packet is traced to the rule that dropped it") {
  auto session = Session::open(kThreeTier);
  REQUIRE(session);
  const auto ports = (*session)->sending_ports();
  CHECK(ports == std::vector<std::string>{"web1", "web2", "app1", "db1", "r1-up"});
  auto record = (*session)->trace("web1", "tcp dst=10.0.3.10 dport=5432");
  REQUIRE(record);
  CHECK(record->result.verdict == Verdict::kDropped);
  REQUIRE(record->result.drop);
  CHECK(record->result.drop->device == "db-in");
  CHECK(record->result.drop->rule == 1u);
  CHECK(rule_text((*session)->simulator(), "db-in", 1) == "rule 1 of db-in: any -> reject");
}

TEST_CASE("Session: spec and port errors come back as the parser's messages") {
  auto session = Session::open(kThreeTier);
  REQUIRE(session);
  auto bad_key = (*session)->trace("web1", "tcp dst=10.0.3.10 dprt=5432");
  REQUIRE_FALSE(bad_key);
  CHECK_THAT(bad_key.error(), Catch::Contains("dprt"));
  auto bad_port = (*session)->trace("web-r1", "tcp dst=10.0.3.10 dport=5432");
  REQUIRE_FALSE(bad_port);
  CHECK_THAT(bad_port.error(), Catch::Contains("not an exterior port"));
}

TEST_CASE("Session: a scenario with errors is not opened, and says where") {
  auto session = Session::open(std::string(HIVESIM_SOURCE_DIR) + "/scenarios/missing.yaml");
  REQUIRE_FALSE(session);
  CHECK_THAT(session.error(), Catch::Contains("missing.yaml"));
}

TEST_CASE("Device info: a router lists its routes, a bridge its ports' chains and rules") {
  auto session = Session::open(kThreeTier);
  REQUIRE(session);
  const Simulator& sim = (*session)->simulator();
  const auto router = device_html(sim, ObjectKind::kRouter, "r1");
  REQUIRE(router);
  CHECK_THAT(*router, Catch::Contains("10.99.0.0/16"));
  CHECK_THAT(*router, Catch::Contains("blackhole"));
  CHECK_THAT(*router, Catch::Contains("180.0.1.1"));
  const auto bridge = device_html(sim, ObjectKind::kBridge, "db");
  REQUIRE(bridge);
  CHECK_THAT(*bridge, Catch::Contains("chain db-in"));
  CHECK_THAT(*bridge, Catch::Contains("dport=5432"));
  CHECK_THAT(*bridge, Catch::Contains("reject"));
  const auto host = device_html(sim, ObjectKind::kHost, "hv2");
  REQUIRE(host);
  CHECK_THAT(*host, Catch::Contains("web2"));
  CHECK_THAT(*host, Catch::Contains("db1"));
  CHECK_FALSE(device_html(sim, ObjectKind::kBridge, "nope"));
}

TEST_CASE("Device info: a shared security-group chain says which groups and how drops name it") {
  auto session = Session::open(std::string(HIVESIM_SOURCE_DIR) + "/scenarios/whatif/before.yaml");
  REQUIRE(session);
  const Simulator& sim = (*session)->simulator();
  const auto port = device_html(sim, ObjectKind::kPort, "web1");
  REQUIRE(port);
  CHECK_THAT(*port, Catch::Contains("sg-ingress:web1"));  // the ports table, as drops say
  CHECK_THAT(*port, Catch::Contains("chain sg-ingress:[web]</b> <i>(the security groups in "
                                    "brackets, toward the VM: drops name it sg-ingress:PORT"));
  CHECK_THAT(*port, Catch::Contains("chain sg-egress:[web]</b> <i>(the security groups in "
                                    "brackets, from the VM"));
}

TEST_CASE("App args: the SPEC command line, and bad arguments named") {
  auto ok = parse_app_args(
      {"s.yaml", "--screenshot", "x.png", "--trace", "vm1 icmp dst=1.2.3.4", "--run"});
  REQUIRE(ok);
  CHECK(ok->scenario == "s.yaml");
  CHECK(ok->screenshot == "x.png");
  CHECK(ok->trace == "vm1 icmp dst=1.2.3.4");
  CHECK(ok->run);
  CHECK(parse_app_args({}));
  auto unknown = parse_app_args({"s.yaml", "--shot", "x.png"});
  REQUIRE_FALSE(unknown);
  CHECK_THAT(unknown.error(), Catch::Contains("--shot"));
  CHECK_THAT(parse_app_args({"s.yaml", "--screenshot"}).error(), Catch::Contains("needs a value"));
  CHECK_THAT(parse_app_args({"--run"}).error(), Catch::Contains("need a SCENARIO"));
  auto fails = parse_app_args({"s.yaml", "--fail", "host_down:gw2", "--fail", "port_down:web1"});
  REQUIRE(fails);
  REQUIRE(fails->fail.size() == 2);
  CHECK(fails->fail[0] == std::pair{FailureKind::kHostDown, std::string("gw2")});
  CHECK(fails->fail[1].first == FailureKind::kPortDown);
  CHECK_THAT(parse_app_args({"s.yaml", "--fail", "disk_full:hv1"}).error(),
             Catch::Contains("host_down, agent_restart or port_down"));
  CHECK_THAT(parse_app_args({"s.yaml", "--fail", "host_down"}).error(),
             Catch::Contains("KIND:TARGET"));
  CHECK_THAT(parse_app_args({"--fail", "host_down:hv1"}).error(), Catch::Contains("SCENARIO"));
  CHECK_THAT(parse_app_args({"a.yaml", "b.yaml"}).error(), Catch::Contains("one SCENARIO"));
  CHECK_THAT(parse_app_args({"a.yaml", "--screenshot", "x.jpg"}).error(), Catch::Contains(".png"));
}
