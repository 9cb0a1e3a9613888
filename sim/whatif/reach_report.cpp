#include "sim/whatif/reach_report.hpp"

#include <algorithm>
#include <sstream>

#include "base/units.hpp"

namespace hivesim::whatif {

nlohmann::ordered_json reach_drop_json(const ReachReport& report, const ReachDrop& drop) {
  nlohmann::ordered_json d;
  d["direction"] = drop.reply ? "reply" : "forward";
  d["reason"] = drop.consumed ? std::string("consumed") : std::string(to_string(drop.info.reason));
  d["device"] = drop.info.device;
  if (drop.info.rule) d["rule"] = *drop.info.rule;
  const std::string where = drop_source_ref(report, drop);
  if (!where.empty()) d["source"] = where;
  return d;
}

nlohmann::ordered_json reach_json(const ReachReport& report) {
  nlohmann::ordered_json doc;
  doc["scenario"] = report.scenario;
  doc["at_ns"] = report.at;
  doc["services"] = report.services;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const ReachRow& r : report.rows) {
    nlohmann::ordered_json c;
    c["from"] = report.sources[r.from];
    c["to"] = report.destinations[r.to];
    c["to_port"] = r.to_port ? nlohmann::ordered_json(report.port_names[r.to_port->value])
                             : nlohmann::ordered_json(nullptr);
    c["service"] = report.services[r.service];
    c["result"] = std::string(to_string(r.result));
    if (r.drop) c["drop"] = reach_drop_json(report, *r.drop);
    rows.push_back(std::move(c));
  }
  doc["connections"] = std::move(rows);
  doc["summary"] = {
      {"open", report.open}, {"one_way", report.one_way}, {"blocked", report.blocked}};
  return doc;
}

std::string describe_drop(const ReachReport& report, const ReachDrop& drop) {
  std::string text = drop.reply ? "reply " : "forward ";
  if (drop.consumed) {
    text += "answered by " + drop.info.device;
  } else {
    text += std::string(to_string(drop.info.reason)) + " at " + drop.info.device;
    if (drop.info.rule) text += " rule " + std::to_string(*drop.info.rule);
  }
  const std::string where = drop_source_ref(report, drop);
  if (!where.empty()) text += " (" + where + ")";
  return text;
}

std::string reach_text(const ReachReport& report) {
  std::ostringstream out;
  out << "reach " << report.scenario << " at " << format_duration(report.at) << ": "
      << report.sources.size() << " sources, " << report.destinations.size() << " destinations, "
      << report.services.size() << " services, " << report.rows.size() << " connections\n\n";
  std::size_t from_w = 4;
  std::size_t to_w = 2;
  for (const std::string& s : report.sources)
    from_w = std::max(from_w, s.size());
  for (const std::string& d : report.destinations)
    to_w = std::max(to_w, d.size());
  std::vector<std::size_t> col_w;
  for (const std::string& s : report.services)
    col_w.push_back(std::max<std::size_t>(s.size(), 7));
  auto pad = [](const std::string& s, std::size_t w) {
    return s + std::string(w > s.size() ? w - s.size() : 0, ' ');
  };
  out << pad("from", from_w) << "  " << pad("to", to_w);
  for (std::size_t i = 0; i < report.services.size(); ++i)
    out << "  " << pad(report.services[i], col_w[i]);
  out << "\n";
  // Rows arrive sorted by (from, to, service): one line per (from, to), a cell per service
  // ("-" where the connection was left out).
  for (std::size_t i = 0; i < report.rows.size();) {
    const ReachRow& first = report.rows[i];
    std::string line =
        pad(report.sources[first.from], from_w) + "  " + pad(report.destinations[first.to], to_w);
    std::vector<std::string> cells(report.services.size(), "-");
    for (; i < report.rows.size() && report.rows[i].from == first.from &&
           report.rows[i].to == first.to;
         ++i) {
      cells[report.rows[i].service] = std::string(to_string(report.rows[i].result));
    }
    for (std::size_t c = 0; c < cells.size(); ++c)
      line += "  " + pad(cells[c], col_w[c]);
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out << line << "\n";
  }
  bool header = false;
  for (const ReachRow& r : report.rows) {
    if (!r.drop) continue;
    if (!header) {
      out << "\nnot open:\n";
      header = true;
    }
    out << "  " << report.sources[r.from] << " -> " << report.destinations[r.to] << " "
        << report.services[r.service] << ": " << to_string(r.result) << ", "
        << describe_drop(report, *r.drop) << "\n";
  }
  for (const std::string& n : report.notes)
    out << "note: " << n << "\n";
  out << "\nsummary: " << report.open << " open, " << report.one_way << " one_way, "
      << report.blocked << " blocked\n";
  return out.str();
}

}  // namespace hivesim::whatif
