#include "topology/load/loader_impl.hpp"

#include <algorithm>
#include <array>
#include <filesystem>

namespace hivesim::scenario_loader {

using yaml_schema::peek_name;

// ---------------------------------------------------------------------------------------------
// What a run does.

std::optional<PortId> Loader::read_exterior_port(const Field& field) {
  auto port = ports_.resolve(field);
  if (port && !topo_.port(*port).exterior()) {
    field.error("port " + q(topo_.port(*port).name) +
                " is not bound to a host; packets enter the overlay at exterior ports");
    return std::nullopt;
  }
  return port;
}

void Loader::read_traffic(const Field& list) {
  const auto items = list.items("traffic");
  for (std::size_t i = 0; i < items.size(); ++i)
    read_traffic_item(i, items[i]);
}

void Loader::read_traffic_item(std::size_t i, const Field& item) {
  static const std::vector<std::string_view> kSyntheticOnly{
      "from", "packet", "flows", "packets_per_flow", "rate", "start", "reply", "reply_from"};
  static const std::vector<std::string_view> kPcapOnly{"port", "speed"};
  {
    Traffic& t = s_.traffic[i];
    MapReader m = item.map(label("traffic", t.name, "traffic", i),
                           {"name", "from", "packet", "flows", "packets_per_flow", "rate", "start",
                            "reply", "reply_from", "pcap", "port", "speed"});
    if (!m.ok()) return;
    if (auto name = m.require("name")) name->text();
    const bool pcap = m.has("pcap");
    for (std::string_view key : pcap ? kSyntheticOnly : kPcapOnly) {
      if (auto f = m.get(key)) {
        f->error(q(key) + " does not apply to " +
                 (pcap ? "pcap traffic" : "synthetic traffic (it needs 'pcap')"));
      }
    }
    if (pcap) {
      PcapTraffic p;
      if (auto path = m.get("pcap")->text()) {
        std::filesystem::path resolved(*path);
        if (resolved.is_relative()) resolved = std::filesystem::path(s_.dir) / resolved;
        p.path = resolved.lexically_normal().string();
        std::error_code ec;
        if (!std::filesystem::is_regular_file(resolved, ec)) {
          m.get("pcap")->error("pcap file " + q(p.path) + " does not exist");
        }
      }
      if (auto port = m.require("port")) {
        if (auto id = read_exterior_port(*port)) p.port = *id;
      }
      if (read(m, "speed", p.speed, &Field::number, 0.0, 1e6) && !(p.speed > 0)) {
        m.get("speed")->error("speed must be more than 0");
      }
      t.source = p;
      return;
    }
    SyntheticTraffic syn;
    if (auto from = m.require("from")) {
      if (auto id = read_exterior_port(*from)) syn.from = *id;
    }
    if (auto packet = m.require("packet")) {
      if (auto text = packet->text()) syn.packet = *text;
      syn.packet_loc = packet->loc();
    }
    read(m, "flows", syn.flows, &Field::integer, 1, 1'000'000'000);
    read(m, "packets_per_flow", syn.packets_per_flow, &Field::integer, 1, 1'000'000'000);
    read(m, "rate", syn.rate, &Field::rate);
    read(m, "start", syn.start, &Field::duration, false);
    read(m, "reply", syn.reply, &Field::boolean);
    if (auto from = m.get("reply_from")) {
      for (const Field& p : from->items("port")) {
        if (auto id = read_exterior_port(p)) syn.reply_from.push_back(*id);
      }
      if (!syn.reply) from->error("'reply_from' needs 'reply: true'");
    }
    t.source = syn;
  }
}

bool Loader::read_failure_kind(Failure& f, const Field& field) {
  const std::string& key = field.key();
  auto host_kind = [&](FailureKind kind) {
    f.kind = kind;
    auto host = hosts_.resolve(field);
    if (!host) return false;
    f.host = *host;
    f.label = key + " " + topo_.host(*host).name;
    return true;
  };
  if (key == "host_down") return host_kind(FailureKind::kHostDown);
  if (key == "host_up") return host_kind(FailureKind::kHostUp);
  if (key == "agent_restart") return host_kind(FailureKind::kAgentRestart);

  if (key == "nsdb_down" || key == "nsdb_up") {
    f.kind = key == "nsdb_down" ? FailureKind::kNsdbDown : FailureKind::kNsdbUp;
    auto replica = field.integer(0, kMaxU32);
    if (!replica) return false;
    if (*replica >= s_.nsdb.replicas) {
      field.error("nsdb replica " + std::to_string(*replica) + " does not exist (replicas are 0-" +
                  std::to_string(s_.nsdb.replicas - 1) + ")");
      return false;
    }
    f.replica = static_cast<std::uint32_t>(*replica);
    f.label = key + " " + std::to_string(f.replica);
    return true;
  }

  if (key == "link_down" || key == "link_up") {
    f.kind = key == "link_down" ? FailureKind::kLinkDown : FailureKind::kLinkUp;
    if (!field.is_sequence() || field.node().size() != 2) {
      field.error(key + " must be a list of two hosts, e.g. [hv1, hv2]");
      return false;
    }
    const auto ends = field.items("host");
    auto a = hosts_.resolve(ends[0]);
    auto b = hosts_.resolve(ends[1]);
    if (!a || !b) return false;
    if (*a == *b) {
      field.error(key + " needs two different hosts");
      return false;
    }
    f.host = *a;
    f.peer_host = *b;
    f.label = key + " " + topo_.host(*a).name + " " + topo_.host(*b).name;
    return true;
  }

  if (key == "member_down" || key == "member_up") {
    f.kind = key == "member_down" ? FailureKind::kMemberDown : FailureKind::kMemberUp;
    MapReader m = field.map(field.owner() + ": " + key, {"pool", "ip", "port"});
    if (!m.ok()) return false;
    std::optional<PoolId> pool;
    if (auto p = m.require("pool")) pool = pools_.resolve(*p);
    const bool ip_ok = read_required(m, "ip", f.member_ip, &Field::ip);
    const bool port_ok =
        !m.has("port") || read(m, "port", f.member_port, &Field::integer, 1, 65535);
    if (!pool || !ip_ok || !port_ok) return false;
    f.pool = *pool;
    const auto& members = topo_.pools[pool->value].members;
    const bool exists = std::any_of(members.begin(), members.end(), [&](const PoolMember& mem) {
      return mem.ip == f.member_ip && (!f.member_port || mem.port == *f.member_port);
    });
    std::string member = f.member_ip.str();
    if (f.member_port) member += ":" + std::to_string(*f.member_port);
    if (!exists) {
      m.error("pool " + q(topo_.pools[pool->value].name) + " has no member " + member);
      return false;
    }
    f.label = key + " " + topo_.pools[pool->value].name + " " + member;
    return true;
  }

  if (key == "port_down" || key == "port_up") {
    f.kind = key == "port_down" ? FailureKind::kPortDown : FailureKind::kPortUp;
    auto port = ports_.resolve(field);
    if (!port) return false;
    f.port = *port;
    f.label = key + " " + topo_.port(*port).name;
    return true;
  }

  // set
  f.kind = FailureKind::kSet;
  MapReader m = field.map(field.owner() + ": set", {"chain", "rule", "action"});
  if (!m.ok()) return false;
  std::optional<ChainId> chain;
  if (auto c = m.require("chain")) chain = chains_.resolve(*c);
  std::optional<std::uint64_t> rule;
  if (auto r = m.require("rule")) rule = r->integer(0, kMaxU32);
  std::optional<Action> action;
  if (auto a = m.require("action")) action = read_action(*a, m.owner());
  if (!chain || !rule || !action) return false;
  const Chain& target = topo_.chain(*chain);
  if (*rule >= target.rules.size()) {
    m.get("rule")->error("chain " + q(target.name) + " has no rule " + std::to_string(*rule) +
                         " (it has " + std::to_string(target.rules.size()) + ")");
    return false;
  }
  f.change = RuleChange{*chain, static_cast<std::uint32_t>(*rule), *action};
  f.label = "set " + target.name + "[" + std::to_string(*rule) + "] " + describe(topo_, *action);
  return true;
}

void Loader::read_failures(const Field& list) {
  static constexpr std::array<std::string_view, 12> kKinds{
      "host_down", "host_up",     "agent_restart", "nsdb_down", "nsdb_up", "link_down",
      "link_up",   "member_down", "member_up",     "port_down", "port_up", "set"};
  const auto items = list.items("failure");
  for (std::size_t i = 0; i < items.size(); ++i) {
    Failure f;
    f.loc = items[i].loc();
    MapReader m = items[i].map(
        "failures[" + std::to_string(i) + "]",
        {"at", "host_down", "host_up", "agent_restart", "nsdb_down", "nsdb_up", "link_down",
         "link_up", "member_down", "member_up", "port_down", "port_up", "set"});
    if (!m.ok()) continue;
    read_required(m, "at", f.at, &Field::duration, false);
    std::vector<Field> kinds;
    for (std::string_view k : kKinds) {
      if (auto field = m.get(k)) kinds.push_back(*field);
    }
    if (kinds.size() != 1) {
      m.error(kinds.empty() ? "a failure needs one of host_down, host_up, agent_restart, "
                              "nsdb_down, nsdb_up, link_down, link_up, member_down, member_up, "
                              "port_down, port_up, set"
                            : "a failure has exactly one event; found " + kinds[0].key() + " and " +
                                  kinds[1].key());
      continue;
    }
    if (read_failure_kind(f, kinds[0])) s_.failures.push_back(f);
  }
}

namespace {

std::optional<Verdict> read_verdict(const Field& field) {
  auto word = field.text();
  if (!word) return std::nullopt;
  auto verdict = parse_verdict(*word);
  if (!verdict) {
    field.error(field.key() + " " + q(*word) + " is not one of delivered, dropped, consumed" +
                yaml_schema::did_you_mean(*word, {"delivered", "dropped", "consumed"}));
  }
  return verdict;
}

std::optional<DropReason> read_drop_reason(const Field& field) {
  auto word = field.text();
  if (!word) return std::nullopt;
  auto reason = parse_drop_reason(*word);
  if (!reason) {
    std::vector<std::string> names;
    for (int k = 0; k <= static_cast<int>(DropReason::kUnsupported); ++k) {
      names.emplace_back(to_string(static_cast<DropReason>(k)));
    }
    field.error(field.key() + " " + q(*word) + " is not a drop reason" +
                yaml_schema::did_you_mean(*word, names));
  }
  return reason;
}

/// The scalar under `key` as written ("0.15" stays "0.15"), for derived names.
std::string text_of(const MapReader& m, std::string_view key, std::string fallback = {}) {
  auto field = m.get(key);
  return field && field->is_scalar() ? std::string(field->node().scalar()) : fallback;
}

}  // namespace

ExpectTrace Loader::read_expect_trace(const MapReader& m, std::string& name) {
  ExpectTrace t;
  if (auto from = m.require("from")) {
    if (auto id = read_exterior_port(*from)) t.from = *id;
  }
  if (auto packet = m.require("packet")) {
    if (auto text = packet->text()) t.packet = *text;
    t.packet_loc = packet->loc();
  }
  if (auto verdict = m.get("verdict")) t.verdict = read_verdict(*verdict);
  // `to` implies delivered and `reason` implies dropped when no verdict is given.
  if (auto to = m.get("to")) {
    for (const Field& p : to->one_or_many()) {
      if (auto id = ports_.resolve(p)) t.to.push_back(*id);
    }
    if (!m.has("verdict")) t.verdict = Verdict::kDelivered;
    if (t.verdict && *t.verdict != Verdict::kDelivered) {
      to->error("'to' only applies to verdict delivered");
    }
  }
  if (auto reason = m.get("reason")) {
    t.reason = read_drop_reason(*reason);
    if (!m.has("verdict")) t.verdict = Verdict::kDropped;
    if (t.verdict && *t.verdict != Verdict::kDropped) {
      reason->error("'reason' only applies to verdict dropped");
    }
  }
  name = text_of(m, "from") + ": " + text_of(m, "packet") + " -> " +
         (t.verdict ? std::string(to_string(*t.verdict)) : "any");
  for (std::size_t k = 0; k < t.to.size(); ++k) {
    name += (k == 0 ? " to " : "|") + topo_.port(t.to[k]).name;
  }
  if (t.reason) name += " (" + std::string(to_string(*t.reason)) + ")";
  return t;
}

ExpectLb Loader::read_expect_lb(const MapReader& m, std::string& name) {
  ExpectLb lb;
  if (auto vip = vips_.resolve(*m.get("lb"))) lb.vip = *vip;
  read_required(m, "max_skew", lb.max_skew, &Field::number, 0.0, 1e6);
  name = "lb " + text_of(m, "lb") + " max_skew " + text_of(m, "max_skew");
  return lb;
}

ExpectTraffic Loader::read_expect_traffic(const MapReader& m, std::string& name) {
  ExpectTraffic t;
  if (auto id = traffic_.resolve(*m.get("traffic"))) t.traffic = *id;
  read(m, "min_delivered", t.min_delivered, &Field::number, 0.0, 1.0);
  name = "traffic " + text_of(m, "traffic") + " min_delivered " + text_of(m, "min_delivered", "1");
  return t;
}

ExpectDrops Loader::read_expect_drops(const MapReader& outer, std::string& name) {
  ExpectDrops d;
  MapReader m = outer.get("drops")->map(outer.owner() + ": drops", {"max", "reason", "device"});
  read(m, "max", d.max, &Field::integer, 0, kMaxU64);
  name = "drops";
  if (auto reason = m.get("reason")) {
    d.reason = read_drop_reason(*reason);
    if (d.reason) name += " " + std::string(to_string(*d.reason));
  }
  if (auto device = m.get("device")) {
    // Drops are counted per deciding object: a device, a chain, a port, a host or an LB part.
    auto text = device->text();
    const Topology& t = topo_;
    if (text && (t.find_bridge(*text) || t.find_router(*text) || t.find_chain(*text) ||
                 t.find_port(*text) || t.find_host(*text) || t.find_load_balancer(*text) ||
                 t.find_vip(*text) || t.find_pool(*text) || t.find_security_group(*text))) {
      d.device = *text;
      name += " at " + *text;
    } else if (text) {
      device->error("unknown device " + q(*text));
    }
  }
  name += " max " + std::to_string(d.max);
  return d;
}

void Loader::read_expectations(const Field& list) {
  // The four forms, told apart by their leading keys.
  struct Form {
    std::vector<std::string_view> leads;
    std::vector<std::string_view> keys;
  };
  static const std::array<Form, 4> kForms{{
      {{"from", "packet"}, {"from", "packet", "verdict", "to", "reason"}},
      {{"lb"}, {"lb", "max_skew"}},
      {{"traffic"}, {"traffic", "min_delivered"}},
      {{"drops"}, {"drops"}},
  }};
  const auto items = list.items("expectation");
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto given_name = peek_name(items[i].node());
    MapReader m = items[i].map(
        given_name ? "expectation " + q(*given_name) : "expect[" + std::to_string(i) + "]",
        {"name", "from", "packet", "verdict", "to", "reason", "lb", "max_skew", "traffic",
         "min_delivered", "drops"});
    if (!m.ok()) continue;
    if (auto name = m.get("name")) name->text();

    std::vector<std::size_t> present;
    for (std::size_t f = 0; f < kForms.size(); ++f) {
      const auto& leads = kForms[f].leads;
      if (std::any_of(leads.begin(), leads.end(), [&](auto k) { return m.has(k); })) {
        present.push_back(f);
      }
    }
    if (present.size() != 1) {
      m.error(present.empty()
                  ? "an expectation needs one of: from/packet, lb, traffic, drops"
                  : "an expectation has exactly one of: from/packet, lb, traffic, drops");
      continue;
    }
    const std::size_t form = present[0];
    for (std::size_t other = 0; other < kForms.size(); ++other) {
      if (other == form) continue;
      for (std::string_view key : kForms[other].keys) {
        if (auto f = m.get(key)) {
          f->error(q(key) + " does not apply to a " + q(kForms[form].leads[0]) + " expectation");
        }
      }
    }
    Expectation e;
    e.loc = items[i].loc();
    std::string derived;
    switch (form) {
      case 0:
        e.what = read_expect_trace(m, derived);
        break;
      case 1:
        e.what = read_expect_lb(m, derived);
        break;
      case 2:
        e.what = read_expect_traffic(m, derived);
        break;
      default:
        e.what = read_expect_drops(m, derived);
        break;
    }
    e.name = given_name.value_or(derived);
    s_.expectations.push_back(std::move(e));
  }
}

}  // namespace hivesim::scenario_loader
