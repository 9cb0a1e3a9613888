// The streamed load of the bridges (loader.cpp, yaml_doc.hpp): each bridge is declared and read
// while the file is parsed, then dropped, and the text already read is given back. It must give
// what a whole-document load gives: the same model, the same messages at the same places.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "topology/load/loader.hpp"

using namespace hivesim;

namespace {

LoadResult load(std::string_view yaml) {
  return load_scenario_text(yaml, "scen.yaml", ".");
}

std::string opt_id(const auto& id) {
  return id ? std::to_string(id->value) : "-";
}

std::string at(SourceLoc loc) {
  return "@" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
}

/// What a load gives, as text: every message, or the model's hosts, devices, ports and groups.
std::string describe(const LoadResult& r) {
  std::string out;
  for (const Diagnostic& d : r.errors)
    out += d.str() + "\n";
  if (!r.scenario) return out;
  const Topology& t = r.scenario->topology;
  for (const Host& h : t.hosts)
    out += "host " + h.name + " " + h.ip.str() + at(h.loc) + "\n";
  for (const Bridge& b : t.bridges) {
    out += "bridge " + b.name + at(b.loc) + " in=" + opt_id(b.inbound_chain) + " ports";
    for (PortId p : b.ports)
      out += " " + std::to_string(p.value);
    out += "\n";
  }
  for (const Router& rt : t.routers) {
    out += "router " + rt.name + at(rt.loc) + " ports";
    for (PortId p : rt.ports)
      out += " " + std::to_string(p.value);
    out += " routes " + std::to_string(rt.routes.size()) + "\n";
  }
  for (const Port& p : t.ports) {
    out += "port " + p.name + at(p.loc) + " dev " + std::to_string(p.device) + " host " +
           opt_id(p.host) + " peer " + opt_id(p.peer) + " mac " + (p.mac ? p.mac->str() : "-") +
           " ip " + (p.ip ? p.ip->str() : "-") + "/" + std::to_string(p.prefix_len) + " vlan " +
           (p.vlan ? std::to_string(*p.vlan) : "-") + " in " + opt_id(p.inbound_chain) + " sg";
    for (SecurityGroupId g : p.security_groups)
      out += " " + std::to_string(g.value);
    out += "\n";
  }
  for (const SecurityGroup& g : t.security_groups) {
    out += "group " + g.name + " rules " + std::to_string(g.rules.size()) + " ports";
    for (PortId p : g.ports)
      out += " " + std::to_string(p.value);
    out += "\n";
  }
  for (const Traffic& tr : r.scenario->traffic)
    out += "traffic " + tr.name + at(tr.loc) + "\n";
  return out;
}

/// A whole-document load of the same text: a `chains` section after the bridges (appended, so
/// no line moves) means a bridge might name a chain not yet declared, so the loader reads the
/// file again without streaming.
LoadResult load_whole(std::string_view yaml) {
  return load(std::string(yaml) + "chains: []\n");
}

constexpr std::string_view kHead =
    "hosts: [{name: hv1, ip: 192.168.0.1}, {name: hv2, ip: 192.168.0.2}]\n"  // 1
    "security_groups:\n"                                                     // 2
    "  - {name: web, rules: [{direction: ingress}]}\n"                       // 3
    "  - {name: db}\n";                                                      // 4

}  // namespace

TEST_CASE("Streamed bridges: the same model and messages as a whole-document load") {
  const std::vector<std::string> bodies = {
      // Valid: ports on hosts, groups, a VLAN link between bridges, peers to a router below.
      "bridges:\n"
      "  - name: b1\n"
      "    ports:\n"
      "      - {name: p1, host: hv1, ip: 10.0.0.1, mac: '02:00:00:00:00:01', "
      "security_groups: [web, db]}\n"
      "      - {name: p2, host: hv2, security_groups: db}\n"
      "      - {name: b1-r, peer: r-b1}\n"
      "      - {name: b1-b2, peer: b2-b1, vlan: 7}\n"
      "  - name: b2\n"
      "    ports: [{name: p3, host: hv2, security_groups: [web]}, {name: b2-b1, peer: b1-b2}]\n"
      "routers:\n"
      "  - name: r\n"
      "    ports: [{name: r-b1, ip: 10.0.0.254/24, peer: b1-r}]\n"
      "    routes: [{dst: 0.0.0.0/0, port: r-b1}]\n"
      "traffic:\n"
      "  - {name: t, from: p1, packet: 'tcp dst=10.0.0.2 dport=80'}\n",
      // Errors in several bridges, references forward and backward, unknown names.
      "bridges:\n"
      "  - name: b1\n"
      "    ports:\n"
      "      - {name: p1, host: hv3, mac: zz}\n"
      "      - {name: p2, host: hv1, security_groups: [web, web]}\n"
      "  - name: b1\n"
      "    ports: [{name: p1, peer: r-b}, {name: p4, peer: r-bb}]\n"
      "  - {name: b3, ports: [{name: p5, peer: p5}], colour: red}\n"
      "  - {name: b4, ports: [{name: p6, peer: p2}]}\n"
      "  - {ports: [{name: p7, host: hv1, peer: r-b}]}\n"
      "  - [not, a, map]\n"
      "routers:\n"
      "  - name: r\n"
      "    ports: [{name: r-b, ip: 10.0.0.254/24, peer: p1}]\n"
      "traffic:\n"
      "  - {name: t, from: r-b, packet: 'tcp dst=10.0.0.2'}\n",
      // Traffic streamed too: sources naming bridge and router ports; the routers after it.
      "bridges:\n"
      "  - {name: b1, ports: [{name: p1, host: hv1}, {name: b1-r, peer: r-b1}]}\n"
      "traffic:\n"
      "  - {name: t1, from: p1, packet: 'udp dst=10.0.0.9', reply_from: [p1]}\n"
      "  - {name: t2, from: r-b1, packet: 'udp dst=10.0.0.9'}\n"
      "  - {name: t1, from: p9, packet: 'udp dst=10.0.0.9'}\n"
      "routers: [{name: r, ports: [{name: r-b1, ip: 10.0.0.1/24, peer: b1-r}]}]\n",
      // Aliases across bridges and into the sections before them.
      "bridges:\n"
      "  - {name: b1, ports: [{name: p1, host: &h hv2, security_groups: &g [db, web]}]}\n"
      "  - {name: b2, ports: [{name: p2, host: *h, security_groups: *g}]}\n"
      "  - &third {name: b3, ports: []}\n"
      "routers: [{name: r, ports: []}]\n"
      "extra: *third\n",
  };
  for (const std::string& body : bodies) {
    const std::string text = std::string(kHead) + body;
    INFO(text);
    const std::string streamed = describe(load(text));
    CHECK(streamed == describe(load_whole(text)));
    CHECK_FALSE(streamed.empty());
  }
}

TEST_CASE("Streamed bridges: a problem in the third bridge is reported at its line") {
  const std::string text = std::string(kHead) +
                           "bridges:\n"                                         // 5
                           "  - {name: b1, ports: [{name: p1, host: hv1}]}\n"   // 6
                           "  - {name: b2, ports: [{name: p2, host: hv2}]}\n"   // 7
                           "  - name: b3\n"                                     // 8
                           "    ports:\n"                                       // 9
                           "      - {name: p3, host: hv1}\n"                    // 10
                           "      - {name: p4, host: hv9, mac: '02:00:00'}\n";  // 11
  const LoadResult r = load(text);
  std::vector<std::string> messages;
  for (const Diagnostic& d : r.errors)
    messages.push_back(d.str());
  CHECK(messages == std::vector<std::string>{
                        "scen.yaml:11:26: error: bridge 'b3': port 'p4': unknown host 'hv9' (did "
                        "you mean 'hv1'?)",
                        "scen.yaml:11:36: error: bridge 'b3': port 'p4': mac '02:00:00' is not a "
                        "MAC address (expected aa:bb:cc:dd:ee:ff)"});
}

TEST_CASE("Streamed bridges: peers are resolved once every port is declared") {
  const std::string text = std::string(kHead) +
                           "bridges:\n"                                           // 5
                           "  - {name: b1, ports: [{name: b1-r, peer: r-b1}]}\n"  // 6
                           "  - {name: b2, ports: [{name: b2-r, peer: r-b3}]}\n"  // 7
                           "routers:\n"                                           // 8
                           "  - {name: r, ports: [{name: r-b1, ip: 10.0.0.1/24, peer: b1-r}, "
                           "{name: r-b2, ip: 10.0.1.1/24}]}\n";  // 9
  const LoadResult r = load(text);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].str() ==
        "scen.yaml:7:43: error: bridge 'b2': port 'b2-r': unknown port 'r-b3' (did you mean "
        "'r-b1'?)");
  // A valid file links the bridge port to the router port declared after it.
  const LoadResult ok = load(text.substr(0, text.find("  - {name: b2")) +
                             "routers:\n  - {name: r, ports: [{name: r-b1, ip: 10.0.0.1/24, "
                             "peer: b1-r}]}\n");
  REQUIRE(ok.scenario);
  const Topology& t = ok.scenario->topology;
  REQUIRE(t.ports.size() == 2);
  CHECK(t.ports[0].peer == PortId(1));
  CHECK(t.ports[1].peer == PortId(0));
}

TEST_CASE("Streamed bridges: security groups declared after the bridges still resolve") {
  // The loader cannot stream this file (a port names a group not yet declared when its bridge
  // is read): it reads it again as a whole.
  const LoadResult r = load(
      "hosts: [{name: hv1, ip: 192.168.0.1}]\n"
      "bridges: [{name: b, ports: [{name: p, host: hv1, security_groups: [late]}]}]\n"
      "security_groups: [{name: late}]\n");
  REQUIRE(r.scenario);
  REQUIRE(r.scenario->topology.ports.size() == 1);
  CHECK(r.scenario->topology.ports[0].security_groups == std::vector{SecurityGroupId(0)});
  CHECK(r.scenario->topology.security_groups[0].ports == std::vector{PortId(0)});
}

TEST_CASE("Streamed bridges: a large file is read through while its text is given back") {
  // ~3 MB: the text before each bridge is given back in whole 2 MB pages as the parse passes
  // it, so every port read after that depends on nothing being read from there again.
  constexpr int kBridges = 750;
  constexpr int kPorts = 40;
  std::string text = "hosts:\n";
  for (int h = 0; h < 10; ++h)
    text += "  - {name: h" + std::to_string(h) + ", ip: 10.9.0." + std::to_string(h + 1) + "}\n";
  text += "security_groups: [{name: default}]\nbridges:\n";
  for (int b = 0; b < kBridges; ++b) {
    text += "  - name: bridge-number-" + std::to_string(b) + "\n    ports:\n";
    for (int p = 0; p < kPorts; ++p) {
      char mac[18];
      std::snprintf(mac, sizeof mac, "02:00:%02x:%02x:00:%02x", b >> 8, b & 255, p);
      text += "      - {name: b" + std::to_string(b) + "p" + std::to_string(p) + ", host: h" +
              std::to_string((b + p) % 10) + ", mac: \"" + mac + "\", ip: 10." +
              std::to_string(b / 250) + "." + std::to_string(b % 250) + "." +
              std::to_string(p + 1) + ", security_groups: [default]}\n";
    }
  }
  REQUIRE(text.size() > 3'000'000);
  const LoadResult r = load(text);
  REQUIRE(r.errors.empty());
  REQUIRE(r.scenario);
  const Topology& t = r.scenario->topology;
  REQUIRE(t.ports.size() == std::size_t{kBridges} * kPorts);
  int wrong = 0;
  for (int b = 0; b < kBridges; ++b) {
    CHECK(t.bridges[b].name == "bridge-number-" + std::to_string(b));
    for (int p = 0; p < kPorts; ++p) {
      const Port& port = t.ports[static_cast<std::size_t>(b * kPorts + p)];
      char mac[18];
      std::snprintf(mac, sizeof mac, "02:00:%02x:%02x:00:%02x", b >> 8, b & 255, p);
      const bool right = port.name == "b" + std::to_string(b) + "p" + std::to_string(p) &&
                         port.host == HostId(static_cast<std::uint32_t>((b + p) % 10)) &&
                         port.mac && port.mac->str() == mac && port.ip &&
                         port.ip->str() == "10." + std::to_string(b / 250) + "." +
                                               std::to_string(b % 250) + "." +
                                               std::to_string(p + 1) &&
                         port.loc.line == static_cast<std::uint32_t>(14 + b * (kPorts + 2) + 2 + p);
      wrong += right ? 0 : 1;
    }
  }
  CHECK(wrong == 0);
  CHECK(t.security_groups[0].ports.size() == std::size_t{kBridges} * kPorts);
}
