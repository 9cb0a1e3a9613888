// build_graph: the topology (and one traced packet) as clusters, nodes and edges.

#include <algorithm>
#include <map>

#include "sim/graph/graph.hpp"

namespace hivesim::graph {

std::string_view to_string(NodeKind kind) {
  switch (kind) {
    case NodeKind::kHost:
      return "host";
    case NodeKind::kBridge:
      return "bridge";
    case NodeKind::kRouter:
      return "router";
    case NodeKind::kPort:
      return "port";
    case NodeKind::kUplink:
      return "uplink";
  }
  return "port";
}

const Node* Graph::find_node(std::string_view id) const {
  for (const Node& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

namespace {

std::string device_id(const Topology& topo, const Port& p) {
  return (p.on_bridge() ? "bridge:" : "router:") + topo.device_name(p);
}

std::string port_label(const Port& p) {
  std::string label = p.name;
  if (p.ip) {
    label += "\n" + (p.on_router() ? p.subnet().str() : p.ip->str());
  }
  if (p.on_router()) label += "\nuplink";
  return label;
}

Node make_node(std::string id, NodeKind kind, std::string name, std::string label,
               std::string cluster = "") {
  Node n;
  n.id = std::move(id);
  n.kind = kind;
  n.name = std::move(name);
  n.label = std::move(label);
  n.cluster = std::move(cluster);
  return n;
}

Edge make_edge(std::string from, std::string to, EdgeKind kind) {
  Edge e;
  e.from = std::move(from);
  e.to = std::move(to);
  e.kind = kind;
  return e;
}

std::string drop_summary(const SimulationResult& r) {
  if (!r.drop) return "dropped";
  std::string s = "dropped: " + std::string(to_string(r.drop->reason));
  if (!r.drop->device.empty()) {
    s += " (" + r.drop->device;
    if (r.drop->rule) s += " rule " + std::to_string(*r.drop->rule);
    s += ")";
  }
  return s;
}

/// Marks the nodes and edges the traced packet crossed and lists its hops.
void mark_trace(Graph& g, const Topology& topo, const TraceInput& trace,
                const std::map<std::string, std::size_t>& node_index,
                const std::map<std::string, std::size_t>& attachment_edge,
                const std::map<std::string, std::size_t>& link_edge) {
  const SimulationResult& r = trace.result;
  TracedPath path;
  path.from = topo.port(trace.from).name;
  path.packet = trace.packet;
  path.verdict = std::string(to_string(r.verdict));

  auto node = [&](const std::string& id) -> Node* {
    auto it = node_index.find(id);
    return it == node_index.end() ? nullptr : &g.nodes[it->second];
  };
  // A port name -> its attachment edge (exterior) or link edge (interior).
  auto port_edge = [&](const std::string& port_name) -> Edge* {
    if (auto it = attachment_edge.find(port_name); it != attachment_edge.end()) {
      return &g.edges[it->second];
    }
    if (auto it = link_edge.find(port_name); it != link_edge.end()) return &g.edges[it->second];
    return nullptr;
  };

  if (Node* n = node("port:" + path.from)) n->highlighted = true;
  if (Edge* e = port_edge(path.from)) e->highlighted = true;

  int number = 0;
  for (const Hop& h : r.hops) {
    TracedHop hop{++number, h.device, h.kind, h.in_port, h.out_port, h.detail};
    const bool last = number == static_cast<int>(r.hops.size());
    const bool dropped_here = last && r.verdict == Verdict::kDropped;
    if (Node* n = node(h.kind + ":" + h.device)) {
      n->highlighted = true;
      n->badge += (n->badge.empty() ? "" : ",") + std::to_string(number);
      if (dropped_here && h.out_port.empty()) n->dropped = true;
    }
    if (!h.out_port.empty()) {
      if (Edge* e = port_edge(h.out_port)) {
        // A drop on the way out (an outbound chain) is drawn on the edge it would have taken.
        if (dropped_here) {
          e->dropped = true;
        } else {
          e->highlighted = true;
        }
      }
    }
    path.hops.push_back(std::move(hop));
  }
  if (r.verdict == Verdict::kDropped && !r.hops.empty()) {
    const Hop& h = r.hops.back();
    if (Node* n = node(h.kind + ":" + h.device); n && !h.out_port.empty()) {
      const Edge* e = port_edge(h.out_port);
      if (e == nullptr || !e->dropped) n->dropped = true;
    }
  }
  std::string delivered;
  for (const OutPacket& o : r.out) {
    const std::string name = topo.port(o.port).name;
    if (Node* n = node("port:" + name)) n->highlighted = true;
    if (Edge* e = port_edge(name)) e->highlighted = true;
    if (!o.generated) delivered += (delivered.empty() ? "" : ", ") + name;
  }
  switch (r.verdict) {
    case Verdict::kDelivered:
      path.summary = "delivered to " + delivered;
      break;
    case Verdict::kDropped:
      path.summary = drop_summary(r);
      break;
    case Verdict::kConsumed:
      path.summary = "consumed (answered by a device)";
      break;
  }
  g.trace = std::move(path);
}

}  // namespace

Graph build_graph(const Topology& topo, std::string_view name, const TraceInput* trace) {
  Graph g;
  g.name = std::string(name);

  // Zones, then hosts inside the first zone that lists them.
  std::vector<std::vector<std::string>> zones_of(topo.hosts.size());
  for (const TunnelZone& z : topo.tunnel_zones) {
    g.clusters.push_back(Cluster{
        "zone:" + z.name,
        ClusterKind::kTunnelZone,
        "tunnel zone " + z.name + " (" + (z.type == TunnelType::kVxlan ? "vxlan" : "gre") + ")",
        "",
        {}});
    for (HostId h : z.hosts)
      zones_of[h.value].push_back(z.name);
  }
  std::vector<bool> host_has_port(topo.hosts.size(), false);
  for (const Port& p : topo.ports) {
    if (p.host) host_has_port[p.host->value] = true;
  }
  std::map<std::string, std::size_t> node_index;
  auto add_node = [&](Node n) {
    node_index[n.id] = g.nodes.size();
    g.nodes.push_back(std::move(n));
  };
  for (std::size_t i = 0; i < topo.hosts.size(); ++i) {
    const Host& h = topo.hosts[i];
    std::string label = "host " + h.name + " " + h.ip.str();
    const auto& zones = zones_of[i];
    for (std::size_t z = 1; z < zones.size(); ++z)
      label += (z == 1 ? ", also in " : ", ") + zones[z];
    const std::string parent = zones.empty() ? "" : "zone:" + zones[0];
    g.clusters.push_back(Cluster{"host:" + h.name, ClusterKind::kHost, label, parent, {}});
    if (!host_has_port[i]) {
      add_node(make_node("host:" + h.name, NodeKind::kHost, h.name, h.name + "\n(no ports)",
                         "host:" + h.name));
    }
  }
  for (const Bridge& b : topo.bridges) {
    add_node(make_node("bridge:" + b.name, NodeKind::kBridge, b.name,
                       b.name + "\nbridge" + (b.admin_up ? "" : " (down)")));
  }
  for (const Router& r : topo.routers) {
    std::string label = r.name + "\nrouter" + (r.admin_up ? "" : " (down)");
    for (const LoadBalancer& lb : topo.load_balancers) {
      if (lb.router.valid() && topo.routers[lb.router.value].name == r.name) {
        label += "\nlb " + lb.name;
      }
    }
    add_node(make_node("router:" + r.name, NodeKind::kRouter, r.name, label));
  }
  std::map<std::string, std::size_t> attachment_edge;
  std::map<std::string, std::size_t> link_edge;
  for (std::size_t i = 0; i < topo.ports.size(); ++i) {
    const Port& p = topo.ports[i];
    if (p.exterior()) {
      add_node(make_node("port:" + p.name, p.on_router() ? NodeKind::kUplink : NodeKind::kPort,
                         p.name, port_label(p), "host:" + topo.host(*p.host).name));
      attachment_edge[p.name] = g.edges.size();
      g.edges.push_back(make_edge("port:" + p.name, device_id(topo, p), EdgeKind::kAttachment));
    } else if (p.peer && p.peer->value > i) {
      const Port& q = topo.port(*p.peer);
      link_edge[p.name] = link_edge[q.name] = g.edges.size();
      Edge e = make_edge(device_id(topo, p), device_id(topo, q), EdgeKind::kLink);
      e.label = p.name + " - " + q.name;
      e.tail_label = p.name;
      e.head_label = q.name;
      g.edges.push_back(std::move(e));
    }
  }
  if (trace != nullptr) mark_trace(g, topo, *trace, node_index, attachment_edge, link_edge);
  return g;
}

Result<Graph> layout_scenario(const Scenario& scenario, const TraceInput* trace) {
  Graph g = build_graph(scenario.topology, scenario.name, trace);
  if (Status failed = lay_out(g); !failed.ok()) return std::move(failed).take_error();
  return g;
}

}  // namespace hivesim::graph
