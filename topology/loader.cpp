#include "topology/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "topology/yaml_schema.hpp"

namespace hivesim {

std::string Diagnostic::str() const {
  if (line == 0) return file + ": error: " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": error: " + message;
}

namespace {

using yaml_schema::Diagnostics;
using yaml_schema::Field;
using yaml_schema::MapReader;
using yaml_schema::peek;
using yaml_schema::peek_items;
using yaml_schema::peek_name;

constexpr std::uint64_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();

/// If `key` is present in `m` and `conv` accepts it, stores the value into `out`.
template <class T, class Conv, class... A>
bool read(const MapReader& m, std::string_view key, T& out, Conv conv, A&&... args) {
  auto field = m.get(key);
  if (!field) return false;
  auto value = std::invoke(conv, *field, std::forward<A>(args)...);
  if (!value) return false;
  out = static_cast<T>(*value);
  return true;
}

/// Same, for a key that must be present.
template <class T, class Conv, class... A>
bool read_required(const MapReader& m, std::string_view key, T& out, Conv conv, A&&... args) {
  if (!m.require(key)) return false;
  return read(m, key, out, conv, std::forward<A>(args)...);
}

/// "bridge 'web'" for a named object, "bridges[2]" when the name is missing.
std::string label(std::string_view kind, const std::string& name, std::string_view section,
                  std::size_t index) {
  if (!name.empty()) return std::string(kind) + " '" + name + "'";
  return std::string(section) + "[" + std::to_string(index) + "]";
}

std::string q(std::string_view name) {
  std::string out(1, '\'');
  out += name;
  out += '\'';
  return out;
}

/// Names of one kind of object (hosts, ports, ...), for resolving references to ids.
template <class IdT>
class NameTable {
 public:
  explicit NameTable(std::string kind) : kind_(std::move(kind)) {}

  /// Declares `name` (read from `node`) as object `index`; a repeat is reported where it occurs.
  void declare(Diagnostics& diags, const YAML::Node& node, const std::string& name,
               std::uint32_t index) {
    const SourceLoc here = Diagnostics::loc_of(node);
    auto [it, inserted] = index_.try_emplace(name, Entry{IdT(index), here});
    if (!inserted) {
      diags.error(here, "duplicate " + kind_ + " name " + q(name) + " (first defined at line " +
                            std::to_string(it->second.loc.line) + ")");
      return;
    }
    names_.push_back(name);
  }

  std::optional<IdT> find(std::string_view name) const {
    auto it = index_.find(std::string(name));
    if (it == index_.end()) return std::nullopt;
    return it->second.id;
  }

  /// Resolves the name written in `field`, reporting "unknown KIND 'x'".
  std::optional<IdT> resolve(const Field& field) const {
    auto name = field.text();
    if (!name) return std::nullopt;
    auto id = find(*name);
    if (!id)
      field.error("unknown " + kind_ + " " + q(*name) + yaml_schema::did_you_mean(*name, names_));
    return id;
  }

  const std::vector<std::string>& names() const { return names_; }

 private:
  struct Entry {
    IdT id;
    SourceLoc loc;
  };
  std::string kind_;
  std::unordered_map<std::string, Entry> index_;
  std::vector<std::string> names_;
};

/// A `peer:` as written, linked up once every port has been read.
struct PeerDecl {
  PortId port;
  PortId target;
  Field field;
};

bool is_nat(ActionKind kind) {
  return kind == ActionKind::kDnat || kind == ActionKind::kSnat || kind == ActionKind::kRevDnat ||
         kind == ActionKind::kRevSnat;
}

/// The rendering of an action used in failure labels ("drop", "jump other", "dnat 1.2.3.4").
std::string describe_action(const Action& a, const Topology& topo) {
  switch (a.kind) {
    case ActionKind::kAccept:
      return "accept";
    case ActionKind::kDrop:
      return "drop";
    case ActionKind::kReject:
      return "reject";
    case ActionKind::kContinue:
      return "continue";
    case ActionKind::kReturn:
      return "return";
    case ActionKind::kRevDnat:
      return "rev_dnat";
    case ActionKind::kRevSnat:
      return "rev_snat";
    case ActionKind::kJump:
      return "jump " + topo.chains[a.jump.value].name;
    case ActionKind::kDnat:
    case ActionKind::kSnat: {
      std::string out = a.kind == ActionKind::kDnat ? "dnat " : "snat ";
      out += a.nat.ip_lo.str();
      if (a.nat.ip_hi != a.nat.ip_lo) out += "-" + a.nat.ip_hi.str();
      if (a.nat.port_lo != 0) {
        out += ":" + std::to_string(a.nat.port_lo);
        if (a.nat.port_hi != a.nat.port_lo) out += "-" + std::to_string(a.nat.port_hi);
      }
      return out;
    }
  }
  return "?";
}

/// Walks a parsed YAML document in two passes: the first declares every name (so references
/// may point forward), the second reads every object and resolves its references.
class Loader {
 public:
  Loader(const std::string& file, std::string dir) : diags_(file) {
    s_.file = file;
    s_.dir = std::move(dir);
  }

  LoadResult load(const YAML::Node& root);

 private:
  void declare(const MapReader& top);
  void read_settings(const MapReader& top);
  void read_hosts(const Field& list);
  void read_tunnel_zones(const Field& list);
  void read_security_groups(const Field& list);
  void read_port_groups(const Field& list);
  void read_chains(const Field& list);
  Condition read_match(const Field& field, const std::string& owner);
  std::optional<Action> read_action(const Field& field, const std::string& owner);
  std::optional<NatTarget> read_nat(const Field& field, const std::string& owner);
  void read_bridges(const Field& list);
  void read_routers(const Field& list);
  void read_port(PortId id, const Field& item, const std::string& device, std::size_t index);
  void read_routes(RouterId router, const Field& list);
  std::vector<ArpEntry> read_arp_table(const Field& field);
  void link_peers();
  void read_floating_ips(const Field& list);
  void read_load_balancers(const Field& list);
  void read_pool(PoolId id, const Field& item);
  void read_vip(VipId id, const Field& item);
  void read_traffic(const Field& list);
  void read_failures(const Field& list);
  bool read_failure_kind(Failure& f, const Field& field);
  void read_expectations(const Field& list);

  std::optional<ChainId> read_chain_ref(const MapReader& m, std::string_view key) {
    auto field = m.get(key);
    return field ? chains_.resolve(*field) : std::nullopt;
  }
  /// A port where traffic enters the overlay: it must be bound to a host.
  std::optional<PortId> read_exterior_port(const Field& field);

  Diagnostics diags_;
  Scenario s_;
  Topology& topo_ = s_.topology;

  NameTable<HostId> hosts_{"host"};
  NameTable<TunnelZoneId> tunnel_zones_{"tunnel zone"};
  NameTable<ChainId> chains_{"chain"};
  NameTable<SecurityGroupId> security_groups_{"security group"};
  NameTable<PortGroupId> port_groups_{"port group"};
  NameTable<BridgeId> bridges_{"bridge"};
  NameTable<RouterId> routers_{"router"};
  NameTable<PortId> ports_{"port"};
  NameTable<LoadBalancerId> load_balancers_{"load balancer"};
  NameTable<PoolId> pools_{"pool"};
  NameTable<VipId> vips_{"vip"};
  NameTable<TrafficId> traffic_{"traffic"};

  std::vector<PeerDecl> peers_;
};

// ---------------------------------------------------------------------------------------------
// Pass 1: names.

/// Sizes `objects` to the section's items and declares each item's name. Items that are not
/// maps or have no name still take their slot (pass 2 reports them), so ids stay aligned.
template <class T, class IdT>
void declare_section(Diagnostics& diags, const YAML::Node& section, std::vector<T>& objects,
                     NameTable<IdT>& table) {
  const auto items = peek_items(section);
  objects.resize(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    objects[i].loc = Diagnostics::loc_of(items[i]);
    if (auto name = peek_name(items[i])) {
      objects[i].name = *name;
      table.declare(diags, peek(items[i], "name"), *name, static_cast<std::uint32_t>(i));
    }
  }
}

void Loader::declare(const MapReader& top) {
  auto section = [&](std::string_view key) {
    auto field = top.get(key);
    return field ? field->node() : YAML::Node(YAML::NodeType::Null);
  };
  declare_section(diags_, section("hosts"), topo_.hosts, hosts_);
  declare_section(diags_, section("tunnel_zones"), topo_.tunnel_zones, tunnel_zones_);
  declare_section(diags_, section("chains"), topo_.chains, chains_);
  declare_section(diags_, section("security_groups"), topo_.security_groups, security_groups_);
  declare_section(diags_, section("port_groups"), topo_.port_groups, port_groups_);
  declare_section(diags_, section("bridges"), topo_.bridges, bridges_);
  declare_section(diags_, section("routers"), topo_.routers, routers_);
  declare_section(diags_, section("load_balancers"), topo_.load_balancers, load_balancers_);

  // Ports are named globally: bridge ports first, then router ports, in document order.
  auto declare_ports = [&](const YAML::Node& device, DeviceKind kind, std::uint32_t index,
                           std::vector<PortId>& device_ports) {
    for (const YAML::Node& item : peek_items(peek(device, "ports"))) {
      const PortId id(static_cast<std::uint32_t>(topo_.ports.size()));
      Port port;
      port.device_kind = kind;
      port.device = index;
      port.loc = Diagnostics::loc_of(item);
      if (auto name = peek_name(item)) {
        port.name = *name;
        ports_.declare(diags_, peek(item, "name"), *name, id.value);
      }
      topo_.ports.push_back(std::move(port));
      device_ports.push_back(id);
    }
  };
  const auto bridges = peek_items(section("bridges"));
  for (std::uint32_t i = 0; i < bridges.size(); ++i) {
    declare_ports(bridges[i], DeviceKind::kBridge, i, topo_.bridges[i].ports);
  }
  const auto routers = peek_items(section("routers"));
  for (std::uint32_t i = 0; i < routers.size(); ++i) {
    declare_ports(routers[i], DeviceKind::kRouter, i, topo_.routers[i].ports);
  }

  // Pools and VIPs are named globally across load balancers.
  const auto lbs = peek_items(section("load_balancers"));
  for (std::uint32_t i = 0; i < lbs.size(); ++i) {
    for (const YAML::Node& item : peek_items(peek(lbs[i], "pools"))) {
      const PoolId id(static_cast<std::uint32_t>(topo_.pools.size()));
      Pool pool;
      pool.lb = LoadBalancerId(i);
      pool.loc = Diagnostics::loc_of(item);
      if (auto name = peek_name(item)) {
        pool.name = *name;
        pools_.declare(diags_, peek(item, "name"), *name, id.value);
      }
      topo_.pools.push_back(std::move(pool));
      topo_.load_balancers[i].pools.push_back(id);
    }
    for (const YAML::Node& item : peek_items(peek(lbs[i], "vips"))) {
      const VipId id(static_cast<std::uint32_t>(topo_.vips.size()));
      Vip vip;
      vip.lb = LoadBalancerId(i);
      vip.loc = Diagnostics::loc_of(item);
      if (auto name = peek_name(item)) {
        vip.name = *name;
        vips_.declare(diags_, peek(item, "name"), *name, id.value);
      }
      topo_.vips.push_back(std::move(vip));
      topo_.load_balancers[i].vips.push_back(id);
    }
  }

  const auto traffic = peek_items(section("traffic"));
  s_.traffic.resize(traffic.size());
  for (std::uint32_t i = 0; i < traffic.size(); ++i) {
    s_.traffic[i].loc = Diagnostics::loc_of(traffic[i]);
    if (auto name = peek_name(traffic[i])) {
      s_.traffic[i].name = *name;
      traffic_.declare(diags_, peek(traffic[i], "name"), *name, i);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Pass 2: settings and the physical world.

void Loader::read_settings(const MapReader& top) {
  read(top, "name", s_.name, &Field::text);
  read(top, "seed", s_.seed, &Field::integer, 0, kMaxU64);
  read(top, "duration", s_.duration, &Field::duration, true);
  if (auto field = top.get("underlay")) {
    MapReader m = field->map("underlay", {"latency", "loss", "bandwidth"});
    read(m, "latency", s_.underlay.latency, &Field::duration, false);
    read(m, "loss", s_.underlay.loss, &Field::number, 0.0, 1.0);
    read(m, "bandwidth", s_.underlay.bandwidth_bps, &Field::bandwidth);
  }
  if (auto field = top.get("nsdb")) {
    MapReader m = field->map("nsdb", {"replicas", "latency"});
    read(m, "replicas", s_.nsdb.replicas, &Field::integer, 1, 1000);
    read(m, "latency", s_.nsdb.latency, &Field::duration, false);
  }
}

void Loader::read_hosts(const Field& list) {
  const auto items = list.items("host");
  std::map<Ipv4, std::string> by_ip;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Host& host = topo_.hosts[i];
    MapReader m = items[i].map(label("host", host.name, "hosts", i), {"name", "ip", "agent"});
    if (!m.ok()) continue;
    if (auto name = m.require("name")) name->text();
    if (read_required(m, "ip", host.ip, &Field::ip)) {
      auto [it, inserted] = by_ip.try_emplace(host.ip, host.name);
      if (!inserted) {
        m.get("ip")->error("ip " + host.ip.str() + " is already the address of host " +
                           q(it->second));
      }
    }
    if (auto agent = m.get("agent")) {
      MapReader a = agent->map(m.owner() + ": agent", {"sim_latency", "max_flows", "flow_idle"});
      read(a, "sim_latency", host.agent.sim_latency, &Field::duration, false);
      read(a, "max_flows", host.agent.max_flows, &Field::integer, 1, kMaxU32);
      read(a, "flow_idle", host.agent.flow_idle, &Field::duration, true);
    }
  }
}

void Loader::read_tunnel_zones(const Field& list) {
  const auto items = list.items("tunnel zone");
  for (std::size_t i = 0; i < items.size(); ++i) {
    TunnelZone& zone = topo_.tunnel_zones[i];
    MapReader m =
        items[i].map(label("tunnel zone", zone.name, "tunnel_zones", i), {"name", "type", "hosts"});
    if (!m.ok()) continue;
    if (auto name = m.require("name")) name->text();
    read(m, "type", zone.type, &Field::choice<TunnelType>,
         std::initializer_list<std::pair<std::string_view, TunnelType>>{
             {"vxlan", TunnelType::kVxlan}, {"gre", TunnelType::kGre}});
    if (auto hosts = m.get("hosts")) {
      for (const Field& h : hosts->items("host")) {
        auto id = hosts_.resolve(h);
        if (!id) continue;
        if (std::find(zone.hosts.begin(), zone.hosts.end(), *id) != zone.hosts.end()) {
          h.error("host " + q(topo_.host(*id).name) + " is listed twice");
          continue;
        }
        zone.hosts.push_back(*id);
      }
    }
  }
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
                                       {"direction", "proto", "port", "remote"});
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
      group.rules.push_back(rule);
    }
  }
}

void Loader::read_port_groups(const Field& list) {
  const auto items = list.items("port group");
  for (std::size_t i = 0; i < items.size(); ++i) {
    PortGroup& group = topo_.port_groups[i];
    MapReader m =
        items[i].map(label("port group", group.name, "port_groups", i), {"name", "ports"});
    if (!m.ok()) continue;
    if (auto name = m.require("name")) name->text();
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
  MapReader m =
      field.map(owner + ": match", {"in_port", "out_port", "port_group", "src", "dst", "proto",
                                    "sport", "dport", "eth_src", "eth_dst", "ethertype", "vlan",
                                    "tos", "frag", "forward_flow", "return_flow", "invert"});
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
    const std::string& word = field.node().Scalar();
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

// ---------------------------------------------------------------------------------------------
// Devices and ports.

std::vector<ArpEntry> Loader::read_arp_table(const Field& field) {
  std::vector<ArpEntry> table;
  for (const auto& [key, value] : field.entries("ip", "mac")) {
    auto ip = key.ip();
    auto mac = value.mac();
    if (ip && mac) table.push_back(ArpEntry{*ip, *mac});
  }
  return table;
}

void Loader::read_bridges(const Field& list) {
  const auto items = list.items("bridge");
  for (std::size_t i = 0; i < items.size(); ++i) {
    Bridge& bridge = topo_.bridges[i];
    MapReader m =
        items[i].map(label("bridge", bridge.name, "bridges", i),
                     {"name", "ports", "inbound_chain", "outbound_chain", "arp_table", "admin_up"});
    if (!m.ok()) continue;
    if (auto name = m.require("name")) name->text();
    bridge.inbound_chain = read_chain_ref(m, "inbound_chain");
    bridge.outbound_chain = read_chain_ref(m, "outbound_chain");
    if (auto arp = m.get("arp_table")) bridge.arp_table = read_arp_table(*arp);
    read(m, "admin_up", bridge.admin_up, &Field::boolean);
    if (auto ports = m.get("ports")) {
      const auto port_items = ports->items("port");
      for (std::size_t j = 0; j < port_items.size() && j < bridge.ports.size(); ++j) {
        read_port(bridge.ports[j], port_items[j], m.owner(), j);
      }
    }
  }
}

void Loader::read_routers(const Field& list) {
  const auto items = list.items("router");
  for (std::size_t i = 0; i < items.size(); ++i) {
    Router& router = topo_.routers[i];
    MapReader m = items[i].map(
        label("router", router.name, "routers", i),
        {"name", "ports", "routes", "inbound_chain", "outbound_chain", "arp_table", "admin_up"});
    if (!m.ok()) continue;
    if (auto name = m.require("name")) name->text();
    router.inbound_chain = read_chain_ref(m, "inbound_chain");
    router.outbound_chain = read_chain_ref(m, "outbound_chain");
    if (auto arp = m.get("arp_table")) router.arp_table = read_arp_table(*arp);
    read(m, "admin_up", router.admin_up, &Field::boolean);
    if (auto ports = m.get("ports")) {
      const auto port_items = ports->items("port");
      for (std::size_t j = 0; j < port_items.size() && j < router.ports.size(); ++j) {
        read_port(router.ports[j], port_items[j], m.owner(), j);
      }
    }
    if (auto routes = m.get("routes"))
      read_routes(RouterId(static_cast<std::uint32_t>(i)), *routes);
  }
}

void Loader::read_port(PortId id, const Field& item, const std::string& device, std::size_t index) {
  Port& port = topo_.ports[id.value];
  const std::string owner = device + ": " + label("port", port.name, "ports", index);
  MapReader m = item.map(owner, {"name", "host", "peer", "mac", "ip", "inbound_chain",
                                 "outbound_chain", "security_groups", "admin_up", "vlan"});
  if (!m.ok()) return;
  if (auto name = m.require("name")) name->text();
  if (auto host = m.get("host")) port.host = hosts_.resolve(*host);
  if (auto peer = m.get("peer")) {
    if (m.has("host")) {
      peer->error("a port is either exterior (host) or interior (peer), not both");
    } else if (auto target = ports_.resolve(*peer)) {
      peers_.push_back(PeerDecl{id, *target, *peer});
    }
  }
  read(m, "mac", port.mac, &Field::mac);
  read(m, "admin_up", port.admin_up, &Field::boolean);
  port.inbound_chain = read_chain_ref(m, "inbound_chain");
  port.outbound_chain = read_chain_ref(m, "outbound_chain");

  if (port.on_bridge()) {
    read(m, "ip", port.ip, &Field::ip);
    read(m, "vlan", port.vlan, &Field::integer, 1, 4094);
    if (auto groups = m.get("security_groups")) {
      for (const Field& g : groups->one_or_many()) {
        auto sg = security_groups_.resolve(g);
        if (!sg) continue;
        if (std::find(port.security_groups.begin(), port.security_groups.end(), *sg) !=
            port.security_groups.end()) {
          g.error("security group " + q(g.node().Scalar()) + " is listed twice");
          continue;
        }
        port.security_groups.push_back(*sg);
        topo_.security_groups[sg->value].ports.push_back(id);
      }
    }
    return;
  }

  // Router port.
  for (std::string_view bridge_only : {"security_groups", "vlan"}) {
    if (auto f = m.get(bridge_only))
      f->error(std::string(bridge_only) + " only applies to bridge ports");
  }
  if (!port.mac) {
    // Deterministic, locally administered, unique per port id.
    port.mac = Mac{0x02ee00000000ULL | (id.value & 0xffffU)};
  }
  Ipv4Prefix subnet;
  if (read_required(m, "ip", subnet, &Field::cidr, false)) {
    auto field = m.get("ip");
    if (subnet.len == 0) {
      field->error("ip " + subnet.str() + ": prefix length must be 1-32");
    } else if (subnet.len <= 30 &&
               (subnet.addr == subnet.network() || subnet.addr == subnet.broadcast())) {
      field->error("ip " + subnet.str() + " is the " +
                   (subnet.addr == subnet.network() ? "network" : "broadcast") +
                   " address of its subnet, not a port address");
    } else {
      port.ip = subnet.addr;
      port.prefix_len = subnet.len;
    }
  }
}

void Loader::read_routes(RouterId router_id, const Field& list) {
  Router& router = topo_.routers[router_id.value];
  const auto items = list.items("route");
  for (std::size_t r = 0; r < items.size(); ++r) {
    Route route;
    route.loc = items[r].loc();
    MapReader m = items[r].map(
        label("router", router.name, "routers", router_id.value) + ": route " + std::to_string(r),
        {"dst", "src", "via", "port", "type", "weight"});
    if (!m.ok()) continue;
    // A route prefix with host bits set is ambiguous (a typo for the network, or a host
    // route?), so it is an error rather than silently masked.
    auto read_prefix = [&](std::string_view key, Ipv4Prefix& out) {
      if (!read(m, key, out, &Field::cidr, true)) return !m.has(key);
      if (out.addr == out.network()) return true;
      m.get(key)->error(std::string(key) + " " + out.str() + " has host bits set (did you mean " +
                        Ipv4Prefix{out.network(), out.len}.str() + "?)");
      return false;
    };
    const bool has_dst = m.require("dst").has_value();
    bool ok = read_prefix("dst", route.dst) && has_dst;
    ok = read_prefix("src", route.src) && ok;
    read(m, "type", route.type, &Field::choice<RouteType>,
         std::initializer_list<std::pair<std::string_view, RouteType>>{
             {"port", RouteType::kPort},
             {"blackhole", RouteType::kBlackhole},
             {"reject", RouteType::kReject}});
    read(m, "via", route.via, &Field::ip);
    read(m, "weight", route.weight, &Field::integer, 0, kMaxU32);
    if (route.type == RouteType::kPort) {
      if (auto field = m.require("port")) {
        if (auto port = ports_.resolve(*field)) {
          const Port& p = topo_.port(*port);
          if (!p.on_router() || p.device != router_id.value) {
            field->error("port " + q(p.name) + " is not a port of this router (it belongs to " +
                         (p.on_bridge() ? "bridge " : "router ") + q(topo_.device_name(p)) + ")");
          } else {
            route.port = *port;
          }
        }
      }
    } else {
      const std::string type = route.type == RouteType::kBlackhole ? "blackhole" : "reject";
      for (std::string_view key : {"port", "via"}) {
        if (auto f = m.get(key)) f->error(q(key) + " does not apply to a " + type + " route");
      }
    }
    if (ok) router.routes.push_back(route);
  }
}

void Loader::link_peers() {
  // claimed[q] = the port that first named q as its peer.
  std::unordered_map<std::uint32_t, PortId> declared;  // port -> the peer it declares
  for (const PeerDecl& d : peers_)
    declared.emplace(d.port.value, d.target);
  std::unordered_map<std::uint32_t, PortId> claimed;
  for (const PeerDecl& d : peers_) {
    Port& a = topo_.ports[d.port.value];
    Port& b = topo_.ports[d.target.value];
    if (d.port == d.target) {
      d.field.error("a port cannot be its own peer");
      continue;
    }
    if (a.device_kind == b.device_kind && a.device == b.device) {
      d.field.error("peer " + q(b.name) + " is on the same " +
                    (a.on_bridge() ? "bridge" : "router") + "; a link joins two devices");
      continue;
    }
    if (b.host) {
      d.field.error("peer " + q(b.name) + " is an exterior port (bound to host " +
                    q(topo_.host(*b.host).name) + ") and cannot be linked");
      continue;
    }
    if (auto it = declared.find(d.target.value); it != declared.end() && it->second != d.port) {
      d.field.error("peer " + q(b.name) + " names " + q(topo_.port(it->second).name) +
                    " as its peer, not " + q(a.name));
      continue;
    }
    auto [it, inserted] = claimed.try_emplace(d.target.value, d.port);
    if (!inserted && it->second != d.port) {
      d.field.error("peer " + q(b.name) + " is already linked to " +
                    q(topo_.port(it->second).name));
      continue;
    }
    if (a.on_bridge() && b.on_bridge() && !a.vlan && !b.vlan) {
      d.field.error("a bridge-to-bridge link needs a vlan on one of its ports (VLAN-aware bridge)");
      continue;
    }
    a.peer = d.target;
    // b.peer = d.port;
  }
}

// ---------------------------------------------------------------------------------------------
// Floating IPs and load balancers.

void Loader::read_floating_ips(const Field& list) {
  const auto items = list.items("floating ip");
  std::map<Ipv4, SourceLoc> seen;
  for (std::size_t i = 0; i < items.size(); ++i) {
    FloatingIp fip;
    fip.loc = items[i].loc();
    const YAML::Node ip_node = peek(items[i].node(), "ip");
    const std::string owner = ip_node.IsDefined() && ip_node.IsScalar()
                                  ? "floating ip " + ip_node.Scalar()
                                  : "floating_ips[" + std::to_string(i) + "]";
    MapReader m = items[i].map(owner, {"ip", "port", "router"});
    if (!m.ok()) continue;
    bool ok = read_required(m, "ip", fip.ip, &Field::ip);
    if (ok) {
      auto [it, inserted] = seen.emplace(fip.ip, m.get("ip")->loc());
      if (!inserted) {
        m.get("ip")->error("ip " + fip.ip.str() + " is already a floating ip (line " +
                           std::to_string(it->second.line) + ")");
      }
    }
    if (auto field = m.require("port")) {
      if (auto port = ports_.resolve(*field)) {
        if (!topo_.port(*port).on_bridge()) {
          field->error("port " + q(topo_.port(*port).name) +
                       " is a router port; a floating ip maps to a VM (bridge) port");
        }
        fip.port = *port;
      }
    }
    if (auto field = m.require("router")) {
      if (auto router = routers_.resolve(*field)) fip.router = *router;
    }
    topo_.floating_ips.push_back(fip);
  }
}

void Loader::read_load_balancers(const Field& list) {
  const auto items = list.items("load balancer");
  for (std::size_t i = 0; i < items.size(); ++i) {
    LoadBalancer& lb = topo_.load_balancers[i];
    MapReader m = items[i].map(label("load balancer", lb.name, "load_balancers", i),
                               {"name", "router", "vips", "pools", "admin_up"});
    if (!m.ok()) continue;
    if (auto name = m.require("name")) name->text();
    if (auto field = m.require("router")) {
      if (auto router = routers_.resolve(*field)) lb.router = *router;
    }
    read(m, "admin_up", lb.admin_up, &Field::boolean);
    if (auto pools = m.get("pools")) {
      const auto pool_items = pools->items("pool");
      for (std::size_t j = 0; j < pool_items.size() && j < lb.pools.size(); ++j) {
        read_pool(lb.pools[j], pool_items[j]);
      }
    }
    if (auto vips = m.get("vips")) {
      const auto vip_items = vips->items("vip");
      for (std::size_t j = 0; j < vip_items.size() && j < lb.vips.size(); ++j) {
        read_vip(lb.vips[j], vip_items[j]);
      }
    }
  }
}

void Loader::read_pool(PoolId id, const Field& item) {
  Pool& pool = topo_.pools[id.value];
  MapReader m = item.map(label("pool", pool.name, "pools", id.value),
                         {"name", "members", "health_monitor", "admin_up"});
  if (!m.ok()) return;
  if (auto name = m.require("name")) name->text();
  read(m, "admin_up", pool.admin_up, &Field::boolean);
  if (auto members = m.get("members")) {
    const auto member_items = members->items("member");
    for (std::size_t k = 0; k < member_items.size(); ++k) {
      PoolMember member;
      member.loc = member_items[k].loc();
      MapReader mm = member_items[k].map(m.owner() + ": member " + std::to_string(k),
                                         {"ip", "port", "weight", "admin_up"});
      if (!mm.ok()) continue;
      const bool ok = read_required(mm, "ip", member.ip, &Field::ip) &&
                      read_required(mm, "port", member.port, &Field::integer, 1, 65535);
      read(mm, "weight", member.weight, &Field::integer, 0, kMaxU32);
      read(mm, "admin_up", member.admin_up, &Field::boolean);
      if (ok && std::any_of(pool.members.begin(), pool.members.end(), [&](const PoolMember& o) {
            return o.ip == member.ip && o.port == member.port;
          })) {
        mm.error("member " + member.ip.str() + ":" + std::to_string(member.port) +
                 " is listed twice");
      }
      pool.members.push_back(member);
    }
  }
  if (auto hm = m.get("health_monitor")) {
    HealthMonitor monitor;
    MapReader hr = hm->map(m.owner() + ": health_monitor", {"interval", "timeout", "retries"});
    read(hr, "interval", monitor.interval, &Field::duration, true);
    read(hr, "timeout", monitor.timeout, &Field::duration, true);
    read(hr, "retries", monitor.retries, &Field::integer, 1, 1000);
    if (monitor.timeout > monitor.interval) {
      hr.error("timeout (" + format_duration(monitor.timeout) + ") must not exceed interval (" +
               format_duration(monitor.interval) + ")");
    }
    pool.health_monitor = monitor;
  }
}

void Loader::read_vip(VipId id, const Field& item) {
  Vip& vip = topo_.vips[id.value];
  MapReader m = item.map(label("vip", vip.name, "vips", id.value),
                         {"name", "ip", "port", "proto", "pool", "persistence", "admin_up"});
  if (!m.ok()) return;
  if (auto name = m.require("name")) name->text();
  read_required(m, "ip", vip.ip, &Field::ip);
  read_required(m, "port", vip.port, &Field::integer, 1, 65535);
  read(m, "proto", vip.proto, &Field::choice<std::uint8_t>,
       std::initializer_list<std::pair<std::string_view, std::uint8_t>>{{"tcp", 6}, {"udp", 17}});
  read(m, "persistence", vip.persistence, &Field::choice<Persistence>,
       std::initializer_list<std::pair<std::string_view, Persistence>>{
           {"source_ip", Persistence::kSourceIp}, {"none", Persistence::kNone}});
  read(m, "admin_up", vip.admin_up, &Field::boolean);
  if (auto field = m.require("pool")) {
    if (auto pool = pools_.resolve(*field)) {
      if (topo_.pools[pool->value].lb != vip.lb) {
        field->error("pool " + q(topo_.pools[pool->value].name) +
                     " belongs to another load balancer");
      } else {
        vip.pool = *pool;
      }
    }
  }
}

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
  static const std::vector<std::string_view> kSyntheticOnly{
      "from", "packet", "flows", "packets_per_flow", "rate", "start", "reply"};
  static const std::vector<std::string_view> kPcapOnly{"port", "speed"};
  for (std::size_t i = 0; i < items.size(); ++i) {
    Traffic& t = s_.traffic[i];
    MapReader m = items[i].map(label("traffic", t.name, "traffic", i),
                               {"name", "from", "packet", "flows", "packets_per_flow", "rate",
                                "start", "reply", "pcap", "port", "speed"});
    if (!m.ok()) continue;
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
      continue;
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
  f.label =
      "set " + target.name + "[" + std::to_string(*rule) + "] " + describe_action(*action, topo_);
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

void Loader::read_expectations(const Field& list) {
  // The four forms, told apart by their leading key.
  struct Form {
    std::string_view lead;
    std::vector<std::string_view> keys;
  };
  static const std::array<Form, 4> kForms{{
      {"from", {"from", "packet", "verdict", "to", "reason"}},
      {"lb", {"lb", "max_skew"}},
      {"traffic", {"traffic", "min_delivered"}},
      {"drops", {"drops"}},
  }};
  const auto items = list.items("expectation");
  for (std::size_t i = 0; i < items.size(); ++i) {
    Expectation e;
    e.loc = items[i].loc();
    const auto given_name = peek_name(items[i].node());
    MapReader m = items[i].map(
        given_name ? "expectation " + q(*given_name) : "expect[" + std::to_string(i) + "]",
        {"name", "from", "packet", "verdict", "to", "reason", "lb", "max_skew", "traffic",
         "min_delivered", "drops"});
    if (!m.ok()) continue;
    if (auto name = m.get("name")) name->text();

    const Form* form = nullptr;
    int forms = 0;
    for (const Form& candidate : kForms) {
      const bool present = m.has(candidate.lead) || (candidate.lead == "from" && m.has("packet"));
      if (present) {
        form = &candidate;
        ++forms;
      }
    }
    if (forms != 1) {
      m.error(forms == 0 ? "an expectation needs one of: from/packet, lb, traffic, drops"
                         : "an expectation has exactly one of: from/packet, lb, traffic, drops");
      continue;
    }
    bool ok = true;
    for (const Form& other : kForms) {
      if (&other == form) continue;
      for (std::string_view key : other.keys) {
        if (auto f = m.get(key)) {
          f->error(q(key) + " does not apply to a " + q(form->lead) + " expectation");
          ok = false;
        }
      }
    }
    auto text_of = [&](std::string_view key) {
      auto f = m.get(key);
      return f && f->is_scalar() ? f->node().Scalar() : std::string();
    };
    std::string derived;

    if (form->lead == "from") {
      ExpectTrace t;
      if (auto from = m.require("from")) {
        if (auto id = read_exterior_port(*from))
          t.from = *id;
        else
          ok = false;
      }
      if (auto packet = m.require("packet")) {
        if (auto text = packet->text())
          t.packet = *text;
        else
          ok = false;
        t.packet_loc = packet->loc();
      } else {
        ok = false;
      }
      if (auto v = m.get("verdict")) {
        auto word = v->text();
        t.verdict = word ? parse_verdict(*word) : std::nullopt;
        if (word && !t.verdict) {
          v->error("verdict " + q(*word) + " is not one of delivered, dropped, consumed" +
                   yaml_schema::did_you_mean(*word, {"delivered", "dropped", "consumed"}));
        }
        if (!t.verdict) ok = false;
      }
      if (auto to = m.get("to")) {
        for (const Field& p : to->one_or_many()) {
          if (auto id = ports_.resolve(p))
            t.to.push_back(*id);
          else
            ok = false;
        }
        if (!t.verdict) t.verdict = Verdict::kDelivered;
        if (t.verdict != Verdict::kDelivered) {
          to->error("'to' only applies to verdict delivered");
          ok = false;
        }
      }
      if (auto r = m.get("reason")) {
        auto word = r->text();
        t.reason = word ? parse_drop_reason(*word) : std::nullopt;
        if (word && !t.reason) {
          std::vector<std::string> names;
          for (int k = 0; k <= static_cast<int>(DropReason::kUnsupported); ++k) {
            names.emplace_back(to_string(static_cast<DropReason>(k)));
          }
          r->error("reason " + q(*word) + " is not a drop reason" +
                   yaml_schema::did_you_mean(*word, names));
        }
        if (!t.verdict) t.verdict = Verdict::kDropped;
        if (t.verdict != Verdict::kDropped) {
          r->error("'reason' only applies to verdict dropped");
          ok = false;
        }
        if (!t.reason) ok = false;
      }
      derived = text_of("from") + ": " + text_of("packet") + " -> " +
                (t.verdict ? std::string(to_string(*t.verdict)) : "any");
      if (!t.to.empty()) {
        derived += " to";
        for (std::size_t k = 0; k < t.to.size(); ++k) {
          derived += (k ? "|" : " ") + topo_.port(t.to[k]).name;
        }
      }
      if (t.reason) derived += " (" + std::string(to_string(*t.reason)) + ")";
      e.what = t;
    } else if (form->lead == "lb") {
      ExpectLb lb;
      if (auto vip = vips_.resolve(*m.get("lb")))
        lb.vip = *vip;
      else
        ok = false;
      if (!read_required(m, "max_skew", lb.max_skew, &Field::number, 0.0, 1e6)) ok = false;
      derived = "lb " + text_of("lb") + " max_skew " + text_of("max_skew");
      e.what = lb;
    } else if (form->lead == "traffic") {
      ExpectTraffic tr;
      if (auto id = traffic_.resolve(*m.get("traffic")))
        tr.traffic = *id;
      else
        ok = false;
      if (m.has("min_delivered") &&
          !read(m, "min_delivered", tr.min_delivered, &Field::number, 0.0, 1.0)) {
        ok = false;
      }
      derived = "traffic " + text_of("traffic") + " min_delivered " +
                (m.has("min_delivered") ? text_of("min_delivered") : "1");
      e.what = tr;
    } else {
      ExpectDrops d;
      MapReader dm = m.get("drops")->map(m.owner() + ": drops", {"max", "reason", "device"});
      if (!dm.ok()) continue;
      if (dm.has("max") && !read(dm, "max", d.max, &Field::integer, 0, kMaxU64)) ok = false;
      derived = "drops";
      if (auto r = dm.get("reason")) {
        auto word = r->text();
        d.reason = word ? parse_drop_reason(*word) : std::nullopt;
        if (word && !d.reason) r->error("reason " + q(*word) + " is not a drop reason");
        if (!d.reason)
          ok = false;
        else
          derived += " " + *word;
      }
      if (auto dev = dm.get("device")) {
        auto name = dev->text();
        const bool known =
            name &&
            (topo_.find_bridge(*name) || topo_.find_router(*name) || topo_.find_chain(*name) ||
             topo_.find_port(*name) || topo_.find_host(*name) || topo_.find_load_balancer(*name) ||
             topo_.find_vip(*name) || topo_.find_pool(*name) || topo_.find_security_group(*name));
        if (name && !known) dev->error("unknown device " + q(*name));
        if (known) {
          d.device = *name;
          derived += " at " + *name;
        } else {
          ok = false;
        }
      }
      derived += " max " + std::to_string(d.max);
      e.what = d;
    }
    e.name = given_name.value_or(derived);
    if (ok) s_.expectations.push_back(std::move(e));
  }
}

// ---------------------------------------------------------------------------------------------

LoadResult Loader::load(const YAML::Node& root) {
  const std::filesystem::path stem = std::filesystem::path(s_.file).stem();
  s_.name = stem.empty() ? "scenario" : stem.string();

  if (!root.IsMap()) {
    diags_.error(root.IsDefined() && !root.IsNull() ? Diagnostics::loc_of(root) : SourceLoc{1, 1},
                 root.IsNull() || !root.IsDefined()
                     ? "the scenario is empty"
                     : "a scenario is a map of sections (name, hosts, bridges, ...)");
    return LoadResult{std::nullopt, diags_.take_sorted()};
  }
  MapReader top(diags_, root, "",
                {"name", "seed", "duration", "underlay", "nsdb", "hosts", "tunnel_zones", "chains",
                 "port_groups", "bridges", "routers", "security_groups", "floating_ips",
                 "load_balancers", "traffic", "failures", "expect"});
  declare(top);
  read_settings(top);
  // Sections in dependency order: failures need nsdb, chains' rule counts and pool members.
  const std::pair<std::string_view, void (Loader::*)(const Field&)> sections[] = {
      {"hosts", &Loader::read_hosts},
      {"tunnel_zones", &Loader::read_tunnel_zones},
      {"security_groups", &Loader::read_security_groups},
      {"port_groups", &Loader::read_port_groups},
      {"chains", &Loader::read_chains},
      {"bridges", &Loader::read_bridges},
      {"routers", &Loader::read_routers},
      {"floating_ips", &Loader::read_floating_ips},
      {"load_balancers", &Loader::read_load_balancers},
      {"traffic", &Loader::read_traffic},
      {"failures", &Loader::read_failures},
      {"expect", &Loader::read_expectations},
  };
  for (const auto& [key, reader] : sections) {
    if (key == "floating_ips") link_peers();  // every port has been read by now
    if (auto field = top.get(key)) (this->*reader)(*field);
  }
  if (!diags_.empty()) return LoadResult{std::nullopt, diags_.take_sorted()};
  return LoadResult{std::move(s_), {}};
}

}  // namespace

LoadResult load_scenario_text(std::string_view yaml, const std::string& file_name,
                              const std::string& dir) {
  try {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::ParserException& e) {
      const SourceLoc at{static_cast<std::uint32_t>(std::max(e.mark.line, 0)) + 1,
                         static_cast<std::uint32_t>(std::max(e.mark.column, 0)) + 1};
      return LoadResult{std::nullopt,
                        {Diagnostic{file_name, at.line, at.col, "YAML syntax: " + e.msg}}};
    }
    Loader loader(file_name, dir);
    return loader.load(root);
  } catch (const std::exception& e) {
    // A yaml-cpp conversion the schema walker failed to guard: a bug, but still no throw.
    return LoadResult{std::nullopt,
                      {Diagnostic{file_name, 0, 0, std::string("internal error: ") + e.what()}}};
  }
}

LoadResult load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(path, ec)) {
    return LoadResult{std::nullopt, {Diagnostic{path, 0, 0, "cannot read the scenario file"}}};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return LoadResult{std::nullopt, {Diagnostic{path, 0, 0, "cannot read the scenario file"}}};
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  return load_scenario_text(text.str(), path, dir);
}

}  // namespace hivesim
