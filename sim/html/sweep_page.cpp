// The page of `hivesim sweep --html FILE` (whatif_pages.hpp).

#include <algorithm>
#include <map>
#include <set>

#include "base/units.hpp"
#include "sim/html/html_report.hpp"
#include "sim/html/whatif_pages.hpp"

namespace hivesim::html {

namespace {

using Json = nlohmann::ordered_json;

std::set<std::string> baseline_failed(const Json& report) {
  std::set<std::string> names;
  for (const Json& n : report["baseline"]["expectations_failed"])
    names.insert(n.get<std::string>());
  return names;
}

std::vector<std::string> newly_failed(const Json& variant, const std::set<std::string>& base) {
  std::vector<std::string> names;
  for (const Json& n : variant["expectations_failed"]) {
    if (!base.count(n.get<std::string>())) names.push_back(n.get<std::string>());
  }
  return names;
}

std::string bar(double fraction, const char* cls, const std::string& tip) {
  return std::string("<div class=\"bar\" title=\"") + escape(tip) + "\"><div class=\"fill " + cls +
         "\" style=\"width:" + css_percent(fraction) + "\"></div></div>";
}

std::string baseline_section(const Json& report) {
  const Json& b = report["baseline"];
  std::string out = "<section id=\"baseline\"><h2>Baseline: the scenario as written</h2>\n";
  const Json& p = b["packets"];
  out += "<div class=\"cards\">" +
         card(std::to_string(p["injected"].get<std::uint64_t>()), "packets injected") +
         card(std::to_string(p["delivered"].get<std::uint64_t>()), "delivered") +
         card(std::to_string(p["dropped"].get<std::uint64_t>()), "dropped") +
         card(percent(b["delivered_fraction"].get<double>()), "of traffic delivered") + "</div>\n";
  if (!b["traffic"].empty()) {
    out +=
        "<table style=\"margin-top:10px\"><tr><th>traffic</th><th>sent</th><th>delivered</th>"
        "<th>dropped</th></tr>\n";
    for (const Json& t : b["traffic"]) {
      out += "<tr><td>" + escape(t["name"].get<std::string>()) + "</td><td class=\"n\">" +
             std::to_string(t["sent"].get<std::uint64_t>()) + "</td><td class=\"n\">" +
             std::to_string(t["delivered"].get<std::uint64_t>()) + "</td><td class=\"n\">" +
             std::to_string(t["dropped"].get<std::uint64_t>()) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  if (b["expectations_failed"].empty()) {
    out += "<p>Every expectation holds in the baseline.</p>\n";
  } else {
    out += "<p>Already failing in the baseline (not counted against the variants):";
    for (const Json& n : b["expectations_failed"])
      out += " <span class=\"pill fail\">" + escape(n.get<std::string>()) + "</span>";
    out += "</p>\n";
  }
  return out + "</section>\n";
}

std::string ranking_section(const Json& report) {
  const Json& variants = report["variants"];
  std::string out = "<section id=\"variants\"><h2>Variants, worst first</h2>\n";
  if (variants.empty()) {
    return out +
           "<p class=\"none\">No variant: the scenario has no target of these kinds.</p>"
           "</section>\n";
  }
  out +=
      "<div class=\"legend\">Ranked by packets lost (as in the JSON report), then name. "
      "<span class=\"sw\" style=\"background:#dc2626\"></span>packets lost, against the "
      "worst variant<span class=\"sw\" style=\"background:#16a34a\"></span>traffic "
      "delivered</div>\n";
  std::uint64_t worst = 1;
  for (const Json& v : variants)
    worst = std::max(worst, v["packets_lost"].get<std::uint64_t>());
  const std::set<std::string> base = baseline_failed(report);
  out +=
      "<table><tr><th>rank</th><th>variant</th><th>packets lost</th><th style=\"width:18%\">"
      "</th><th>delivered</th><th style=\"width:18%\"></th><th title=\"from the failure to the "
      "first "
      "delivery after its last loss\">recovered after</th>"
      "<th>expectations newly failed</th></tr>\n";
  int rank = 0;
  for (const Json& v : variants) {
    const std::uint64_t lost = v["packets_lost"].get<std::uint64_t>();
    const double delivered = v["delivered_fraction"].get<double>();
    const std::vector<std::string> failed = newly_failed(v, base);
    std::string failed_cell;
    for (const std::string& n : failed)
      failed_cell += "<span class=\"pill fail\">" + escape(n) + "</span> ";
    if (failed.empty()) failed_cell = "<span class=\"none\">none</span>";
    out += "<tr" + std::string(failed.empty() ? "" : " class=\"regression\"") +
           "><td class=\"n\">" + std::to_string(++rank) + "</td><td class=\"nowrap\"><code>" +
           escape(v["name"].get<std::string>()) + "</code></td><td class=\"n\">" +
           std::to_string(lost) + "</td><td>" +
           bar(static_cast<double>(lost) / static_cast<double>(worst), "bad",
               std::to_string(lost) + " packets lost") +
           "</td><td class=\"n\">" + percent(delivered) + "</td><td>" +
           bar(delivered, "good", percent(delivered) + " delivered") + "</td><td>" +
           (lost == 0 ? std::string("&mdash;")
            : v["recovered_after_ns"].is_null()
                ? std::string("not recovered")
                : escape(human_duration(v["recovered_after_ns"].get<SimTime>()))) +
           "</td><td>" + failed_cell + "</td></tr>\n";
  }
  return out + "</table></section>\n";
}

std::string timelines_section(const Json& report, const SweepTimelines* timelines) {
  std::string out = "<section id=\"timelines\"><h2>The worst variants against the baseline</h2>\n";
  if (timelines == nullptr) {
    return out +
           "<p class=\"none\">No timelines: partial reports do not carry them (run the "
           "sweep in one place, or with MPI, for this section).</p></section>\n";
  }
  if (timelines->worst.empty()) {
    return out +
           "<p class=\"none\">No variant lost a packet or failed a new expectation.</p>"
           "</section>\n";
  }
  out +=
      "<div class=\"legend\">The variant, packets landed per bucket:<span class=\"sw\" "
      "style=\"background:#22c55e\"></span>delivered<span class=\"sw\" "
      "style=\"background:#dc2626\"></span>dropped<span class=\"sw\" "
      "style=\"background:#0f172a;height:2px;vertical-align:3px\"></span>baseline: delivered"
      "<span class=\"sw\" style=\"background:#7c3aed\"></span>failure event</div>\n";
  std::map<std::string, const TimelineSeries*> base;
  for (const TimelineSeries& s : timelines->baseline.series)
    base[s.traffic] = &s;
  for (const VariantTimeline& v : timelines->worst) {
    std::uint64_t lost = 0;
    for (const Json& row : report["variants"]) {
      if (row["name"] == v.name) lost = row["packets_lost"].get<std::uint64_t>();
    }
    out += "<h3><code>" + escape(v.name) + "</code> &mdash; " + std::to_string(lost) +
           " packets lost</h3>\n";
    for (const TimelineSeries& s : v.timeline.series) {
      out += "<div>" + escape(s.traffic) + "</div>\n";
      auto it = base.find(s.traffic);
      if (it == base.end()) {
        out += timeline_chart(s, v.timeline, v.sim_time);
        continue;
      }
      const ChartReference ref{*it->second, timelines->baseline.bucket_ns, timelines->baseline_time,
                               "baseline"};
      out += timeline_chart(s, v.timeline, v.sim_time, &ref);
    }
  }
  return out + "</section>\n";
}

}  // namespace

std::vector<std::string> worst_variants(const nlohmann::ordered_json& sweep_report, std::size_t n) {
  const std::set<std::string> base = baseline_failed(sweep_report);
  std::vector<std::string> names;
  for (const Json& v : sweep_report["variants"]) {
    if (names.size() == n) break;
    if (v["packets_lost"].get<std::uint64_t>() > 0 || !newly_failed(v, base).empty()) {
      names.push_back(v["name"].get<std::string>());
    }
  }
  return names;
}

std::string sweep_page(const nlohmann::ordered_json& report, const SweepTimelines* timelines) {
  const std::set<std::string> base = baseline_failed(report);
  std::size_t failing = 0;
  std::uint64_t lost_most = 0;
  for (const Json& v : report["variants"]) {
    failing += newly_failed(v, base).empty() ? 0 : 1;
    lost_most = std::max(lost_most, v["packets_lost"].get<std::uint64_t>());
  }
  std::string kinds;
  for (const Json& k : report["fail"])
    kinds += (kinds.empty() ? "" : ",") + k.get<std::string>();
  const std::string scenario = report["scenario"].get<std::string>();
  std::string when = "failures at " + human_duration(report["at_ns"].get<SimTime>());
  when += report["for_ns"].is_null()
              ? ", never undone"
              : ", undone after " + human_duration(report["for_ns"].get<SimTime>());
  std::string body =
      "<h1>sweep " + escape(scenario) + " <span class=\"pill " +
      (failing > 0
           ? "fail\">" + std::to_string(failing) + " of " +
                 std::to_string(report["variants"].size()) + " variants break an expectation"
           : std::string("pass\">no variant breaks an expectation")) +
      "</span></h1>\n<div class=\"sub\">hivesim sweep --fail " + escape(kinds) + ", seed " +
      std::to_string(report["seed"].get<std::uint64_t>()) + ", " + escape(when) + "</div>\n";
  body +=
      "<div class=\"cards\">" + card(std::to_string(report["variants"].size()), "variants") +
      card(std::to_string(failing), "break an expectation") +
      card(std::to_string(lost_most), "packets lost, worst") +
      card(percent(report["baseline"]["delivered_fraction"].get<double>()), "delivered, baseline") +
      "</div>\n";
  body += "<section id=\"verdict\"><h2>Verdict</h2>\n<p class=\"verdict\">";
  if (failing > 0) {
    body += "<span class=\"pill fail\">exit 1</span> " + std::to_string(failing) +
            (failing == 1 ? " variant fails" : " variants fail") +
            " an expectation that the baseline passes: the network does not survive every "
            "failure asked about. <code>hivesim sweep</code> exits 1.";
  } else {
    body +=
        "<span class=\"pill pass\">exit 0</span> Every expectation the baseline passes "
        "still holds under every single failure. <code>hivesim sweep</code> exits 0.";
  }
  body += "</p></section>\n";
  body += baseline_section(report);
  body += ranking_section(report);
  body += timelines_section(report, timelines);
  return page("hivesim sweep: " + scenario, body);
}

}  // namespace hivesim::html
