// The OpenStack example (scenarios/openstack): importing its dump gives the committed scenario,
// which loads, and the traces a Neutron user expects hold on it.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/cli/commands.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/packet/spec.hpp"
#include "tests/support/temp_dir.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;

namespace {

const std::string kDir = HIVESIM_SOURCE_DIR "/scenarios/openstack";

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int import(const std::vector<std::string>& args, std::string& err) {
  std::ostringstream out, errs;
  const int code = cli::import_command(args, out, errs);
  err = errs.str();
  return code;
}

struct Cloud {
  Scenario scenario;
  std::unique_ptr<Simulator> sim;

  Cloud() {
    LoadResult loaded = load_scenario(kDir + "/cloud.yaml");
    std::string problems;
    for (const Diagnostic& d : loaded.errors)
      problems += d.str() + "\n";
    INFO(problems);
    REQUIRE(loaded.scenario);
    scenario = std::move(*loaded.scenario);
    sim = std::make_unique<Simulator>(scenario.topology);
  }

  /// Simulates SPEC from PORT on the initial state.
  SimulationResult trace(std::string_view from, std::string_view spec) const {
    const auto port = scenario.topology.find_port(from);
    REQUIRE(port);
    auto parsed = parse_packet_spec(spec);
    REQUIRE(parsed);
    auto packet = build_packet(*parsed, sim->spec_defaults(*port));
    REQUIRE(packet);
    SimState state(1);
    return sim->simulate(*port, *packet, state);
  }

  /// The original packet that left by `port`, or nullopt.
  std::optional<Packet> out(const SimulationResult& r, std::string_view port) const {
    for (const OutPacket& o : r.out) {
      if (!o.generated && scenario.topology.port(o.port).name == port) return o.packet;
    }
    return std::nullopt;
  }
};

Ipv4 ip(std::string_view s) {
  return *Ipv4::parse(s);
}

}  // namespace

TEST_CASE("OpenStack example: importing the dump gives the committed scenario") {
  testing::TempDir dir;
  std::string err;
  const std::string out = dir.file("cloud.yaml");
  REQUIRE(import({"neutron", kDir + "/cloud.json", "--hypervisors", kDir + "/hypervisors.json",
                  "--gateway-host", "gw1", "-o", out},
                 err) == 0);
  CHECK(read(out) == read(kDir + "/cloud.yaml"));
  // What the example cannot carry into the model is said, not dropped.
  CHECK(err.find("warning: port cc000033-0000-4000-8000-000000000033: device_owner "
                 "'network:router_ha_interface' is not modelled") != std::string::npos);
  CHECK(err.find("IPv6 is not modelled") != std::string::npos);
}

TEST_CASE("OpenStack example: bad input exits 2 and writes nothing") {
  testing::TempDir dir;
  std::string err;
  const std::string bad = dir.write("bad.json", R"({"networks": [{"id": "n"}],
      "ports": [{"id": "p", "network_id": "n"}, {"id": "p", "network_id": "n"}]})");
  const std::string out = dir.file("out.yaml");
  CHECK(import({"neutron", bad, "-o", out}, err) == 2);
  CHECK(err.find("ports[1] (id p): field 'id': duplicate port id 'p'") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK(import({"neutron", dir.write("x.json", "{"), "-o", out}, err) == 2);
  CHECK(import({"nova", bad, "-o", out}, err) == 2);
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("OpenStack example: east-west traffic is allowed and denied by remote groups") {
  const Cloud c;
  const auto web_to_db = c.trace("web-1", "tcp dst=10.0.2.21 dport=5432");
  CHECK(c.out(web_to_db, "db-1"));
  CHECK(c.out(web_to_db, "db-1")->src == ip("10.0.1.11"));  // no SNAT east-west
  const auto legacy_to_db = c.trace("legacy", "tcp dst=10.0.2.21 dport=5432");
  REQUIRE(legacy_to_db.drop);
  CHECK(legacy_to_db.drop->device == "sg-ingress:db-1");
}

TEST_CASE("OpenStack example: SNAT out, floating IP in and out, the gateway guard") {
  const Cloud c;
  const auto snat = c.trace("db-1", "tcp dst=8.8.8.8 dport=443");
  REQUIRE(c.out(snat, "uplink-public"));
  CHECK(c.out(snat, "uplink-public")->src == ip("203.0.113.10"));
  const auto fip_out = c.trace("web-1", "tcp dst=8.8.8.8 dport=443");
  REQUIRE(c.out(fip_out, "uplink-public"));
  CHECK(c.out(fip_out, "uplink-public")->src == ip("203.0.113.101"));
  const auto fip_in = c.trace("uplink-public", "tcp src=198.51.100.7 dst=203.0.113.101 dport=80");
  REQUIRE(c.out(fip_in, "web-1"));
  CHECK(c.out(fip_in, "web-1")->dst == ip("10.0.1.11"));
  const auto guard = c.trace("uplink-public", "tcp src=198.51.100.7 dst=203.0.113.10 dport=22");
  REQUIRE(guard.drop);
  CHECK(guard.drop->device == "router-a-pre");
}

TEST_CASE("OpenStack example: spoofing, port security off, an allowed pair") {
  const Cloud c;
  const auto spoof = c.trace("web-1", "tcp src=10.0.1.99 dst=8.8.8.8 dport=443");
  REQUIRE(spoof.drop);
  CHECK(spoof.drop->device == "anti-spoof:web-1");
  const auto legacy = c.trace("legacy", "tcp src=10.0.1.99 dst=8.8.8.8 dport=443");
  CHECK(c.out(legacy, "uplink-public"));
  const auto pair = c.trace("web-2", "tcp src=10.0.1.100 dst=8.8.8.8 dport=443");
  CHECK(c.out(pair, "uplink-public"));
  const auto pair_wrong_mac = c.trace("web-2", "tcp src=10.0.1.101 dst=8.8.8.8 dport=443");
  REQUIRE(pair_wrong_mac.drop);
  CHECK(pair_wrong_mac.drop->device == "anti-spoof:web-2");
}

TEST_CASE("OpenStack example: the Octavia load balancer, directly and by its floating IP") {
  const Cloud c;
  for (const auto& [from, spec] :
       {std::pair{"db-1", "tcp dst=10.0.1.50 dport=80"},
        std::pair{"uplink-public", "tcp src=198.51.100.7 dst=203.0.113.150 dport=80"}}) {
    const auto r = c.trace(from, spec);
    INFO(from << ": " << spec);
    REQUIRE(r.balanced);
    const auto member = c.out(r, "web-1") ? c.out(r, "web-1") : c.out(r, "web-2");
    REQUIRE(member);
    CHECK(member->dport == 8080);
    CHECK(member->src == ip("10.0.1.50"));
  }
}

TEST_CASE("OpenStack example: the agent answers DHCP with the Neutron DHCP port's address") {
  const Cloud c;
  const auto r = c.trace("web-1", "dhcp");
  CHECK(r.verdict == Verdict::kConsumed);
  REQUIRE(r.out.size() == 1);
  const std::string text = format_packet(r.out[0].packet);
  CHECK(text.find("dhcp_type=offer yiaddr=10.0.1.11") != std::string::npos);
  CHECK(text.find("server=10.0.1.2") != std::string::npos);
  CHECK(text.find("mtu=1450") != std::string::npos);
}
