#include "sim/render/run_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string_view>

#include "base/units.hpp"
#include "base/xml_escape.hpp"

namespace hivesim {

namespace {

/// A ratio rounded to 4 decimal places, so that the JSON shows "0.3333", not 17 digits whose
/// last ones depend on the order of floating-point operations. Non-finite values become null.
nlohmann::ordered_json ratio_json(double x) {
  if (!std::isfinite(x)) return nullptr;
  const double r = std::round(x * 1e4) / 1e4;
  return r == 0.0 ? 0.0 : r;  // no "-0.0"
}

std::string percent(double x) {
  if (!std::isfinite(x)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", x * 100.0);
  return buf;
}

/// Left-aligned text columns; the last column is not padded.
class Table {
 public:
  /// Columns whose index is in `right` are right-aligned (numbers).
  explicit Table(std::vector<std::size_t> right = {}) : right_(std::move(right)) {}

  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

  void render(std::ostream& out, std::string_view indent) const {
    std::vector<std::size_t> width;
    for (const auto& r : rows_) {
      width.resize(std::max(width.size(), r.size()), 0);
      for (std::size_t i = 0; i < r.size(); ++i)
        width[i] = std::max(width[i], r[i].size());
    }
    for (const auto& r : rows_) {
      std::string line(indent);
      for (std::size_t i = 0; i < r.size(); ++i) {
        const std::size_t pad = width[i] - r[i].size();
        const bool right = std::find(right_.begin(), right_.end(), i) != right_.end();
        if (right) line.append(pad, ' ');
        line += r[i];
        if (i + 1 < r.size()) line.append((right ? 0 : pad) + 2, ' ');
      }
      while (!line.empty() && line.back() == ' ')
        line.pop_back();
      out << line << "\n";
    }
  }

 private:
  std::vector<std::size_t> right_;
  std::vector<std::vector<std::string>> rows_;
};

std::string num(std::uint64_t v) {
  return std::to_string(v);
}

std::string first_line(std::string_view s) {
  const std::size_t nl = s.find('\n');
  return std::string(nl == std::string_view::npos ? s : s.substr(0, nl));
}

}  // namespace

nlohmann::ordered_json run_report_json(const RunReport& report) {
  using Json = nlohmann::ordered_json;
  Json doc;
  doc["scenario"] = report.scenario;
  doc["seed"] = report.seed;
  doc["sim_time_ns"] = report.sim_time;
  doc["events"] = report.events;

  const PacketTotals& p = report.packets;
  doc["packets"] = Json{{"injected", p.injected},
                        {"delivered", p.delivered},
                        {"dropped", p.dropped},
                        {"consumed", p.consumed},
                        {"in_flight", p.in_flight}};

  const FlowStats& f = report.flows;
  // Host names are unique (the loader checks): appending to the ordered object directly, where
  // operator[] would search it first, keeps this linear (the search made it quadratic in hosts:
  // 35 M instructions at 3,000 hosts, ~12 G at 100,000).
  Json per_host = Json::object();
  auto& hosts_obj = per_host.get_ref<Json::object_t&>();
  hosts_obj.reserve(f.per_host.size());
  for (const FlowHostStats& h : f.per_host) {
    hosts_obj.emplace_back(h.host, Json{{"installed", h.installed}, {"peak", h.peak}});
  }
  doc["flows"] = Json{{"simulations", f.simulations}, {"installed", f.installed},
                      {"cache_hits", f.cache_hits},   {"cache_misses", f.cache_misses},
                      {"invalidated", f.invalidated}, {"expired", f.expired},
                      {"evicted", f.evicted},         {"per_host", std::move(per_host)}};

  Json drops = Json::array();
  for (const DropRow& d : report.drops) {
    Json row{{"reason", std::string(to_string(d.reason))}, {"device", d.device}};
    if (d.rule) row["rule"] = *d.rule;
    row["count"] = d.count;
    drops.push_back(std::move(row));
  }
  doc["drops"] = std::move(drops);

  Json lbs = Json::array();
  for (const LbRow& lb : report.load_balancers) {
    Json members = Json::array();
    for (const LbMemberRow& m : lb.members) {
      members.push_back(Json{{"member", m.member},
                             {"weight", m.weight},
                             {"connections", m.connections},
                             {"share", ratio_json(m.share)},
                             {"expected", ratio_json(m.expected)}});
    }
    lbs.push_back(Json{{"vip", lb.vip},
                       {"connections", lb.connections},
                       {"members", std::move(members)},
                       {"max_skew", ratio_json(lb.max_skew)}});
  }
  doc["load_balancers"] = std::move(lbs);

  Json failures = Json::array();
  for (const FailureRow& fr : report.failures) {
    failures.push_back(
        Json{{"at_ns", fr.at},
             {"event", fr.event},
             {"packets_lost", fr.packets_lost},
             {"recovered_after_ns", fr.recovered_after ? Json(*fr.recovered_after) : Json()},
             {"flows_invalidated", fr.flows_invalidated}});
  }
  doc["failures"] = std::move(failures);

  Json traffic = Json::array();
  for (const TrafficRow& t : report.traffic) {
    traffic.push_back(Json{{"name", t.name},
                           {"sent", t.sent},
                           {"delivered", t.delivered},
                           {"dropped", t.dropped},
                           {"in_flight", t.in_flight},
                           {"replies_sent", t.replies_sent},
                           {"replies_delivered", t.replies_delivered},
                           {"latency_ns", Json{{"p50", t.latency.p50},
                                               {"p90", t.latency.p90},
                                               {"p99", t.latency.p99},
                                               {"max", t.latency.max}}}});
  }
  doc["traffic"] = std::move(traffic);

  Json expectations = Json::array();
  for (const ExpectationRow& e : report.expectations) {
    expectations.push_back(Json{{"name", e.name}, {"passed", e.passed}, {"detail", e.detail}});
  }
  doc["expectations"] = std::move(expectations);

  if (report.replay) {
    const ReplayTotals& r = *report.replay;
    Json replay{{"pcap", r.pcap},   {"port", r.port},   {"packets", r.packets},
                {"bytes", r.bytes}, {"flows", r.flows}, {"duration_ns", r.duration}};
    if (r.error) replay["error"] = *r.error;
    doc["replay"] = std::move(replay);
  }
  doc["nsdb"] = Json{{"writes", report.nsdb_writes}, {"notifications", report.nsdb_notifications}};
  doc["state_pushes"] = report.state_pushes;
  doc["flow_state"] = Json{{"pushes", report.flow_state.pushes},
                           {"delivered", report.flow_state.delivered},
                           {"lost", report.flow_state.lost},
                           {"replies_without_state", report.flow_state.replies_without_state}};
  doc["timeline"] = timeline_json(report.timeline);
  return doc;
}

std::string run_report_text(const RunReport& report) {
  constexpr std::size_t kMaxDropRows = 10;
  std::ostringstream out;
  out << "scenario " << report.scenario << "  seed " << report.seed << "  sim time "
      << format_duration(report.sim_time) << "  events " << report.events << "\n";

  const PacketTotals& p = report.packets;
  const FlowStats& f = report.flows;
  out << "packets  injected " << p.injected << "  delivered " << p.delivered << "  dropped "
      << p.dropped << "  consumed " << p.consumed << "  in flight " << p.in_flight << "\n";
  out << "flows    simulations " << f.simulations << "  installed " << f.installed << "  hits "
      << f.cache_hits << "  misses " << f.cache_misses << "\n";
  out << "         removed: " << f.invalidated << " invalidated, " << f.expired << " expired, "
      << f.evicted << " evicted\n";
  if (!f.per_host.empty()) {
    // Wrapped so that a large deployment does not print one endless line.
    constexpr std::size_t kWidth = 100;
    std::string line = "         per host (installed/peak)";
    bool line_has_hosts = false;
    for (const FlowHostStats& h : f.per_host) {
      const std::string item = "  " + h.host + " " + num(h.installed) + "/" + num(h.peak);
      if (line_has_hosts && line.size() + item.size() > kWidth) {
        out << line << "\n";
        line = "       ";
      }
      line += item;
      line_has_hosts = true;
    }
    out << line << "\n";
  }
  out << "nsdb     writes " << report.nsdb_writes << "  notifications " << report.nsdb_notifications
      << "  state pushes " << report.state_pushes << "\n";
  out << "flow state  pushes " << report.flow_state.pushes << "  delivered "
      << report.flow_state.delivered << "  lost " << report.flow_state.lost
      << "  replies without state " << report.flow_state.replies_without_state << "\n";

  if (report.replay) {
    const ReplayTotals& r = *report.replay;
    out << "replay   " << r.pcap << " on " << r.port << ": " << r.packets << " packets, " << r.bytes
        << " bytes, " << r.flows << " flows over " << human_duration(r.duration) << "\n";
    if (r.error) out << "  capture error: " << *r.error << "\n";
  }

  if (!report.drops.empty()) {
    out << "\ndrops\n";
    Table t({0});
    t.row({"count", "reason", "device", "rule"});
    const std::size_t shown = std::min(report.drops.size(), kMaxDropRows);
    for (std::size_t i = 0; i < shown; ++i) {
      const DropRow& d = report.drops[i];
      t.row({num(d.count), std::string(to_string(d.reason)), d.device.empty() ? "-" : d.device,
             d.rule ? std::to_string(*d.rule) : "-"});
    }
    t.render(out, "  ");
    if (report.drops.size() > shown) {
      std::uint64_t rest = 0;
      for (std::size_t i = shown; i < report.drops.size(); ++i)
        rest += report.drops[i].count;
      out << "  … " << report.drops.size() - shown << " more (" << rest << " packets)\n";
    }
  }

  if (!report.load_balancers.empty()) {
    out << "\nload balancers\n";
    for (const LbRow& lb : report.load_balancers) {
      char skew[32];
      std::snprintf(skew, sizeof skew, "%.4f", std::isfinite(lb.max_skew) ? lb.max_skew : 0.0);
      out << "  " << lb.vip << ": " << lb.connections << " connections, max skew "
          << (std::isfinite(lb.max_skew) ? skew : "-") << "\n";
      Table t;
      for (const LbMemberRow& m : lb.members) {
        t.row({m.member, "weight " + std::to_string(m.weight), "conns " + num(m.connections),
               "share " + percent(m.share), "expected " + percent(m.expected)});
      }
      t.render(out, "    ");
    }
  }

  if (!report.failures.empty()) {
    out << "\nfailures\n";
    Table t;
    for (const FailureRow& fr : report.failures) {
      t.row({"at " + format_duration(fr.at), fr.event, "lost " + num(fr.packets_lost),
             fr.recovered_after ? "recovered after " + human_duration(*fr.recovered_after)
                                : "not recovered",
             fr.flows_invalidated != 0 ? num(fr.flows_invalidated) + " flows invalidated" : ""});
    }
    t.render(out, "  ");
  }

  if (!report.traffic.empty()) {
    out << "\ntraffic\n";
    const bool any_replies = std::any_of(report.traffic.begin(), report.traffic.end(),
                                         [](const TrafficRow& tr) { return tr.replies_sent != 0; });
    Table t;
    for (const TrafficRow& tr : report.traffic) {
      std::vector<std::string> cells{tr.name, "sent " + num(tr.sent),
                                     "delivered " + num(tr.delivered), "dropped " + num(tr.dropped),
                                     "in flight " + num(tr.in_flight)};
      if (any_replies) {
        cells.push_back("replies " + num(tr.replies_delivered) + " of " + num(tr.replies_sent));
      }
      cells.push_back("p50 " + human_duration(tr.latency.p50));
      cells.push_back("p99 " + human_duration(tr.latency.p99));
      t.row(std::move(cells));
    }
    t.render(out, "  ");
  }

  if (!report.expectations.empty()) {
    const auto failed = static_cast<std::size_t>(
        std::count_if(report.expectations.begin(), report.expectations.end(),
                      [](const ExpectationRow& e) { return !e.passed; }));
    out << "\nexpectations: " << report.expectations.size() - failed << " passed, " << failed
        << " failed\n";
    for (const ExpectationRow& e : report.expectations) {
      out << "  " << (e.passed ? "PASS " : "FAIL ") << e.name << "\n";
      if (!e.passed && !e.detail.empty()) {
        // Indent every line of a multi-line detail under its expectation.
        std::string_view rest = e.detail;
        while (!rest.empty()) {
          const std::size_t nl = rest.find('\n');
          out << "       " << rest.substr(0, nl) << "\n";
          rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        }
      }
    }
  }
  return out.str();
}

std::string run_report_junit(const RunReport& report) {
  const std::size_t tests = report.expectations.size();
  const auto failures =
      static_cast<std::size_t>(std::count_if(report.expectations.begin(), report.expectations.end(),
                                             [](const ExpectationRow& e) { return !e.passed; }));
  const std::string suite = xml_escape(report.scenario);
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites name=\"hivesim\" tests=\"" << tests << "\" failures=\"" << failures
      << "\">\n";
  out << "  <testsuite name=\"" << suite << "\" tests=\"" << tests << "\" failures=\"" << failures
      << "\" errors=\"0\" skipped=\"0\">\n";
  // Simulated facts only: the same scenario and seed give the same file.
  out << "    <properties>\n";
  out << "      <property name=\"seed\" value=\"" << report.seed << "\"/>\n";
  out << "      <property name=\"sim_time_ns\" value=\"" << report.sim_time << "\"/>\n";
  out << "    </properties>\n";
  for (const ExpectationRow& e : report.expectations) {
    out << "    <testcase classname=\"hivesim." << suite << "\" name=\"" << xml_escape(e.name)
        << "\"";
    if (e.passed) {
      out << "/>\n";
      continue;
    }
    const std::string message = e.detail.empty() ? "expectation failed" : first_line(e.detail);
    out << ">\n      <failure message=\"" << xml_escape(message) << "\">"
        << xml_escape(e.detail, false) << "</failure>\n    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace hivesim
