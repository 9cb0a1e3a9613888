#pragma once
// The importer's translation step (internal to sim/importer): the checked dump's records
// mapped to scenario objects, then written as YAML (neutron_emit.cpp).

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sim/importer/neutron_dump.hpp"
#include "sim/importer/neutron_import.hpp"
#include "sim/importer/yaml_writer.hpp"

namespace hivesim::neutron::detail {

/// Names unique within one namespace: a repeat gets "-2", "-3", ...
class Names {
 public:
  std::string claim(std::string name) {
    std::string candidate = name;
    for (int n = 2; !used_.insert(candidate).second; ++n)
      candidate = name + "-" + std::to_string(n);
    return candidate;
  }

 private:
  std::unordered_set<std::string> used_;
};

/// A Neutron name as a scenario name: characters other than letters, digits, '.', '_' and '-'
/// become '-' (names appear in packet-spec lines and batch files, split at blanks).
inline std::string sanitize(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '.' && c != '_' && c != '-') c = '-';
  }
  return out;
}

/// KIND-<8 of id>: a name for an object whose Neutron name cannot be used. Sanitized like a
/// name, so an id that is not a UUID (cut inside a UTF-8 character, or holding quotes) still
/// gives a plain ASCII name (fuzz_neutron: "aa0s_tt\xe7..." gave a scenario that was not UTF-8).
inline std::string id_name(std::string_view kind, std::string_view id) {
  return std::string(kind) + "-" + sanitize(id.substr(0, 8));
}

/// SPEC 8: the Neutron name when non-empty and unique among its kind, else KIND-<8 of id>.
template <class T>
inline std::vector<std::string> neutron_names(const std::vector<T>& objects, std::string_view kind,
                                              Names& names) {
  std::unordered_map<std::string, int> count;
  for (const T& o : objects) {
    if (!o.name.empty()) ++count[sanitize(o.name)];
  }
  std::vector<std::string> out;
  out.reserve(objects.size());
  for (const T& o : objects) {
    const std::string clean = sanitize(o.name);
    const bool usable = !clean.empty() && count[clean] == 1;
    out.push_back(names.claim(usable ? clean : id_name(kind, o.id)));
  }
  return out;
}

inline std::string mac_str(Mac m) {
  return "\"" + m.str() + "\"";
}

inline bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// One line of a block list: "  - {..}  # comment".
/// "  # " and `text` as one comment line: a control character in an id or a name (a line
/// break, a carriage return) becomes '?', so that nothing in a dump can end the comment and
/// write YAML (fuzz_neutron: an id with carriage returns broke the scenario's syntax).
inline std::string comment(std::string_view text) {
  std::string out = "  # ";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out += u < 0x20 || u == 0x7f ? '?' : c;
  }
  return out;
}

inline void item(std::string& out, int indent, const FlowMap& m, std::string_view note = {}) {
  out.append(static_cast<std::size_t>(indent), ' ');
  out += "- ";
  out += m.str();
  if (!note.empty()) out += comment(note);
  out += "\n";
}

struct RouterPortOut {
  std::string name;
  Ipv4 ip;
  std::uint8_t len = 24;
  Mac mac;
  std::string peer;  // the bridge port
  std::string comment;
};

struct BridgePortOut {
  FlowMap map;
  std::string comment;
};

struct FipOut {
  Ipv4 floating;
  Ipv4 fixed;
  std::string router_port;  // the router port whose subnet holds the floating IP
};

struct RouterOut {
  std::string name, comment;
  bool admin_up = true;
  std::vector<RouterPortOut> ports;
  std::vector<FlowMap> routes;
  std::optional<std::size_t> gateway;  // index in ports
  bool snat = false;
  std::vector<FipOut> fips;
  std::vector<std::size_t> interfaces;  // indices in ports of the tenant interfaces
  std::optional<Ipv4> lb_vip;           // an Octavia load balancer's own router
};

struct BridgeOut {
  std::string name, comment;
  bool admin_up = true;
  std::vector<FlowMap> subnets;
  std::vector<BridgePortOut> ports;
  std::vector<std::pair<Ipv4, Mac>> arp;
};

class Translator {
 public:
  Translator(const Dump& d, const ImportOptions& o) : d_(d), o_(o) {}

  ImportOutput run() {
    name_objects();
    place_hosts();
    build_networks();
    build_routers();
    build_ports();
    build_floating_ips();
    build_load_balancers();
    ImportOutput out;
    out.yaml = emit();
    out.warnings = std::move(warnings_);
    return out;
  }

 private:
  void warn(std::string line) { warnings_.push_back(std::move(line)); }

  void name_objects() {
    net_names_ = neutron_names(d_.networks, "net", bridge_names_);
    router_names_ = neutron_names(d_.routers, "router", router_ns_);
    port_names_ = neutron_names(d_.ports, "port", port_ns_);
    sg_names_ = neutron_names(d_.security_groups, "sg", sg_ns_);
  }

  void place_hosts() {
    // Hypervisors first: a binding names a host by its short name, the list often by its FQDN.
    std::map<std::string, Ipv4> known;
    std::set<std::string> names;
    for (const HypervisorIn& h : d_.hypervisors) {
      const std::string name = sanitize(h.name);
      names.insert(name);
      if (h.ip) known.emplace(name, *h.ip);
      host_alias_.emplace(name, name);
      host_alias_.emplace(name.substr(0, name.find('.')), name);
    }
    auto canonical = [this](const std::string& binding) {
      const std::string name = sanitize(binding);
      if (auto it = host_alias_.find(name); it != host_alias_.end()) return it->second;
      if (auto it = host_alias_.find(name.substr(0, name.find('.'))); it != host_alias_.end()) {
        return it->second;
      }
      host_alias_.emplace(name, name);
      return name;
    };
    for (const PortIn& p : d_.ports) {
      if (!p.host.empty() && is_vm(p)) names.insert(canonical(p.host));
    }
    if (!o_.gateway_host.empty()) names.insert(canonical(o_.gateway_host));
    if (names.empty()) names.insert(canonical("gateway"));
    std::set<std::uint32_t> used;
    for (const auto& [name, ip] : known)
      used.insert(ip.bits);
    std::uint32_t next = Ipv4::parse("192.168.0.1")->bits;
    for (const std::string& name : names) {
      Ipv4 ip;
      if (auto it = known.find(name); it != known.end()) {
        ip = it->second;
      } else {
        while (used.count(next) != 0)
          ++next;
        ip = Ipv4{next};
        used.insert(next++);
      }
      hosts_.emplace_back(name, ip);
    }
    gateway_host_ = o_.gateway_host.empty() ? hosts_.front().first : canonical(o_.gateway_host);
  }

  std::optional<std::string> host_of(const std::string& binding) const {
    if (binding.empty()) return std::nullopt;
    const std::string name = sanitize(binding);
    if (auto it = host_alias_.find(name); it != host_alias_.end()) return it->second;
    if (auto it = host_alias_.find(name.substr(0, name.find('.'))); it != host_alias_.end()) {
      return it->second;
    }
    return std::nullopt;
  }

  static bool is_vm(const PortIn& p) {
    return p.device_owner.empty() || starts_with(p.device_owner, "compute:");
  }

  void build_networks() {
    bridges_.resize(d_.networks.size());
    for (std::size_t i = 0; i < d_.networks.size(); ++i) {
      const NetworkIn& n = d_.networks[i];
      BridgeOut& b = bridges_[i];
      b.name = net_names_[i];
      b.comment = std::string("neutron network ") + n.id + (n.external ? " (external)" : "");
      b.admin_up = n.admin_up;
      for (std::size_t s : n.subnets) {
        const SubnetIn& sn = d_.subnets[s];
        if (!sn.cidr) {
          warn("subnet " + sn.id + " (" + sn.cidr_text + "): IPv6 is not modelled, skipped");
          continue;
        }
        FlowMap m;
        m.add("cidr", Ipv4Prefix{sn.cidr->network(), sn.cidr->len}.str());
        if (sn.gateway) m.add("gateway", sn.gateway->str());
        m.add("dhcp", sn.dhcp);
        if (auto server = dhcp_server(s)) m.add("server", server->str());
        std::vector<std::string> dns;
        for (const std::string& text : sn.dns) {
          if (Ipv4::parse(text)) {
            dns.push_back(text);
          } else {
            warn("subnet " + sn.id + ": DNS server '" + text + "' is not IPv4, skipped");
          }
        }
        if (!dns.empty()) m.raw("dns", flow_list(dns));
        std::vector<std::string> routes;
        for (const HostRouteIn& r : sn.host_routes) {
          auto dst = Ipv4Prefix::parse(r.destination);
          auto via = Ipv4::parse(r.nexthop);
          if (!dst || !via) {
            warn("subnet " + sn.id + ": host route " + r.destination + " via " + r.nexthop +
                 " is not IPv4, skipped");
            continue;
          }
          routes.push_back(FlowMap().add("dst", dst->str()).add("via", via->str()).str());
        }
        if (!routes.empty()) m.raw("routes", flow_list(routes));
        b.subnets.push_back(std::move(m));
        subnet_ok_.insert(s);
      }
      if (n.external) build_uplink(i);
    }
  }

  /// The address of the subnet's Neutron DHCP port, which MidoNet makes the server.
  std::optional<Ipv4> dhcp_server(std::size_t subnet) const {
    for (const PortIn& p : d_.ports) {
      if (p.device_owner != "network:dhcp") continue;
      for (const FixedIp& f : p.fixed_ips) {
        if (f.subnet == subnet && f.ip) return f.ip;
      }
    }
    return std::nullopt;
  }

  void build_uplink(std::size_t net) {
    const NetworkIn& n = d_.networks[net];
    for (std::size_t s : n.subnets) {
      const SubnetIn& sn = d_.subnets[s];
      if (!sn.cidr || !sn.gateway) continue;
      const std::string name = port_ns_.claim("uplink-" + net_names_[net]);
      const Mac mac{0x02ff00000000ULL | (net & 0xffffU)};
      FlowMap m;
      m.add("name", name).add("host", gateway_host_).raw("mac", mac_str(mac));
      m.add("ip", sn.gateway->str());
      bridges_[net].ports.push_back(
          {std::move(m), "the upstream router at " + sn.gateway->str() + " (not in Neutron)"});
      return;
    }
    warn("external network " + n.id + " has no IPv4 subnet with a gateway_ip: no uplink port");
  }

  /// The IPv4 fixed IP of port `p` and its subnet, or nullopt.
  std::optional<std::pair<Ipv4, std::size_t>> first_ipv4(const PortIn& p) const {
    for (const FixedIp& f : p.fixed_ips) {
      if (f.ip) return std::pair(*f.ip, f.subnet);
    }
    return std::nullopt;
  }

  std::size_t router_of(std::size_t port_index) const {
    const PortIn& p = d_.ports[port_index];
    for (std::size_t r = 0; r < d_.routers.size(); ++r) {
      if (d_.routers[r].id == p.device_id) return r;
    }
    return kNone;
  }

  void build_routers() {
    routers_.resize(d_.routers.size());
    for (std::size_t r = 0; r < d_.routers.size(); ++r) {
      routers_[r].name = router_names_[r];
      routers_[r].comment = "neutron router " + d_.routers[r].id;
      routers_[r].admin_up = d_.routers[r].admin_up;
    }
  }

  /// Adds a router port for Neutron port `i` and its bridge-side twin.
  std::optional<std::size_t> router_port(std::size_t i, std::size_t router, bool gateway) {
    const PortIn& p = d_.ports[i];
    auto fixed = first_ipv4(p);
    if (!fixed || fixed->second == kNone || !subnet_ok_.count(fixed->second)) {
      warn("port " + p.id + " (" + p.device_owner + "): no IPv4 address in a known subnet, " +
           "skipped");
      return std::nullopt;
    }
    RouterOut& rt = routers_[router];
    RouterPortOut rp;
    rp.name = port_ns_.claim(rt.name + "-" + net_names_[p.network]);
    rp.ip = fixed->first;
    rp.len = d_.subnets[fixed->second].cidr->len;
    rp.mac = p.mac.value_or(Mac{0x02fe00000000ULL | (i & 0xffffffffU)});
    rp.peer = port_names_[i];
    rp.comment =
        std::string(gateway ? "router gateway" : "router interface") + ", neutron port " + p.id;
    FlowMap bm;
    bm.add("name", port_names_[i]).add("peer", rp.name);
    bridges_[p.network].ports.push_back({std::move(bm), "neutron port " + p.id});
    rt.ports.push_back(std::move(rp));
    return rt.ports.size() - 1;
  }

  void build_ports() {
    bool closed_needed = false;
    for (std::size_t i = 0; i < d_.ports.size(); ++i) {
      const PortIn& p = d_.ports[i];
      const std::string& owner = p.device_owner;
      if (is_vm(p)) {
        closed_needed |= vm_port(i);
      } else if (owner == "network:router_interface" || owner == "network:router_gateway") {
        const std::size_t r = router_of(i);
        if (r == kNone) {
          throw_error("ports[" + std::to_string(i) + "] (id " + p.id +
                      "): field 'device_id': unknown router '" + p.device_id + "'");
        }
        const bool gw = owner == "network:router_gateway";
        auto index = router_port(i, r, gw);
        if (!index) continue;
        if (gw) {
          routers_[r].gateway = *index;
          routers_[r].snat = d_.routers[r].enable_snat;
          default_route(r, p);
        } else {
          routers_[r].interfaces.push_back(*index);
        }
      } else if (owner == "network:dhcp" || owner == "network:floatingip") {
        continue;  // the DHCP server address (subnets); floating IPs come from floatingips
      } else if (is_load_balancer_port(p)) {
        continue;  // VIP ports come with their load balancer
      } else {
        warn("port " + p.id + ": device_owner '" + owner + "' is not modelled, skipped");
      }
    }
    for (std::size_t r = 0; r < d_.routers.size(); ++r)
      extra_routes(r);
    closed_chain_ = closed_needed;
  }

  /// A VM port; true when it needs the closed chain (port security without groups).
  bool vm_port(std::size_t i) {
    const PortIn& p = d_.ports[i];
    FlowMap m;
    m.add("name", port_names_[i]);
    if (auto host = host_of(p.host)) {
      m.add("host", *host);
    } else {
      warn("port " + p.id + " is not bound to a host (binding:host_id '" + p.host +
           "'): it has no host in the scenario");
    }
    if (p.mac) m.raw("mac", mac_str(*p.mac));
    auto fixed = first_ipv4(p);
    if (fixed) m.add("ip", fixed->first.str());
    std::size_t ipv4_count = 0;
    for (const FixedIp& f : p.fixed_ips)
      ipv4_count += f.ip ? 1 : 0;
    if (ipv4_count > 1 || ipv4_count < p.fixed_ips.size()) {
      warn("port " + p.id + ": only its first IPv4 address " +
           (fixed ? fixed->first.str() : std::string("(none)")) + " is modelled");
    }
    if (!p.admin_up) m.add("admin_up", false);
    bool closed = false;
    if (p.port_security) {
      m.add("port_security", true);
      std::vector<std::string> pairs;
      for (const AddressPairIn& a : p.pairs) {
        if (!a.prefix) {
          warn("port " + p.id + ": allowed address pair " + a.ip + " is not IPv4, skipped");
          continue;
        }
        FlowMap pm;
        pm.add("ip", a.prefix->str());
        if (a.mac && a.mac != p.mac) pm.raw("mac", mac_str(*a.mac));
        pairs.push_back(pm.str());
      }
      if (!pairs.empty()) m.raw("allowed_address_pairs", flow_list(pairs));
      if (p.security_groups.empty()) {
        m.add("inbound_chain", kClosed).add("outbound_chain", kClosed);
        closed = true;
      } else {
        std::vector<std::string> groups;
        for (std::size_t g : p.security_groups)
          groups.push_back(scalar(sg_names_[g]));
        m.raw("security_groups", flow_list(groups));
      }
    } else if (!p.security_groups.empty()) {
      warn("port " + p.id + " has port security disabled: its security groups do not apply");
    }
    bridges_[p.network].ports.push_back({std::move(m), "neutron port " + p.id});
    return closed;
  }

  void default_route(std::size_t r, const PortIn& gw_port) {
    RouterOut& rt = routers_[r];
    const RouterPortOut& gp = rt.ports[*rt.gateway];
    auto fixed = first_ipv4(gw_port);
    const SubnetIn& sn = d_.subnets[fixed->second];
    if (!sn.gateway) {
      warn("router " + d_.routers[r].id + ": external subnet " + sn.id +
           " has no gateway_ip, no default route");
      return;
    }
    rt.routes.push_back(
        FlowMap().add("dst", "0.0.0.0/0").add("via", sn.gateway->str()).add("port", gp.name));
  }

  void extra_routes(std::size_t r) {
    RouterOut& rt = routers_[r];
    for (const RouteIn& route : d_.routers[r].routes) {
      auto dst = Ipv4Prefix::parse(route.destination);
      auto via = Ipv4::parse(route.nexthop);
      const RouterPortOut* out = nullptr;
      for (const RouterPortOut& p : rt.ports) {
        if (via && Ipv4Prefix{p.ip, p.len}.contains(*via) && p.ip != *via) out = &p;
      }
      if (!dst || !via || out == nullptr) {
        warn("router " + d_.routers[r].id + ": extra route " + route.destination + " via " +
             route.nexthop + " has no IPv4 port subnet holding its next hop, skipped");
        continue;
      }
      if (dst->addr != dst->network()) {
        // MidoNet matches a route's destination under its mask, so the cloud routes the
        // network; the scenario says so (`check` refuses host bits in a route as ambiguous).
        const Ipv4Prefix net{dst->network(), dst->len};
        warn("router " + d_.routers[r].id + ": extra route " + route.destination +
             " has host bits set, imported as " + net.str() + " (the prefix MidoNet matches)");
        dst = net;
      }
      rt.routes.push_back(
          FlowMap().add("dst", dst->str()).add("via", via->str()).add("port", out->name));
    }
  }

  void build_floating_ips() {
    for (const FloatingIpIn& f : d_.floating_ips) {
      if (f.port == kNone) continue;  // not associated: nothing in the data path
      if (!f.ip || !f.fixed || f.router == kNone) {
        warn("floating ip " + f.id + " (" + f.ip_text +
             "): not IPv4 or without fixed IP/router, skipped");
        continue;
      }
      RouterOut& rt = routers_[f.router];
      // The router port whose subnet holds the floating IP: the gateway first.
      const RouterPortOut* owner = nullptr;
      if (rt.gateway &&
          Ipv4Prefix{rt.ports[*rt.gateway].ip, rt.ports[*rt.gateway].len}.contains(*f.ip)) {
        owner = &rt.ports[*rt.gateway];
      }
      for (const RouterPortOut& p : rt.ports) {
        if (owner == nullptr && Ipv4Prefix{p.ip, p.len}.contains(*f.ip)) owner = &p;
      }
      if (owner == nullptr) {
        warn("floating ip " + f.id + " (" + f.ip_text + "): no port of router " + rt.name +
             " is on its subnet, skipped");
        continue;
      }
      rt.fips.push_back(FipOut{*f.ip, *f.fixed, owner->name});
      // The external bridge answers ARP for the floating IP with the router port's MAC.
      bridges_[f.network].arp.emplace_back(*f.ip, owner->mac);
    }
  }

  void build_load_balancers();
  std::string emit();
  void emit_router_chains(std::string& out, const RouterOut& rt) const;

  [[noreturn]] static void throw_error(std::string message) {
    throw ImportError{std::move(message)};
  }

 public:
  struct ImportError {
    std::string message;
  };

 private:
  static constexpr std::string_view kClosed = "os-port-closed";

  struct LbOut {
    std::string name, router, comment;
    std::string vips, pools;  // rendered lines
  };

  const Dump& d_;
  const ImportOptions& o_;
  Names bridge_names_, router_ns_, port_ns_, sg_ns_, pool_ns_, vip_ns_;
  std::vector<std::string> net_names_, router_names_, port_names_, sg_names_;
  std::vector<std::pair<std::string, Ipv4>> hosts_;
  std::unordered_map<std::string, std::string> host_alias_;
  std::string gateway_host_;
  std::set<std::size_t> subnet_ok_;
  std::vector<BridgeOut> bridges_;
  std::vector<RouterOut> routers_;
  std::vector<LbOut> lbs_;
  std::vector<std::string> lb_chains_;
  bool closed_chain_ = false;
  std::vector<std::string> warnings_;
};

}  // namespace hivesim::neutron::detail
