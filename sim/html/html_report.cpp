#include "sim/html/html_report.hpp"

#include <algorithm>
#include <cstdio>

#include "base/units.hpp"
#include "base/xml_escape.hpp"
#include "sim/flow/chain.hpp"

namespace hivesim::html {

namespace {

constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;
background:#f1f5f9;color:#0f172a}
main{max-width:1200px;margin:0 auto;padding:16px 24px 40px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:0 0 10px}
.sub{color:#475569;font-size:13px;margin-bottom:14px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:14px 16px;margin:14px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:20px}.card span{color:#475569;font-size:12px}
.pill{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600;color:#fff}
.pass{background:#16a34a}.fail{background:#dc2626}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e2e8f0;vertical-align:top}
th{color:#475569;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}
.bar{position:relative;height:14px;background:#e2e8f0;border-radius:3px;min-width:200px}
.bar .fill{position:absolute;left:0;top:0;bottom:0;background:#2563eb;border-radius:3px}
.bar .exp{position:absolute;top:-3px;bottom:-3px;width:2px;background:#0f172a}
.legend{font-size:12px;color:#475569;margin:4px 0 8px}
.sw{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;vertical-align:-1px}
.topo{overflow-x:auto}.none{color:#64748b;font-size:13px}
.warn{background:#d97706}.neutral{background:#64748b}
.bar .fill.bad{background:#dc2626}.bar .fill.good{background:#16a34a}
.verdict{font-size:15px;margin:6px 0 12px}
h3{font-size:14px;margin:12px 0 4px}.nowrap,th{white-space:nowrap}
)";

}  // namespace

std::string num(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string percent(double fraction) {
  return num(100.0 * fraction, 1) + "%";
}

/// Width of a percentage bar, clamped to [0, 100].
std::string css_percent(double fraction) {
  return num(std::clamp(fraction, 0.0, 1.0) * 100.0, 2) + "%";
}

std::string card(const std::string& value, std::string_view what) {
  return "<div class=\"card\"><b>" + escape(value) + "</b><span>" + escape(what) + "</span></div>";
}

std::string timeline_chart(const TimelineSeries& s, const Timeline& t, SimTime sim_time,
                           const ChartReference* reference) {
  constexpr double kWidth = 1100;
  constexpr double kHeight = 150;
  constexpr double kLeft = 56;
  constexpr double kRight = 12;
  constexpr double kTop = 30;
  constexpr double kBottom = 24;
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  const std::size_t n = s.delivered.size();
  SimTime span =
      std::max<SimTime>({sim_time, static_cast<SimTime>(n) * t.bucket_ns, static_cast<SimTime>(1)});
  std::uint64_t top = 1;
  for (std::size_t i = 0; i < n; ++i)
    top = std::max(top, s.delivered[i] + s.dropped[i]);
  if (reference != nullptr) {
    // One scale for both, so that the heights compare.
    span = std::max(span, reference->sim_time);
    span = std::max(
        span, static_cast<SimTime>(reference->series.delivered.size()) * reference->bucket_ns);
    for (std::uint64_t d : reference->series.delivered)
      top = std::max(top, d);
  }
  auto x_of = [&](SimTime at) {
    return kLeft + plot_w * static_cast<double>(at) / static_cast<double>(span);
  };

  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth, 0) +
                    "\" height=\"" + num(kHeight, 0) + "\" viewBox=\"0 0 " + num(kWidth, 0) + " " +
                    num(kHeight, 0) + "\" role=\"img\" font-size=\"11\" " +
                    "font-family=\"DejaVu Sans,sans-serif\">\n";
  out += "<title>" + escape("timeline of " + s.traffic) + "</title>\n";
  out += "<rect x=\"" + num(kLeft, 0) + "\" y=\"" + num(kTop, 0) + "\" width=\"" + num(plot_w, 0) +
         "\" height=\"" + num(plot_h, 0) + "\" fill=\"#f8fafc\" " + "stroke=\"#cbd5e1\"/>\n";
  // y axis: 0 and the top, in packets per bucket.
  out += "<text x=\"" + num(kLeft - 6, 0) + "\" y=\"" + num(kTop + 4, 0) +
         "\" text-anchor=\"end\" fill=\"#475569\">" + std::to_string(top) + "</text>\n";
  out += "<text x=\"" + num(kLeft - 6, 0) + "\" y=\"" + num(kTop + plot_h, 0) +
         "\" text-anchor=\"end\" fill=\"#475569\">0</text>\n";
  for (std::size_t i = 0; i < n; ++i) {
    const double x0 = x_of(static_cast<SimTime>(i) * t.bucket_ns);
    const double w = std::max(0.5, x_of(static_cast<SimTime>(i + 1) * t.bucket_ns) - x0 - 0.5);
    const double hd = plot_h * static_cast<double>(s.delivered[i]) / static_cast<double>(top);
    const double hx = plot_h * static_cast<double>(s.dropped[i]) / static_cast<double>(top);
    const double base = kTop + plot_h;
    const std::string tip = "<title>" + human_duration(static_cast<SimTime>(i) * t.bucket_ns) +
                            ": " + std::to_string(s.delivered[i]) + " delivered, " +
                            std::to_string(s.dropped[i]) + " dropped</title>";
    if (s.delivered[i] > 0) {
      out += "<rect x=\"" + num(x0, 2) + "\" y=\"" + num(base - hd, 2) + "\" width=\"" + num(w, 2) +
             "\" height=\"" + num(hd, 2) + "\" fill=\"#22c55e\">" + tip + "</rect>\n";
    }
    if (s.dropped[i] > 0) {
      out += "<rect x=\"" + num(x0, 2) + "\" y=\"" + num(base - hd - hx, 2) + "\" width=\"" +
             num(w, 2) + "\" height=\"" + num(hx, 2) + "\" fill=\"#dc2626\">" + tip + "</rect>\n";
    }
  }
  if (reference != nullptr && !reference->series.delivered.empty()) {
    // The reference's delivered packets per bucket as a step line over the bars.
    const std::vector<std::uint64_t>& d = reference->series.delivered;
    std::string points;
    for (std::size_t i = 0; i < d.size(); ++i) {
      const double y =
          kTop + plot_h - plot_h * static_cast<double>(d[i]) / static_cast<double>(top);
      points += num(x_of(static_cast<SimTime>(i) * reference->bucket_ns), 2) + "," + num(y, 2) +
                " " + num(x_of(static_cast<SimTime>(i + 1) * reference->bucket_ns), 2) + "," +
                num(y, 2) + " ";
    }
    points.pop_back();
    out += "<polyline class=\"reference\" points=\"" + points +
           "\" fill=\"none\" stroke=\"#0f172a\" stroke-width=\"1.5\"><title>" +
           escape(reference->label + ": delivered per bucket") + "</title></polyline>\n";
  }
  // x axis: five ticks.
  for (int k = 0; k <= 4; ++k) {
    const SimTime at = span / 4 * k;
    out += "<text x=\"" + num(x_of(at), 1) + "\" y=\"" + num(kHeight - 8, 0) + "\" text-anchor=\"" +
           (k == 0   ? "start"
            : k == 4 ? "end"
                     : "middle") +
           "\" fill=\"#475569\">" + escape(human_duration(at)) + "</text>\n";
  }
  for (std::size_t e = 0; e < t.events.size(); ++e) {
    const double x = x_of(t.events[e].at);
    out += "<line x1=\"" + num(x, 1) + "\" y1=\"" + num(kTop - 4, 0) + "\" x2=\"" + num(x, 1) +
           "\" y2=\"" + num(kTop + plot_h, 0) +
           "\" stroke=\"#7c3aed\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>\n";
    const bool right_half = x > kLeft + plot_w * 0.8;
    out += "<text x=\"" + num(x + (right_half ? -3 : 3), 1) + "\" y=\"" +
           num(e % 2 == 0 ? kTop - 8 : kTop - 19, 0) + "\" fill=\"#7c3aed\" text-anchor=\"" +
           (right_half ? "end" : "start") + "\">" +
           escape(t.events[e].event + " @ " + human_duration(t.events[e].at)) + "</text>\n";
  }
  out += "</svg>\n";
  return out;
}

std::string escape(std::string_view text) {
  return xml_escape(text, false);
}

std::string page(std::string_view title, std::string_view body) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<main>\n" +
         std::string(body) + "</main>\n</body>\n</html>\n";
}

std::string timeline_section(const Timeline& timeline, SimTime sim_time) {
  std::string out = "<section id=\"timeline\"><h2>Timeline</h2>\n";
  out += "<div class=\"legend\">packets landed per " + escape(human_duration(timeline.bucket_ns)) +
         ":<span class=\"sw\" style=\"background:#22c55e\"></span>delivered"
         "<span class=\"sw\" style=\"background:#dc2626\"></span>dropped"
         "<span class=\"sw\" style=\"background:#7c3aed\"></span>failure event</div>\n";
  if (timeline.series.empty()) {
    out += "<p class=\"none\">No traffic in this run.</p>\n";
  }
  for (const TimelineSeries& s : timeline.series) {
    out += "<div><b>" + escape(s.traffic) + "</b></div>\n" + timeline_chart(s, timeline, sim_time);
  }
  return out + "</section>\n";
}

std::string load_balancer_section(const std::vector<LbRow>& rows) {
  std::string out = "<section id=\"lb\"><h2>Load balancers</h2>\n";
  if (rows.empty())
    return out + "<p class=\"none\">No load balancer in this scenario.</p></section>\n";
  out +=
      "<div class=\"legend\"><span class=\"sw\" style=\"background:#2563eb\"></span>share of "
      "connections<span class=\"sw\" style=\"background:#0f172a;width:2px\"></span>expected "
      "(weight / sum of weights)</div>\n";
  for (const LbRow& lb : rows) {
    out += "<h3 style=\"font-size:14px;margin:10px 0 4px\">VIP " + escape(lb.vip) + " &mdash; " +
           std::to_string(lb.connections) + " connections, max skew " + percent(lb.max_skew) +
           "</h3>\n<table><tr><th>member</th><th>weight</th><th>connections</th><th>share</th>"
           "<th>expected</th><th style=\"width:40%\"></th></tr>\n";
    for (const LbMemberRow& m : lb.members) {
      out +=
          "<tr><td><code>" + escape(m.member) + "</code></td><td class=\"n\">" +
          std::to_string(m.weight) + "</td><td class=\"n\">" + std::to_string(m.connections) +
          "</td><td class=\"n\">" + percent(m.share) + "</td><td class=\"n\">" +
          percent(m.expected) +
          "</td><td><div class=\"bar\"><div class=\"fill\" style=\"width:" + css_percent(m.share) +
          "\"></div><div class=\"exp\" style=\"left:" + css_percent(m.expected) +
          "\"></div></div></td></tr>\n";
    }
    out += "</table>\n";
  }
  return out + "</section>\n";
}

std::string drops_section(const std::vector<DropRow>& drops, const Topology* topo) {
  std::string out = "<section id=\"drops\"><h2>Drops</h2>\n";
  if (drops.empty()) return out + "<p class=\"none\">No packet was dropped.</p></section>\n";
  out += "<table><tr><th>count</th><th>reason</th><th>device / chain</th><th>rule</th></tr>\n";
  for (const DropRow& d : drops) {
    std::string rule = "&mdash;";
    if (d.rule) {
      rule = "#" + std::to_string(*d.rule);
      if (topo != nullptr) {
        if (auto chain = topo->find_chain(d.device);
            chain && *d.rule < topo->chain(*chain).rules.size()) {
          const Rule& r = topo->chain(*chain).rules[*d.rule];
          std::string match = describe(*topo, r.match);
          if (match.empty()) match = "any";
          rule += " <code>" + escape(match + ": " + describe(*topo, r.action)) + "</code>";
        }
      }
    }
    out += "<tr><td class=\"n\">" + std::to_string(d.count) + "</td><td><code>" +
           escape(to_string(d.reason)) + "</code></td><td>" +
           escape(d.device.empty() ? "-" : d.device) + "</td><td>" + rule + "</td></tr>\n";
  }
  return out + "</table></section>\n";
}

std::string expectations_section(const std::vector<ExpectationRow>& rows) {
  std::string out = "<section id=\"expectations\"><h2>Expectations</h2>\n";
  if (rows.empty())
    return out + "<p class=\"none\">The scenario states no expectation.</p></section>\n";
  out += "<table><tr><th></th><th>expectation</th><th>detail</th></tr>\n";
  for (const ExpectationRow& e : rows) {
    out += std::string("<tr><td><span class=\"pill ") +
           (e.passed ? "pass\">passed" : "fail\">failed") + "</span></td><td>" + escape(e.name) +
           "</td><td>" + escape(e.detail) + "</td></tr>\n";
  }
  return out + "</table></section>\n";
}

std::string failures_section(const std::vector<FailureRow>& rows) {
  std::string out = "<section id=\"failures\"><h2>Failures</h2>\n";
  if (rows.empty()) return out + "<p class=\"none\">No failure was injected.</p></section>\n";
  out +=
      "<table><tr><th>at</th><th>event</th><th>packets lost</th><th>recovered after</th>"
      "<th>flows invalidated</th></tr>\n";
  for (const FailureRow& f : rows) {
    out += "<tr><td>" + escape(human_duration(f.at)) + "</td><td><code>" + escape(f.event) +
           "</code></td><td class=\"n\">" + std::to_string(f.packets_lost) + "</td><td>" +
           (f.recovered_after ? escape(human_duration(*f.recovered_after)) : "not recovered") +
           "</td><td class=\"n\">" + std::to_string(f.flows_invalidated) + "</td></tr>\n";
  }
  return out + "</table></section>\n";
}

std::string run_report_page(const RunReport& report, const graph::Graph* topology,
                            const Topology* topo, std::string_view command) {
  const bool passed = report.all_passed();
  std::size_t held = 0;
  for (const ExpectationRow& e : report.expectations)
    held += e.passed ? 1 : 0;
  std::string body = "<h1>" + escape(report.scenario) + " <span class=\"pill " +
                     (passed ? "pass\">all expectations held" : "fail\">expectation failed") +
                     "</span></h1>\n<div class=\"sub\">hivesim " + escape(command) + ", seed " +
                     std::to_string(report.seed) + ", " + escape(human_duration(report.sim_time)) +
                     " simulated, " + std::to_string(report.events) + " events</div>\n";
  const PacketTotals& p = report.packets;
  body += "<div class=\"cards\">" + card(std::to_string(p.injected), "packets injected") +
          card(std::to_string(p.delivered), "delivered") +
          card(std::to_string(p.dropped), "dropped") +
          card(std::to_string(p.consumed), "answered by a device") +
          card(std::to_string(p.in_flight), "still in flight") +
          card(std::to_string(report.flows.simulations), "flow simulations") +
          card(std::to_string(held) + " / " + std::to_string(report.expectations.size()),
               "expectations held") +
          "</div>\n";
  body += expectations_section(report.expectations);
  body += "<section id=\"topology\"><h2>Topology</h2>\n";
  if (topology != nullptr && topology->placed) {
    graph::SvgOptions options;
    options.standalone = false;
    options.element_id = "topology-svg";
    body += "<div class=\"topo\">" + graph::to_svg(*topology, options) + "</div>\n";
  } else {
    body += "<p class=\"none\">No picture.</p>\n";
  }
  body += "</section>\n";
  body += timeline_section(report.timeline, report.sim_time);
  body += failures_section(report.failures);
  body += load_balancer_section(report.load_balancers);
  body += drops_section(report.drops, topo);

  body += "<section id=\"traffic\"><h2>Traffic</h2>\n";
  if (report.traffic.empty()) {
    body += "<p class=\"none\">No traffic in this run.</p>\n";
  } else {
    body +=
        "<table><tr><th>traffic</th><th>sent</th><th>delivered</th><th>dropped</th>"
        "<th>in flight</th><th>latency p50</th><th>p99</th></tr>\n";
    for (const TrafficRow& t : report.traffic) {
      body += "<tr><td>" + escape(t.name) + "</td><td class=\"n\">" + std::to_string(t.sent) +
              "</td><td class=\"n\">" + std::to_string(t.delivered) + "</td><td class=\"n\">" +
              std::to_string(t.dropped) + "</td><td class=\"n\">" + std::to_string(t.in_flight) +
              "</td><td class=\"n\">" + escape(human_duration(t.latency.p50)) +
              "</td><td class=\"n\">" + escape(human_duration(t.latency.p99)) + "</td></tr>\n";
    }
    body += "</table>\n";
  }
  body += "</section>\n";
  return page("hivesim " + std::string(command) + ": " + report.scenario, body);
}

}  // namespace hivesim::html
