// The `trace` and `check` subcommands: exit codes, messages naming the problem, and the SPEC
// section 5 JSON document.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/cli/commands.hpp"
#include "tests/support/command_run.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using hivesim::cli::check_command;
using hivesim::cli::trace_command;

namespace {

using hivesim::testing::TempDir;

const std::string kDemo = HIVESIM_SOURCE_DIR "/scenarios/demo.yaml";

using hivesim::testing::Run;

Run trace(const std::vector<std::string>& args) {
  return hivesim::testing::call(trace_command, args);
}

Run check(const std::vector<std::string>& args) {
  return hivesim::testing::call(check_command, args);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// A scenario with an unknown key on line 4, column 5.
constexpr const char* kBroken =
    "hosts: [{name: hv1, ip: 192.168.0.1}]\n"
    "bridges:\n"
    "  - name: br\n"
    "    colour: blue\n"
    "    ports: [{name: vm1, host: hv1}]\n";

}  // namespace

TEST_CASE("CLI trace: an unknown --from port is exit 2 naming the port") {
  const Run r = trace({kDemo, "--from", "vm42", "--packet", "tcp dst=10.0.2.30 dport=22"});
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(contains(r.err, "vm42"));
  CHECK(contains(r.err, "unknown port"));
  CHECK(r.out.empty());
}

TEST_CASE("CLI trace: an interior --from port is exit 2 saying it is not exterior") {
  const Run r = trace({kDemo, "--from", "blue-r1", "--packet", "tcp dst=10.0.2.30 dport=22"});
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(contains(r.err, "blue-r1"));
  CHECK(contains(r.err, "exterior"));
  CHECK(r.out.empty());
}

TEST_CASE("CLI trace: a packet spec with an unknown key is exit 2 naming the key") {
  const Run r = trace({kDemo, "--from", "vm1", "--packet", "tcp dst=10.0.2.30 dprt=22"});
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(contains(r.err, "dprt"));
  CHECK(r.out.empty());
}

TEST_CASE("CLI trace: a packet spec with a bad value is exit 2 naming the key") {
  const Run r = trace({kDemo, "--from", "vm1", "--packet", "tcp dst=10.0.2.30 dport=70000"});
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(contains(r.err, "dport"));
  CHECK(contains(r.err, "70000"));
}

TEST_CASE("CLI trace: every bad line of a batch is reported as FILE:LINE before any result") {
  TempDir dir;
  const std::string batch = dir.write("bad.batch",
                                      "vm1 tcp dst=10.0.1.20 dport=80\n"  // 1: fine
                                      "# a comment\n"                     // 2
                                      "vm42 tcp dst=10.0.1.20\n"          // 3: unknown port
                                      "vm1 tcp dst=10.0.1.20 dprt=80\n"   // 4: unknown key
                                      "vm1\n"                             // 5: no spec
                                      "\n"                                // 6
                                      "blue-r1 tcp dst=10.0.1.20\n");     // 7: interior
  const Run r = trace({kDemo, "--batch", batch, "--format", "json"});
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(r.out.empty());  // nothing half-written
  CHECK(contains(r.err, batch + ":3:"));
  CHECK(contains(r.err, "vm42"));
  CHECK(contains(r.err, batch + ":4:"));
  CHECK(contains(r.err, "dprt"));
  CHECK(contains(r.err, batch + ":5:"));
  CHECK(contains(r.err, batch + ":7:"));
  CHECK(contains(r.err, "blue-r1"));
  CHECK_FALSE(contains(r.err, batch + ":1:"));
  CHECK_FALSE(contains(r.err, batch + ":2:"));
  CHECK_FALSE(contains(r.err, batch + ":6:"));
}

TEST_CASE("CLI trace: a missing batch file is exit 2 naming it") {
  const Run r = trace({kDemo, "--batch", "/nonexistent/hivesim.batch"});
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(contains(r.err, "/nonexistent/hivesim.batch"));
}

TEST_CASE("CLI trace: a missing scenario file is exit 2 naming it") {
  const Run r = trace(
      {"/nonexistent/hivesim-scenario.yaml", "--from", "vm1", "--packet", "icmp dst=1.2.3.4"});
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(contains(r.err, "/nonexistent/hivesim-scenario.yaml"));
  CHECK(r.out.empty());
}

TEST_CASE("CLI trace: a broken scenario is exit 2 with FILE:LINE:COL") {
  TempDir dir;
  const std::string file = dir.write("broken.yaml", kBroken);
  const Run r = trace({file, "--from", "vm1", "--packet", "icmp dst=1.2.3.4"});
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(contains(r.err, file + ":4:5: error:"));
  CHECK(contains(r.err, "colour"));
  CHECK(r.out.empty());
}

TEST_CASE("CLI check: a valid scenario is exit 0 with a summary") {
  const Run r = check({kDemo});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK(contains(r.out, "ok"));
  CHECK(contains(r.out, "'demo'"));
  CHECK(contains(r.out, "2 hosts"));
  CHECK(contains(r.out, "2 bridges"));
  CHECK(contains(r.out, "1 routers"));
  CHECK(contains(r.out, "2 expectations"));
}

TEST_CASE("CLI check: a broken scenario is exit 2 with FILE:LINE:COL") {
  TempDir dir;
  const std::string file = dir.write("broken.yaml", kBroken);
  const Run r = check({file});
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(contains(r.err, file + ":4:5: error:"));
  CHECK(r.out.empty());
}

TEST_CASE("CLI check: a bad packet spec in an expectation is exit 2 with its line") {
  TempDir dir;
  const std::string file = dir.write("spec.yaml",
                                     "hosts: [{name: hv1, ip: 192.168.0.1}]\n"
                                     "bridges:\n"
                                     "  - name: br\n"
                                     "    ports: [{name: vm1, host: hv1, ip: 10.0.0.1}]\n"
                                     "expect:\n"
                                     "  - {from: vm1, packet: \"tcp dst=10.0.0.2 dprt=1\",\n"
                                     "     verdict: dropped}\n");
  const Run r = check({file});
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(contains(r.err, file + ":6:"));
  CHECK(contains(r.err, "dprt"));
}

TEST_CASE("CLI trace: json output of one trace has the SPEC section 5 keys") {
  SECTION("delivered") {
    const Run r = trace(
        {kDemo, "--from", "vm1", "--packet", "tcp dst=10.0.2.30 dport=22", "--format", "json"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    const auto doc = nlohmann::json::parse(r.out);
    REQUIRE(doc.is_object());
    CHECK(doc.at("from") == "vm1");
    CHECK(doc.at("packet") == "tcp dst=10.0.2.30 dport=22");
    CHECK(doc.at("verdict") == "delivered");
    CHECK(doc.at("to") == nlohmann::json::array({"vm3"}));
    REQUIRE(doc.at("out_packets").size() == 1);
    CHECK(doc["out_packets"][0].at("port") == "vm3");
    const std::string packet = doc["out_packets"][0].at("packet");
    CHECK(contains(packet, "ttl=63"));
    CHECK(contains(packet, "eth_src=02:00:00:00:02:01"));
    CHECK(contains(packet, "dport=22"));
    CHECK(doc["out_packets"][0].at("generated") == false);
    CHECK_FALSE(doc.contains("drop"));
    REQUIRE(doc.at("hops").is_array());
    REQUIRE(doc["hops"].size() == 3);
    for (const auto& hop : doc["hops"]) {
      for (const char* key : {"device", "kind", "in_port", "out_port", "detail"}) {
        INFO(key);
        CHECK(hop.contains(key));
      }
    }
    CHECK(doc["hops"][1].at("device") == "r1");
    CHECK(doc["hops"][1].at("kind") == "router");
    CHECK(doc["hops"][1].at("in_port") == "r1-blue");
    CHECK(doc["hops"][1].at("out_port") == "r1-green");
    CHECK(doc.at("flow").at("match").is_string());
    CHECK(contains(doc["flow"]["match"].get<std::string>(), "in_port=vm1"));
    CHECK(contains(doc["flow"].at("actions").get<std::string>(), "tunnel(hv2"));
  }
  SECTION("dropped by a rule") {
    const Run r = trace(
        {kDemo, "--from", "vm1", "--packet", "tcp dst=10.0.2.30 dport=80", "--format", "json"});
    REQUIRE(r.code == 0);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc.at("verdict") == "dropped");
    CHECK(doc.at("to").empty());
    CHECK(doc.at("drop").at("reason") == "rule");
    CHECK(doc.at("drop").at("device") == "green-in");
    CHECK(doc.at("drop").at("rule") == 2);
    CHECK(doc.at("flow").at("actions") == "drop");
  }
  SECTION("answered") {
    const Run r =
        trace({kDemo, "--from", "vm1", "--packet", "icmp dst=10.0.1.1", "--format", "json"});
    REQUIRE(r.code == 0);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc.at("verdict") == "consumed");
    CHECK(doc.at("to").empty());
    REQUIRE(doc.at("out_packets").size() == 1);
    CHECK(doc["out_packets"][0].at("generated") == true);
    CHECK(doc["out_packets"][0].at("port") == "vm1");
    CHECK(contains(doc["out_packets"][0].at("packet").get<std::string>(), "icmp_type=0"));
  }
}

TEST_CASE("CLI trace: a json batch is one array in input order") {
  const Run r =
      trace({kDemo, "--batch", HIVESIM_SOURCE_DIR "/scenarios/demo.batch", "--format", "json"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  REQUIRE(doc.is_array());
  REQUIRE(doc.size() == 7);
  CHECK(doc[0].at("to") == nlohmann::json::array({"vm2"}));
  CHECK(doc[2].at("drop").at("device") == "green-in");
  CHECK(doc[5].at("drop").at("reason") == "no_route");
  CHECK(doc[6].at("from") == "vm2");
  CHECK(doc[6].at("drop").at("reason") == "ttl");
}

TEST_CASE("CLI trace: bad arguments are exit 2") {
  CHECK(trace({kDemo}).code == 2);
  CHECK(trace({kDemo, "--from", "vm1"}).code == 2);
  CHECK(trace({kDemo, "--from", "vm1", "--packet", "icmp dst=10.0.1.1", "--format", "xml"}).code ==
        2);
  CHECK(trace({kDemo, "--batch", "x", "--from", "vm1"}).code == 2);
  CHECK(trace({kDemo, "--from", "vm1", "--packet", "icmp dst=10.0.1.1", "--bogus"}).code == 2);
}
