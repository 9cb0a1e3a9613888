#pragma once
// The colours and shapes every rendering of a graph shares (DOT, Mermaid, SVG), so the picture
// reads the same in each.

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

}  // namespace hivesim::graph
