#include "sim/whatif/sweep.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "base/units.hpp"
#include "sim/twin/twin.hpp"

namespace hivesim::whatif {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::array<std::string_view, 6> kKindNames{"host",   "agent", "link",
                                                     "member", "nsdb",  "port"};

std::optional<std::uint32_t> parse_u32(std::string_view text) {
  std::uint32_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

/// FNV-1a, 64 bits, as 16 hex digits: the partial report's self-check (not a security seal).
std::string digest(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

double delivered_fraction(const RunReport& r) {
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  for (const TrafficRow& t : r.traffic) {
    sent += t.sent;
    delivered += t.delivered;
  }
  return sent == 0 ? 1.0 : static_cast<double>(delivered) / static_cast<double>(sent);
}

Json traffic_json(const RunReport& r) {
  Json rows = Json::array();
  for (const TrafficRow& t : r.traffic) {
    rows.push_back(Json{
        {"name", t.name}, {"sent", t.sent}, {"delivered", t.delivered}, {"dropped", t.dropped}});
  }
  return rows;
}

std::vector<std::string> failed_expectations(const RunReport& r) {
  std::vector<std::string> names;
  for (const ExpectationRow& e : r.expectations) {
    if (!e.passed) names.push_back(e.name);
  }
  return names;
}

Json baseline_json(const RunReport& r) {
  return Json{{"packets",
               {{"injected", r.packets.injected},
                {"delivered", r.packets.delivered},
                {"dropped", r.packets.dropped},
                {"consumed", r.packets.consumed},
                {"in_flight", r.packets.in_flight}}},
              {"delivered_fraction", delivered_fraction(r)},
              {"traffic", traffic_json(r)},
              {"expectations_failed", failed_expectations(r)}};
}

Json variant_json(const VariantResult& v) {
  return Json{{"name", v.name},
              {"packets_lost", v.packets_lost},
              {"delivered_fraction", v.delivered_fraction},
              {"recovered_after_ns", v.recovered_after ? Json(*v.recovered_after) : Json(nullptr)},
              {"traffic", v.traffic},
              {"expectations_failed", v.expectations_failed}};
}

Json kinds_json(const std::vector<FailKind>& kinds) {
  Json out = Json::array();
  for (FailKind k : kinds)
    out.push_back(std::string(kKindNames[static_cast<std::size_t>(k)]));
  return out;
}

/// The question's fixed part: what a merge checks every part agrees on.
Json header_json(const Scenario& scenario, const SweepQuestion& question, const SweepPlan& plan) {
  return Json{{"scenario", scenario.name},
              {"seed", scenario.seed},
              {"fail", kinds_json(question.kinds)},
              {"at_ns", plan.at},
              {"for_ns", plan.for_ ? Json(*plan.for_) : Json(nullptr)}};
}

/// What a merged report's readers (assemble, sweep_text, sweep_regressed) rely on, checked in
/// a partial from outside: "" or what is wrong. A digest does not vouch for content (anyone can
/// compute one), so types are checked before any value is read.
std::string partial_shape_error(const Json& doc) {
  auto unsigned_at = [](const Json& o, const char* key) {
    return o.is_object() && o.contains(key) && o[key].is_number_unsigned();
  };
  auto time_at = [](const Json& o, const char* key, bool nullable) {
    return o.is_object() && o.contains(key) &&
           (o[key].is_number_integer() || (nullable && o[key].is_null()));
  };
  auto names_at = [](const Json& o, const char* key) {
    if (!o.is_object() || !o.contains(key) || !o[key].is_array()) return false;
    return std::all_of(o[key].begin(), o[key].end(), [](const Json& n) { return n.is_string(); });
  };
  auto fraction_at = [](const Json& o, const char* key) {
    return o.is_object() && o.contains(key) && o[key].is_number();
  };
  if (!doc.contains("scenario") || !doc["scenario"].is_string())
    return "\"scenario\" is not a string";
  if (!unsigned_at(doc, "seed")) return "\"seed\" is not a whole number";
  if (!time_at(doc, "at_ns", false)) return "\"at_ns\" is not a whole number";
  if (!time_at(doc, "for_ns", true)) return "\"for_ns\" is not a whole number or null";
  const Json& partial = doc["partial"];
  if (!unsigned_at(partial, "shard") || !unsigned_at(partial, "of") ||
      !unsigned_at(partial, "variants_total")) {
    return "\"partial\" needs whole numbers shard, of and variants_total";
  }
  if (!doc.contains("baseline") || !fraction_at(doc["baseline"], "delivered_fraction") ||
      !names_at(doc["baseline"], "expectations_failed")) {
    return "\"baseline\" needs delivered_fraction and expectations_failed (names)";
  }
  if (!doc.contains("variants") || !doc["variants"].is_array()) return "\"variants\" is not a list";
  for (const Json& v : doc["variants"]) {
    if (!unsigned_at(v, "index") || !v.contains("name") || !v["name"].is_string() ||
        !unsigned_at(v, "packets_lost") || !fraction_at(v, "delivered_fraction") ||
        !time_at(v, "recovered_after_ns", true) || !names_at(v, "expectations_failed")) {
      return "a variant needs index, name, packets_lost, delivered_fraction, "
             "recovered_after_ns and expectations_failed of the right types";
    }
  }
  return "";
}

// Each result's report entry with its variant index first: what a shard or a rank sends.
Json indexed_rows(const std::vector<VariantResult>& results) {
  Json rows = Json::array();
  for (const VariantResult& v : results) {
    Json row = Json{{"index", v.index}};
    row.update(variant_json(v));
    rows.push_back(std::move(row));
  }
  return rows;
}

Json assemble(const Json& header, const Json& baseline, std::vector<Json> variants) {
  std::stable_sort(variants.begin(), variants.end(), [](const Json& a, const Json& b) {
    const auto la = a["packets_lost"].get<std::uint64_t>();
    const auto lb = b["packets_lost"].get<std::uint64_t>();
    if (la != lb) return la > lb;
    return a["name"].get<std::string>() < b["name"].get<std::string>();
  });
  Json doc = header;
  doc["baseline"] = baseline;
  doc["variants"] = std::move(variants);
  return doc;
}

Failure make_failure(SimTime at, FailureKind kind, std::string label) {
  Failure f;
  f.at = at;
  f.kind = kind;
  f.label = std::move(label);
  return f;
}

}  // namespace

Result<std::vector<FailKind>> parse_fail_kinds(std::string_view list) {
  std::set<FailKind> kinds;
  while (true) {
    const auto comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    const auto it = std::find(kKindNames.begin(), kKindNames.end(), item);
    if (it == kKindNames.end()) {
      return Error{"unknown failure kind '" + std::string(item) +
                   "' (kinds: host, agent, link, member, nsdb, port)"};
    }
    kinds.insert(static_cast<FailKind>(it - kKindNames.begin()));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return std::vector<FailKind>(kinds.begin(), kinds.end());
}

Result<Shard> parse_shard(std::string_view text) {
  const auto slash = text.find('/');
  const auto k = parse_u32(text.substr(0, slash));
  const auto n = slash == std::string_view::npos ? std::nullopt : parse_u32(text.substr(slash + 1));
  if (!k || !n || *n == 0 || *k == 0 || *k > *n) {
    return Error{"--shard must be K/N with 1 <= K <= N (e.g. 1/4), not '" + std::string(text) +
                 "'"};
  }
  return Shard{*k, *n};
}

Result<SweepPlan> plan_sweep(const Scenario& scenario, const SweepQuestion& question) {
  SweepPlan plan;
  plan.at = question.at.value_or(scenario.duration / 3);
  plan.for_ = question.for_;
  std::set<std::pair<std::uint32_t, std::uint32_t>> pairs;
  TwinOptions options;
  options.on_tunnel = [&pairs](HostId a, HostId b) {
    pairs.emplace(std::min(a.value, b.value), std::max(a.value, b.value));
  };
  auto twin = Twin::make(scenario, options);
  if (!twin) return Error{twin.error()};
  plan.baseline = (*twin)->run();
  plan.tunnel_pairs.assign(pairs.begin(), pairs.end());

  const Topology& topo = scenario.topology;
  const SimTime at = plan.at;
  auto add = [&](Failure down, std::optional<Failure> up) {
    Variant v{down.label, {down}};
    if (up && plan.for_) {
      up->at = at + *plan.for_;
      v.failures.push_back(*up);
    }
    plan.variants.push_back(std::move(v));
  };
  for (FailKind kind : question.kinds) {
    switch (kind) {
      case FailKind::kHost:
      case FailKind::kAgent:
        for (std::uint32_t h = 0; h < topo.hosts.size(); ++h) {
          const std::string& name = topo.hosts[h].name;
          if (kind == FailKind::kAgent) {
            Failure f = make_failure(at, FailureKind::kAgentRestart, "agent_restart " + name);
            f.host = HostId{h};
            add(f, std::nullopt);
            continue;
          }
          Failure down = make_failure(at, FailureKind::kHostDown, "host_down " + name);
          down.host = HostId{h};
          Failure up = make_failure(at, FailureKind::kHostUp, "host_up " + name);
          up.host = HostId{h};
          add(down, up);
        }
        break;
      case FailKind::kLink:
        for (const auto& [a, b] : plan.tunnel_pairs) {
          const std::string ends = topo.hosts[a].name + " " + topo.hosts[b].name;
          Failure down = make_failure(at, FailureKind::kLinkDown, "link_down " + ends);
          down.host = HostId{a};
          down.peer_host = HostId{b};
          Failure up = down;
          up.kind = FailureKind::kLinkUp;
          up.label = "link_up " + ends;
          add(down, up);
        }
        break;
      case FailKind::kMember:
        for (std::uint32_t p = 0; p < topo.pools.size(); ++p) {
          for (const PoolMember& m : topo.pools[p].members) {
            const std::string target =
                topo.pools[p].name + " " + m.ip.str() + ":" + std::to_string(m.port);
            Failure down = make_failure(at, FailureKind::kMemberDown, "member_down " + target);
            down.pool = PoolId{p};
            down.member_ip = m.ip;
            down.member_port = m.port;
            Failure up = down;
            up.kind = FailureKind::kMemberUp;
            up.label = "member_up " + target;
            add(down, up);
          }
        }
        break;
      case FailKind::kNsdb:
        for (std::uint32_t r = 0; r < scenario.nsdb.replicas; ++r) {
          Failure down = make_failure(at, FailureKind::kNsdbDown, "nsdb_down " + std::to_string(r));
          down.replica = r;
          Failure up = down;
          up.kind = FailureKind::kNsdbUp;
          up.label = "nsdb_up " + std::to_string(r);
          add(down, up);
        }
        break;
      case FailKind::kPort:
        for (std::uint32_t p = 0; p < topo.ports.size(); ++p) {
          if (!topo.ports[p].exterior()) continue;
          const std::string& name = topo.ports[p].name;
          Failure down = make_failure(at, FailureKind::kPortDown, "port_down " + name);
          down.port = PortId{p};
          Failure up = down;
          up.kind = FailureKind::kPortUp;
          up.label = "port_up " + name;
          add(down, up);
        }
        break;
    }
  }
  return plan;
}

Result<VariantResult> run_variant(const Scenario& scenario, const SweepPlan& plan,
                                  std::uint32_t index) {
  const Variant& variant = plan.variants.at(index);
  Scenario copy = scenario;
  const std::size_t first = copy.failures.size();
  copy.failures.insert(copy.failures.end(), variant.failures.begin(), variant.failures.end());
  auto twin = Twin::make(copy, TwinOptions{});
  if (!twin) return Error{variant.name + ": " + twin.error()};
  const RunReport report = (*twin)->run();
  VariantResult v;
  v.index = index;
  v.name = variant.name;
  const FailureRow& down = report.failures.at(first);
  v.packets_lost = down.packets_lost;
  v.recovered_after = down.recovered_after;
  if (report.failures.size() > first + 1) {
    // Undone after --for: losses after the undo count too, and recovery may come after it.
    const FailureRow& up = report.failures.at(first + 1);
    v.packets_lost += up.packets_lost;
    if (!v.recovered_after && up.recovered_after) {
      v.recovered_after = up.at - down.at + *up.recovered_after;
    }
  }
  v.delivered_fraction = delivered_fraction(report);
  v.traffic = traffic_json(report);
  v.expectations_failed = failed_expectations(report);
  v.timeline = report.timeline;
  v.sim_time = report.sim_time;
  return v;
}

Result<std::vector<VariantResult>> run_claimed(const Scenario& scenario, const SweepPlan& plan,
                                               unsigned jobs, const NextVariant& next,
                                               const std::function<void(std::size_t)>& done) {
  std::vector<std::pair<std::uint32_t, Result<VariantResult>>> finished;
  std::mutex lock;
  auto work = [&] {
    while (const std::optional<std::uint32_t> index = next()) {
      Result<VariantResult> r = Error{"internal error"};
      try {
        r = run_variant(scenario, plan, *index);
      } catch (const std::exception& e) {
        r = Error{plan.variants[*index].name + ": internal error: " + e.what()};
      }
      const std::lock_guard<std::mutex> guard(lock);
      finished.emplace_back(*index, std::move(r));
      if (done) done(finished.size());
    }
  };
  const unsigned threads =
      static_cast<unsigned>(std::min<std::size_t>(std::max(1U, jobs), plan.variants.size()));
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back(work);
    for (std::thread& t : pool)
      t.join();
  }
  std::sort(finished.begin(), finished.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<VariantResult> results;
  for (auto& [index, r] : finished) {
    if (!r) return Error{r.error()};
    results.push_back(std::move(r.value()));
  }
  return results;
}

Result<std::vector<VariantResult>> run_variants(const Scenario& scenario, const SweepPlan& plan,
                                                const std::vector<std::uint32_t>& indices,
                                                unsigned jobs,
                                                const std::function<void(std::size_t)>& done) {
  std::atomic<std::size_t> taken{0};
  const NextVariant next = [&]() -> std::optional<std::uint32_t> {
    const std::size_t i = taken.fetch_add(1);
    if (i >= indices.size()) return std::nullopt;
    return indices[i];
  };
  return run_claimed(scenario, plan,
                     static_cast<unsigned>(std::min<std::size_t>(jobs, indices.size())), next,
                     done);
}

std::vector<std::uint32_t> shard_indices(std::size_t total, Shard shard) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 0; i < total; ++i) {
    if (i % shard.count == shard.index - 1) out.push_back(i);
  }
  return out;
}

nlohmann::ordered_json sweep_json(const Scenario& scenario, const SweepQuestion& question,
                                  const SweepPlan& plan, std::vector<VariantResult> results) {
  std::vector<Json> variants;
  for (const VariantResult& v : results)
    variants.push_back(variant_json(v));
  return assemble(header_json(scenario, question, plan), baseline_json(plan.baseline),
                  std::move(variants));
}

nlohmann::ordered_json partial_json(const Scenario& scenario, const SweepQuestion& question,
                                    const SweepPlan& plan, Shard shard,
                                    const std::vector<VariantResult>& results) {
  Json doc = header_json(scenario, question, plan);
  doc["baseline"] = baseline_json(plan.baseline);
  doc["partial"] =
      Json{{"shard", shard.index}, {"of", shard.count}, {"variants_total", plan.variants.size()}};
  doc["variants"] = indexed_rows(results);
  doc["digest"] = digest(doc.dump());
  return doc;
}

std::string variant_rows(const std::vector<VariantResult>& results) {
  return indexed_rows(results).dump();
}

Result<nlohmann::ordered_json> sweep_json_from_rows(const Scenario& scenario,
                                                    const SweepQuestion& question,
                                                    const SweepPlan& plan,
                                                    const std::vector<std::string>& rows) {
  std::vector<Json> variants(plan.variants.size());
  std::vector<bool> seen(plan.variants.size());
  for (const std::string& text : rows) {
    try {
      for (Json v : Json::parse(text)) {
        const std::uint64_t index = v.at("index").get<std::uint64_t>();
        if (index >= variants.size() || seen[index]) {
          return Error{"variant " + std::to_string(index) + " came back twice or out of range"};
        }
        seen[index] = true;
        v.erase("index");
        variants[index] = std::move(v);
      }
    } catch (const nlohmann::json::exception& e) {
      return Error{std::string("a rank's results are not readable: ") + e.what()};
    }
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i])
      return Error{"variant " + std::to_string(i) + " (" + plan.variants[i].name +
                   ") did not come back"};
  }
  return assemble(header_json(scenario, question, plan), baseline_json(plan.baseline),
                  std::move(variants));
}

Result<nlohmann::ordered_json> merge_partials(const std::vector<std::string>& names,
                                              const std::vector<std::string>& texts) {
  if (texts.empty()) return Error{"--merge needs at least one partial report"};
  Json header;
  Json baseline;
  std::uint64_t count = 0;
  std::uint64_t total = 0;
  std::set<std::uint64_t> shards;
  std::vector<Json> variants;
  std::set<std::uint64_t> seen;
  for (std::size_t p = 0; p < texts.size(); ++p) {
    const std::string& name = names[p];
    Json doc;
    try {
      doc = Json::parse(texts[p]);
    } catch (const std::exception&) {
      return Error{name + ": error: not a JSON document (truncated or not a sweep partial)"};
    }
    try {
      if (!doc.is_object() || !doc.contains("partial") || !doc.contains("digest")) {
        return Error{name + ": error: not a partial sweep report (no \"partial\" or \"digest\")"};
      }
      const std::string claimed = doc["digest"].get<std::string>();
      doc.erase("digest");
      if (digest(doc.dump()) != claimed) {
        return Error{name + ": error: digest mismatch: the partial report was edited or damaged"};
      }
      if (const std::string wrong = partial_shape_error(doc); !wrong.empty()) {
        return Error{name + ": error: malformed partial sweep report: " + wrong};
      }
      Json part_header = Json{{"scenario", doc.at("scenario")},
                              {"seed", doc.at("seed")},
                              {"fail", doc.at("fail")},
                              {"at_ns", doc.at("at_ns")},
                              {"for_ns", doc.at("for_ns")}};
      const std::uint64_t of = doc["partial"].at("of").get<std::uint64_t>();
      const std::uint64_t shard = doc["partial"].at("shard").get<std::uint64_t>();
      const std::uint64_t n = doc["partial"].at("variants_total").get<std::uint64_t>();
      if (p == 0) {
        header = part_header;
        baseline = doc.at("baseline");
        count = of;
        total = n;
      } else {
        if (part_header != header) {
          return Error{name +
                       ": error: from another sweep (scenario, seed, --fail, --at or --for "
                       "differ from " +
                       names[0] + ")"};
        }
        if (doc.at("baseline") != baseline) {
          return Error{name + ": error: its baseline differs from " + names[0] +
                       "'s (another version of the scenario?)"};
        }
        if (of != count || n != total) {
          return Error{name + ": error: shard count or variant count differs from " + names[0]};
        }
      }
      if (shard < 1 || shard > of || !shards.insert(shard).second) {
        return Error{name + ": error: shard " + std::to_string(shard) + "/" + std::to_string(of) +
                     " is out of range or given twice"};
      }
      // Variants shard-1, shard-1+of, ... below n; counted, not looped (n comes from outside).
      const std::uint64_t expected = shard - 1 < n ? (n - shard) / of + 1 : 0;
      std::uint64_t got = 0;
      for (Json v : doc.at("variants")) {
        const std::uint64_t index = v.at("index").get<std::uint64_t>();
        if (index >= n || index % of != shard - 1 || !seen.insert(index).second) {
          return Error{name + ": error: variant " + std::to_string(index) +
                       " does not belong to this shard"};
        }
        v.erase("index");
        variants.push_back(std::move(v));
        ++got;
      }
      if (got != expected) {
        return Error{name + ": error: " + std::to_string(got) + " variants, expected " +
                     std::to_string(expected)};
      }
    } catch (const nlohmann::json::exception& e) {
      return Error{name + ": error: malformed partial sweep report (" + e.what() + ")"};
    }
  }
  if (shards.size() != count) {
    return Error{"error: " + std::to_string(shards.size()) + " of " + std::to_string(count) +
                 " shards given: every shard is needed"};
  }
  return assemble(header, baseline, std::move(variants));
}

bool sweep_regressed(const nlohmann::ordered_json& report) {
  std::set<std::string> baseline_failed;
  for (const auto& n : report["baseline"]["expectations_failed"])
    baseline_failed.insert(n.get<std::string>());
  for (const auto& v : report["variants"]) {
    for (const auto& n : v["expectations_failed"]) {
      if (!baseline_failed.count(n.get<std::string>())) return true;
    }
  }
  return false;
}

namespace {

// A time as people read it ("3.33s"), with the exact value a flag takes when they differ.
std::string readable_time(SimTime t) {
  const std::string human = human_duration(t);
  const std::string exact = format_duration(t);
  return human == exact ? human : human + " (" + exact + ")";
}

}  // namespace

std::string sweep_text(const nlohmann::ordered_json& report) {
  std::ostringstream out;
  out << "sweep " << report["scenario"].get<std::string>() << " (seed "
      << report["seed"].get<std::uint64_t>() << "), failures at "
      << readable_time(report["at_ns"].get<SimTime>());
  if (!report["for_ns"].is_null()) out << " for " << readable_time(report["for_ns"].get<SimTime>());
  out << "\nbaseline: delivered " << report["baseline"]["delivered_fraction"].get<double>()
      << " of traffic packets\n\n";
  std::set<std::string> baseline_failed;
  for (const auto& n : report["baseline"]["expectations_failed"])
    baseline_failed.insert(n.get<std::string>());
  std::size_t width = 7;
  for (const auto& v : report["variants"])
    width = std::max(width, v["name"].get<std::string>().size());
  out << "rank  " << std::string("variant") << std::string(width - 7, ' ')
      << "  lost      delivered  recovered   newly failed\n";
  int rank = 0;
  for (const auto& v : report["variants"]) {
    const std::string name = v["name"].get<std::string>();
    char line[160];
    const std::string recovered = v["recovered_after_ns"].is_null()
                                      ? std::string("never")
                                      : human_duration(v["recovered_after_ns"].get<SimTime>());
    std::snprintf(line, sizeof line, "%4d  %s%s  %-8llu  %9.4f  %-10s", ++rank, name.c_str(),
                  std::string(width - name.size(), ' ').c_str(),
                  static_cast<unsigned long long>(v["packets_lost"].get<std::uint64_t>()),
                  v["delivered_fraction"].get<double>(), recovered.c_str());
    out << line;
    std::string failed;
    for (const auto& n : v["expectations_failed"]) {
      if (!baseline_failed.count(n.get<std::string>())) {
        failed += (failed.empty() ? " " : ", ") + n.get<std::string>();
      }
    }
    out << failed << "\n";
  }
  out << "\n" << report["variants"].size() << " variants";
  out << (sweep_regressed(report) ? "; some fail an expectation the baseline passes\n" : "\n");
  return out.str();
}

}  // namespace hivesim::whatif
