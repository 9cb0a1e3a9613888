// The scenario keys of SPEC section 8: port security, allowed address pairs, bridge subnets,
// underlay mtu, remote groups, and the dst_rewritten condition.

#include <catch2/catch.hpp>

#include <string>

#include "topology/load/loader.hpp"

using namespace hivesim;

namespace {

LoadResult load(std::string_view yaml) {
  return load_scenario_text(yaml, "scen.yaml", ".");
}

std::string all_errors(const LoadResult& r) {
  std::string all;
  for (const auto& d : r.errors)
    all += d.str() + "\n";
  return all;
}

constexpr std::string_view kYaml = R"(
underlay: {mtu: 9000}
hosts: [{name: hv1, ip: 192.168.0.1}]
chains:
  - {name: c, rules: [{match: {dst_rewritten: true}, action: accept}]}
security_groups:
  - {name: g, rules: [{direction: ingress, proto: tcp, port: 22, remote_group: g}]}
bridges:
  - name: br
    subnets:
      - {cidr: 10.0.1.7/24, gateway: 10.0.1.1, dhcp: false, server: 10.0.1.2, dns: [10.0.0.53],
         routes: [{dst: 172.16.0.0/12, via: 10.0.1.254}], mtu: 1400}
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:00:01", ip: 10.0.1.10, port_security: true,
         allowed_address_pairs: [{ip: 10.0.1.100}, {ip: 10.0.9.0/24, mac: "02:00:00:00:00:09"}],
         security_groups: [g]}
)";

}  // namespace

TEST_CASE("Loader: OpenStack keys load into the model") {
  const LoadResult r = load(kYaml);
  INFO(all_errors(r));
  REQUIRE(r.scenario);
  const Scenario& s = *r.scenario;
  CHECK(s.underlay.mtu == 9000);
  CHECK(s.topology.underlay_mtu == 9000);
  const Port& p = s.topology.ports[0];
  CHECK(p.port_security);
  REQUIRE(p.allowed_address_pairs.size() == 2);
  CHECK(p.allowed_address_pairs[0].ip.str() == "10.0.1.100/32");
  CHECK_FALSE(p.allowed_address_pairs[0].mac);
  CHECK(p.allowed_address_pairs[1].mac == Mac::parse("02:00:00:00:00:09"));
  const Subnet& sn = s.topology.bridges[0].subnets.at(0);
  CHECK(sn.cidr.str() == "10.0.1.0/24");  // host bits cleared
  CHECK(sn.gateway == Ipv4::parse("10.0.1.1"));
  CHECK_FALSE(sn.dhcp);
  CHECK(sn.server == Ipv4::parse("10.0.1.2"));
  CHECK(sn.dns.size() == 1);
  CHECK(sn.routes.size() == 1);
  CHECK(sn.mtu == 1400U);
  CHECK(s.topology.security_groups[0].rules[0].remote_group == SecurityGroupId{0});
  CHECK(s.topology.chains[0].rules[0].match.dst_rewritten == true);
}

TEST_CASE("Loader: OpenStack keys' defaults") {
  const LoadResult r = load(
      "hosts: [{name: hv1, ip: 192.168.0.1}]\n"
      "bridges: [{name: br, subnets: [{cidr: 10.0.0.0/24}],\n"
      "           ports: [{name: vm1, host: hv1}]}]\n");
  INFO(all_errors(r));
  REQUIRE(r.scenario);
  CHECK(r.scenario->underlay.mtu == 1500);
  CHECK_FALSE(r.scenario->topology.ports[0].port_security);
  const Subnet& sn = r.scenario->topology.bridges[0].subnets[0];
  CHECK(sn.dhcp);
  CHECK_FALSE(sn.gateway);
  CHECK_FALSE(sn.server);
}

TEST_CASE("Loader: bad OpenStack keys are errors with their place") {
  const auto error_of = [](std::string_view yaml) {
    const LoadResult r = load(yaml);
    CHECK_FALSE(r.scenario);
    return all_errors(r);
  };
  const std::string head = "hosts: [{name: hv1, ip: 192.168.0.1}]\n";
  CHECK_THAT(error_of(head + "bridges: [{name: br, ports: [{name: a, host: hv1, "
                             "allowed_address_pairs: [{ip: 10.0.0.300}]}]}]\n"),
             Catch::Contains("scen.yaml:2:") && Catch::Contains("10.0.0.300"));
  CHECK_THAT(error_of(head + "bridges: [{name: br, ports: [{name: a, host: hv1, "
                             "port_security: maybe}]}]\n"),
             Catch::Contains("port_security"));
  CHECK_THAT(error_of(head + "bridges: [{name: br, subnets: [{gateway: 10.0.0.1}]}]\n"),
             Catch::Contains("cidr"));
  CHECK_THAT(
      error_of(head + "bridges: [{name: br, subnets: [{cidr: 10.0.0.0/24, colour: red}]}]\n"),
      Catch::Contains("colour"));
  CHECK_THAT(error_of(head + "routers: [{name: r, ports: [{name: p, ip: 10.0.0.1/24, "
                             "port_security: true}]}]\n"),
             Catch::Contains("only applies to bridge ports"));
  CHECK_THAT(error_of(head + "security_groups: [{name: g, rules: [{direction: ingress, "
                             "remote: 10.0.0.0/8, remote_group: g}]}]\n"),
             Catch::Contains("remote and remote_group exclude each other"));
  CHECK_THAT(error_of(head + "security_groups: [{name: g, rules: [{direction: ingress, "
                             "remote_group: nope}]}]\n"),
             Catch::Contains("unknown security group 'nope'"));
  CHECK_THAT(error_of(head + "chains: [{name: c, rules: [{match: {dst_rewritten: 3}, "
                             "action: accept}]}]\n"),
             Catch::Contains("dst_rewritten"));
  CHECK_THAT(error_of(head + "underlay: {mtu: 100}\n"), Catch::Contains("mtu"));
}
