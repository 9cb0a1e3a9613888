// to_svg: a placed graph as SVG, drawn from the layout values (not by Graphviz), so the HTML
// report and `hivesim graph --format svg` share one look and the output is byte-stable.

#include <algorithm>
#include <cstdio>

#include "base/check.hpp"
#include "base/xml_escape.hpp"
#include "sim/graph/graph.hpp"
#include "sim/graph/style.hpp"

namespace hivesim::graph {

namespace {

constexpr const char* kFont = "DejaVu Sans Mono, Menlo, Consolas, Courier New, monospace";
constexpr double kLineHeight = 12;  // for 10pt labels
constexpr double kCharWidth = 6.1;  // a monospace 10pt character, for the hop list's width

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  if (s == "-0") s = "0";
  return s;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = s.find('\n', start);
    lines.push_back(s.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

std::string text(double x, double y, std::string_view content, const std::string& attrs) {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" " + attrs + ">" + xml_escape(content) +
         "</text>\n";
}

}  // namespace

std::string to_svg(const Graph& g, const SvgOptions& options) {
  HIVESIM_CHECK(g.placed, "to_svg needs a placed graph (lay_out)");
  double width = g.width;
  double height = g.height;
  std::vector<std::string> trace_lines;
  if (g.trace && options.show_trace_list) {
    trace_lines.push_back("trace from " + g.trace->from + ": " + g.trace->packet);
    for (const TracedHop& h : g.trace->hops) {
      std::string line = std::to_string(h.number) + ". " + h.kind + " " + h.device;
      if (!h.in_port.empty()) line += " in " + h.in_port;
      if (!h.out_port.empty()) line += " out " + h.out_port;
      trace_lines.push_back(h.decision.empty() ? line : line + ": " + h.decision);
    }
    trace_lines.push_back("verdict: " + g.trace->summary);
    for (const std::string& l : trace_lines) {
      width = std::max(width, 16 + kCharWidth * static_cast<double>(l.size()));
    }
    height += 12 + kLineHeight * 1.3 * static_cast<double>(trace_lines.size());
  }

  std::string out;
  if (options.standalone) out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\"";
  if (!options.element_id.empty()) out += " id=\"" + xml_escape(options.element_id) + "\"";
  out += " width=\"" + num(width) + "\" height=\"" + num(height) + "\" viewBox=\"0 0 " +
         num(width) + " " + num(height) + "\" font-family=\"" + kFont + "\">\n";
  out += "<title>" + xml_escape("topology of " + g.name) + "</title>\n";
  out += "<rect x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" + num(height) +
         "\" fill=\"#ffffff\"/>\n";

  for (const Cluster& c : g.clusters) {
    if (c.box.width <= 0) continue;
    const bool zone = c.kind == ClusterKind::kTunnelZone;
    out += "<rect class=\"" + std::string(zone ? "zone" : "host") + "\" x=\"" + num(c.box.x) +
           "\" y=\"" + num(c.box.y) + "\" width=\"" + num(c.box.width) + "\" height=\"" +
           num(c.box.height) + "\" rx=\"6\" fill=\"" + (zone ? "none" : kHostFill) +
           "\" stroke=\"" + kClusterLine + "\"" + (zone ? " stroke-dasharray=\"6 4\"" : "") +
           "/>\n";
    out += text(
        c.box.x + 6, c.box.y + 12, c.label,
        "font-size=\"10\" fill=\"#334155\"" + std::string(zone ? " font-style=\"italic\"" : ""));
  }

  // Plain edges first, then the path and the drop on top of them.
  for (int pass = 0; pass < 2; ++pass) {
    for (const Edge& e : g.edges) {
      const bool marked = e.highlighted || e.dropped;
      if ((pass == 1) != marked || e.points.empty()) continue;
      std::string d = "M" + num(e.points[0].x) + "," + num(e.points[0].y);
      for (std::size_t i = 1; i + 2 < e.points.size(); i += 3) {
        d += " C" + num(e.points[i].x) + "," + num(e.points[i].y) + " " + num(e.points[i + 1].x) +
             "," + num(e.points[i + 1].y) + " " + num(e.points[i + 2].x) + "," +
             num(e.points[i + 2].y);
      }
      const char* colour = e.dropped ? kDropColour : e.highlighted ? kPathColour : kLine;
      out += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"" +
             (marked ? "3" : "1.2") + "\"" + (e.dropped ? " stroke-dasharray=\"6 4\"" : "") +
             "><title>" + xml_escape(e.label.empty() ? e.from + " - " + e.to : e.label) +
             "</title></path>\n";
      if (!e.tail_label.empty()) {
        out += text(e.tail_label_pos.x, e.tail_label_pos.y + 3, e.tail_label,
                    "font-size=\"8\" text-anchor=\"middle\" fill=\"#64748b\"");
      }
      if (!e.head_label.empty()) {
        out += text(e.head_label_pos.x, e.head_label_pos.y + 3, e.head_label,
                    "font-size=\"8\" text-anchor=\"middle\" fill=\"#64748b\"");
      }
    }
  }

  for (const Node& n : g.nodes) {
    const NodeStyle s = node_style(n.kind);
    const char* stroke = n.dropped ? kDropColour : n.highlighted ? kPathColour : kLine;
    out += "<g class=\"node " + std::string(to_string(n.kind)) + "\"><title>" +
           xml_escape(std::string(to_string(n.kind)) + " " + n.name) + "</title>\n";
    out += "<rect x=\"" + num(n.x - n.width / 2) + "\" y=\"" + num(n.y - n.height / 2) +
           "\" width=\"" + num(n.width) + "\" height=\"" + num(n.height) + "\" rx=\"5\" fill=\"" +
           (n.dropped ? kDropFill : s.fill) + "\" stroke=\"" + stroke + "\" stroke-width=\"" +
           (n.highlighted || n.dropped ? "2.5" : "1") + "\"/>\n";
    const auto lines = lines_of(n.label);
    double y = n.y - kLineHeight * static_cast<double>(lines.size()) / 2 + kLineHeight - 3;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      out += text(n.x, y, lines[i],
                  "font-size=\"10\" text-anchor=\"middle\" fill=\"#0f172a\"" +
                      std::string(i == 0 ? " font-weight=\"bold\"" : ""));
      y += kLineHeight;
    }
    if (!n.badge.empty()) {
      const double r = 8 + 3 * static_cast<double>(n.badge.size() > 1 ? n.badge.size() - 1 : 0);
      const double bx = n.x + n.width / 2;
      const double by = n.y - n.height / 2;
      out += "<rect x=\"" + num(bx - r) + "\" y=\"" + num(by - 8) + "\" width=\"" + num(2 * r) +
             "\" height=\"16\" rx=\"8\" fill=\"" + (n.dropped ? kDropColour : kPathColour) +
             "\"/>\n";
      out += text(bx, by + 3.5, n.badge,
                  "font-size=\"9\" text-anchor=\"middle\" fill=\"#ffffff\" font-weight=\"bold\"");
    }
    out += "</g>\n";
  }

  if (!trace_lines.empty()) {
    double y = g.height + 12 + kLineHeight;
    for (std::size_t i = 0; i < trace_lines.size(); ++i) {
      const bool last = i + 1 == trace_lines.size();
      const char* fill =
          last ? (g.trace->verdict == "dropped" ? kDropColour : kPathColour) : "#0f172a";
      out += text(8, y, trace_lines[i],
                  "font-size=\"10\" fill=\"" + std::string(fill) + "\"" +
                      (i == 0 || last ? " font-weight=\"bold\"" : ""));
      y += kLineHeight * 1.3;
    }
  }
  out += "</svg>\n";
  return out;
}

}  // namespace hivesim::graph
