// Port security-group chains are shared between ports with the same groups (in the same order):
// a cloud of many ports and a few group sets holds a few chains. What a user sees does not
// change: a drop and a trace name the port's chain "sg-ingress:PORT" / "sg-egress:PORT" at the
// port's declaration, and a change to one group set's rules reaches only its ports.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "fixtures.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

// vm1 and vm2 share [web, admin]; vm3 has the same groups in another order; vm4 [db] and vm6
// [web] have one group each; vm5 has none.
constexpr std::string_view kShared = R"(
hosts: [{name: hv1, ip: 192.168.0.1}, {name: hv2, ip: 192.168.0.2}]
security_groups:
  - name: web
    rules:
      - {direction: ingress, proto: tcp, port: 80}
      - {direction: egress}
  - name: admin
    rules:
      - {direction: ingress, proto: tcp, port: 22, remote: 10.0.1.0/24}
      - {direction: egress}
  - name: db
    rules:
      - {direction: ingress, proto: tcp, port: 5432, remote: 10.0.1.0/24}
      - {direction: egress}
bridges:
  - name: net
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:01", ip: 10.0.1.1, security_groups: [web, admin]}
      - {name: vm2, host: hv2, mac: "02:00:00:00:01:02", ip: 10.0.1.2, security_groups: [web, admin]}
      - {name: vm3, host: hv1, mac: "02:00:00:00:01:03", ip: 10.0.1.3, security_groups: [admin, web]}
      - {name: vm4, host: hv2, mac: "02:00:00:00:01:04", ip: 10.0.1.4, security_groups: [db]}
      - {name: vm5, host: hv1, mac: "02:00:00:00:01:05", ip: 10.0.1.5}
      - {name: vm6, host: hv2, mac: "02:00:00:00:01:06", ip: 10.0.1.6, security_groups: [web]}
)";

/// The line of the YAML text where `needle` is (1-based, as the loader counts).
std::uint32_t line_of(std::string_view yaml, std::string_view needle) {
  const auto at = yaml.find(needle);
  REQUIRE(at != std::string_view::npos);
  return static_cast<std::uint32_t>(std::count(yaml.begin(), yaml.begin() + at, '\n') + 1);
}

}  // namespace

TEST_CASE("Security-group sharing: ports with the same groups share one pair of chains") {
  Net net(kShared);
  const Simulator& sim = net.sim();
  const auto to = [&](std::string_view p) { return sim.sg_to_vm(net.port(p)); };
  const auto from = [&](std::string_view p) { return sim.sg_from_vm(net.port(p)); };
  REQUIRE(to("vm1"));
  REQUIRE(from("vm1"));
  CHECK(to("vm1") == to("vm2"));
  CHECK(from("vm1") == from("vm2"));
  CHECK(to("vm1") != from("vm1"));
  // Other groups, or the same groups in another order (the jumps run in the port's order).
  CHECK(to("vm3") != to("vm1"));
  CHECK(to("vm4") != to("vm6"));
  CHECK(from("vm4") != from("vm6"));
  CHECK(to("vm4") != to("vm1"));
  CHECK_FALSE(to("vm5"));
  CHECK_FALSE(from("vm5"));
  // The scenario's chains (none), two per group, two per distinct group set (4 sets).
  CHECK(sim.topology().chains.size() == 3 * 2 + 4 * 2);
  for (const char* p : {"vm1", "vm2", "vm3", "vm4", "vm6"}) {
    CHECK(sim.is_port_chain(*to(p)));
    CHECK(sim.port_chain_name(*to(p), net.port(p)) == std::string("sg-ingress:") + p);
    CHECK(sim.port_chain_name(*from(p), net.port(p)) == std::string("sg-egress:") + p);
    CHECK(sim.find_chain(std::string("sg-ingress:") + p) == to(p));
    CHECK(sim.find_chain(std::string("sg-egress:") + p) == from(p));
  }
  const auto group_chain = sim.topology().find_chain("sg:web:ingress");
  REQUIRE(group_chain);
  CHECK_FALSE(sim.is_port_chain(*group_chain));
  CHECK(sim.find_chain("sg:web:ingress") == group_chain);
  CHECK(sim.port_chain_name(*group_chain, net.port("vm1")).empty());
  // The shared chain's own name is the group set's, which users do not look up.
  CHECK_FALSE(sim.find_chain(sim.topology().chain(*to("vm1")).name));
  CHECK_FALSE(sim.find_chain("sg-ingress:vm5"));
}

TEST_CASE("Security-group sharing: a drop and a trace name the port, at its declaration") {
  Net net(kShared);
  // vm2 and vm1 share their chains; each drop names its own port and declaration.
  for (const char* target : {"vm2", "vm1"}) {
    const std::string dst = target == std::string("vm2") ? "10.0.1.2" : "10.0.1.1";
    SIMULATE(r, net, "vm4", "tcp dst=" + dst + " dport=443");
    CHECK(r.verdict == Verdict::kDropped);
    CHECK(device_of(r) == std::string("sg-ingress:") + target);
    CHECK(r.drop->rule == 3u);
    CHECK(r.drop_source.line == line_of(kShared, std::string("{name: ") + target));
    CHECK(net.last_trace().find(std::string("chain 'sg-ingress:") + target +
                                "' rule 1: jump to 'sg:web:ingress'") != std::string::npos);
    CHECK(net.last_trace().find("[web,admin]") == std::string::npos);
  }
  // From the VM: vm5 (no groups) is reached, but vm4's egress is allowed by db.
  SIMULATE(out, net, "vm4", "udp dst=10.0.1.5 dport=53");
  CHECK(net.to(out) == Names{"vm5"});
  CHECK(net.last_trace().find("chain 'sg-egress:vm4' rule 1: jump to 'sg:db:egress'") !=
        std::string::npos);
}

TEST_CASE("Security-group sharing: one group set's rules do not reach other sets' ports") {
  Scenario scenario = load_yaml(kShared);
  // The variant opens 443 in group db only: vm4 admits it, the ports of [web, admin] still drop
  // it, and [web] alone (vm6) too.
  const auto db = scenario.topology.find_security_group("db");
  REQUIRE(db);
  SecurityGroupRule https;
  https.direction = SgDirection::kIngress;
  https.proto = ipproto::kTcp;
  https.port = PortRange{443, 443};
  scenario.topology.security_groups[db->value].rules.push_back(https);
  const Simulator variant(scenario.topology);
  const Simulator original(load_yaml(kShared).topology);
  const auto verdict = [&](const Simulator& sim, std::string_view from, std::string_view dst) {
    const PortId in = *sim.topology().find_port(from);
    auto parsed = parse_packet_spec("tcp dst=" + std::string(dst) + " dport=443");
    REQUIRE(parsed);
    auto packet = build_packet(*parsed, sim.spec_defaults(in));
    REQUIRE(packet);
    SimState state;
    return sim.simulate(in, *packet, state).verdict;
  };
  CHECK(verdict(original, "vm1", "10.0.1.4") == Verdict::kDropped);
  CHECK(verdict(variant, "vm1", "10.0.1.4") == Verdict::kDelivered);
  for (const Simulator* sim : {&original, &variant}) {
    CHECK(verdict(*sim, "vm4", "10.0.1.2") == Verdict::kDropped);
    CHECK(verdict(*sim, "vm4", "10.0.1.1") == Verdict::kDropped);
    CHECK(verdict(*sim, "vm4", "10.0.1.6") == Verdict::kDropped);
  }
}
