#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "topology/load/loader.hpp"

using namespace hivesim;

namespace {

LoadResult load(std::string_view yaml) {
  return load_scenario_text(yaml, "scen.yaml", ".");
}

std::vector<std::string> errors(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& d : r.errors)
    out.push_back(d.str());
  return out;
}

/// The single diagnostic of a result that must have exactly one.
std::string only_error(const LoadResult& r) {
  INFO([&] {
    std::string all;
    for (const auto& e : errors(r))
      all += e + "\n";
    return all;
  }());
  REQUIRE(r.errors.size() == 1);
  CHECK_FALSE(r.scenario);
  return r.errors[0].str();
}

const Scenario& ok(const LoadResult& r) {
  INFO([&] {
    std::string all;
    for (const auto& e : errors(r))
      all += e + "\n";
    return all;
  }());
  REQUIRE(r.errors.empty());
  REQUIRE(r.scenario);
  return *r.scenario;
}

/// A small valid prefix that error tests extend: two hosts, a bridge with two VM ports, a router.
constexpr std::string_view kBase =
    "hosts: [{name: hv1, ip: 192.168.0.1}, {name: hv2, ip: 192.168.0.2}]\n"  // line 1
    "bridges:\n"                                                             // line 2
    "  - name: web\n"                                                        // line 3
    "    ports:\n"                                                           // line 4
    "      - {name: vm1, host: hv1, ip: 10.0.1.10}\n"                        // line 5
    "      - {name: vm2, host: hv2, ip: 10.0.1.11}\n"                        // line 6
    "      - {name: web-r1, peer: r1-web}\n"                                 // line 7
    "routers:\n"                                                             // line 8
    "  - name: r1\n"                                                         // line 9
    "    ports:\n"                                                           // line 10
    "      - {name: r1-web, ip: 10.0.1.1/24}\n";                             // line 11

std::string base(std::string_view more) {
  return std::string(kBase) + std::string(more);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The full scenario.

TEST_CASE("Loader: the full scenario loads every section") {
  const LoadResult r = load_scenario(HIVESIM_TEST_DATA "/scenarios/full.yaml");
  const Scenario& s = ok(r);
  const Topology& t = s.topology;

  CHECK(s.name == "three-tier");
  CHECK(s.seed == 7);
  CHECK(s.duration == 30 * kSecond);
  CHECK(s.dir == HIVESIM_TEST_DATA "/scenarios");
  CHECK(s.underlay.latency == 50 * kMicrosecond);
  CHECK(s.underlay.loss == Approx(0.001));
  CHECK(s.underlay.bandwidth_bps == 10'000'000'000ULL);
  CHECK(s.nsdb.replicas == 3);
  CHECK(s.nsdb.latency == 2 * kMillisecond);

  REQUIRE(t.hosts.size() == 3);
  CHECK(t.hosts[2].name == "gw1");
  CHECK(t.hosts[2].ip.str() == "192.168.0.10");
  CHECK(t.hosts[2].agent.max_flows == 100000);
  CHECK(t.hosts[2].agent.flow_idle == 60 * kSecond);
  REQUIRE(t.tunnel_zones.size() == 2);
  CHECK(t.tunnel_zones[0].hosts == std::vector{HostId(0), HostId(1), HostId(2)});
  CHECK(t.tunnel_zones[1].type == TunnelType::kGre);
}

TEST_CASE("Loader: the full scenario's devices, ports and links") {
  const LoadResult r = load_scenario(HIVESIM_TEST_DATA "/scenarios/full.yaml");
  const Scenario& s = ok(r);
  const Topology& t = s.topology;

  // Port ids: bridge ports in order, then router ports.
  REQUIRE(t.ports.size() == 13);
  const PortId vm1 = *t.find_port("vm1");
  const PortId web_r1 = *t.find_port("web-r1");
  const PortId r1_web = *t.find_port("r1-web");
  const PortId r1_up = *t.find_port("r1-up");
  CHECK(vm1 == PortId(0));
  CHECK(r1_web == PortId(7));

  const Port& p = t.port(vm1);
  CHECK(p.on_bridge());
  CHECK(p.host == HostId(0));
  CHECK(p.mac->str() == "02:00:00:00:01:0a");
  CHECK(p.ip->str() == "10.0.1.10");
  CHECK(p.inbound_chain == t.find_chain("db-in"));
  CHECK(p.outbound_chain == t.find_chain("edge"));
  CHECK(p.security_groups == std::vector{SecurityGroupId(0)});
  CHECK(p.loc.line == 43);
  CHECK(p.loc.col == 9);
  CHECK_FALSE(t.port(*t.find_port("db1")).admin_up);
  CHECK(t.port(*t.find_port("trunk")).vlan == 10);

  // Links are symmetric whichever side declared them.
  CHECK(t.port(web_r1).peer == r1_web);
  CHECK(t.port(r1_web).peer == web_r1);
  CHECK(t.port(*t.find_port("db-r1")).peer == t.find_port("r1-db"));
  CHECK(t.port(*t.find_port("trunk")).peer == t.find_port("vlan-side"));
  CHECK(t.port(*t.find_port("r1-r2")).peer == t.find_port("r2-r1"));

  // Router ports: address, prefix length, declared or generated MAC.
  const Port& rp = t.port(r1_web);
  CHECK(rp.on_router());
  CHECK(rp.device == 0);
  CHECK(rp.ip->str() == "10.0.1.1");
  CHECK(rp.prefix_len == 24);
  CHECK(rp.mac->str() == "02:00:00:00:01:01");
  CHECK(t.port(*t.find_port("r1-db")).mac->str() == "02:ee:00:00:00:08");
  CHECK(t.port(r1_up).host == HostId(2));

  const Bridge& web = t.bridge(*t.find_bridge("web"));
  CHECK(web.ports.size() == 4);
  CHECK(web.inbound_chain == t.find_chain("edge"));
  REQUIRE(web.arp_table.size() == 1);
  CHECK(web.arp_table[0].ip.str() == "10.0.1.50");
  CHECK(web.arp_table[0].mac.str() == "02:00:00:00:01:32");

  const Router& r1 = t.router(*t.find_router("r1"));
  REQUIRE(r1.routes.size() == 3);
  CHECK(r1.routes[0].dst.str() == "0.0.0.0/0");
  CHECK(r1.routes[0].via->str() == "180.0.1.1");
  CHECK(r1.routes[0].port == r1_up);
  CHECK(r1.routes[0].weight == 100);
  CHECK(r1.routes[1].type == RouteType::kBlackhole);
  CHECK(r1.routes[1].src.str() == "12.0.0.0/24");
  CHECK_FALSE(r1.routes[1].port);
  CHECK(r1.routes[2].type == RouteType::kReject);
  CHECK(r1.routes[2].weight == 50);
  REQUIRE(r1.arp_table.size() == 1);
  CHECK(r1.arp_table[0].mac.str() == "aa:bb:aa:cc:dd:cc");
  CHECK(r1.outbound_chain == t.find_chain("db-in"));
}

TEST_CASE("Loader: the full scenario's chains, groups and NAT") {
  const LoadResult r = load_scenario(HIVESIM_TEST_DATA "/scenarios/full.yaml");
  const Topology& t = ok(r).topology;

  const Chain& db_in = t.chain(*t.find_chain("db-in"));
  REQUIRE(db_in.rules.size() == 3);
  CHECK(db_in.rules[0].match.proto == 6);
  CHECK(db_in.rules[0].match.src->str() == "10.0.1.0/24");
  CHECK(db_in.rules[0].match.dport == PortRange{5432, 5432});
  CHECK(db_in.rules[1].match.forward_flow == false);
  CHECK(db_in.rules[2].action.kind == ActionKind::kDrop);

  const Chain& edge = t.chain(*t.find_chain("edge"));
  REQUIRE(edge.rules.size() == 8);
  const Condition& c = edge.rules[0].match;
  CHECK(c.in_ports == std::vector{*t.find_port("ext1")});
  CHECK(c.out_ports == std::vector{*t.find_port("vm1")});
  CHECK(c.port_group == PortGroupRef{PortGroupRef::Kind::kSecurityGroup, 0});
  CHECK(c.dst->str() == "10.0.0.0/8");
  CHECK(c.dst_negated);
  CHECK_FALSE(c.src_negated);
  CHECK(c.sport == PortRange{1024, 65535});
  CHECK(c.eth_src->str() == "02:00:00:00:01:0a");
  CHECK(c.ethertype == 0x0800);
  CHECK(c.vlan == 10);
  CHECK(c.tos == 16);
  CHECK(c.frag == FragmentPolicy::kUnfragmented);
  CHECK(c.forward_flow == true);
  CHECK_FALSE(c.invert);
  CHECK(edge.rules[0].action.kind == ActionKind::kJump);
  CHECK(edge.rules[0].action.jump == t.find_chain("db-in"));

  const Rule& dnat = edge.rules[1];
  CHECK(dnat.match.port_group == PortGroupRef{PortGroupRef::Kind::kPortGroup, 0});
  CHECK(dnat.match.proto == 17);
  CHECK(dnat.action.kind == ActionKind::kDnat);
  CHECK(dnat.action.nat.ip_lo.str() == "10.0.1.10");
  CHECK(dnat.action.nat.ip_hi.str() == "10.0.1.11");
  CHECK(dnat.action.nat.port_lo == 8000);
  CHECK(dnat.action.nat.port_hi == 8080);
  CHECK(dnat.action.then == NatThen::kContinue);
  CHECK(edge.rules[2].action.kind == ActionKind::kSnat);
  CHECK(edge.rules[2].action.nat.is_static());
  CHECK(edge.rules[3].action.kind == ActionKind::kRevDnat);
  CHECK(edge.rules[3].action.then == NatThen::kReturn);
  CHECK(edge.rules[4].action.kind == ActionKind::kRevSnat);
  CHECK(edge.rules[5].action.kind == ActionKind::kReject);
  CHECK(edge.rules[6].action.kind == ActionKind::kContinue);
  CHECK(edge.rules[7].action.kind == ActionKind::kReturn);

  REQUIRE(t.port_groups.size() == 1);
  CHECK(t.port_groups[0].ports == std::vector{*t.find_port("vm1"), *t.find_port("vm2")});

  const SecurityGroup& sg = t.security_groups[0];
  CHECK(sg.ports == std::vector{*t.find_port("vm1"), *t.find_port("vm2")});
  REQUIRE(sg.rules.size() == 3);
  CHECK(sg.rules[0].direction == SgDirection::kIngress);
  CHECK(sg.rules[0].port == PortRange{80, 80});
  CHECK(sg.rules[1].proto == 1);
  CHECK(sg.rules[1].remote.str() == "10.0.0.0/8");
  CHECK(sg.rules[2].direction == SgDirection::kEgress);
  CHECK_FALSE(sg.rules[2].proto);
  CHECK(sg.rules[2].remote.len == 0);

  REQUIRE(t.floating_ips.size() == 1);
  CHECK(t.floating_ips[0].ip.str() == "200.0.0.10");
  CHECK(t.floating_ips[0].port == t.find_port("vm1"));
  CHECK(t.floating_ips[0].router == t.find_router("r1"));
}

TEST_CASE("Loader: the full scenario's load balancers") {
  const LoadResult r = load_scenario(HIVESIM_TEST_DATA "/scenarios/full.yaml");
  const Topology& t = ok(r).topology;
  REQUIRE(t.load_balancers.size() == 1);
  const LoadBalancer& lb = t.load_balancers[0];
  CHECK(lb.router == RouterId(0));
  CHECK(lb.vips == std::vector{VipId(0), VipId(1)});
  CHECK(lb.pools == std::vector{PoolId(0)});
  const Vip& web = t.vips[0];
  CHECK(web.ip.str() == "200.0.0.100");
  CHECK(web.port == 80);
  CHECK(web.proto == 6);
  CHECK(web.pool == PoolId(0));
  CHECK(web.persistence == Persistence::kSourceIp);
  CHECK(t.vips[1].proto == 17);
  CHECK(t.vips[1].persistence == Persistence::kNone);
  CHECK_FALSE(t.vips[1].admin_up);
  const Pool& pool = t.pools[0];
  REQUIRE(pool.members.size() == 2);
  CHECK(pool.members[1].ip.str() == "10.0.1.11");
  CHECK(pool.members[1].weight == 2);
  CHECK_FALSE(pool.members[1].admin_up);
  REQUIRE(pool.health_monitor);
  CHECK(pool.health_monitor->timeout == 500 * kMillisecond);
  CHECK(pool.health_monitor->retries == 3);
}

TEST_CASE("Loader: the full scenario's traffic, failures and expectations") {
  const LoadResult r = load_scenario(HIVESIM_TEST_DATA "/scenarios/full.yaml");
  const Scenario& s = ok(r);
  const Topology& t = s.topology;

  REQUIRE(s.traffic.size() == 2);
  const auto& syn = std::get<SyntheticTraffic>(s.traffic[0].source);
  CHECK(s.traffic[0].name == "clients");
  CHECK(syn.from == t.find_port("ext1"));
  CHECK(syn.packet == "tcp dst=200.0.0.100 dport=80");
  CHECK(syn.packet_loc.line == 91);
  CHECK(syn.flows == 1000);
  CHECK(syn.packets_per_flow == 5);
  CHECK(syn.rate == Approx(200.0));
  CHECK(syn.start == kSecond);
  CHECK(syn.reply);
  const auto& pcap = std::get<PcapTraffic>(s.traffic[1].source);
  CHECK(pcap.path == HIVESIM_TEST_DATA "/scenarios/captures/web.pcap");
  CHECK(pcap.speed == Approx(2.5));

  std::vector<std::string> labels;
  for (const auto& f : s.failures)
    labels.push_back(f.label);
  CHECK(labels == std::vector<std::string>{
                      "host_down hv2", "host_up hv2", "agent_restart gw1", "link_down hv1 hv2",
                      "link_up hv1 hv2", "member_down web-pool 10.0.1.11",
                      "member_up web-pool 10.0.1.11:8080", "port_down vm2", "port_up vm2",
                      "nsdb_down 2", "nsdb_up 2", "set db-in[0] drop", "set edge[1] jump db-in"});
  CHECK(s.failures[2].at == 11500 * kMillisecond);
  CHECK(s.failures[3].kind == FailureKind::kLinkDown);
  CHECK(s.failures[3].peer_host == HostId(1));
  CHECK(s.failures[6].member_port == 8080);
  CHECK(s.failures[11].change.chain == t.find_chain("db-in"));
  CHECK(s.failures[11].change.action.kind == ActionKind::kDrop);

  REQUIRE(s.expectations.size() == 6);
  CHECK(s.expectations[0].name == "web reachable");
  const auto& trace = std::get<ExpectTrace>(s.expectations[0].what);
  CHECK(trace.verdict == Verdict::kDelivered);
  CHECK(trace.to == std::vector{*t.find_port("vm1"), *t.find_port("vm2")});
  CHECK(s.expectations[1].name == "vm1: tcp dst=10.0.2.12 dport=22 -> dropped (rule)");
  CHECK(std::get<ExpectTrace>(s.expectations[1].what).reason == DropReason::kRule);
  CHECK(s.expectations[2].name == "lb web-vip max_skew 0.15");
  CHECK(std::get<ExpectLb>(s.expectations[2].what).max_skew == Approx(0.15));
  CHECK(s.expectations[3].name == "traffic clients min_delivered 0.99");
  CHECK(std::get<ExpectTraffic>(s.expectations[3].what).traffic == TrafficId(0));
  CHECK(s.expectations[4].name == "drops no_route max 0");
  CHECK(std::get<ExpectDrops>(s.expectations[4].what).reason == DropReason::kNoRoute);
  CHECK(std::get<ExpectDrops>(s.expectations[5].what).device == "r1");
}

TEST_CASE("Loader: defaults apply when keys are absent") {
  const LoadResult r =
      load_scenario_text("hosts: [{name: hv1, ip: 10.0.0.1}]\n", "dir/my-scen.yaml");
  const Scenario& s = ok(r);
  CHECK(s.name == "my-scen");
  CHECK(s.seed == 1);
  CHECK(s.duration == 10 * kSecond);
  CHECK(s.nsdb.replicas == 3);
  CHECK(s.topology.hosts[0].agent.sim_latency == 40 * kMicrosecond);
}

// ---------------------------------------------------------------------------------------------
// One class of error at a time: position and message.

TEST_CASE("Loader: a dangling host reference names the port and its bridge") {
  const auto r = load(
      "hosts: [{name: hv1, ip: 10.0.0.1}]\n"
      "bridges:\n"
      "  - name: web\n"
      "    ports:\n"
      "      - {name: vm1, host: hv9}\n");
  CHECK(only_error(r) ==
        "scen.yaml:5:27: error: bridge 'web': port 'vm1': unknown host 'hv9' (did you mean "
        "'hv1'?)");
}

TEST_CASE("Loader: unknown keys are reported with a suggestion") {
  const auto r = load(
      "hosts: [{name: hv1, ip: 10.0.0.1, agnet: {}}]\n"
      "tunnel_zone: []\n");
  const auto e = errors(r);
  REQUIRE(e.size() == 2);
  CHECK(e[0] == "scen.yaml:1:35: error: host 'hv1': unknown key 'agnet' (did you mean 'agent'?)");
  CHECK(e[1] == "scen.yaml:2:1: error: unknown key 'tunnel_zone' (did you mean 'tunnel_zones'?)");
}

TEST_CASE("Loader: duplicate names are reported per kind, ports globally") {
  const auto r =
      load(base("  - name: r2\n"                               // 12
                "    ports: [{name: vm1, ip: 10.0.9.1/24}]\n"  // 13
                "chains: [{name: web}, {name: web}]\n"));      // 14
  const auto e = errors(r);
  REQUIRE(e.size() == 2);
  CHECK(e[0] == "scen.yaml:13:20: error: duplicate port name 'vm1' (first defined at line 5)");
  CHECK(e[1] == "scen.yaml:14:30: error: duplicate chain name 'web' (first defined at line 14)");
}

TEST_CASE("Loader: malformed values name the key and the value") {
  const auto r = load(
      "duration: 10\n"
      "underlay: {loss: 1.5, bandwidth: 10GB}\n"
      "hosts:\n"
      "  - {name: hv1, ip: 10.0.0.300}\n"
      "  - {name: hv2, ip: 10.0.0.2, agent: {max_flows: -5, flow_idle: 1.5}}\n"
      "bridges: [{name: b, ports: [{name: p, mac: 'zz:00', ip: 10.0.0.9/24}]}]\n");
  const auto e = errors(r);
  REQUIRE(e.size() == 8);
  CHECK(e[0] ==
        "scen.yaml:1:11: error: duration '10' is not a duration (e.g. 250ns, 10us, 5ms, "
        "2s, 1m)");
  CHECK(e[1] == "scen.yaml:2:18: error: underlay: loss must be between 0 and 1, got 1.5");
  CHECK(e[2] ==
        "scen.yaml:2:34: error: underlay: bandwidth '10GB' is not a bandwidth (e.g. "
        "10Gbps, 100Mbps)");
  CHECK(e[3] == "scen.yaml:4:21: error: host 'hv1': ip '10.0.0.300' is not an IPv4 address");
  CHECK(e[4] ==
        "scen.yaml:5:50: error: host 'hv2': agent: max_flows must not be negative, got "
        "'-5'");
  CHECK(e[5] ==
        "scen.yaml:5:65: error: host 'hv2': agent: flow_idle '1.5' is not a duration "
        "(e.g. 250ns, 10us, 5ms, 2s, 1m)");
  CHECK(e[6] ==
        "scen.yaml:6:44: error: bridge 'b': port 'p': mac 'zz:00' is not a MAC address "
        "(expected aa:bb:cc:dd:ee:ff)");
  CHECK(e[7] ==
        "scen.yaml:6:57: error: bridge 'b': port 'p': ip '10.0.0.9/24' is not an IPv4 "
        "address (a bare address is expected here, without /LEN)");
}

TEST_CASE("Loader: integers reject floats, signs and out-of-range values") {
  const auto r = load(
      "seed: 1.5\n"
      "nsdb: {replicas: 0}\n"
      "bridges: [{name: b, ports: [{name: p, vlan: 4095}]}]\n");
  const auto e = errors(r);
  REQUIRE(e.size() == 3);
  CHECK(e[0] == "scen.yaml:1:7: error: seed must be a whole number, got '1.5'");
  CHECK(e[1] == "scen.yaml:2:18: error: nsdb: replicas must be at least 1, got 0");
  CHECK(e[2] == "scen.yaml:3:45: error: bridge 'b': port 'p': vlan must be at most 4094, got 4095");
}

TEST_CASE("Loader: wrong types and missing required keys") {
  const auto r = load(
      "hosts: {name: hv1}\n"
      "routers:\n"
      "  - name: r1\n"
      "    ports:\n"
      "      - {name: r1-a}\n"
      "      - {ip: 10.0.0.1}\n"
      "      - just-a-name\n");
  const auto e = errors(r);
  REQUIRE(e.size() == 5);
  CHECK(e[0] == "scen.yaml:1:8: error: hosts must be a list, not a map");
  CHECK(e[1] == "scen.yaml:5:9: error: router 'r1': port 'r1-a': missing 'ip'");
  CHECK(e[2] == "scen.yaml:6:9: error: router 'r1': ports[1]: missing 'name'");
  CHECK(e[3] ==
        "scen.yaml:6:14: error: router 'r1': ports[1]: ip '10.0.0.1' needs a prefix length "
        "(e.g. 10.0.0.1/24)");
  CHECK(e[4] ==
        "scen.yaml:7:9: error: router 'r1': ports[2]: expected a map (key: value pairs), "
        "got 'just-a-name'");
}

TEST_CASE("Loader: YAML syntax errors become a diagnostic") {
  const auto r = load("hosts: [{name: hv1, ip: 10.0.0.1}\nbridges: []\n");
  REQUIRE(r.errors.size() == 1);
  CHECK_FALSE(r.scenario);
  CHECK(r.errors[0].line >= 1);
  CHECK(r.errors[0].message.rfind("YAML syntax: ", 0) == 0);
}

TEST_CASE("Loader: an unreadable file and an empty document are reported") {
  const auto missing = load_scenario(HIVESIM_TEST_DATA "/scenarios/no-such-file.yaml");
  CHECK(only_error(missing) == HIVESIM_TEST_DATA
        "/scenarios/no-such-file.yaml: error: cannot read the scenario file");
  CHECK(only_error(load("")) == "scen.yaml:1:1: error: the scenario is empty");
  CHECK(only_error(load("- a\n- b\n")) ==
        "scen.yaml:1:1: error: a scenario is a map of sections (name, hosts, bridges, ...)");
}

TEST_CASE("Loader: several errors in one file are all reported, in document order") {
  const auto r = load(
      "seed: -1\n"
      "hosts: [{name: hv1, ip: 10.0.0.1}, {name: hv1, ip: 10.0.0.2}]\n"
      "tunnel_zones: [{name: tz, type: vxlam, hosts: [hv3]}]\n"
      "chains: [{name: c, rules: [{action: {jump: nowhere}}]}]\n"
      "expect: [{traffic: ghost}]\n");
  const auto e = errors(r);
  REQUIRE(e.size() == 6);
  CHECK(e[0] == "scen.yaml:1:7: error: seed must not be negative, got '-1'");
  CHECK(e[1] == "scen.yaml:2:43: error: duplicate host name 'hv1' (first defined at line 2)");
  CHECK(e[2] ==
        "scen.yaml:3:33: error: tunnel zone 'tz': type 'vxlam' is not one of vxlan, gre "
        "(did you mean 'vxlan'?)");
  CHECK(e[3] ==
        "scen.yaml:3:48: error: tunnel zone 'tz': unknown host 'hv3' (did you mean "
        "'hv1'?)");
  CHECK(e[4] == "scen.yaml:4:44: error: chain 'c': rule 0: action: unknown chain 'nowhere'");
  CHECK(e[5] == "scen.yaml:5:20: error: expect[0]: unknown traffic 'ghost'");
}

TEST_CASE("Loader: peer links are checked from both sides") {
  const auto r =
      load(base("      - {name: r1-x, ip: 10.0.2.1/24, peer: web-r1}\n"  // 12: web-r1 is r1-web's
                "      - {name: r1-y, ip: 10.0.3.1/24, peer: r1-y}\n"    // 13: itself
                "      - {name: r1-z, ip: 10.0.4.1/24, peer: r1-web}\n"  // 14: same router
                "      - {name: r1-h, ip: 10.0.5.1/24, peer: vm1}\n"     // 15: exterior
                "  - name: r2\n"                                         // 16
                "    ports:\n"                                           // 17
                "      - {name: r2-a, ip: 10.0.6.1/24, peer: r1-web}\n"  // 18: taken
                "      - {name: r2-b, ip: 10.0.7.1/24, peer: r2-c, host: hv1}\n"  // 19: both kinds
                "      - {name: r2-c, ip: 10.0.8.1/24}\n"));
  const auto e = errors(r);
  REQUIRE(e.size() == 6);
  CHECK(e[0] ==
        "scen.yaml:12:45: error: router 'r1': port 'r1-x': peer 'web-r1' names 'r1-web' "
        "as its peer, not 'r1-x'");
  CHECK(e[1] == "scen.yaml:13:45: error: router 'r1': port 'r1-y': a port cannot be its own peer");
  CHECK(e[2] ==
        "scen.yaml:14:45: error: router 'r1': port 'r1-z': peer 'r1-web' is on the same "
        "router; a link joins two devices");
  CHECK(e[3] ==
        "scen.yaml:15:45: error: router 'r1': port 'r1-h': peer 'vm1' is an exterior port "
        "(bound to host 'hv1') and cannot be linked");
  CHECK(e[4] ==
        "scen.yaml:18:45: error: router 'r2': port 'r2-a': peer 'r1-web' is already "
        "linked to 'web-r1'");
  CHECK(e[5] ==
        "scen.yaml:19:45: error: router 'r2': port 'r2-b': a port is either exterior "
        "(host) or interior (peer), not both");
}

TEST_CASE("Loader: a bridge-to-bridge link needs a VLAN-aware side") {
  const auto r = load(
      "bridges:\n"
      "  - name: a\n"
      "    ports: [{name: a1}, {name: a2, vlan: 5}]\n"
      "  - name: b\n"
      "    ports: [{name: b1, peer: a1}, {name: b2, peer: a2}]\n");
  CHECK(only_error(r) ==
        "scen.yaml:5:30: error: bridge 'b': port 'b1': a bridge-to-bridge link "
        "needs a vlan on one of its ports (VLAN-aware bridge)");
}

TEST_CASE("Loader: router port addresses must be usable host addresses") {
  const auto r = load(
      "routers:\n"
      "  - name: r\n"
      "    ports: [{name: a, ip: 10.0.0.0/24}, {name: b, ip: 10.0.7.255/24},\n"
      "            {name: c, ip: 10.0.8.1/0}, {name: d, ip: 10.0.9.0/31}, {name: e, ip: "
      "1.2.3.4/32}]\n");
  const auto e = errors(r);
  REQUIRE(e.size() == 3);
  CHECK(e[0] ==
        "scen.yaml:3:27: error: router 'r': port 'a': ip 10.0.0.0/24 is the network "
        "address of its subnet, not a port address");
  CHECK(e[1] ==
        "scen.yaml:3:55: error: router 'r': port 'b': ip 10.0.7.255/24 is the broadcast "
        "address of its subnet, not a port address");
  CHECK(e[2] ==
        "scen.yaml:4:27: error: router 'r': port 'c': ip 10.0.8.1/0: prefix length must "
        "be 1-32");
}

TEST_CASE("Loader: routes need a port of their own router and a clean prefix") {
  const auto r =
      load(base("      - {name: r1-up, ip: 180.0.1.2/24, host: hv1}\n"         // 12
                "    routes:\n"                                                // 13
                "      - {dst: 0.0.0.0/0, via: 180.0.1.1, port: r1-up}\n"      // 14
                "      - {dst: 10.9.0.1/16, port: vm1}\n"                      // 15
                "      - {dst: 10.10.0.0/16}\n"                                // 16
                "      - {dst: 11.0.0.0/24, type: blackhole, via: 1.2.3.4}\n"  // 17
                "      - {src: 1.2.3.0/24, type: reject}\n"));                 // 18
  const auto e = errors(r);
  REQUIRE(e.size() == 5);
  CHECK(e[0] ==
        "scen.yaml:15:15: error: router 'r1': route 1: dst 10.9.0.1/16 has host bits set "
        "(did you mean 10.9.0.0/16?)");
  CHECK(e[1] ==
        "scen.yaml:15:34: error: router 'r1': route 1: port 'vm1' is not a port of this "
        "router (it belongs to bridge 'web')");
  CHECK(e[2] == "scen.yaml:16:9: error: router 'r1': route 2: missing 'port'");
  CHECK(e[3] ==
        "scen.yaml:17:50: error: router 'r1': route 3: 'via' does not apply to a "
        "blackhole route");
  CHECK(e[4] == "scen.yaml:18:9: error: router 'r1': route 4: missing 'dst'");
}

TEST_CASE("Loader: arp tables check both the address and the MAC") {
  const auto r = load(
      "bridges:\n"
      "  - name: b\n"
      "    arp_table: {10.0.0.300: \"02:00:00:00:00:01\", 10.0.0.2: zz, 10.0.0.3: [1]}\n");
  const auto e = errors(r);
  REQUIRE(e.size() == 3);
  CHECK(e[0] ==
        "scen.yaml:3:17: error: bridge 'b': arp_table ip '10.0.0.300' is not an IPv4 "
        "address");
  CHECK(e[1] ==
        "scen.yaml:3:60: error: bridge 'b': arp_table mac 'zz' is not a MAC address "
        "(expected aa:bb:cc:dd:ee:ff)");
  CHECK(e[2] ==
        "scen.yaml:3:74: error: bridge 'b': arp_table mac must be a single value, not a "
        "list");
}

TEST_CASE("Loader: rule conditions report each bad field") {
  const auto r = load(
      base("port_groups: [{name: pg, ports: [vm1]}]\n"                                         // 12
           "chains:\n"                                                                         // 13
           "  - name: c\n"                                                                     // 14
           "    rules:\n"                                                                      // 15
           "      - match: {in_port: [vm1, vmx], port_group: pgg, src: \"!10.0.0.0/40\",\n"    // 16
           "                proto: tcpp, sport: 90-80, ethertype: \"0x10000\", frag: some}\n"  // 17
           "        action: accept\n"                                                          // 18
           "      - {match: {forward_flow: true, return_flow: true}, action: drop}\n"));       // 19
  const auto e = errors(r);
  REQUIRE(e.size() == 8);
  CHECK(e[0] ==
        "scen.yaml:16:32: error: chain 'c': rule 0: match: unknown port 'vmx' (did you "
        "mean 'vm1'?)");
  CHECK(e[1] ==
        "scen.yaml:16:50: error: chain 'c': rule 0: match: unknown port group or security "
        "group 'pgg' (did you mean 'pg'?)");
  CHECK(e[2] ==
        "scen.yaml:16:60: error: chain 'c': rule 0: match: src '!10.0.0.0/40' is not an "
        "address or CIDR (e.g. 10.0.1.0/24, !10.0.0.0/8)");
  CHECK(e[3] ==
        "scen.yaml:17:24: error: chain 'c': rule 0: match: proto 'tcpp' is not a protocol "
        "(tcp, udp, icmp or 0-255) (did you mean 'tcp'?)");
  CHECK(e[4] ==
        "scen.yaml:17:37: error: chain 'c': rule 0: match: sport '90-80' is not a port or "
        "port range (0-65535, e.g. 80 or 8000-8080)");
  CHECK(e[5] ==
        "scen.yaml:17:55: error: chain 'c': rule 0: match: ethertype must be at most "
        "65535, got 0x10000");
  CHECK(e[6] ==
        "scen.yaml:17:72: error: chain 'c': rule 0: match: frag 'some' is not one of any, "
        "header, nonheader, unfragmented");
  CHECK(e[7] ==
        "scen.yaml:19:51: error: chain 'c': rule 1: match: forward_flow and return_flow "
        "contradict each other");
}

TEST_CASE("Loader: rule actions report bad forms, targets and 'then'") {
  const auto r = load(
      "chains:\n"
      "  - name: c\n"
      "    rules:\n"
      "      - {action: jump}\n"                                     // 4
      "      - {action: {jump: c, dnat: {to: 1.2.3.4}}}\n"           // 5
      "      - {action: {dnat: {to: 1.2.3.9-1.2.3.4, ports: 0}}}\n"  // 6
      "      - {action: {snat: {ports: 80}}}\n"                      // 7
      "      - {action: dorp}\n"                                     // 8
      "      - {action: drop, then: continue}\n"                     // 9
      "      - {action: {jmup: c}}\n"                                // 10
      "      - {match: {}}\n");                                      // 11
  const auto e = errors(r);
  REQUIRE(e.size() == 9);
  CHECK(e[0] ==
        "scen.yaml:4:18: error: chain 'c': rule 0: action 'jump' needs a target, e.g. "
        "{jump: CHAIN}");
  CHECK(e[1] ==
        "scen.yaml:5:18: error: chain 'c': rule 1: action: an action has exactly one of "
        "jump, dnat, snat");
  CHECK(e[2] ==
        "scen.yaml:6:30: error: chain 'c': rule 2: dnat: to '1.2.3.9-1.2.3.4' is not an "
        "address or address range (e.g. 1.2.3.4 or 1.2.3.4-1.2.3.8)");
  CHECK(e[3] ==
        "scen.yaml:6:54: error: chain 'c': rule 2: dnat: ports '0' is not a port or port "
        "range (1-65535, e.g. 80 or 8000-8080)");
  CHECK(e[4] == "scen.yaml:7:25: error: chain 'c': rule 3: snat: missing 'to'");
  CHECK(e[5] ==
        "scen.yaml:8:18: error: chain 'c': rule 4: action 'dorp' is not one of accept, "
        "drop, reject, continue, return, rev_dnat, rev_snat (did you mean 'drop'?)");
  CHECK(e[6] ==
        "scen.yaml:9:30: error: chain 'c': rule 5: 'then' only applies to NAT actions "
        "(dnat, snat, rev_dnat, rev_snat)");
  CHECK(e[7] ==
        "scen.yaml:10:19: error: chain 'c': rule 6: action: unknown key 'jmup' (did you "
        "mean 'jump'?)");
  CHECK(e[8] == "scen.yaml:11:9: error: chain 'c': rule 7: missing 'action'");
}

TEST_CASE("Loader: security group rules") {
  const auto r = load(
      "security_groups:\n"
      "  - name: sg\n"
      "    rules:\n"
      "      - {direction: in}\n"                                                 // 4
      "      - {direction: ingress, proto: icmp, port: 80}\n"                     // 5
      "      - {proto: tcp, port: 22, remote: 10.0.0.0/8}\n"                      // 6
      "bridges: [{name: b, ports: [{name: p, security_groups: [sg, sgx]}]}]\n");  // 7
  const auto e = errors(r);
  REQUIRE(e.size() == 4);
  CHECK(e[0] ==
        "scen.yaml:4:21: error: security group 'sg': rule 0: direction 'in' is not one of "
        "ingress, egress");
  CHECK(e[1] == "scen.yaml:5:49: error: security group 'sg': rule 1: port needs proto tcp or udp");
  CHECK(e[2] == "scen.yaml:6:9: error: security group 'sg': rule 2: missing 'direction'");
  CHECK(e[3] ==
        "scen.yaml:7:61: error: bridge 'b': port 'p': unknown security group 'sgx' (did "
        "you mean 'sg'?)");
}

TEST_CASE("Loader: floating ips and load balancers") {
  const auto r =
      load(base("floating_ips:\n"                                                            // 12
                "  - {ip: 200.0.0.10, port: r1-web, router: r1}\n"                           // 13
                "  - {ip: 200.0.0.10, port: vm1, router: r2}\n"                              // 14
                "load_balancers:\n"                                                          // 15
                "  - name: lb1\n"                                                            // 16
                "    router: r1\n"                                                           // 17
                "    vips: [{name: v1, ip: 200.0.0.1, port: 80, proto: sctp, pool: p2}]\n"   // 18
                "    pools:\n"                                                               // 19
                "      - name: p1\n"                                                         // 20
                "        members: [{ip: 10.0.1.10, port: 80}, {ip: 10.0.1.10, port: 80}]\n"  // 21
                "        health_monitor: {interval: 1s, timeout: 2s}\n"                      // 22
                "  - {name: lb2, router: r1, pools: [{name: p2}, {name: p1}]}\n"));          // 23
  const auto e = errors(r);
  REQUIRE(e.size() == 8);
  CHECK(e[0] ==
        "scen.yaml:13:28: error: floating ip 200.0.0.10: port 'r1-web' is a router port; "
        "a floating ip maps to a VM (bridge) port");
  CHECK(e[1] ==
        "scen.yaml:14:10: error: floating ip 200.0.0.10: ip 200.0.0.10 is already a "
        "floating ip (line 13)");
  CHECK(e[2] ==
        "scen.yaml:14:41: error: floating ip 200.0.0.10: unknown router 'r2' (did you "
        "mean 'r1'?)");
  CHECK(e[3] == "scen.yaml:18:55: error: vip 'v1': proto 'sctp' is not one of tcp, udp");
  CHECK(e[4] == "scen.yaml:18:67: error: vip 'v1': pool 'p2' belongs to another load balancer");
  CHECK(e[5] == "scen.yaml:21:46: error: pool 'p1': member 1: member 10.0.1.10:80 is listed twice");
  CHECK(e[6] ==
        "scen.yaml:22:25: error: pool 'p1': health_monitor: timeout (2s) must not exceed "
        "interval (1s)");
  CHECK(e[7] == "scen.yaml:23:56: error: duplicate pool name 'p1' (first defined at line 20)");
}

TEST_CASE("Loader: traffic sources are synthetic or pcap, entering at exterior ports") {
  const auto r =
      load(base("traffic:\n"                                                      // 12
                "  - {name: t1, from: web-r1, packet: tcp, flows: 0, rate: 5}\n"  // 13
                "  - {name: t2, pcap: nothere.pcap, port: vm1, packet: x}\n"      // 14
                "  - {name: t3, from: vm1, packet: udp, speed: 2}\n"));           // 15
  const auto e = errors(r);
  REQUIRE(e.size() == 6);
  CHECK(e[0] ==
        "scen.yaml:13:22: error: traffic 't1': port 'web-r1' is not bound to a host; "
        "packets enter the overlay at exterior ports");
  CHECK(e[1] == "scen.yaml:13:50: error: traffic 't1': flows must be at least 1, got 0");
  CHECK(e[2] ==
        "scen.yaml:13:59: error: traffic 't1': rate '5' is not a rate (e.g. 200/s, 5/ms, "
        "60/m)");
  CHECK(e[3] == "scen.yaml:14:22: error: traffic 't2': pcap file 'nothere.pcap' does not exist");
  CHECK(e[4] == "scen.yaml:14:55: error: traffic 't2': 'packet' does not apply to pcap traffic");
  CHECK(e[5] ==
        "scen.yaml:15:47: error: traffic 't3': 'speed' does not apply to synthetic "
        "traffic (it needs 'pcap')");
}

TEST_CASE("Loader: failures name existing objects and exactly one event") {
  const auto r = load(
      base("nsdb: {replicas: 2}\n"                             // 12
           "chains: [{name: c, rules: [{action: accept}]}]\n"  // 13
           "load_balancers:\n"                                 // 14
           "  - {name: lb, router: r1, pools: [{name: p1, members: [{ip: 10.0.1.10, port: 80}]}]}\n"
           "failures:\n"                                                       // 16
           "  - {at: 1s, host_down: hv3}\n"                                    // 17
           "  - {at: 1s, nsdb_down: 2}\n"                                      // 18
           "  - {at: 1s, link_up: [hv1, hv1]}\n"                               // 19
           "  - {at: 1s, member_down: {pool: p1, ip: 10.0.1.10, port: 81}}\n"  // 20
           "  - {at: 1s, set: {chain: c, rule: 1, action: drop}}\n"            // 21
           "  - {host_down: hv1, host_up: hv1}\n"));                           // 22
  const auto e = errors(r);
  REQUIRE(e.size() == 7);
  CHECK(e[0] == "scen.yaml:17:25: error: failures[0]: unknown host 'hv3' (did you mean 'hv1'?)");
  CHECK(e[1] ==
        "scen.yaml:18:25: error: failures[1]: nsdb replica 2 does not exist (replicas are "
        "0-1)");
  CHECK(e[2] == "scen.yaml:19:23: error: failures[2]: link_up needs two different hosts");
  CHECK(e[3] ==
        "scen.yaml:20:27: error: failures[3]: member_down: pool 'p1' has no member "
        "10.0.1.10:81");
  CHECK(e[4] == "scen.yaml:21:36: error: failures[4]: set: chain 'c' has no rule 1 (it has 1)");
  CHECK(e[5] == "scen.yaml:22:5: error: failures[5]: missing 'at'");
  CHECK(e[6] ==
        "scen.yaml:22:5: error: failures[5]: a failure has exactly one event; found "
        "host_down and host_up");
}

TEST_CASE("Loader: expectations are one of four forms with consistent keys") {
  const auto r =
      load(base("expect:\n"                                                  // 12
                "  - {from: vm1, packet: tcp, verdict: delivred}\n"          // 13
                "  - {from: vm1, packet: tcp, verdict: dropped, to: vm2}\n"  // 14
                "  - {from: vm1, packet: tcp, reason: no_rout}\n"            // 15
                "  - {lb: v1, traffic: t1}\n"                                // 16
                "  - {drops: {max: 1, device: zzz}}\n"                       // 17
                "  - {name: fine, verdict: dropped}\n"));                    // 18
  const auto e = errors(r);
  REQUIRE(e.size() == 6);
  CHECK(e[0] ==
        "scen.yaml:13:39: error: expect[0]: verdict 'delivred' is not one of delivered, "
        "dropped, consumed (did you mean 'delivered'?)");
  CHECK(e[1] == "scen.yaml:14:52: error: expect[1]: 'to' only applies to verdict delivered");
  CHECK(e[2] ==
        "scen.yaml:15:38: error: expect[2]: reason 'no_rout' is not a drop reason (did "
        "you mean 'no_route'?)");
  CHECK(e[3] ==
        "scen.yaml:16:5: error: expect[3]: an expectation has exactly one of: "
        "from/packet, lb, traffic, drops");
  CHECK(e[4] == "scen.yaml:17:30: error: expect[4]: drops: unknown device 'zzz'");
  CHECK(e[5] ==
        "scen.yaml:18:5: error: expectation 'fine': an expectation needs one of: "
        "from/packet, lb, traffic, drops");
}

TEST_CASE("Loader: derived expectation names describe the check") {
  const auto r =
      load(base("expect:\n"
                "  - {from: vm1, packet: \"udp dst=10.0.1.11\", to: [vm2]}\n"
                "  - {from: vm1, packet: \"icmp dst=10.0.1.1\", verdict: consumed}\n"
                "  - {drops: {reason: rule, device: web}}\n"));
  const Scenario& s = ok(r);
  REQUIRE(s.expectations.size() == 3);
  CHECK(s.expectations[0].name == "vm1: udp dst=10.0.1.11 -> delivered to vm2");
  CHECK(std::get<ExpectTrace>(s.expectations[0].what).verdict == Verdict::kDelivered);
  CHECK(s.expectations[1].name == "vm1: icmp dst=10.0.1.1 -> consumed");
  CHECK(s.expectations[2].name == "drops rule at web max 0");
}

TEST_CASE("Loader: hostile documents give diagnostics, never exceptions") {
  const std::string deep = std::string(5000, '[') + std::string(5000, ']');
  const char* docs[] = {"hosts: 5",
                        "hosts: [[[]]]",
                        "? [a]: b\n",
                        "bridges: [{ports: {a: b}}]",
                        "routers: [{name: r, ports: [{name: p, ip: [1]}], routes: 7}]",
                        "chains: [{name: c, rules: [{match: 1, action: {dnat: []}}]}]",
                        "a: &x [*x]",
                        "hosts: [{name: [a], ip: {}}]",
                        "name: {a: 1}\nseed: [1]",
                        "expect: [{drops: {}}, {lb: []}, {traffic: {}}]",
                        "failures: [{at: 1s, set: 3}]",
                        "load_balancers: [{vips: [{pool: [1]}], pools: [{members: 3}]}]",
                        "\t",
                        "%YAML 9.9\n---\na",
                        "traffic: [{pcap: [], port: {}}]",
                        "hosts: !!map [1]",
                        "---\na: 1\n---\nb: 2\n"};
  for (const char* doc : docs) {
    INFO(doc);
    LoadResult r;
    CHECK_NOTHROW(r = load(doc));
    CHECK_FALSE(r.scenario);
    CHECK_FALSE(r.errors.empty());
    for (const auto& d : r.errors)
      CHECK(d.line >= 1);
  }
  LoadResult r;
  CHECK_NOTHROW(r = load(deep));
  CHECK_FALSE(r.errors.empty());
}
