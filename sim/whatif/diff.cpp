#include "sim/whatif/diff.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "base/xml_escape.hpp"
#include "sim/twin/twin.hpp"
#include "sim/whatif/reach_report.hpp"

namespace hivesim::whatif {

namespace {

using Json = nlohmann::ordered_json;

std::vector<std::string> intersect(std::vector<std::string> a, std::vector<std::string> b) {
  std::vector<std::string> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<std::string> unite(std::vector<std::string> a, std::vector<std::string> b) {
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  return {all.begin(), all.end()};
}

struct RowView {
  Reach result;
  Json drop;
};

std::map<std::tuple<std::string, std::string, std::string>, RowView> index_rows(
    const ReachReport& r) {
  std::map<std::tuple<std::string, std::string, std::string>, RowView> rows;
  for (const ReachRow& row : r.rows) {
    rows.emplace(std::tuple(r.sources[row.from], r.destinations[row.to], r.services[row.service]),
                 RowView{row.result, row.drop ? reach_drop_json(r, *row.drop) : Json(nullptr)});
  }
  return rows;
}

double fraction(const TrafficRow& t) {
  return t.sent == 0 ? 1.0 : static_cast<double>(t.delivered) / static_cast<double>(t.sent);
}

Json traffic_json(const TrafficRow& t) {
  return Json{{"sent", t.sent},
              {"delivered", t.delivered},
              {"dropped", t.dropped},
              {"delivered_fraction", fraction(t)}};
}

Json failure_json(const FailureRow& f) {
  return Json{{"packets_lost", f.packets_lost},
              {"recovered_after_ns", f.recovered_after ? Json(*f.recovered_after) : Json(nullptr)}};
}

std::string drop_name(const DropRow& d) {
  std::string name = std::string(to_string(d.reason)) + " " + d.device;
  if (d.rule) name += " rule " + std::to_string(*d.rule);
  return name;
}

/// Items present on either side, matched by key, in key order.
template <class Row, class KeyFn>
std::map<std::string, std::pair<const Row*, const Row*>> match(const std::vector<Row>& before,
                                                               const std::vector<Row>& after,
                                                               KeyFn key) {
  std::map<std::string, std::pair<const Row*, const Row*>> m;
  for (const Row& r : before)
    m[key(r)].first = &r;
  for (const Row& r : after)
    m[key(r)].second = &r;
  return m;
}

}  // namespace

void diff_runs(const RunReport& before, const RunReport& after, double tolerance, DiffReport& out) {
  auto add = [&out](std::string kind, std::string name, bool regression, bool improvement,
                    std::string detail) {
    if (regression) ++out.regressions;
    if (improvement) ++out.improvements;
    out.items.push_back(
        DiffItem{std::move(kind), std::move(name), regression, improvement, std::move(detail)});
  };
  // Traffic, in BEFORE's order then AFTER's new entries.
  for (const auto& [name, pair] :
       match(before.traffic, after.traffic, [](const TrafficRow& t) { return t.name; })) {
    const auto [b, a] = pair;
    const bool changed =
        !b || !a || b->sent != a->sent || b->delivered != a->delivered || b->dropped != a->dropped;
    bool regression = false;
    bool improvement = false;
    std::string detail;
    if (b && a) {
      const double fb = fraction(*b);
      const double fa = fraction(*a);
      // "By more than the tolerance": a fall of exactly the tolerance (999/1000 against
      // 0.001) is not one, whatever the rounding of the subtraction.
      constexpr double kSlack = 1e-12;
      regression = fb - fa > tolerance + kSlack;
      improvement = fa - fb > tolerance + kSlack;
      std::ostringstream d;
      d << "delivered " << b->delivered << "/" << b->sent << " -> " << a->delivered << "/"
        << a->sent;
      detail = d.str();
    } else {
      detail = b ? "only in BEFORE" : "only in AFTER";
    }
    if (changed) {
      out.traffic.push_back(Json{{"name", name},
                                 {"before", b ? traffic_json(*b) : Json(nullptr)},
                                 {"after", a ? traffic_json(*a) : Json(nullptr)}});
    }
    add("traffic", name, regression, improvement, detail);
  }
  for (const auto& [name, pair] : match(before.drops, after.drops, drop_name)) {
    const auto [b, a] = pair;
    const std::uint64_t nb = b ? b->count : 0;
    const std::uint64_t na = a ? a->count : 0;
    if (nb != na) {
      const DropRow& d = b ? *b : *a;
      Json row{{"reason", std::string(to_string(d.reason))}, {"device", d.device}};
      row["rule"] = d.rule ? Json(*d.rule) : Json(nullptr);
      row["before"] = nb;
      row["after"] = na;
      out.drops.push_back(std::move(row));
    }
    add("drop", name, false, false, std::to_string(nb) + " -> " + std::to_string(na));
  }
  struct Share {
    std::string vip, member;
    double share;
  };
  std::vector<Share> sb, sa;
  for (const LbRow& l : before.load_balancers) {
    for (const LbMemberRow& m : l.members)
      sb.push_back(Share{l.vip, m.member, m.share});
  }
  for (const LbRow& l : after.load_balancers) {
    for (const LbMemberRow& m : l.members)
      sa.push_back(Share{l.vip, m.member, m.share});
  }
  for (const auto& [name, pair] :
       match(sb, sa, [](const Share& s) { return s.vip + " " + s.member; })) {
    const auto [b, a] = pair;
    const Share& s = b ? *b : *a;
    if (!b || !a || b->share != a->share) {
      out.load_balancers.push_back(Json{{"vip", s.vip},
                                        {"member", s.member},
                                        {"before_share", b ? Json(b->share) : Json(nullptr)},
                                        {"after_share", a ? Json(a->share) : Json(nullptr)}});
    }
    add("load_balancer", name, false, false, "");
  }
  for (const auto& [name, pair] :
       match(before.failures, after.failures, [](const FailureRow& f) { return f.event; })) {
    const auto [b, a] = pair;
    const bool changed =
        !b || !a || b->packets_lost != a->packets_lost || b->recovered_after != a->recovered_after;
    if (changed) {
      out.failures.push_back(Json{{"event", name},
                                  {"before", b ? failure_json(*b) : Json(nullptr)},
                                  {"after", a ? failure_json(*a) : Json(nullptr)}});
    }
    add("failure", name, false, false, "");
  }
  for (const auto& [name, pair] : match(before.expectations, after.expectations,
                                        [](const ExpectationRow& e) { return e.name; })) {
    const auto [b, a] = pair;
    const bool regression = b && a && b->passed && !a->passed;
    const bool improvement = b && a && !b->passed && a->passed;
    if (!b || !a || b->passed != a->passed) {
      out.expectations.push_back(Json{{"name", name},
                                      {"before", b ? Json(b->passed) : Json(nullptr)},
                                      {"after", a ? Json(a->passed) : Json(nullptr)}});
    }
    add("expectation", name, regression, improvement, a ? a->detail : "only in BEFORE");
  }
}

Result<DiffReport> diff(const Scenario& before, const Scenario& after, const DiffOptions& options) {
  DiffReport report;
  report.before = before.name;
  report.after = after.name;
  report.before_file = before.file;
  report.after_file = after.file;
  report.seed = options.seed.value_or(before.seed);

  // Static part: the same question to both.
  ReachQuery query = options.query;
  if (!query.sources) {
    query.sources = intersect(default_sources(before.topology), default_sources(after.topology));
    if (query.sources->empty()) {
      return Error{"BEFORE (" + before.file + ") and AFTER (" + after.file +
                   ") have no exterior port in common: nothing to compare"};
    }
  }
  if (!query.to) query.to = unite(default_destinations(before), default_destinations(after));
  if (!query.services) {
    std::vector<Service> services = default_services(before);
    for (const Service& s : default_services(after)) {
      if (std::find(services.begin(), services.end(), s) == services.end()) services.push_back(s);
    }
    query.services = std::move(services);
  }
  auto rb = reach(before, query);
  if (!rb) return Error{before.file + ": " + rb.error()};
  auto ra = reach(after, query);
  if (!ra) return Error{after.file + ": " + ra.error()};
  const auto rows_b = index_rows(*rb);
  const auto rows_a = index_rows(*ra);
  for (const auto& [key, b] : rows_b) {
    auto it = rows_a.find(key);
    if (it == rows_a.end()) continue;  // left out on one side (e.g. its own address)
    const RowView& a = it->second;
    const std::string name = std::get<0>(key) + " -> " + std::get<1>(key) + " " + std::get<2>(key);
    if (a.result == b.result) {
      ++report.reach_unchanged;
      report.items.push_back(
          DiffItem{"reach", name, false, false, std::string(to_string(a.result))});
      continue;
    }
    ReachChange c{
        std::get<0>(key), std::get<1>(key), std::get<2>(key), b.result, a.result, b.drop, a.drop};
    const bool regression = a.result > b.result;
    if (regression) {
      ++report.regressions;
    } else {
      ++report.improvements;
    }
    std::string detail =
        std::string(to_string(b.result)) + " -> " + std::string(to_string(a.result));
    const Json& why = regression ? a.drop : b.drop;
    if (why.is_object()) {
      detail += " (" + why["direction"].get<std::string>() + " " +
                why["reason"].get<std::string>() + " at " + why["device"].get<std::string>();
      if (why.contains("rule")) detail += " rule " + std::to_string(why["rule"].get<int>());
      if (why.contains("source")) detail += ", " + why["source"].get<std::string>();
      detail += ")";
    }
    report.items.push_back(DiffItem{"reach", name, regression, !regression, detail});
    report.reach_changed.push_back(std::move(c));
  }

  if (options.static_only) return report;
  report.dynamic = true;
  auto run = [&](const Scenario& s) -> Result<RunReport> {
    Scenario copy = s;
    copy.seed = report.seed;
    TwinOptions twin_options;
    twin_options.until = options.until;
    auto twin = Twin::make(copy, twin_options);
    if (!twin) return Error{s.file + ": " + twin.error()};
    return (*twin)->run();
  };
  auto b = run(before);
  if (!b) return Error{b.error()};
  auto a = run(after);
  if (!a) return Error{a.error()};
  diff_runs(*b, *a, options.tolerance, report);
  report.before_run = std::move(*b);
  report.after_run = std::move(*a);
  return report;
}

nlohmann::ordered_json diff_json(const DiffReport& report) {
  Json doc;
  doc["before"] = report.before;
  doc["after"] = report.after;
  doc["seed"] = report.seed;
  Json changed = Json::array();
  for (const ReachChange& c : report.reach_changed) {
    changed.push_back(Json{{"from", c.from},
                           {"to", c.to},
                           {"service", c.service},
                           {"before", std::string(to_string(c.before))},
                           {"after", std::string(to_string(c.after))},
                           {"before_drop", c.before_drop},
                           {"after_drop", c.after_drop}});
  }
  doc["reach"] = Json{{"changed", std::move(changed)}, {"unchanged", report.reach_unchanged}};
  doc["traffic"] = report.traffic;
  doc["drops"] = report.drops;
  doc["load_balancers"] = report.load_balancers;
  doc["failures"] = report.failures;
  doc["expectations"] = report.expectations;
  doc["dynamic"] = report.dynamic;
  doc["regressions"] = report.regressions;
  doc["improvements"] = report.improvements;
  return doc;
}

std::string diff_text(const DiffReport& report) {
  std::ostringstream out;
  out << "diff " << report.before << " -> " << report.after << " (seed " << report.seed
      << (report.dynamic ? "" : ", static only") << ")\n";
  out << "reach: " << report.reach_changed.size() << " changed, " << report.reach_unchanged
      << " unchanged\n";
  for (const DiffItem& i : report.items) {
    if (!i.regression && !i.improvement) continue;
    out << "  " << (i.regression ? "REGRESSION " : "improvement ") << i.kind << " " << i.name
        << ": " << i.detail << "\n";
  }
  if (report.dynamic) {
    out << "run: " << report.traffic.size() << " traffic entries, " << report.drops.size()
        << " drop kinds, " << report.load_balancers.size() << " LB members, "
        << report.failures.size() << " failures and " << report.expectations.size()
        << " expectations changed\n";
    for (const auto& d : report.drops) {
      out << "  drop " << d["reason"].get<std::string>() << " at "
          << d["device"].get<std::string>();
      if (!d["rule"].is_null()) out << " rule " << d["rule"].get<int>();
      out << ": " << d["before"].get<std::uint64_t>() << " -> " << d["after"].get<std::uint64_t>()
          << "\n";
    }
  }
  out << "summary: " << report.regressions << " regressions, " << report.improvements
      << " improvements\n";
  return out.str();
}

namespace {}  // namespace

std::string diff_junit(const DiffReport& report) {
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites>\n";
  out << "  <testsuite name=\"diff " << xml_escape(report.before) << " -> "
      << xml_escape(report.after) << "\" tests=\"" << report.items.size() << "\" failures=\""
      << report.regressions << "\">\n";
  for (const DiffItem& i : report.items) {
    out << "    <testcase classname=\"" << i.kind << "\" name=\"" << xml_escape(i.name) << "\"";
    if (!i.regression) {
      out << "/>\n";
      continue;
    }
    out << ">\n      <failure message=\"regression\">" << xml_escape(i.detail, false)
        << "</failure>\n    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace hivesim::whatif
