#include "sim/importer/neutron_dump.hpp"

#include "base/excerpt.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace hivesim::neutron {

namespace {

using Json = nlohmann::json;

/// A problem in the dump; caught at read_dump's boundary and turned into its Error.
struct DumpError {
  std::string message;
};

std::string json_type(const Json& j) {
  return j.is_null() ? "null" : j.type_name();
}

/// One object of a collection, with where it is, for messages.
class Obj {
 public:
  Obj(const Json& j, std::string collection, std::size_t index)
      : j_(j), collection_(std::move(collection)), index_(index) {
    if (!j_.is_object()) fail("", "expected an object, found " + json_type(j_));
    if (auto it = j_.find("id"); it != j_.end() && it->is_string()) id_ = it->get<std::string>();
  }

  [[noreturn]] void fail(std::string_view field, const std::string& what) const {
    std::string m = collection_ + "[" + std::to_string(index_) + "]";
    if (!id_.empty()) m += " (id " + excerpt(id_) + ")";  // a hostile id is not echoed whole
    if (!field.empty()) m += ": field '" + std::string(field) + "'";
    throw DumpError{m + ": " + what};
  }

  const std::string& id() const { return id_; }
  const Json& json() const { return j_; }

  /// The field, or null when absent (Neutron's null and "absent" mean the same).
  const Json& get(std::string_view field) const {
    static const Json kNull;
    auto it = j_.find(field);
    return it == j_.end() ? kNull : *it;
  }
  bool has(std::string_view field) const { return !get(field).is_null(); }

  std::string str(std::string_view field, bool required = false) const {
    const Json& v = get(field);
    if (v.is_null()) {
      if (required) fail(field, "missing");
      return {};
    }
    if (!v.is_string()) fail(field, "expected a string, found " + json_type(v));
    return v.get<std::string>();
  }
  bool boolean(std::string_view field, bool fallback) const {
    const Json& v = get(field);
    if (v.is_null()) return fallback;
    if (!v.is_boolean()) fail(field, "expected true or false, found " + json_type(v));
    return v.get<bool>();
  }
  std::optional<std::uint32_t> number(std::string_view field, std::uint32_t max) const {
    const Json& v = get(field);
    if (v.is_null()) return std::nullopt;
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > max) {
      fail(field, "expected an integer 0-" + std::to_string(max) + ", found " + v.dump());
    }
    return static_cast<std::uint32_t>(v.get<std::int64_t>());
  }
  // A listener's or member's protocol_port: Octavia requires it, 1-65535.
  std::uint16_t l4_port() const {
    const auto port = number("protocol_port", 65535);
    if (!port) fail("protocol_port", "is required (Octavia: 1-65535)");
    if (*port == 0) fail("protocol_port", "must be 1-65535 (Octavia's range), found 0");
    return static_cast<std::uint16_t>(*port);
  }
  const Json& array(std::string_view field) const {
    static const Json kEmpty = Json::array();
    const Json& v = get(field);
    if (v.is_null()) return kEmpty;
    if (!v.is_array()) fail(field, "expected a list, found " + json_type(v));
    return v;
  }
  std::optional<Ipv4> ip(std::string_view field) const {
    const std::string text = str(field);
    if (text.empty()) return std::nullopt;
    if (text.find(':') != std::string::npos) return std::nullopt;  // IPv6
    auto ip = Ipv4::parse(text);
    if (!ip) fail(field, quote_excerpt(text) + " is not an IP address");
    return ip;
  }
  std::optional<Mac> mac(std::string_view field) const {
    const std::string text = str(field);
    if (text.empty()) return std::nullopt;
    auto mac = Mac::parse(text);
    if (!mac) fail(field, "'" + text + "' is not a MAC address");
    return mac;
  }

 private:
  const Json& j_;
  std::string collection_;
  std::size_t index_;
  std::string id_;
};

/// Ids of one collection -> index; duplicates and unknown references are errors.
class IdIndex {
 public:
  explicit IdIndex(std::string kind) : kind_(std::move(kind)) {}
  void add(const Obj& o) {
    if (o.id().empty()) o.fail("id", "missing");
    if (!index_.emplace(o.id(), index_.size()).second) {
      o.fail("id", "duplicate " + kind_ + " id '" + o.id() + "'");
    }
  }
  std::size_t resolve(const Obj& o, std::string_view field, const std::string& id,
                      bool required = true) const {
    if (id.empty()) {
      if (required) o.fail(field, "missing");
      return kNone;
    }
    auto it = index_.find(id);
    if (it == index_.end()) o.fail(field, "unknown " + kind_ + " '" + id + "'");
    return it->second;
  }

 private:
  std::string kind_;
  std::unordered_map<std::string, std::size_t> index_;
};

/// The collection `name` of the dump (absent: empty), as objects.
std::vector<Obj> collection(const Json& root, const std::string& name) {
  std::vector<Obj> out;
  auto it = root.find(name);
  if (it == root.end() || it->is_null()) return out;
  if (!it->is_array()) {
    throw DumpError{"collection '" + name + "': expected a list, found " + json_type(*it)};
  }
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i)
    out.emplace_back((*it)[i], name, i);
  return out;
}

std::string opt_id_of(const Obj& o, const Json& v, std::string_view field) {
  if (v.is_null()) return {};
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("id") && v["id"].is_string()) return v["id"].get<std::string>();
  o.fail(field, "expected an id, found " + json_type(v));
}

/// Neutron's IPAM gives a port an address of its subnet, never the subnet's network or
/// broadcast address (below /31); a dump that says otherwise contradicts itself, and the port
/// would not be a valid router or VM port in the scenario.
void check_on_subnet(const Obj& o, std::string_view field, Ipv4 ip, const SubnetIn& subnet) {
  if (!subnet.cidr) return;  // an IPv6 subnet, skipped with a warning later
  const Ipv4Prefix& net = *subnet.cidr;
  const std::string where = " of subnet " + excerpt(subnet.id) + " (" + net.str() + ")";
  if (!net.contains(ip)) o.fail(field, ip.str() + " is not an address" + where);
  if (net.len <= 30 && (ip == net.network() || ip == net.broadcast())) {
    o.fail(field, ip.str() + " is the " + (ip == net.network() ? "network" : "broadcast") +
                      " address" + where + ", which Neutron never gives a port");
  }
}

std::vector<HypervisorIn> read_hypervisors(std::string_view text) {
  std::vector<HypervisorIn> out;
  Json root = Json::parse(text, nullptr, false);
  if (root.is_discarded()) throw DumpError{"hypervisors: not valid JSON"};
  if (root.is_object() && root.contains("hypervisors")) root = root["hypervisors"];
  if (!root.is_array()) throw DumpError{"hypervisors: expected a list"};
  std::unordered_map<std::uint32_t, std::size_t> by_ip;  // two hosts cannot share a tunnel IP
  for (std::size_t i = 0; i < root.size(); ++i) {
    Obj o(root[i], "hypervisors", i);
    HypervisorIn h;
    const char* name_field =
        o.has("Hypervisor Hostname") ? "Hypervisor Hostname" : "hypervisor_hostname";
    h.name = o.str(name_field, true);
    if (h.name.empty()) o.fail(name_field, "is empty: a host needs a name");
    const char* ip_field = o.has("Host IP") ? "Host IP" : "host_ip";
    h.ip = o.ip(ip_field);
    if (h.ip) {
      const auto [it, fresh] = by_ip.emplace(h.ip->bits, i);
      if (!fresh && out[it->second].name != h.name) {
        o.fail(ip_field, h.ip->str() + " is already the address of hypervisors[" +
                             std::to_string(it->second) + "] (" + excerpt(out[it->second].name) +
                             ")");
      }
    }
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace

Result<Dump> read_dump(std::string_view json, std::string_view hypervisors_json) try {
  const Json root = Json::parse(json, nullptr, false);
  if (root.is_discarded()) return Error{"not valid JSON"};
  if (!root.is_object()) return Error{"expected a JSON object whose keys are collections"};
  Dump d;
  const auto networks = collection(root, "networks");
  const auto subnets = collection(root, "subnets");
  const auto ports = collection(root, "ports");
  const auto routers = collection(root, "routers");
  const auto fips = collection(root, "floatingips");
  const auto groups = collection(root, "security_groups");
  const auto lbs = collection(root, "loadbalancers");
  const auto listeners = collection(root, "listeners");
  const auto pools = collection(root, "pools");
  const auto monitors = collection(root, "healthmonitors");

  IdIndex net_ids("network"), subnet_ids("subnet"), port_ids("port"), router_ids("router"),
      fip_ids("floating ip"), sg_ids("security group"), lb_ids("load balancer"),
      listener_ids("listener"), pool_ids("pool"), hm_ids("health monitor");
  for (const Obj& o : networks)
    net_ids.add(o);
  for (const Obj& o : subnets)
    subnet_ids.add(o);
  for (const Obj& o : ports)
    port_ids.add(o);
  for (const Obj& o : routers)
    router_ids.add(o);
  for (const Obj& o : fips)
    fip_ids.add(o);
  for (const Obj& o : groups)
    sg_ids.add(o);
  for (const Obj& o : lbs)
    lb_ids.add(o);
  for (const Obj& o : listeners)
    listener_ids.add(o);
  for (const Obj& o : pools)
    pool_ids.add(o);
  for (const Obj& o : monitors)
    hm_ids.add(o);

  for (const Obj& o : networks) {
    NetworkIn n;
    n.id = o.id();
    n.name = o.str("name");
    n.external = o.boolean("router:external", false);
    n.admin_up = o.boolean("admin_state_up", true);
    d.networks.push_back(std::move(n));
  }
  for (std::size_t i = 0; i < subnets.size(); ++i) {
    const Obj& o = subnets[i];
    SubnetIn s;
    s.id = o.id();
    s.name = o.str("name");
    s.network = net_ids.resolve(o, "network_id", o.str("network_id"));
    s.ip_version = static_cast<int>(o.number("ip_version", 6).value_or(4));
    s.cidr_text = o.str("cidr", true);
    if (s.ip_version == 4) {
      s.cidr = Ipv4Prefix::parse(s.cidr_text);
      if (!s.cidr) o.fail("cidr", "'" + s.cidr_text + "' is not an IPv4 CIDR");
      s.gateway = o.ip("gateway_ip");
    }
    s.dhcp = o.boolean("enable_dhcp", true);
    for (const Json& v : o.array("dns_nameservers")) {
      if (!v.is_string()) o.fail("dns_nameservers", "expected strings");
      s.dns.push_back(v.get<std::string>());
    }
    for (const Json& v : o.array("host_routes")) {
      if (!v.is_object() || !v.value("destination", Json()).is_string() ||
          !v.value("nexthop", Json()).is_string()) {
        o.fail("host_routes", "expected {destination, nexthop} objects");
      }
      s.host_routes.push_back(
          {v["destination"].get<std::string>(), v["nexthop"].get<std::string>()});
    }
    d.networks[s.network].subnets.push_back(i);
    d.subnets.push_back(std::move(s));
  }
  // Neutron allocates an address of a subnet to one port only (its allocation table's key).
  std::unordered_map<std::uint64_t, std::size_t> allocated;  // subnet << 32 | address -> port
  for (const Obj& o : ports) {
    PortIn p;
    p.id = o.id();
    p.name = o.str("name");
    p.network = net_ids.resolve(o, "network_id", o.str("network_id"));
    p.mac = o.mac("mac_address");
    for (const Json& v : o.array("fixed_ips")) {
      if (!v.is_object() || !v.value("ip_address", Json()).is_string()) {
        o.fail("fixed_ips", "expected {ip_address, subnet_id} objects");
      }
      FixedIp f;
      f.text = v["ip_address"].get<std::string>();
      if (f.text.find(':') == std::string::npos) {
        f.ip = Ipv4::parse(f.text);
        if (!f.ip) o.fail("fixed_ips", "'" + f.text + "' is not an IP address");
      }
      f.subnet = subnet_ids.resolve(o, "fixed_ips",
                                    opt_id_of(o, v.value("subnet_id", Json()), "fixed_ips"), false);
      if (f.subnet != kNone && d.subnets[f.subnet].network != p.network) {
        o.fail("fixed_ips", "subnet " + excerpt(d.subnets[f.subnet].id) +
                                " is not on the port's network " +
                                excerpt(d.networks[p.network].id));
      }
      if (f.ip && f.subnet != kNone) {
        check_on_subnet(o, "fixed_ips", *f.ip, d.subnets[f.subnet]);
        const std::uint64_t key = std::uint64_t{f.subnet} << 32 | f.ip->bits;
        if (auto [it, added] = allocated.emplace(key, d.ports.size()); !added) {
          o.fail("fixed_ips", f.ip->str() + " is already the address of ports[" +
                                  std::to_string(it->second) + "] (id " +
                                  excerpt(d.ports[it->second].id) + ") on its subnet");
        }
      }
      p.fixed_ips.push_back(std::move(f));
    }
    p.device_owner = o.str("device_owner");
    p.device_id = o.str("device_id");
    p.host = o.str("binding:host_id");
    for (const Json& v : o.array("security_groups")) {
      p.security_groups.push_back(
          sg_ids.resolve(o, "security_groups", opt_id_of(o, v, "security_groups")));
    }
    p.port_security = o.boolean("port_security_enabled", true);
    p.admin_up = o.boolean("admin_state_up", true);
    for (const Json& v : o.array("allowed_address_pairs")) {
      if (!v.is_object() || !v.value("ip_address", Json()).is_string()) {
        o.fail("allowed_address_pairs", "expected {ip_address, mac_address} objects");
      }
      AddressPairIn a;
      a.ip = v["ip_address"].get<std::string>();
      if (a.ip.find(':') == std::string::npos) {
        a.prefix = Ipv4Prefix::parse(a.ip);
        if (!a.prefix) o.fail("allowed_address_pairs", "'" + a.ip + "' is not an IP or CIDR");
      }
      if (auto m = v.find("mac_address"); m != v.end() && !m->is_null()) {
        if (!m->is_string() || !Mac::parse(m->get<std::string>())) {
          o.fail("allowed_address_pairs", "bad mac_address " + m->dump());
        }
        a.mac = Mac::parse(m->get<std::string>());
      }
      p.pairs.push_back(std::move(a));
    }
    d.ports.push_back(std::move(p));
  }
  for (const Obj& o : routers) {
    RouterIn r;
    r.id = o.id();
    r.name = o.str("name");
    r.admin_up = o.boolean("admin_state_up", true);
    const Json& gw = o.get("external_gateway_info");
    if (!gw.is_null()) {
      if (!gw.is_object()) o.fail("external_gateway_info", "expected an object");
      const Json& net = gw.value("network_id", Json());
      if (!net.is_string()) o.fail("external_gateway_info", "network_id: expected a string");
      r.gateway_network = net_ids.resolve(o, "external_gateway_info", net.get<std::string>());
      const Json& snat = gw.value("enable_snat", Json(true));
      if (!snat.is_boolean()) o.fail("external_gateway_info", "enable_snat: expected true/false");
      r.enable_snat = snat.get<bool>();
    }
    for (const Json& v : o.array("routes")) {
      if (!v.is_object() || !v.value("destination", Json()).is_string() ||
          !v.value("nexthop", Json()).is_string()) {
        o.fail("routes", "expected {destination, nexthop} objects");
      }
      r.routes.push_back({v["destination"].get<std::string>(), v["nexthop"].get<std::string>()});
    }
    d.routers.push_back(std::move(r));
  }
  // One floating IP an address of its network, and one a fixed IP on each floating network
  // (Neutron's unique keys).
  std::unordered_map<std::uint64_t, std::size_t> fip_addresses;  // network << 32 | ip -> fip
  std::map<std::tuple<std::size_t, std::size_t, std::uint32_t>, std::size_t>
      fip_targets;  // (network, port, fixed) -> fip
  const auto claim = [&](auto& taken, auto key, const Obj& o, std::string_view field,
                         const std::string& what) {
    if (auto [it, added] = taken.emplace(key, d.floating_ips.size()); !added) {
      o.fail(field, what + " of floatingips[" + std::to_string(it->second) + "] (id " +
                        excerpt(d.floating_ips[it->second].id) + ")");
    }
  };
  for (const Obj& o : fips) {
    FloatingIpIn f;
    f.id = o.id();
    f.ip_text = o.str("floating_ip_address", true);
    f.ip = o.ip("floating_ip_address");
    f.network = net_ids.resolve(o, "floating_network_id", o.str("floating_network_id"));
    f.port = port_ids.resolve(o, "port_id", o.str("port_id"), false);
    f.fixed = o.ip("fixed_ip_address");
    f.router = router_ids.resolve(o, "router_id", o.str("router_id"), false);
    if (f.ip) {
      claim(fip_addresses, std::uint64_t{f.network} << 32 | f.ip->bits, o, "floating_ip_address",
            f.ip->str() + " is already the address");
    }
    if (f.port != kNone && f.fixed) {
      claim(
          fip_targets, std::tuple(f.network, f.port, f.fixed->bits), o, "fixed_ip_address",
          f.fixed->str() + " of port " + excerpt(d.ports[f.port].id) + " is already the fixed IP");
    }
    d.floating_ips.push_back(std::move(f));
  }
  for (const Obj& o : groups) {
    SecurityGroupIn g;
    g.id = o.id();
    g.name = o.str("name");
    const Json& rules = o.array("security_group_rules");
    for (std::size_t i = 0; i < rules.size(); ++i) {
      Obj r(
          rules[i],
          "security_groups[" + std::to_string(d.security_groups.size()) + "].security_group_rules",
          i);
      SgRuleIn rule;
      rule.id = r.id();
      const std::string direction = r.str("direction", true);
      if (direction != "ingress" && direction != "egress") {
        r.fail("direction", "expected ingress or egress, found '" + direction + "'");
      }
      rule.ingress = direction == "ingress";
      const std::string ethertype = r.str("ethertype");
      if (!ethertype.empty() && ethertype != "IPv4" && ethertype != "IPv6") {
        r.fail("ethertype", "expected IPv4 or IPv6, found '" + ethertype + "'");
      }
      rule.ipv4 = ethertype != "IPv6";
      const Json& proto = r.get("protocol");
      if (proto.is_number_integer()) {
        rule.protocol = std::to_string(proto.get<std::int64_t>());
      } else {
        rule.protocol = r.str("protocol");
      }
      rule.port_min = r.number("port_range_min", 65535);
      rule.port_max = r.number("port_range_max", 65535);
      // For ICMP, Neutron keeps the type and code in these fields: only port protocols order them.
      const bool has_ports = rule.protocol == "tcp" || rule.protocol == "udp" ||
                             rule.protocol == "sctp" || rule.protocol == "6" ||
                             rule.protocol == "17" || rule.protocol == "132";
      if (has_ports && rule.port_min && rule.port_max && *rule.port_min > *rule.port_max) {
        r.fail("port_range_max", std::to_string(*rule.port_max) + " is below port_range_min " +
                                     std::to_string(*rule.port_min));
      }
      rule.remote_prefix = r.str("remote_ip_prefix");
      rule.remote_group = sg_ids.resolve(r, "remote_group_id", r.str("remote_group_id"), false);
      g.rules.push_back(std::move(rule));
    }
    d.security_groups.push_back(std::move(g));
  }
  std::unordered_map<std::size_t, std::size_t> vip_ports;  // port -> load balancer
  for (const Obj& o : lbs) {
    LoadBalancerIn l;
    l.id = o.id();
    l.name = o.str("name");
    l.vip = o.ip("vip_address");
    l.vip_port = port_ids.resolve(o, "vip_port_id", o.str("vip_port_id"), false);
    if (l.vip_port != kNone) {
      // The VIP port becomes the link to the load balancer's router: a port Neutron gave to a
      // VM, a router or another load balancer would be written twice.
      const PortIn& vp = d.ports[l.vip_port];
      if (!is_load_balancer_port(vp)) {
        o.fail("vip_port_id", "port " + vp.id + " has device_owner '" + vp.device_owner +
                                  "', not a load balancer's ('Octavia')");
      }
      if (auto [it, added] = vip_ports.emplace(l.vip_port, d.load_balancers.size()); !added) {
        o.fail("vip_port_id", "port " + excerpt(vp.id) + " is already the VIP of load balancer " +
                                  excerpt(d.load_balancers[it->second].id));
      }
      // Octavia's VIP address is its VIP port's fixed IP (the port is made for it).
      const bool has_ipv4 = std::any_of(vp.fixed_ips.begin(), vp.fixed_ips.end(),
                                        [](const FixedIp& f) { return f.ip.has_value(); });
      const bool on_port = std::any_of(vp.fixed_ips.begin(), vp.fixed_ips.end(),
                                       [&](const FixedIp& f) { return f.ip == l.vip; });
      if (l.vip && has_ipv4 && !on_port) {
        o.fail("vip_address",
               l.vip->str() + " is not a fixed IP of its VIP port " + excerpt(vp.id));
      }
    }
    l.vip_subnet = subnet_ids.resolve(o, "vip_subnet_id", o.str("vip_subnet_id"), false);
    if (l.vip && l.vip_subnet != kNone)
      check_on_subnet(o, "vip_address", *l.vip, d.subnets[l.vip_subnet]);
    l.admin_up = o.boolean("admin_state_up", true);
    d.load_balancers.push_back(std::move(l));
  }
  for (const Obj& o : monitors) {
    HealthMonitorIn h;
    h.id = o.id();
    h.delay = o.number("delay", 86400).value_or(5);
    h.timeout = o.number("timeout", 86400).value_or(5);
    h.retries = o.number("max_retries", 100).value_or(3);
    // Octavia's own API rules (a probe every delay seconds, timeout <= delay, 1+ retries); the
    // scenario needs them too, so a dump that breaks them is refused here, not by `check`.
    if (h.delay == 0) o.fail("delay", "must be at least 1 second");
    if (h.timeout == 0) o.fail("timeout", "must be at least 1 second");
    if (h.timeout > h.delay) {
      o.fail("timeout", std::to_string(h.timeout) + " exceeds delay " + std::to_string(h.delay) +
                            " (Octavia requires timeout <= delay)");
    }
    if (h.retries == 0) o.fail("max_retries", "must be at least 1");
    d.health_monitors.push_back(std::move(h));
  }
  // Octavia gives each member a unique id and a pool one member per address and port (a unique
  // key in its database); a dump that breaks either contradicts itself, and the second member
  // would be written twice into the pool, which `check` refuses.
  std::unordered_set<std::string> member_ids;
  for (const Obj& o : pools) {
    PoolIn p;
    p.id = o.id();
    p.name = o.str("name");
    p.protocol = o.str("protocol");
    p.algorithm = o.str("lb_algorithm");
    p.admin_up = o.boolean("admin_state_up", true);
    const Json& persistence = o.get("session_persistence");
    if (persistence.is_object() && persistence.value("type", Json()).is_string()) {
      p.persistence = persistence["type"].get<std::string>();
    } else if (!persistence.is_null() && !persistence.is_object()) {
      o.fail("session_persistence", "expected an object");
    }
    const Json& lb_list = o.array("loadbalancers");
    if (!lb_list.empty())
      p.lb = lb_ids.resolve(o, "loadbalancers", opt_id_of(o, lb_list[0], "loadbalancers"));
    p.healthmonitor = hm_ids.resolve(o, "healthmonitor_id", o.str("healthmonitor_id"), false);
    const Json& members = o.array("members");
    std::unordered_map<std::uint64_t, std::size_t> endpoints;  // address << 16 | port -> member
    for (std::size_t i = 0; i < members.size(); ++i) {
      Obj m(members[i], "pools[" + std::to_string(d.pools.size()) + "].members", i);
      MemberIn mem;
      mem.id = m.id();
      mem.ip_text = m.str("address", true);
      mem.ip = m.ip("address");
      mem.port = m.l4_port();
      mem.weight = m.number("weight", 256).value_or(1);
      mem.admin_up = m.boolean("admin_state_up", true);
      if (!mem.id.empty() && !member_ids.insert(mem.id).second)
        m.fail("id", "duplicate member id '" + excerpt(mem.id) + "'");
      if (mem.ip) {
        const std::uint64_t where = std::uint64_t{mem.ip->bits} << 16 | mem.port;
        if (auto [it, added] = endpoints.emplace(where, i); !added) {
          m.fail("address", mem.ip->str() + ":" + std::to_string(mem.port) +
                                " is already members[" + std::to_string(it->second) +
                                "] of this pool (Octavia allows one member per address and port)");
        }
      }
      p.members.push_back(std::move(mem));
    }
    d.pools.push_back(std::move(p));
  }
  // Octavia allows one listener per load balancer and port (as one member per address and port
  // above): a second one would be a second VIP at the same address and port, never reached.
  std::unordered_map<std::uint64_t, std::size_t> lb_ports;  // lb << 16 | port -> listener
  for (const Obj& o : listeners) {
    ListenerIn l;
    l.id = o.id();
    l.name = o.str("name");
    l.protocol = o.str("protocol");
    l.port = o.l4_port();
    l.admin_up = o.boolean("admin_state_up", true);
    l.default_pool = pool_ids.resolve(o, "default_pool_id", o.str("default_pool_id"), false);
    const Json& lb_list = o.array("loadbalancers");
    if (!lb_list.empty())
      l.lb = lb_ids.resolve(o, "loadbalancers", opt_id_of(o, lb_list[0], "loadbalancers"));
    if (l.lb != kNone) {
      const std::uint64_t where = std::uint64_t{l.lb} << 16 | l.port;
      if (auto [it, added] = lb_ports.emplace(where, d.listeners.size()); !added) {
        o.fail("protocol_port", std::to_string(l.port) + " is already the port of listeners[" +
                                    std::to_string(it->second) +
                                    "] on this load balancer (Octavia allows one listener a port)");
      }
    }
    d.listeners.push_back(std::move(l));
  }
  if (!hypervisors_json.empty()) d.hypervisors = read_hypervisors(hypervisors_json);
  return d;
} catch (const DumpError& e) {
  return Error{e.message};
} catch (const nlohmann::json::exception& e) {
  return Error{std::string("bad value: ") + e.what()};
}

}  // namespace hivesim::neutron
