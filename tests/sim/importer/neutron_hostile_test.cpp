// The importer on hostile dumps (SPEC section 10): what the importer accepts must load (its
// promise: `hivesim check` accepts what it writes), and messages do not echo whole values.
// The health-monitor case was found by fuzz_neutron (fuzz/corpus/fuzz_neutron/
// crash-hm-timeout-over-delay.json): timeout 6 over delay 5 was imported, and `check` refused
// the scenario.

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/importer/neutron_import.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;
using Json = nlohmann::json;

namespace {

Json cloud() {
  std::ifstream in(std::string(HIVESIM_SOURCE_DIR) + "/scenarios/openstack/cloud.json");
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return Json::parse(s.str());
}

Result<neutron::ImportOutput> import(const Json& dump) {
  return neutron::import_neutron(dump.dump(), neutron::ImportOptions{});
}

}  // namespace

TEST_CASE("import: the sample cloud imports and loads (the control case)") {
  const auto out = import(cloud());
  REQUIRE(out);
  const LoadResult loaded = load_scenario_text(out->yaml, "imported.yaml");
  CHECK(loaded.errors.empty());
}

TEST_CASE("import: a health monitor Octavia would refuse is an error naming the field") {
  struct Case {
    const char* field;
    int value;
    const char* message;
  };
  const Case cases[] = {
      {"timeout", 6,
       "healthmonitors[0] (id af000001-0000-4000-8000-000000000001): field "
       "'timeout': 6 exceeds delay 5"},
      {"delay", 0, "field 'delay': must be at least 1"},
      {"timeout", 0, "field 'timeout': must be at least 1"},
      {"max_retries", 0, "field 'max_retries': must be at least 1"},
  };
  for (const Case& c : cases) {
    INFO(c.field << " = " << c.value);
    Json dump = cloud();
    dump["healthmonitors"][0][c.field] = c.value;
    const auto out = import(dump);
    REQUIRE_FALSE(out);
    CHECK_THAT(out.error(), Catch::Contains(c.message));
  }
}

TEST_CASE("import: a 1 MB id is not echoed whole in a message") {
  Json dump = cloud();
  dump["healthmonitors"][0]["id"] = std::string(1 << 20, 'f');
  dump["healthmonitors"][0]["delay"] = "soon";
  const auto out = import(dump);
  REQUIRE_FALSE(out);
  CHECK(out.error().size() < 400);
  CHECK_THAT(out.error(), Catch::Contains(std::string(60, 'f') + "\u2026"));
}

TEST_CASE("import: two hypervisors with one Host IP are an error, not a scenario check refuses") {
  // Found by fuzz_neutron (fuzz/corpus/fuzz_neutron/crash-hypervisors-same-ip): the scenario
  // had two hosts with one tunnel address.
  neutron::ImportOptions options;
  options.hypervisors_json =
      R"([{"Hypervisor Hostname": "hv1.example.org", "Host IP": "192.0.2.11"},
                                 {"Hypervisor Hostname": "hv2.example.org", "Host IP": "192.0.2.11"}])";
  const auto out = neutron::import_neutron(cloud().dump(), options);
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error(), Catch::Contains("hypervisors[1]: field 'Host IP': 192.0.2.11 is already "
                                          "the address of hypervisors[0] (hv1.example.org)"));
  // The same host listed twice is harmless.
  options.hypervisors_json =
      R"([{"Hypervisor Hostname": "hv1.example.org", "Host IP": "192.0.2.11"},
                                 {"Hypervisor Hostname": "hv1.example.org", "Host IP": "192.0.2.11"}])";
  const auto twice = neutron::import_neutron(cloud().dump(), options);
  REQUIRE(twice);
  CHECK(load_scenario_text(twice->yaml, "imported.yaml").errors.empty());
}

TEST_CASE("import: a security-group rule whose port range runs backwards is an error") {
  // Found by fuzz_neutron (fuzz/corpus/fuzz_neutron/crash-sg-port-range-backwards): the rule
  // became "dport: 8081-8080", which check refuses.
  Json dump = cloud();
  bool edited = false;
  for (auto& group : dump["security_groups"]) {
    for (auto& rule : group["security_group_rules"]) {
      if (!edited && rule.contains("port_range_min") && rule["port_range_min"].is_number()) {
        rule["port_range_min"] = 8081;
        rule["port_range_max"] = 8080;
        edited = true;
      }
    }
  }
  REQUIRE(edited);
  const auto out = import(dump);
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error(),
             Catch::Contains("field 'port_range_max': 8080 is below port_range_min 8081"));
}

TEST_CASE("import: a pool member or listener without a port in 1-65535 is an error") {
  // Found by fuzz_neutron in CI (fuzz/corpus/fuzz_neutron/crash-member-port-0.json): a member
  // on protocol_port 0 became "port: 0", which check refuses. Octavia requires 1-65535.
  Json dump = cloud();
  REQUIRE_FALSE(dump["pools"].empty());
  dump["pools"][0]["members"][0]["protocol_port"] = 0;
  const auto member = import(dump);
  REQUIRE_FALSE(member);
  CHECK_THAT(member.error(), Catch::Contains("pools[0].members[0]") &&
                                 Catch::Contains("field 'protocol_port': must be 1-65535"));
  dump = cloud();
  REQUIRE_FALSE(dump["listeners"].empty());
  dump["listeners"][0].erase("protocol_port");
  const auto listener = import(dump);
  REQUIRE_FALSE(listener);
  CHECK_THAT(listener.error(), Catch::Contains("listeners[0]") &&
                                   Catch::Contains("field 'protocol_port': is required"));
}

TEST_CASE("import: an id cut to 8 bytes inside a UTF-8 character still names a valid object") {
  // Found by fuzz_neutron (fuzz/corpus/fuzz_neutron/crash-id-cut-in-utf8.json): an unnamed
  // network's id "aa0s_tt" + a 3-byte character gave the name "net-aa0s_tt" + its first byte,
  // and a scenario that was not UTF-8, which check refuses.
  const Json dump = Json::parse(R"({"networks": [{"id": "aa0s_tt\u79e7-rest"}]})");
  const auto out = import(dump);
  REQUIRE(out);
  CHECK_THAT(out->yaml, Catch::Contains("name: net-aa0s_tt-"));
  const LoadResult loaded = load_scenario_text(out->yaml, "imported.yaml");
  CHECK(loaded.errors.empty());
}

TEST_CASE("import: a hypervisor with an empty hostname is an error naming the entry") {
  // Found by fuzz_neutron (fuzz/corpus/fuzz_neutron/crash-hypervisor-empty-name): the scenario
  // had a host named "", which check refuses.
  neutron::ImportOptions options;
  options.hypervisors_json = R"([{"Hypervisor Hostname": "", "Host IP": "192.0.2.11"}])";
  const auto out = neutron::import_neutron(cloud().dump(), options);
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error(), Catch::Contains("hypervisors[0]: field 'Hypervisor Hostname': is empty"));
}

TEST_CASE("import: an id with line breaks stays inside its comment") {
  // Found by fuzz_neutron (fuzz/corpus/fuzz_neutron/crash-id-carriage-returns.json): a port id
  // with carriage returns, copied into the comment after its port, broke the YAML. A line break
  // could have written YAML of its own.
  const Json dump =
      Json::parse(R"({"networks": [{"id": "net-1\r\r\nhosts: []\n", "name": "n1"}]})");
  const auto out = import(dump);
  REQUIRE(out);
  CHECK(out->yaml.find('\r') == std::string::npos);
  CHECK_THAT(out->yaml, Catch::Contains("# neutron network net-1???hosts: []?"));
  const LoadResult loaded = load_scenario_text(out->yaml, "imported.yaml");
  CHECK(loaded.errors.empty());
}

TEST_CASE("import: a VIP port that is not a load balancer's is an error naming the field") {
  // Found by fuzz_neutron in CI (fuzz/corpus/fuzz_neutron/crash-vip-port-owned-by-vm.json): the
  // VIP port's device_owner mutated to a VM's, and the port was written twice (as a VM port and
  // as the link to the load balancer's router), which check refuses.
  for (const char* owner : {"", "compute:nova", "network:router_interface"}) {
    Json dump = cloud();
    bool edited = false;
    for (auto& port : dump["ports"]) {
      if (port["device_owner"] == "Octavia") {
        port["device_owner"] = owner;
        edited = true;
      }
    }
    REQUIRE(edited);
    const auto out = import(dump);
    REQUIRE_FALSE(out);
    CHECK_THAT(out.error(), Catch::Contains("loadbalancers[0]") &&
                                Catch::Contains("field 'vip_port_id'") &&
                                Catch::Contains("not a load balancer's"));
  }
  Json dump = cloud();
  Json second = dump["loadbalancers"][0];
  second["id"] = "ac000002-0000-4000-8000-000000000002";
  dump["loadbalancers"].push_back(second);
  const auto shared = import(dump);
  REQUIRE_FALSE(shared);
  CHECK_THAT(shared.error(), Catch::Contains("loadbalancers[1]") &&
                                 Catch::Contains("already the VIP of load balancer ac000001"));
}

TEST_CASE("import: a pool member listed twice is an error naming the member") {
  // Found by fuzz_neutron in the seventh campaign (fuzz/corpus/fuzz_neutron/
  // crash-member-listed-twice.json): a second member at the first's address and port (Octavia's
  // database refuses that) was written twice into the pool, which check refuses.
  Json dump = cloud();
  Json& members = dump["pools"][0]["members"];
  REQUIRE(members.size() >= 2);
  Json same_place = members[0];
  same_place["id"] = "ba0000ff-0000-4000-8000-0000000000ff";
  members.push_back(same_place);
  const auto place = import(dump);
  REQUIRE_FALSE(place);
  CHECK_THAT(place.error(),
             Catch::Contains("pools[0].members[" + std::to_string(members.size() - 1) + "]") &&
                 Catch::Contains("field 'address'") &&
                 Catch::Contains("is already members[0] of this pool"));

  dump = cloud();
  Json& again = dump["pools"][0]["members"];
  again[1]["id"] = again[0]["id"];  // same id, another address
  const auto id = import(dump);
  REQUIRE_FALSE(id);
  CHECK_THAT(id.error(),
             Catch::Contains("pools[0].members[1]") && Catch::Contains("duplicate member id"));

  // The same address and port in two pools is two members, as Octavia allows.
  dump = cloud();
  Json pool = dump["pools"][0];
  pool["id"] = "ae0000fe-0000-4000-8000-0000000000fe";
  pool["name"] = "web-pool-2";
  pool["listeners"] = Json::array();
  pool["healthmonitor_id"] = nullptr;
  for (Json& m : pool["members"])
    m["id"] = std::string(m["id"]).replace(0, 8, "ba0000fe");
  dump["pools"].push_back(pool);
  const auto shared = import(dump);
  REQUIRE(shared);
  const LoadResult loaded = load_scenario_text(shared->yaml, "imported.yaml");
  CHECK(loaded.errors.empty());
  CHECK_THAT(shared->yaml, Catch::Contains("web-pool-2"));
}

TEST_CASE("import: two listeners on one port of a load balancer are an error") {
  // Octavia refuses that as it refuses a member listed twice; imported, the second listener
  // was a VIP at the first's address and port, which no packet could reach.
  Json dump = cloud();
  Json second = dump["listeners"][0];
  second["id"] = "ad0000ff-0000-4000-8000-0000000000ff";
  second["name"] = "again";
  dump["listeners"].push_back(second);
  const auto same = import(dump);
  REQUIRE_FALSE(same);
  CHECK_THAT(same.error(),
             Catch::Contains("listeners[" + std::to_string(dump["listeners"].size() - 1) + "]") &&
                 Catch::Contains("field 'protocol_port': 80 is already the port of listeners[0]"));

  dump["listeners"].back()["protocol_port"] = 8443;  // another port: a second VIP
  const auto other = import(dump);
  REQUIRE(other);
  CHECK(load_scenario_text(other->yaml, "imported.yaml").errors.empty());
  CHECK_THAT(other->yaml, Catch::Contains("port: 8443"));
}

TEST_CASE("import: a port address Neutron would not give is an error naming port and subnet") {
  // Found by fuzz_neutron in the seventh campaign (fuzz/corpus/fuzz_neutron/
  // crash-router-port-network-address.json): a router interface at 10.0.2.0 on 10.0.2.0/24
  // became a router port that check refuses (the network address is not a port address).
  const auto with_ip = [](const char* port_id, const char* ip) {
    Json dump = cloud();
    for (Json& p : dump["ports"]) {
      if (p["id"] == port_id) p["fixed_ips"][0]["ip_address"] = ip;
    }
    return import(dump);
  };
  const char* router_port = "cc000004-0000-4000-8000-000000000004";  // 10.0.2.1 on 10.0.2.0/24
  const auto network = with_ip(router_port, "10.0.2.0");
  REQUIRE_FALSE(network);
  CHECK_THAT(network.error(), Catch::Contains("(id " + std::string(router_port) + ")") &&
                                  Catch::Contains("field 'fixed_ips': 10.0.2.0 is the network "
                                                  "address of subnet bb000003") &&
                                  Catch::Contains("(10.0.2.0/24)"));
  const char* vm_port = "cc000012-0000-4000-8000-000000000012";  // 10.0.2.21 on 10.0.2.0/24
  const auto broadcast = with_ip(vm_port, "10.0.2.255");
  REQUIRE_FALSE(broadcast);
  CHECK_THAT(broadcast.error(), Catch::Contains("10.0.2.255 is the broadcast address"));
  const auto outside = with_ip(vm_port, "10.9.9.9");
  REQUIRE_FALSE(outside);
  CHECK_THAT(outside.error(), Catch::Contains("10.9.9.9 is not an address of subnet bb000003"));
  // Any other address of the subnet is a port's.
  const auto inside = with_ip(vm_port, "10.0.2.254");
  REQUIRE(inside);
  CHECK(load_scenario_text(inside->yaml, "imported.yaml").errors.empty());
}

TEST_CASE("import: an address Neutron allocates once, found twice, is an error naming both") {
  // Looking for the fuzz findings' kin: each of these imported, and the scenario either failed
  // check (two floating IPs at one address: a duplicate ARP entry) or held two devices at one
  // address, which Neutron's unique keys forbid.
  const auto port = [](Json& dump, std::string_view prefix) -> Json& {
    Json& ports = dump["ports"];
    auto it = std::find_if(ports.begin(), ports.end(),
                           [&](const Json& p) { return std::string(p["id"]).starts_with(prefix); });
    REQUIRE(it != ports.end());
    return *it;
  };
  Json dump = cloud();
  port(dump, "cc000012")["fixed_ips"][0]["ip_address"] = "10.0.2.22";  // cc000015's
  auto out = import(dump);
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error(), Catch::Contains("field 'fixed_ips': 10.0.2.22 is already the address "
                                          "of ports[") &&
                              Catch::Contains("cc000012"));

  dump = cloud();
  port(dump, "cc000012")["fixed_ips"][0]["subnet_id"] = "bb000002-0000-4000-8000-000000000002";
  port(dump, "cc000012")["fixed_ips"][0]["ip_address"] = "10.0.1.77";
  out = import(dump);
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error(), Catch::Contains("subnet bb000002-0000-4000-8000-000000000002 is not on "
                                          "the port's network"));

  dump = cloud();
  REQUIRE(dump["floatingips"].size() >= 2);
  dump["floatingips"][1]["floating_ip_address"] = dump["floatingips"][0]["floating_ip_address"];
  out = import(dump);
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error(), Catch::Contains("floatingips[1]") &&
                              Catch::Contains("is already the address of floatingips[0]"));

  dump = cloud();
  dump["floatingips"][1]["port_id"] = dump["floatingips"][0]["port_id"];
  dump["floatingips"][1]["fixed_ip_address"] = dump["floatingips"][0]["fixed_ip_address"];
  out = import(dump);
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error(), Catch::Contains("floatingips[1]") &&
                              Catch::Contains("is already the fixed IP of floatingips[0]"));
}

TEST_CASE("import: a VIP address that is not its VIP port's, or not a port address, is an error") {
  // Found by fuzz_neutron in the seventh campaign (fuzz/corpus/fuzz_neutron/
  // crash-vip-network-address.json): vip_address 10.0.51.0 became the load balancer's router
  // port, which check refuses; Octavia's VIP address is its VIP port's fixed IP.
  Json dump = cloud();
  dump["loadbalancers"][0]["vip_address"] = "10.0.1.51";  // the port has 10.0.1.50
  auto out = import(dump);
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error(), Catch::Contains("loadbalancers[0]") &&
                              Catch::Contains("field 'vip_address': 10.0.1.51 is not a fixed IP "
                                              "of its VIP port cc000020"));
  // A VIP port without addresses: the address is checked against vip_subnet_id.
  dump = cloud();
  for (Json& p : dump["ports"]) {
    if (p["device_owner"] == "Octavia") p["fixed_ips"] = Json::array();
  }
  dump["loadbalancers"][0]["vip_address"] = "10.0.1.0";
  out = import(dump);
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error(), Catch::Contains("field 'vip_address': 10.0.1.0 is the network address "
                                          "of subnet bb000002"));
  dump["loadbalancers"][0]["vip_address"] = "10.0.1.50";
  out = import(dump);
  REQUIRE(out);
  CHECK(load_scenario_text(out->yaml, "imported.yaml").errors.empty());
}
