// The text renderings of a graph: Graphviz DOT (also the input of lay_out) and Mermaid.

#include <algorithm>
#include <cstdio>
#include <map>

#include "sim/graph/graph.hpp"
#include "sim/graph/style.hpp"

namespace hivesim::graph {

namespace {

/// A DOT double-quoted string: quotes and backslashes escaped, newlines as \n (centred lines).
std::string dq(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// The node's size from its label: 10pt Courier is 6pt a character, lines 12pt apart. hivesim
/// sizes nodes itself (fixedsize) so that no font measuring enters the layout.
std::string node_size(const Node& n) {
  std::size_t longest = 0;
  std::size_t lines = 1;
  std::size_t current = 0;
  for (char c : n.label) {
    if (c == '\n') {
      ++lines;
      current = 0;
    } else {
      longest = std::max(longest, ++current);
    }
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "width=%.3f, height=%.3f, fixedsize=true",
                (static_cast<double>(longest) * 6.0 + 18.0) / 72.0,
                (static_cast<double>(lines) * 12.0 + 10.0) / 72.0);
  return buf;
}

std::string node_attributes(const Node& n) {
  const NodeStyle s = node_style(n.kind);
  std::string a = "label=" + dq(n.label) + ", " + node_size(n) +
                  ", shape=" + std::string(s.dot_shape) +
                  ", fillcolor=" + dq(n.dropped ? kDropFill : s.fill);
  if (n.dropped) {
    a += ", color=" + dq(kDropColour) + ", penwidth=2.5";
  } else if (n.highlighted) {
    a += ", color=" + dq(kPathColour) + ", penwidth=2.5";
  }
  if (!n.badge.empty()) a += ", xlabel=" + dq("#" + n.badge);
  return a;
}

void write_cluster(std::string& out, const Graph& g, std::size_t index, int depth) {
  const Cluster& c = g.clusters[index];
  const std::string indent(2 * static_cast<std::size_t>(depth), ' ');
  out += indent + "subgraph " + dot_cluster_name(index) + " {\n";
  out += indent + "  label=" + dq(c.label) + "; style=" +
         (c.kind == ClusterKind::kTunnelZone ? "\"dashed,rounded\"" : "\"filled,rounded\"") +
         "; fillcolor=" + dq(kHostFill) + "; color=" + dq(kClusterLine) + ";\n";
  for (std::size_t k = 0; k < g.clusters.size(); ++k) {
    if (g.clusters[k].parent == c.id) write_cluster(out, g, k, depth + 1);
  }
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].cluster == c.id) {
      out += indent + "  " + dot_node_name(i) + " [" + node_attributes(g.nodes[i]) + "];\n";
    }
  }
  out += indent + "}\n";
}

std::string mermaid_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"') {
      out += "#quot;";
    } else if (c == '\n') {
      out += "<br/>";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string to_dot(const Graph& g) {
  return dot_text(g, false);
}

std::string dot_text(const Graph& g, bool for_layout) {
  std::string out = "graph " + dq(g.name) + " {\n";
  out +=
      "  graph [rankdir=LR, nodesep=0.25, ranksep=0.7, fontname=\"Courier\", fontsize=10, "
      "labeljust=l, forcelabels=true];\n";
  out += "  node [style=\"filled,rounded\", fontname=\"Courier\", fontsize=10, color=" + dq(kLine) +
         "];\n";
  out += "  edge [fontname=\"Courier\", fontsize=8, color=" + dq(kLine) + "];\n";
  for (std::size_t k = 0; k < g.clusters.size(); ++k) {
    if (g.clusters[k].parent.empty()) write_cluster(out, g, k, 1);
  }
  std::map<std::string, std::string> names;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    names[g.nodes[i].id] = dot_node_name(i);
    if (g.nodes[i].cluster.empty()) {
      out += "  " + dot_node_name(i) + " [" + node_attributes(g.nodes[i]) + "];\n";
    }
  }
  for (std::size_t i = 0; i < g.edges.size(); ++i) {
    const Edge& e = g.edges[i];
    out += "  " + names[e.from] + " -- " + names[e.to];
    std::string a;
    if (for_layout) a += "id=\"e" + std::to_string(i) + "\", ";
    if (!for_layout && !e.tail_label.empty()) a += "taillabel=" + dq(e.tail_label) + ", ";
    if (!for_layout && !e.head_label.empty()) a += "headlabel=" + dq(e.head_label) + ", ";
    if (e.dropped) {
      a += "color=" + dq(kDropColour) + ", style=dashed, penwidth=2.5, ";
    } else if (e.highlighted) {
      a += "color=" + dq(kPathColour) + ", penwidth=3, ";
    }
    if (!a.empty()) out += " [" + a.substr(0, a.size() - 2) + "]";
    out += ";\n";
  }
  if (g.trace) {
    out += "  // trace from " + g.trace->from + ": " + g.trace->packet + "\n";
    for (const TracedHop& h : g.trace->hops) {
      out += "  // " + std::to_string(h.number) + ". " + h.kind + " " + h.device + ": " +
             h.decision + "\n";
    }
    out += "  // " + g.trace->summary + "\n";
  }
  out += "}\n";
  return out;
}

std::string to_mermaid(const Graph& g) {
  std::map<std::string, std::string> ids;
  for (std::size_t i = 0; i < g.nodes.size(); ++i)
    ids[g.nodes[i].id] = "n" + std::to_string(i);
  std::string out = "flowchart LR\n";
  auto node_line = [&](const Node& n, const std::string& indent) {
    const std::string text = "\"" + mermaid_text(n.label) + "\"";
    std::string shape;
    switch (n.kind) {
      case NodeKind::kBridge:
        shape = "([" + text + "])";
        break;
      case NodeKind::kRouter:
        shape = "{{" + text + "}}";
        break;
      default:
        shape = "[" + text + "]";
        break;
    }
    return indent + ids[n.id] + shape + "\n";
  };
  // Clusters nest as subgraphs; written depth-first in scenario order.
  auto write = [&](auto& self, const Cluster& c, const std::string& indent) -> void {
    std::size_t index = 0;
    while (&g.clusters[index] != &c)
      ++index;
    out += indent + "subgraph c" + std::to_string(index) + "[\"" + mermaid_text(c.label) + "\"]\n";
    for (const Cluster& inner : g.clusters) {
      if (inner.parent == c.id) self(self, inner, indent + "  ");
    }
    for (const Node& n : g.nodes) {
      if (n.cluster == c.id) out += node_line(n, indent + "  ");
    }
    out += indent + "end\n";
  };
  for (const Cluster& c : g.clusters) {
    if (c.parent.empty()) write(write, c, "  ");
  }
  for (const Node& n : g.nodes) {
    if (n.cluster.empty()) out += node_line(n, "  ");
  }
  std::string path_links;
  std::string drop_links;
  for (std::size_t i = 0; i < g.edges.size(); ++i) {
    const Edge& e = g.edges[i];
    out += "  " + ids[e.from] + " ---";
    if (!e.label.empty()) out += "|\"" + mermaid_text(e.label) + "\"|";
    out += " " + ids[e.to] + "\n";
    std::string& list = e.dropped ? drop_links : path_links;
    if (e.dropped || e.highlighted) list += (list.empty() ? "" : ",") + std::to_string(i);
  }
  std::string path_nodes;
  std::string drop_nodes;
  for (const Node& n : g.nodes) {
    std::string& list = n.dropped ? drop_nodes : path_nodes;
    if (n.dropped || n.highlighted) list += (list.empty() ? "" : ",") + ids[n.id];
  }
  if (!path_nodes.empty()) {
    out += "  classDef path stroke:" + std::string(kPathColour) + ",stroke-width:3px\n";
    out += "  class " + path_nodes + " path\n";
  }
  if (!drop_nodes.empty()) {
    out += "  classDef drop fill:" + std::string(kDropFill) + ",stroke:" + kDropColour +
           ",stroke-width:3px\n";
    out += "  class " + drop_nodes + " drop\n";
  }
  if (!path_links.empty()) {
    out += "  linkStyle " + path_links + " stroke:" + kPathColour + ",stroke-width:3px\n";
  }
  if (!drop_links.empty()) {
    out += "  linkStyle " + drop_links + " stroke:" + kDropColour +
           ",stroke-width:3px,stroke-dasharray:5 4\n";
  }
  if (g.trace) {
    out += "  %% trace from " + g.trace->from + ": " + g.trace->packet + "\n";
    for (const TracedHop& h : g.trace->hops) {
      out += "  %% " + std::to_string(h.number) + ". " + h.kind + " " + h.device + ": " +
             h.decision + "\n";
    }
    out += "  %% " + g.trace->summary + "\n";
  }
  return out;
}

}  // namespace hivesim::graph
