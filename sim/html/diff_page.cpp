// The page of `hivesim diff --html FILE` (whatif_pages.hpp).

#include <map>
#include <set>

#include "base/units.hpp"
#include "sim/html/html_report.hpp"
#include "sim/html/whatif_pages.hpp"

namespace hivesim::html {

namespace {

using Json = nlohmann::ordered_json;

std::string reach_pill(whatif::Reach r) {
  const char* cls = r == whatif::Reach::kOpen     ? "pass"
                    : r == whatif::Reach::kOneWay ? "warn"
                                                  : "fail";
  return std::string("<span class=\"pill ") + cls + "\">" + escape(whatif::to_string(r)) +
         "</span>";
}

/// "forward rule at db-in rule 2" and its FILE:LINE, from a reach drop object.
std::string drop_cell(const Json& drop) {
  if (!drop.is_object()) return "";
  std::string text = drop.value("direction", "") + " " + drop.value("reason", "") + " at " +
                     drop.value("device", "");
  if (drop.contains("rule")) text += " rule " + std::to_string(drop["rule"].get<int>());
  std::string out = escape(text);
  if (drop.contains("source")) {
    out += " <code class=\"src\">" + escape(drop["source"].get<std::string>()) + "</code>";
  }
  return out;
}

std::string fraction_text(const Json& side) {
  if (!side.is_object()) return "&mdash;";
  return std::to_string(side["delivered"].get<std::uint64_t>()) + " / " +
         std::to_string(side["sent"].get<std::uint64_t>()) + " (" +
         percent(side["delivered_fraction"].get<double>()) + ")";
}

std::string passed_pill(const Json& passed) {
  if (!passed.is_boolean()) return "<span class=\"pill neutral\">absent</span>";
  return passed.get<bool>() ? "<span class=\"pill pass\">held</span>"
                            : "<span class=\"pill fail\">failed</span>";
}

std::string verdict_section(const whatif::DiffReport& r) {
  std::string out = "<section id=\"verdict\"><h2>Verdict</h2>\n<p class=\"verdict\">";
  if (r.regressions > 0) {
    out += "<span class=\"pill fail\">exit 1</span> This change makes things worse: " +
           std::to_string(r.regressions) + (r.regressions == 1 ? " regression" : " regressions") +
           ". <code>hivesim diff</code> exits 1, so a CI job running it fails.";
  } else {
    out += "<span class=\"pill pass\">exit 0</span> Nothing got worse";
    out += r.improvements > 0 ? " (" + std::to_string(r.improvements) + " improvements)" : "";
    out += ". <code>hivesim diff</code> exits 0, so a CI job running it passes.";
  }
  out += "</p>\n";
  bool any = false;
  std::string rows;
  for (const whatif::DiffItem& i : r.items) {
    if (!i.regression && !i.improvement) continue;
    any = true;
    rows += std::string("<tr><td><span class=\"pill ") +
            (i.regression ? "fail\">regression" : "pass\">improvement") + "</span></td><td>" +
            escape(i.kind) + "</td><td>" + escape(i.name) + "</td><td>" + escape(i.detail) +
            "</td></tr>\n";
  }
  if (any) {
    out += "<table><tr><th></th><th>what</th><th>item</th><th>detail</th></tr>\n" + rows +
           "</table>\n";
  }
  return out + "</section>\n";
}

std::string reach_section(const whatif::DiffReport& r) {
  std::string out = "<section id=\"reach\"><h2>Reachability: before &rarr; after</h2>\n";
  out +=
      "<div class=\"legend\">Each connection is tried from the initial state: the forward "
      "packet, then its reply. <b>open</b>: both delivered; <b>one_way</b>: the reply was "
      "dropped; <b>blocked</b>: the forward packet was. " +
      std::to_string(r.reach_unchanged) + " connections did not change.</div>\n";
  if (r.reach_changed.empty()) {
    return out + "<p class=\"none\">No connection changed.</p></section>\n";
  }
  out +=
      "<table><tr><th>from</th><th>to</th><th>service</th><th>before</th><th>after</th>"
      "<th>deciding drop (where the rule or route is written)</th></tr>\n";
  for (const whatif::ReachChange& c : r.reach_changed) {
    std::string why;
    if (c.before_drop.is_object()) why += "before: " + drop_cell(c.before_drop);
    if (c.after_drop.is_object()) {
      why += (why.empty() ? "" : "<br>") + std::string("after: ") + drop_cell(c.after_drop);
    }
    out += std::string("<tr class=\"") + (c.regression() ? "regression" : "improvement") +
           "\"><td>" + escape(c.from) + "</td><td>" + escape(c.to) + "</td><td><code>" +
           escape(c.service) + "</code></td><td>" + reach_pill(c.before) + "</td><td>" +
           reach_pill(c.after) + "</td><td>" + why + "</td></tr>\n";
  }
  return out + "</table></section>\n";
}

std::string traffic_section(const whatif::DiffReport& r) {
  std::string out = "<section id=\"traffic\"><h2>Traffic: before &rarr; after</h2>\n";
  if (r.traffic.empty()) {
    out += "<p class=\"none\">Every traffic entry delivered as before.</p>\n";
  } else {
    out +=
        "<table><tr><th>traffic</th><th>before: delivered / sent</th><th>after</th>"
        "<th>change</th></tr>\n";
    for (const Json& t : r.traffic) {
      std::string change = "&mdash;";
      if (t["before"].is_object() && t["after"].is_object()) {
        const double d = t["after"]["delivered_fraction"].get<double>() -
                         t["before"]["delivered_fraction"].get<double>();
        change = (d >= 0 ? "+" : "") + num(100.0 * d, 1) + " points";
      }
      out += "<tr><td>" + escape(t["name"].get<std::string>()) + "</td><td class=\"n\">" +
             fraction_text(t["before"]) + "</td><td class=\"n\">" + fraction_text(t["after"]) +
             "</td><td class=\"n\">" + change + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  if (r.before_run && r.after_run) {
    const RunReport& b = *r.before_run;
    const RunReport& a = *r.after_run;
    out += "<h3>Timelines</h3>\n<div class=\"legend\">AFTER, packets landed per " +
           escape(human_duration(a.timeline.bucket_ns)) +
           ":<span class=\"sw\" style=\"background:#22c55e\"></span>delivered"
           "<span class=\"sw\" style=\"background:#dc2626\"></span>dropped"
           "<span class=\"sw\" style=\"background:#0f172a;height:2px;vertical-align:3px\">"
           "</span>BEFORE: delivered<span class=\"sw\" style=\"background:#7c3aed\"></span>"
           "failure event</div>\n";
    std::map<std::string, const TimelineSeries*> before_series;
    for (const TimelineSeries& s : b.timeline.series)
      before_series[s.traffic] = &s;
    for (const TimelineSeries& s : a.timeline.series) {
      out += "<div><b>" + escape(s.traffic) + "</b></div>\n";
      auto it = before_series.find(s.traffic);
      if (it == before_series.end()) {
        out += timeline_chart(s, a.timeline, a.sim_time);
        continue;
      }
      const ChartReference ref{*it->second, b.timeline.bucket_ns, b.sim_time, "before"};
      out += timeline_chart(s, a.timeline, a.sim_time, &ref);
    }
  }
  return out + "</section>\n";
}

std::string changes_section(const whatif::DiffReport& r) {
  std::string out = "<section id=\"changes\"><h2>What else changed in the run</h2>\n";
  bool any = false;
  if (!r.drops.empty()) {
    any = true;
    out +=
        "<h3>Drops</h3><table><tr><th>reason</th><th>device / chain</th><th>rule</th>"
        "<th>before</th><th>after</th></tr>\n";
    for (const Json& d : r.drops) {
      out += "<tr><td><code>" + escape(d["reason"].get<std::string>()) + "</code></td><td>" +
             escape(d["device"].get<std::string>()) + "</td><td>" +
             (d["rule"].is_null() ? std::string("&mdash;")
                                  : "#" + std::to_string(d["rule"].get<int>())) +
             "</td><td class=\"n\">" + std::to_string(d["before"].get<std::uint64_t>()) +
             "</td><td class=\"n\">" + std::to_string(d["after"].get<std::uint64_t>()) +
             "</td></tr>\n";
    }
    out += "</table>\n";
  }
  if (!r.load_balancers.empty()) {
    any = true;
    out +=
        "<h3>Load-balancer shares</h3><table><tr><th>VIP</th><th>member</th><th>before</th>"
        "<th>after</th></tr>\n";
    for (const Json& l : r.load_balancers) {
      auto share = [](const Json& v) {
        return v.is_null() ? std::string("&mdash;") : percent(v.get<double>());
      };
      out += "<tr><td>" + escape(l["vip"].get<std::string>()) + "</td><td><code>" +
             escape(l["member"].get<std::string>()) + "</code></td><td class=\"n\">" +
             share(l["before_share"]) + "</td><td class=\"n\">" + share(l["after_share"]) +
             "</td></tr>\n";
    }
    out += "</table>\n";
  }
  if (!r.failures.empty()) {
    any = true;
    out +=
        "<h3>Failures</h3><table><tr><th>event</th><th>before: lost, recovered after</th>"
        "<th>after</th></tr>\n";
    auto side = [](const Json& v) {
      if (!v.is_object()) return std::string("&mdash;");
      return std::to_string(v["packets_lost"].get<std::uint64_t>()) + " lost, " +
             (v["recovered_after_ns"].is_null()
                  ? std::string("not recovered")
                  : escape(human_duration(v["recovered_after_ns"].get<SimTime>())));
    };
    for (const Json& f : r.failures) {
      out += "<tr><td><code>" + escape(f["event"].get<std::string>()) + "</code></td><td>" +
             side(f["before"]) + "</td><td>" + side(f["after"]) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  if (!r.expectations.empty()) {
    any = true;
    out +=
        "<h3>Expectations</h3><table><tr><th>expectation</th><th>before</th><th>after</th>"
        "</tr>\n";
    for (const Json& e : r.expectations) {
      out += "<tr><td>" + escape(e["name"].get<std::string>()) + "</td><td>" +
             passed_pill(e["before"]) + "</td><td>" + passed_pill(e["after"]) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  if (!any) out += "<p class=\"none\">No drop, share, failure or expectation changed.</p>\n";
  return out + "</section>\n";
}

/// The graph node ids a reach drop's device stands for.
std::vector<std::string> device_nodes(const Topology& topo, const std::string& device) {
  std::string name = device;
  // Security-group chains are named "sg-ingress:PORT" / "sg-egress:PORT".
  if (const auto colon = name.find(':'); colon != std::string::npos) {
    name = name.substr(colon + 1);
  }
  if (topo.find_port(name)) return {"port:" + name};
  if (topo.find_bridge(name)) return {"bridge:" + name};
  if (topo.find_router(name)) return {"router:" + name};
  std::vector<std::string> out;
  if (const auto chain = topo.find_chain(device)) {
    auto uses = [&](const std::optional<ChainId>& in, const std::optional<ChainId>& outb) {
      return (in && *in == *chain) || (outb && *outb == *chain);
    };
    for (const Port& p : topo.ports) {
      if (uses(p.inbound_chain, p.outbound_chain)) out.push_back("port:" + p.name);
    }
    for (const Bridge& b : topo.bridges) {
      if (uses(b.inbound_chain, b.outbound_chain)) out.push_back("bridge:" + b.name);
    }
    for (const Router& rt : topo.routers) {
      if (uses(rt.inbound_chain, rt.outbound_chain)) out.push_back("router:" + rt.name);
    }
  }
  return out;
}

}  // namespace

std::size_t mark_changed_devices(graph::Graph& graph, const Topology& after_topo,
                                 const whatif::DiffReport& report) {
  std::set<std::string> worse;
  std::set<std::string> better;
  for (const whatif::ReachChange& c : report.reach_changed) {
    const Json& drop = c.regression() ? c.after_drop : c.before_drop;
    if (!drop.is_object() || !drop.contains("device")) continue;
    for (std::string& id : device_nodes(after_topo, drop["device"].get<std::string>())) {
      (c.regression() ? worse : better).insert(std::move(id));
    }
  }
  std::size_t marked = 0;
  for (graph::Node& n : graph.nodes) {
    if (worse.count(n.id)) {
      n.dropped = true;
      ++marked;
    } else if (better.count(n.id)) {
      n.highlighted = true;
      ++marked;
    }
  }
  return marked;
}

std::string diff_page(const whatif::DiffReport& report, const graph::Graph* after_graph) {
  const bool worse = report.regressions > 0;
  std::string body = "<h1>diff " + escape(report.before) + " &rarr; " + escape(report.after) +
                     " <span class=\"pill " + (worse ? "fail\">" : "pass\">") +
                     (worse ? std::to_string(report.regressions) +
                                  (report.regressions == 1 ? " regression" : " regressions")
                            : std::string("no regression")) +
                     "</span></h1>\n<div class=\"sub\">hivesim diff " + escape(report.before_file) +
                     " " + escape(report.after_file) + ", seed " + std::to_string(report.seed) +
                     (report.dynamic ? ", reachability and a run of each"
                                     : ", reachability only (--static-only)") +
                     "</div>\n";
  body += "<div class=\"cards\">" + card(std::to_string(report.regressions), "regressions") +
          card(std::to_string(report.improvements), "improvements") +
          card(std::to_string(report.reach_changed.size()), "connections changed") +
          card(std::to_string(report.reach_unchanged), "connections unchanged") + "</div>\n";
  body += verdict_section(report);
  body += reach_section(report);
  if (report.dynamic) {
    body += traffic_section(report);
    body += changes_section(report);
  }
  body += "<section id=\"topology\"><h2>Topology after the change</h2>\n";
  if (after_graph != nullptr && after_graph->placed) {
    body +=
        "<div class=\"legend\"><span class=\"sw\" style=\"background:#dc2626\"></span>"
        "decides a connection that got worse<span class=\"sw\" "
        "style=\"background:#2563eb\"></span>decides a connection that got better</div>\n";
    graph::SvgOptions options;
    options.standalone = false;
    options.element_id = "topology-svg";
    body += "<div class=\"topo\">" + graph::to_svg(*after_graph, options) + "</div>\n";
  } else {
    body += "<p class=\"none\">No picture.</p>\n";
  }
  body += "</section>\n";
  return page("hivesim diff: " + report.before + " -> " + report.after, body);
}

}  // namespace hivesim::html
