// lay_out: places a graph with Graphviz's dot layout through its C library.
//
// The DOT text of to_dot is parsed by cgraph (so what `hivesim graph --format dot` prints is
// exactly what gets laid out), laid out by a GVC context that has only the dot layout plugin
// (linked in, not loaded from the machine's plugin configuration: no text-layout plugin means
// Graphviz's own font-size estimate, the same on every machine), and the positions are read
// back into the value structs. Node sizes are fixed by hivesim (to_dot) and port labels are
// placed here, so no font measuring enters the layout.
//
// Graphviz keeps global state and is not thread-safe: one lay_out runs at a time. That state
// also carries over from one layout to the next in the same process (dot's positioning moves
// nodes by a few points on a second call with the same input), so the output is byte-stable
// from one process to the next (`hivesim graph`, `--html`: one layout each), while a
// long-lived process (the GUI) may see a repeated layout shift slightly.

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include <graphviz/gvplugin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "sim/graph/graph.hpp"
#include "sim/graph/style.hpp"

extern "C" {
extern gvplugin_library_t gvplugin_dot_layout_LTX_library;
}

namespace hivesim::graph {

namespace {

std::string graphviz_errors;

int collect_error(char* message) {
  graphviz_errors += message;
  return 0;
}

struct GraphCloser {
  GVC_t* gvc;
  void operator()(Agraph_t* g) const {
    gvFreeLayout(gvc, g);
    agclose(g);
  }
};

void find_clusters(Agraph_t* g, std::map<std::string, Agraph_t*>& out) {
  for (Agraph_t* sg = agfstsubg(g); sg != nullptr; sg = agnxtsubg(sg)) {
    out[agnameof(sg)] = sg;
    find_clusters(sg, out);
  }
}

/// Where a port name goes: a little way along the edge from its end `at` (towards `next`),
/// and to the side of it, so the name sits by its device without covering the line.
Point beside_end(Point at, Point next) {
  const double dx = next.x - at.x;
  const double dy = next.y - at.y;
  const double length = std::hypot(dx, dy);
  if (length < 1e-6) return Point{at.x, at.y - 8};
  const double ux = dx / length;
  const double uy = dy / length;
  constexpr double kAlong = 22;
  constexpr double kAside = 8;
  return Point{at.x + ux * kAlong - uy * kAside, at.y + uy * kAlong + ux * kAside};
}

}  // namespace

Status lay_out(Graph& graph) {
  static std::mutex graphviz_mutex;
  const std::lock_guard lock(graphviz_mutex);

  // Each edge carries its index (id="eN") so that parallel edges map back one to one.
  const std::string dot = dot_text(graph, true);

  static const lt_symlist_t builtins[] = {
      {"gvplugin_dot_layout_LTX_library", &gvplugin_dot_layout_LTX_library},
      {nullptr, nullptr},
  };
  graphviz_errors.clear();
  const agusererrf previous = agseterrf(collect_error);
  agseterr(AGERR);
  std::unique_ptr<GVC_t, int (*)(GVC_t*)> context(gvContextPlugins(builtins, 0), gvFreeContext);
  GVC_t* const gvc = context.get();
  std::unique_ptr<Agraph_t, GraphCloser> g(agmemread(dot.c_str()), GraphCloser{gvc});
  auto failure = [&](const std::string& what) {
    agseterrf(previous);
    return Error{"graphviz: " + what + (graphviz_errors.empty() ? "" : ": " + graphviz_errors)};
  };
  if (!g) return failure("cannot parse the generated DOT text");
  if (gvLayout(gvc, g.get(), "dot") != 0) return failure("dot layout failed");

  const boxf bb = GD_bb(g.get());
  constexpr double kMargin = 8;
  auto place = [&](pointf p) { return Point{p.x - bb.LL.x + kMargin, bb.UR.y - p.y + kMargin}; };
  graph.width = bb.UR.x - bb.LL.x + 2 * kMargin;
  graph.height = bb.UR.y - bb.LL.y + 2 * kMargin;

  std::map<std::string, std::string> dot_names;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    Node& n = graph.nodes[i];
    dot_names[n.id] = dot_node_name(i);
    std::string name = dot_node_name(i);
    Agnode_t* gn = agnode(g.get(), name.data(), 0);
    if (gn == nullptr) return failure("node " + n.id + " missing after layout");
    const Point c = place(ND_coord(gn));
    n.x = c.x;
    n.y = c.y;
    n.width = ND_width(gn) * 72.0;
    n.height = ND_height(gn) * 72.0;
  }

  std::map<std::string, Agraph_t*> clusters;
  find_clusters(g.get(), clusters);
  for (std::size_t k = 0; k < graph.clusters.size(); ++k) {
    Cluster& c = graph.clusters[k];
    auto it = clusters.find(dot_cluster_name(k));
    if (it == clusters.end()) continue;  // empty clusters are dropped by Graphviz
    const boxf cb = GD_bb(it->second);
    const Point top_left = place(pointf{cb.LL.x, cb.UR.y});
    c.box = Box{top_left.x, top_left.y, cb.UR.x - cb.LL.x, cb.UR.y - cb.LL.y};
  }

  for (Agnode_t* gn = agfstnode(g.get()); gn != nullptr; gn = agnxtnode(g.get(), gn)) {
    for (Agedge_t* ge = agfstout(g.get(), gn); ge != nullptr; ge = agnxtout(g.get(), ge)) {
      const char* id = agget(ge, const_cast<char*>("id"));
      if (id == nullptr || id[0] != 'e') return failure("an edge lost its id");
      const std::size_t index = std::stoul(id + 1);
      if (index >= graph.edges.size()) return failure("an edge id out of range");
      Edge& e = graph.edges[index];
      e.points.clear();
      if (const splines* spl = ED_spl(ge); spl != nullptr) {
        for (int b = 0; b < spl->size; ++b) {
          const bezier& bz = spl->list[b];
          for (int i = 0; i < bz.size; ++i)
            e.points.push_back(place(bz.list[i]));
        }
      }
      // Graphviz may store the edge from `to` to `from`; keep the points from -> to.
      if (e.points.size() >= 2 && agnameof(agtail(ge)) != dot_names[e.from]) {
        std::reverse(e.points.begin(), e.points.end());
      }
      if (e.points.size() >= 2) {
        e.tail_label_pos = beside_end(e.points[0], e.points[1]);
        e.head_label_pos = beside_end(e.points.back(), e.points[e.points.size() - 2]);
      }
    }
  }
  agseterrf(previous);
  graph.placed = true;
  return {};
}

}  // namespace hivesim::graph
