#pragma once
// The colours and shapes every rendering of a graph shares (DOT, Mermaid, SVG), so the picture
// reads the same in each.

#include <string>
#include <string_view>

#include "sim/graph/graph.hpp"

namespace hivesim::graph {

inline constexpr const char* kPathColour = "#2563eb";  // the traced path
inline constexpr const char* kDropColour = "#dc2626";  // where the packet was dropped
inline constexpr const char* kDropFill = "#fee2e2";
inline constexpr const char* kLine = "#475569";
inline constexpr const char* kClusterLine = "#94a3b8";
inline constexpr const char* kHostFill = "#f8fafc";

struct NodeStyle {
  std::string_view dot_shape;
  const char* fill;
};

inline NodeStyle node_style(NodeKind kind) {
  switch (kind) {
    case NodeKind::kBridge:
      return {"box", "#dbeafe"};
    case NodeKind::kRouter:
      return {"box", "#fde68a"};
    case NodeKind::kUplink:
      return {"box", "#bbf7d0"};
    case NodeKind::kHost:
      return {"box", "#e2e8f0"};
    case NodeKind::kPort:
      return {"box", "#ffffff"};
  }
  return {"box", "#ffffff"};
}

/// The names nodes and clusters have in DOT: their index, never the scenario's names (Graphviz
/// keeps backslashes in quoted ids, so a name could not always be written back exactly).
inline std::string dot_node_name(std::size_t index) {
  return "n" + std::to_string(index);
}
inline std::string dot_cluster_name(std::size_t index) {
  return "cluster_" + std::to_string(index);
}

/// to_dot's text; `for_layout`: each edge gets id="eN" (its index) and no port labels, which
/// lay_out places itself (Graphviz's head/tail label placement carries state from one layout
/// to the next, so the same graph would not always come out the same).
std::string dot_text(const Graph& graph, bool for_layout);

}  // namespace hivesim::graph
