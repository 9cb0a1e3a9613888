// The topology graph (SPEC section 9): what build_graph puts in (clusters, nodes, edges), how a
// trace marks the path, the Graphviz layout (inside the drawing, nodes inside their host box,
// edges ending at their nodes, deterministic) and the three renderings.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "sim/flow/simulator.hpp"
#include "sim/graph/graph.hpp"
#include "sim/packet/spec.hpp"
#include "topology/load/loader.hpp"

using namespace hivesim;
using namespace hivesim::graph;

namespace {

Scenario three_tier() {
  LoadResult loaded = load_scenario(HIVESIM_SOURCE_DIR "/scenarios/three-tier.yaml");
  REQUIRE(loaded.scenario);
  return std::move(*loaded.scenario);
}

TraceInput traced(const Scenario& s, const std::string& from, const std::string& spec) {
  const Simulator sim(s.topology);
  const auto port = s.topology.find_port(from);
  REQUIRE(port);
  auto parsed = parse_packet_spec(spec);
  REQUIRE(parsed);
  auto packet = build_packet(*parsed, sim.spec_defaults(*port));
  REQUIRE(packet);
  SimState state(s.seed);
  TraceInput t{*port, spec, {}};
  t.result = sim.simulate(*port, *packet, state, SimulateOptions{.trace = true});
  return t;
}

const Node& node(const Graph& g, const std::string& id) {
  const Node* n = g.find_node(id);
  INFO(id);
  REQUIRE(n != nullptr);
  return *n;
}

const Edge& edge(const Graph& g, const std::string& from, const std::string& to) {
  const auto it = std::find_if(g.edges.begin(), g.edges.end(), [&](const Edge& e) {
    return (e.from == from && e.to == to) || (e.from == to && e.to == from);
  });
  INFO(from << " - " << to);
  REQUIRE(it != g.edges.end());
  return *it;
}

std::size_t count_of(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("Graph: three-tier has its zone, hosts, devices, exterior ports and links") {
  const Scenario s = three_tier();
  const Graph g = build_graph(s.topology, s.name);
  REQUIRE(g.clusters.size() == 4);
  CHECK(g.clusters[0].id == "zone:tz");
  for (std::size_t i = 1; i < 4; ++i)
    CHECK(g.clusters[i].parent == "zone:tz");
  CHECK(g.clusters[3].label == "host gw1 192.168.0.10");
  // 3 bridges, 1 router, 5 exterior ports (one of them the uplink).
  CHECK(g.nodes.size() == 9);
  CHECK(node(g, "router:r1").kind == NodeKind::kRouter);
  CHECK(node(g, "port:r1-up").kind == NodeKind::kUplink);
  CHECK(node(g, "port:db1").cluster == "host:hv2");
  CHECK(node(g, "port:web1").label == "web1\n10.0.1.10");
  CHECK(g.edges.size() == 8);
  const Edge& link = edge(g, "bridge:db", "router:r1");
  CHECK(link.kind == EdgeKind::kLink);
  CHECK(link.tail_label == "db-r1");
  CHECK(link.head_label == "r1-db");
  CHECK(edge(g, "port:app1", "bridge:app").kind == EdgeKind::kAttachment);
  CHECK_FALSE(g.trace);
  for (const Node& n : g.nodes)
    CHECK_FALSE(n.highlighted);
}

TEST_CASE("Graph: a blocked packet's path is marked hop by hop, the drop on db1's edge") {
  const Scenario s = three_tier();
  const TraceInput t = traced(s, "web1", "tcp dst=10.0.3.10 dport=5432");
  const Graph g = build_graph(s.topology, s.name, &t);
  REQUIRE(g.trace);
  CHECK(g.trace->from == "web1");
  CHECK(g.trace->verdict == "dropped");
  CHECK(g.trace->summary == "dropped: rule (db-in rule 1)");
  REQUIRE(g.trace->hops.size() == 3);
  CHECK(g.trace->hops[1].device == "r1");
  CHECK(g.trace->hops[1].number == 2);
  CHECK(g.trace->hops[2].decision.find("db-in") != std::string::npos);
  CHECK(node(g, "port:web1").highlighted);
  CHECK(node(g, "bridge:web").badge == "1");
  CHECK(node(g, "router:r1").badge == "2");
  CHECK(node(g, "bridge:db").badge == "3");
  CHECK_FALSE(node(g, "bridge:app").highlighted);
  CHECK_FALSE(node(g, "port:db1").highlighted);
  CHECK(edge(g, "port:web1", "bridge:web").highlighted);
  CHECK(edge(g, "bridge:web", "router:r1").highlighted);
  CHECK(edge(g, "bridge:db", "router:r1").highlighted);
  CHECK(edge(g, "port:db1", "bridge:db").dropped);
  CHECK_FALSE(edge(g, "port:db1", "bridge:db").highlighted);
  CHECK_FALSE(edge(g, "bridge:app", "router:r1").highlighted);
}

TEST_CASE("Graph: a delivered packet lights its exit port; a route drop marks the router") {
  const Scenario s = three_tier();
  const TraceInput in = traced(s, "r1-up", "tcp src=198.51.100.7 dst=10.0.1.10 dport=80");
  const Graph g = build_graph(s.topology, s.name, &in);
  CHECK(g.trace->summary == "delivered to web1");
  CHECK(node(g, "port:web1").highlighted);
  CHECK(edge(g, "port:web1", "bridge:web").highlighted);
  CHECK(edge(g, "port:r1-up", "router:r1").highlighted);
  for (const Node& n : g.nodes)
    CHECK_FALSE(n.dropped);

  const TraceInput hole = traced(s, "web1", "tcp dst=10.99.1.1 dport=22");
  const Graph h = build_graph(s.topology, s.name, &hole);
  CHECK(h.trace->verdict == "dropped");
  CHECK(node(h, "router:r1").dropped);
  CHECK_FALSE(node(h, "bridge:web").dropped);
}

TEST_CASE("Graph: the layout keeps everything in the drawing, ports in their host box") {
  const Scenario s = three_tier();
  const TraceInput t = traced(s, "web1", "tcp dst=10.0.3.10 dport=5432");
  Graph g = build_graph(s.topology, s.name, &t);
  REQUIRE(lay_out(g).ok());
  REQUIRE(g.placed);
  CHECK(g.width > 100);
  CHECK(g.height > 100);
  for (const Node& n : g.nodes) {
    INFO(n.id);
    CHECK(n.width > 0);
    CHECK(n.x - n.width / 2 >= 0);
    CHECK(n.y - n.height / 2 >= 0);
    CHECK(n.x + n.width / 2 <= g.width);
    CHECK(n.y + n.height / 2 <= g.height);
    if (n.cluster.empty()) continue;
    const auto c = std::find_if(g.clusters.begin(), g.clusters.end(),
                                [&](const Cluster& k) { return k.id == n.cluster; });
    REQUIRE(c != g.clusters.end());
    CHECK(n.x > c->box.x);
    CHECK(n.x < c->box.x + c->box.width);
    CHECK(n.y > c->box.y);
    CHECK(n.y < c->box.y + c->box.height);
  }
  // Each edge is a Bezier chain that starts on its `from` node and ends on its `to` node.
  for (const Edge& e : g.edges) {
    INFO(e.from << " - " << e.to);
    REQUIRE(e.points.size() >= 4);
    CHECK((e.points.size() - 1) % 3 == 0);
    const Node& a = node(g, e.from);
    const Node& b = node(g, e.to);
    CHECK(std::abs(e.points.front().x - a.x) <= a.width / 2 + 2);
    CHECK(std::abs(e.points.front().y - a.y) <= a.height / 2 + 2);
    CHECK(std::abs(e.points.back().x - b.x) <= b.width / 2 + 2);
    CHECK(std::abs(e.points.back().y - b.y) <= b.height / 2 + 2);
  }
}

TEST_CASE("Graph: DOT, Mermaid and SVG carry the clusters, the path and the hop list") {
  const Scenario s = three_tier();
  const TraceInput t = traced(s, "web1", "tcp dst=10.0.3.10 dport=5432");
  Graph g = build_graph(s.topology, s.name, &t);
  const std::string dot = to_dot(g);
  CHECK(dot.rfind("graph \"three-tier\" {", 0) == 0);
  CHECK(count_of(dot, "subgraph cluster_") == 4);
  CHECK(count_of(dot, " -- ") == 8);
  CHECK(count_of(dot, "penwidth=3") == 3);  // the three links/attachments on the path
  CHECK(dot.find("// dropped: rule (db-in rule 1)") != std::string::npos);

  const std::string mermaid = to_mermaid(g);
  CHECK(mermaid.rfind("flowchart LR\n", 0) == 0);
  CHECK(count_of(mermaid, "subgraph ") == 4);
  CHECK(count_of(mermaid, " end\n") == 4);
  CHECK(count_of(mermaid, " ---") == 8);
  CHECK(mermaid.find("linkStyle ") != std::string::npos);

  REQUIRE(lay_out(g).ok());
  const std::string svg = to_svg(g);
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK(count_of(svg, "<g class=\"node ") == 9);
  CHECK(svg.find("verdict: dropped: rule (db-in rule 1)") != std::string::npos);
  CHECK(svg.find("3. bridge db in db-r1 out db1: dst mac 02:00:00:00:03:0a: declared on db1; "
                 "chain ") != std::string::npos);
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(count_of(svg, "<svg") == 1);
  CHECK(count_of(svg, "</svg>") == 1);
}

TEST_CASE("Graph: names with quotes and markup are escaped in every rendering") {
  Topology topo;
  Host h;
  h.name = "h\"1<x>";
  topo.hosts.push_back(h);
  Bridge b;
  b.name = "br\\\"<&>";
  b.ports.push_back(PortId{0});
  topo.bridges.push_back(b);
  Port p;
  p.name = "p\"1";
  p.device = 0;
  p.host = HostId{0};
  topo.ports.push_back(p);
  Graph g = build_graph(topo, "odd \"name\"");
  const Status placed = lay_out(g);  // Graphviz parses our DOT back
  INFO((placed.ok() ? std::string() : placed.error()));
  REQUIRE(placed.ok());
  CHECK(g.find_node("bridge:br\\\"<&>") != nullptr);
  const std::string svg = to_svg(g);
  CHECK(svg.find("<x>") == std::string::npos);
  CHECK(svg.find("h&quot;1&lt;x&gt;") != std::string::npos);
  CHECK(to_mermaid(g).find("p#quot;1") != std::string::npos);
}
