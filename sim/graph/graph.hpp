#pragma once
// hivesim::graph: the scenario's topology as a picture (SPEC section 9), for `hivesim graph`,
// the HTML report and the GUI.
//
// What: `build_graph` turns a Topology (and optionally one traced packet) into plain values:
//  - clusters: tunnel zones, and inside them the hosts (a host listed in several zones sits in
//    the first one; its label names the others);
//  - nodes: bridges, routers, exterior ports (VM NICs, inside their host's cluster) and uplinks
//    (exterior ports of routers); a host with no ports gets a placeholder node so it shows;
//  - edges: an exterior port to its device ("attachment"), one edge per interior link between
//    the two devices ("link", the two port names as tail/head labels);
//  - the trace: each hop (device, ports, decision text) in order; the nodes and edges the packet
//    crossed are `highlighted`, the device or edge where it was dropped is `dropped`, and each
//    device visited carries its hop numbers as a `badge`.
// `lay_out` places everything with Graphviz's `dot` layout through its C library (cgraph + gvc,
// with only the dot layout plugin loaded, so Graphviz's built-in text-size estimate is used and
// no font or plugin configuration of the machine changes the result). Renderers: DOT and
// Mermaid text (of an unplaced graph), SVG (of a placed one, written here, not by Graphviz).
//
// Invariants: ids are unique ("bridge:web", "router:r1", "port:web1", "host:hv1"); every edge
// names existing nodes; order follows the scenario (hosts, zones, bridges, routers, ports in
// their vectors' order), so the same input gives byte-identical DOT and Mermaid text, and the
// same layout and SVG from one process to the next (layout.cpp says why only that).
// Coordinates are in points (1/72 inch) with the origin at the top left and y growing down;
// node x/y is the centre; the whole drawing fits in [0, width] x [0, height].
//
// Cost: building is linear in ports + hops; dot's layout is roughly quadratic in the worst case
// but takes milliseconds for a few hundred nodes.

#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "sim/flow/result.hpp"
#include "topology/model.hpp"

namespace hivesim::graph {

struct Point {
  double x = 0;
  double y = 0;
  friend bool operator==(const Point&, const Point&) = default;
};

/// A rectangle: top-left corner and size.
struct Box {
  double x = 0;
  double y = 0;
  double width = 0;
  double height = 0;
};

enum class NodeKind : std::uint8_t { kHost, kBridge, kRouter, kPort, kUplink };
enum class EdgeKind : std::uint8_t { kAttachment, kLink };
enum class ClusterKind : std::uint8_t { kTunnelZone, kHost };

std::string_view to_string(NodeKind kind);

struct Cluster {
  std::string id;  // "zone:tz", "host:hv1"
  ClusterKind kind = ClusterKind::kHost;
  std::string label;   // "tunnel zone tz (vxlan)", "host hv1 192.168.0.1"
  std::string parent;  // id of the enclosing cluster, "" at the top
  Box box;             // set by lay_out
};

struct Node {
  std::string id;
  NodeKind kind = NodeKind::kPort;
  std::string name;     // the scenario's name of the object
  std::string label;    // lines separated by '\n'
  std::string cluster;  // id of the innermost enclosing cluster, "" for none
  double x = 0;         // centre; set by lay_out
  double y = 0;
  double width = 0;
  double height = 0;
  bool highlighted = false;  // on the traced path (or where the packet left)
  bool dropped = false;      // the traced packet was dropped at this device
  std::string badge;         // hop numbers when traced through, e.g. "1" or "2,4"
};

struct Edge {
  std::string from;  // node ids
  std::string to;
  EdgeKind kind = EdgeKind::kAttachment;
  std::string label;       // "web-r1 - r1-web" for links, "" for attachments
  std::string tail_label;  // port name at `from` (links)
  std::string head_label;  // port name at `to` (links)
  /// Set by lay_out: a cubic Bezier chain p0 c1 c2 p1 c1 c2 p2 ... (1 + 3k points).
  std::vector<Point> points;
  Point tail_label_pos;  // set by lay_out, where the tail/head labels go
  Point head_label_pos;
  bool highlighted = false;
  bool dropped = false;  // the packet was dropped on its way out along this edge
};

struct TracedHop {
  int number = 0;  // 1-based
  std::string device;
  std::string kind;  // "bridge", "router", ...
  std::string in_port;
  std::string out_port;
  std::string decision;  // the device's decision, as the trace prints it
};

struct TracedPath {
  std::string from;
  std::string packet;
  std::string verdict;  // "delivered", "dropped", "consumed"
  std::string summary;  // "delivered to web1", "dropped: rule (db-in rule 1)"
  std::vector<TracedHop> hops;
};

struct Graph {
  std::string name;  // the scenario's name
  std::vector<Cluster> clusters;
  std::vector<Node> nodes;
  std::vector<Edge> edges;
  std::optional<TracedPath> trace;
  double width = 0;  // set by lay_out
  double height = 0;
  bool placed = false;

  const Node* find_node(std::string_view id) const;
};

/// One simulated packet to draw: the port it entered by, its spec, and the traced result
/// (SimulateOptions::trace must have been on so that `result.hops` is filled).
struct TraceInput {
  PortId from;
  std::string packet;
  SimulationResult result;
};

/// The graph of `topo`, unplaced; with `trace`, the packet's path is marked.
Graph build_graph(const Topology& topo, std::string_view name, const TraceInput* trace = nullptr);

/// Places `graph` with Graphviz dot. Fails only when Graphviz does (message says why).
Status lay_out(Graph& graph);

/// build_graph + lay_out.
Result<Graph> layout_scenario(const Scenario& scenario, const TraceInput* trace = nullptr);

/// Graphviz DOT text of the graph (clusters, labels, the traced path in colour). The same text
/// is what lay_out hands to Graphviz.
std::string to_dot(const Graph& graph);

/// Mermaid flowchart text (subgraphs for zones and hosts; the path as styled links).
std::string to_mermaid(const Graph& graph);

struct SvgOptions {
  bool standalone = true;       // an XML declaration first (false: for inlining into HTML)
  bool show_trace_list = true;  // the hop list under the drawing when traced
  std::string element_id = "";  // id attribute of the <svg> element, when not empty
};

/// SVG 1.1 of a placed graph (precondition: graph.placed). Only inline styles, no external
/// reference, monospace text.
std::string to_svg(const Graph& graph, const SvgOptions& options = {});

}  // namespace hivesim::graph
