#include "topology/load/loader_impl.hpp"

#include <algorithm>
#include <tuple>

namespace hivesim::scenario_loader {

bool is_nat(ActionKind kind) {
  return kind == ActionKind::kDnat || kind == ActionKind::kSnat || kind == ActionKind::kRevDnat ||
         kind == ActionKind::kRevSnat;
}

// ---------------------------------------------------------------------------------------------
// Security groups, port groups, chains.

void Loader::read_security_groups(const Field& list) {
  const auto items = list.items("security group");
  for (std::size_t i = 0; i < items.size(); ++i) {
    SecurityGroup& group = topo_.security_groups[i];
    MapReader m =
        items[i].map(label("security group", group.name, "security_groups", i), {"name", "rules"});
    if (!m.ok()) continue;
    if (auto name = m.require("name")) name->text();
    auto rules = m.get("rules");
    if (!rules) continue;
    const auto rule_items = rules->items("rule");
    for (std::size_t r = 0; r < rule_items.size(); ++r) {
      SecurityGroupRule rule;
      rule.loc = rule_items[r].loc();
      MapReader rm = rule_items[r].map(m.owner() + ": rule " + std::to_string(r),
                                       {"direction", "proto", "port", "remote", "remote_group"});
      if (!rm.ok()) continue;
      read_required(rm, "direction", rule.direction, &Field::choice<SgDirection>,
                    std::initializer_list<std::pair<std::string_view, SgDirection>>{
                        {"ingress", SgDirection::kIngress}, {"egress", SgDirection::kEgress}});
      const bool proto_ok = read(rm, "proto", rule.proto, &Field::protocol);
      const bool l4 = proto_ok && (*rule.proto == 6 || *rule.proto == 17);
      if (read(rm, "port", rule.port, &Field::port_range, std::uint16_t{0}) && !l4 &&
          (proto_ok || !rm.has("proto"))) {
        rm.get("port")->error("port needs proto tcp or udp");
      }
      read(rm, "remote", rule.remote, &Field::cidr, true);
      if (auto remote_group = rm.get("remote_group")) {
        if (rm.has("remote")) remote_group->error("remote and remote_group exclude each other");
        rule.remote_group = security_groups_.resolve(*remote_group);
      }
      group.rules.push_back(rule);
    }
  }
}

void Loader::read_port_groups(const Field& list) {
  const auto items = list.items("port group");
  for (std::size_t i = 0; i < items.size(); ++i) {
    PortGroup& group = topo_.port_groups[i];
    MapReader m = items[i].map(label("port group", group.name, "port_groups", i),
                               {"name", "ports", "stateful"});
    if (!m.ok()) continue;
    if (auto name = m.require("name")) name->text();
    if (auto stateful = m.get("stateful")) {
      if (auto v = stateful->boolean()) group.stateful = *v;
    }
    if (auto ports = m.get("ports")) {
      for (const Field& p : ports->items("port")) {
        auto id = ports_.resolve(p);
        if (!id) continue;
        if (std::find(group.ports.begin(), group.ports.end(), *id) != group.ports.end()) {
          p.error("port " + q(topo_.port(*id).name) + " is listed twice");
          continue;
        }
        group.ports.push_back(*id);
      }
    }
  }
}

void Loader::read_chains(const Field& list) {
  const auto items = list.items("chain");
  for (std::size_t i = 0; i < items.size(); ++i) {
    Chain& chain = topo_.chains[i];
    MapReader m = items[i].map(label("chain", chain.name, "chains", i), {"name", "rules"});
    if (!m.ok()) continue;
    if (auto name = m.require("name")) name->text();
    auto rules = m.get("rules");
    if (!rules) continue;
    const auto rule_items = rules->items("rule");
    for (std::size_t r = 0; r < rule_items.size(); ++r) {
      Rule rule;
      rule.loc = rule_items[r].loc();
      const std::string owner = m.owner() + ": rule " + std::to_string(r);
      MapReader rm = rule_items[r].map(owner, {"match", "action", "then"});
      if (rm.ok()) {
        if (auto match = rm.get("match")) rule.match = read_match(*match, owner);
        std::optional<Action> action;
        if (auto field = rm.require("action")) action = read_action(*field, owner);
        if (action) rule.action = *action;
        if (auto then = rm.get("then")) {
          auto value = then->choice<NatThen>({{"accept", NatThen::kAccept},
                                              {"continue", NatThen::kContinue},
                                              {"return", NatThen::kReturn}});
          if (action && !is_nat(action->kind)) {
            then->error("'then' only applies to NAT actions (dnat, snat, rev_dnat, rev_snat)");
          } else if (value) {
            rule.action.then = *value;
          }
        }
      }
      // Keep the slot even for a broken rule so `set` indices still line up.
      chain.rules.push_back(rule);
    }
  }
}

/// A CIDR or bare address with an optional leading '!' (negation).
std::optional<std::pair<Ipv4Prefix, bool>> negatable_cidr(const Field& field) {
  auto text = field.text();
  if (!text) return std::nullopt;
  std::string_view t = *text;
  const bool negated = !t.empty() && t.front() == '!';
  if (negated) t.remove_prefix(1);
  while (!t.empty() && t.front() == ' ')
    t.remove_prefix(1);
  auto prefix = Ipv4Prefix::parse(t);
  if (!prefix) {
    field.error(field.key() + " " + yaml_schema::quoted(*text) +
                " is not an address or CIDR (e.g. 10.0.1.0/24, !10.0.0.0/8)");
    return std::nullopt;
  }
  return std::pair(*prefix, negated);
}

Condition Loader::read_match(const Field& field, const std::string& owner) {
  Condition c;
  MapReader m = field.map(owner + ": match",
                          {"in_port", "out_port", "port_group", "src", "dst", "proto", "sport",
                           "dport", "eth_src", "eth_dst", "ethertype", "vlan", "tos", "frag",
                           "forward_flow", "return_flow", "invert", "dst_rewritten"});
  if (!m.ok()) return c;
  auto port_list = [&](std::string_view key, std::vector<PortId>& out) {
    if (auto f = m.get(key)) {
      for (const Field& p : f->one_or_many()) {
        if (auto id = ports_.resolve(p)) out.push_back(*id);
      }
    }
  };
  port_list("in_port", c.in_ports);
  port_list("out_port", c.out_ports);
  if (auto f = m.get("port_group")) {
    if (auto name = f->text()) {
      if (auto pg = port_groups_.find(*name)) {
        c.port_group = PortGroupRef{PortGroupRef::Kind::kPortGroup, pg->value};
      } else if (auto sg = security_groups_.find(*name)) {
        c.port_group = PortGroupRef{PortGroupRef::Kind::kSecurityGroup, sg->value};
      } else {
        std::vector<std::string> known = port_groups_.names();
        known.insert(known.end(), security_groups_.names().begin(), security_groups_.names().end());
        f->error("unknown port group or security group " + q(*name) +
                 yaml_schema::did_you_mean(*name, known));
      }
    }
  }
  if (auto f = m.get("src")) {
    if (auto v = negatable_cidr(*f)) std::tie(c.src, c.src_negated) = *v;
  }
  if (auto f = m.get("dst")) {
    if (auto v = negatable_cidr(*f)) std::tie(c.dst, c.dst_negated) = *v;
  }
  read(m, "proto", c.proto, &Field::protocol);
  read(m, "sport", c.sport, &Field::port_range, std::uint16_t{0});
  read(m, "dport", c.dport, &Field::port_range, std::uint16_t{0});
  read(m, "eth_src", c.eth_src, &Field::mac);
  read(m, "eth_dst", c.eth_dst, &Field::mac);
  read(m, "ethertype", c.ethertype, &Field::integer_or_hex, 0, 0xffff);
  read(m, "vlan", c.vlan, &Field::integer, 0, 4095);
  read(m, "tos", c.tos, &Field::integer, 0, 255);
  read(m, "frag", c.frag, &Field::choice<FragmentPolicy>,
       std::initializer_list<std::pair<std::string_view, FragmentPolicy>>{
           {"any", FragmentPolicy::kAny},
           {"header", FragmentPolicy::kHeader},
           {"nonheader", FragmentPolicy::kNonheader},
           {"unfragmented", FragmentPolicy::kUnfragmented}});
  std::optional<bool> forward;
  std::optional<bool> ret;
  read(m, "forward_flow", forward, &Field::boolean);
  read(m, "return_flow", ret, &Field::boolean);
  if (forward && ret && *forward == *ret) {
    m.get("return_flow")->error("forward_flow and return_flow contradict each other");
  } else if (forward) {
    c.forward_flow = *forward;
  } else if (ret) {
    c.forward_flow = !*ret;
  }
  read(m, "invert", c.invert, &Field::boolean);
  read(m, "dst_rewritten", c.dst_rewritten, &Field::boolean);
  return c;
}

std::optional<NatTarget> Loader::read_nat(const Field& field, const std::string& owner) {
  MapReader m = field.map(owner, {"to", "ports"});
  if (!m.ok()) return std::nullopt;
  NatTarget nat;
  bool ok = true;
  if (auto to = m.require("to")) {
    auto text = to->text();
    if (!text) return std::nullopt;
    const std::size_t dash = text->find('-');
    auto lo = Ipv4::parse(std::string_view(*text).substr(0, dash));
    auto hi =
        dash == std::string::npos ? lo : Ipv4::parse(std::string_view(*text).substr(dash + 1));
    if (!lo || !hi || *hi < *lo) {
      to->error("to " + yaml_schema::quoted(*text) +
                " is not an address or address range (e.g. 1.2.3.4 or 1.2.3.4-1.2.3.8)");
      ok = false;
    } else {
      nat.ip_lo = *lo;
      nat.ip_hi = *hi;
    }
  } else {
    ok = false;
  }
  PortRange ports{0, 0};
  if (m.get("ports") && !read(m, "ports", ports, &Field::port_range, std::uint16_t{1})) ok = false;
  nat.port_lo = ports.lo;
  nat.port_hi = ports.hi;
  if (!ok) return std::nullopt;
  return nat;
}

std::optional<Action> Loader::read_action(const Field& field, const std::string& owner) {
  Action action;
  if (field.is_scalar()) {
    const std::string word(field.node().scalar());
    if (word == "jump" || word == "dnat" || word == "snat") {
      field.error("action " + q(word) + " needs a target, e.g. {" + word +
                  (word == "jump" ? ": CHAIN}" : ": {to: 1.2.3.4}}"));
      return std::nullopt;
    }
    auto kind = field.choice<ActionKind>({{"accept", ActionKind::kAccept},
                                          {"drop", ActionKind::kDrop},
                                          {"reject", ActionKind::kReject},
                                          {"continue", ActionKind::kContinue},
                                          {"return", ActionKind::kReturn},
                                          {"rev_dnat", ActionKind::kRevDnat},
                                          {"rev_snat", ActionKind::kRevSnat}});
    if (!kind) return std::nullopt;
    action.kind = *kind;
    return action;
  }
  if (!field.is_map()) {
    field.error("action must be a word (accept, drop, ...) or {jump|dnat|snat: ...}");
    return std::nullopt;
  }
  MapReader m = field.map(owner + ": action", {"jump", "dnat", "snat"});
  const int given = int{m.has("jump")} + int{m.has("dnat")} + int{m.has("snat")};
  if (given > 1) m.error("an action has exactly one of jump, dnat, snat");
  // With none given, any keys present were reported as unknown.
  if (given == 0 && field.node().size() == 0) m.error("empty action");
  if (given != 1) return std::nullopt;
  if (auto jump = m.get("jump")) {
    auto target = chains_.resolve(*jump);
    if (!target) return std::nullopt;
    action.kind = ActionKind::kJump;
    action.jump = *target;
    return action;
  }
  const bool dnat = m.has("dnat");
  auto nat = read_nat(*m.get(dnat ? "dnat" : "snat"), owner + ": " + (dnat ? "dnat" : "snat"));
  if (!nat) return std::nullopt;
  action.kind = dnat ? ActionKind::kDnat : ActionKind::kSnat;
  action.nat = *nat;
  return action;
}

}  // namespace hivesim::scenario_loader
