// The importer's second half: Octavia load balancers, then the scenario written out.
#include "base/ip_proto.hpp"
#include "sim/importer/translator.hpp"

namespace hivesim::neutron::detail {

namespace {

constexpr std::string_view kSnatPorts = "1024-65535";

std::string host_ip(Ipv4 ip) {
  return Ipv4Prefix{ip, 32}.str();
}

std::string nat(std::string_view kind, Ipv4 to, bool ports) {
  FlowMap target;
  target.add("to", to.str());
  if (ports) target.add("ports", kSnatPorts);
  return FlowMap().raw(kind, target.str()).str();
}

/// A rule line: `- {match: {...}, action: ...}  # why`.
void rule(std::string& out, const FlowMap& match, std::string action, std::string_view why) {
  FlowMap r;
  if (!match.empty()) r.raw("match", match.str());
  r.raw("action", std::move(action));
  item(out, 6, r, why);
}

void chain_head(std::string& out, const std::string& name, std::string_view note) {
  out += "  - name: " + scalar(name) + comment(note) + "\n    rules:\n";
}

/// The number of a Neutron protocol name or number ("gre", "47"), or nullopt.
std::optional<int> protocol_number(const std::string& p) {
  if (auto number = ipproto::from_any_name(p)) return *number;
  if (!p.empty() && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      p.size() <= 3 && std::stoi(p) <= 255) {
    return std::stoi(p);
  }
  return std::nullopt;
}

}  // namespace

void Translator::build_load_balancers() {
  Names lb_names;
  const auto names = neutron_names(d_.load_balancers, "lb", lb_names);
  for (std::size_t i = 0; i < d_.load_balancers.size(); ++i) {
    const LoadBalancerIn& l = d_.load_balancers[i];
    if (!l.vip || l.vip_port == kNone) {
      warn("load balancer " + l.id + ": no IPv4 vip_address and vip_port_id, skipped");
      continue;
    }
    const PortIn& vp = d_.ports[l.vip_port];
    if (!vp.security_groups.empty()) {
      warn("load balancer " + l.id + ": the security groups of its VIP port " + vp.id +
           " are not applied (the port links to the load balancer's router)");
    }
    auto fixed = first_ipv4(vp);
    const std::size_t subnet =
        l.vip_subnet != kNone ? l.vip_subnet : (fixed ? fixed->second : kNone);
    if (subnet == kNone || !subnet_ok_.count(subnet)) {
      warn("load balancer " + l.id + ": its VIP subnet is not an IPv4 subnet, skipped");
      continue;
    }
    const SubnetIn& sn = d_.subnets[subnet];
    // MidoNet gives each Octavia load balancer a router of its own, on the VIP's subnet.
    RouterOut rt;
    rt.name = router_ns_.claim("lb-" + names[i]);
    rt.comment = "neutron load balancer " + l.id + " (its router, as MidoNet builds one)";
    rt.admin_up = l.admin_up;
    rt.lb_vip = *l.vip;
    RouterPortOut rp;
    rp.name = port_ns_.claim(rt.name + "-vip");
    rp.ip = *l.vip;
    rp.len = sn.cidr->len;
    rp.mac = vp.mac.value_or(Mac{0x02fd00000000ULL | (i & 0xffffffffU)});
    rp.peer = port_names_[l.vip_port];
    rp.comment = "VIP, neutron port " + vp.id;
    bridges_[vp.network].ports.push_back(
        {FlowMap().add("name", port_names_[l.vip_port]).add("peer", rp.name),
         "load balancer VIP, neutron port " + vp.id});
    if (sn.gateway) {
      rt.routes.push_back(
          FlowMap().add("dst", "0.0.0.0/0").add("via", sn.gateway->str()).add("port", rp.name));
    }
    rt.ports.push_back(std::move(rp));

    LbOut lb;
    lb.name = names[i];
    lb.router = rt.name;
    lb.comment = "neutron load balancer " + l.id;
    std::unordered_map<std::size_t, std::string> pool_names;
    std::unordered_map<std::size_t, bool> sticky;
    for (std::size_t p = 0; p < d_.pools.size(); ++p) {
      const PoolIn& pool = d_.pools[p];
      if (pool.lb != i) continue;
      const std::string name =
          pool_ns_.claim(pool.name.empty() ? id_name("pool", pool.id) : sanitize(pool.name));
      pool_names[p] = name;
      sticky[p] = pool.persistence == "SOURCE_IP";
      if (!pool.persistence.empty() && pool.persistence != "SOURCE_IP") {
        warn("pool " + pool.id + ": session persistence " + pool.persistence +
             " is not modelled (only SOURCE_IP)");
      }
      if (!pool.algorithm.empty() && pool.algorithm != "ROUND_ROBIN") {
        warn("pool " + pool.id + ": lb_algorithm " + pool.algorithm +
             " is modelled as MidoNet's weighted random choice");
      }
      lb.pools += "      - name: " + scalar(name) + comment("neutron pool " + pool.id) + "\n";
      if (!pool.admin_up) lb.pools += "        admin_up: false\n";
      lb.pools += "        members:\n";
      for (const MemberIn& m : pool.members) {
        if (!m.ip) {
          warn("pool " + pool.id + ": member " + m.ip_text + " is not IPv4, skipped");
          continue;
        }
        FlowMap mm;
        mm.add("ip", m.ip->str())
            .add("port", static_cast<long long>(m.port))
            .add("weight", static_cast<long long>(m.weight));
        if (!m.admin_up) mm.add("admin_up", false);
        item(lb.pools, 10, mm, "neutron member " + m.id);
      }
      if (pool.healthmonitor != kNone) {
        const HealthMonitorIn& h = d_.health_monitors[pool.healthmonitor];
        lb.pools += "        health_monitor: " +
                    FlowMap()
                        .add("interval", std::to_string(h.delay) + "s")
                        .add("timeout", std::to_string(h.timeout) + "s")
                        .add("retries", static_cast<long long>(h.retries))
                        .str() +
                    comment("neutron health monitor " + h.id) + "\n";
      }
    }
    for (const ListenerIn& ls : d_.listeners) {
      if (ls.lb != i) continue;
      if (ls.protocol == "UDP" || ls.protocol == "SCTP") {
        warn("listener " + ls.id + ": " + ls.protocol + " is not balanced (MidoNet: TCP only)");
        continue;
      }
      if (ls.default_pool == kNone || !pool_names.count(ls.default_pool)) {
        warn("listener " + ls.id + ": no default pool of its load balancer, skipped");
        continue;
      }
      FlowMap v;
      v.add("name",
            vip_ns_.claim(ls.name.empty() ? id_name("listener", ls.id) : sanitize(ls.name)));
      v.add("ip", l.vip->str()).add("port", static_cast<long long>(ls.port)).add("proto", "tcp");
      v.add("pool", pool_names[ls.default_pool]);
      if (sticky[ls.default_pool]) v.add("persistence", "source_ip");
      if (!ls.admin_up) v.add("admin_up", false);
      item(lb.vips, 6, v, "neutron listener " + ls.id);
    }
    routers_.push_back(std::move(rt));
    lbs_.push_back(std::move(lb));
  }
}

void Translator::emit_router_chains(std::string& out, const RouterOut& rt) const {
  const std::string pre = rt.name + "-pre", post = rt.name + "-post";
  if (rt.lb_vip) {
    const Ipv4 vip = *rt.lb_vip;
    chain_head(out, pre, "load balancer router pre-routing");
    rule(out, FlowMap().add("dst", host_ip(vip)), "rev_snat", "replies of members to the VIP");
    chain_head(out, post, "load balancer router post-routing");
    rule(out, FlowMap().add("src", "!" + host_ip(vip)), nat("snat", vip, true),
         "members see the VIP as the source");
    return;
  }
  const std::string skip = rt.name + "-skip-snat", exact = rt.name + "-float-snat-exact",
                    flt = rt.name + "-float-snat";
  std::optional<Ipv4> gw;
  std::string gw_name;
  if (rt.gateway) {
    gw = rt.ports[*rt.gateway].ip;
    gw_name = rt.ports[*rt.gateway].name;
  }
  const bool snat = gw && rt.snat;
  std::vector<std::string> fip_ports;
  if (rt.gateway) fip_ports.push_back(scalar(gw_name));
  for (const FipOut& f : rt.fips) {
    if (std::find(fip_ports.begin(), fip_ports.end(), scalar(f.router_port)) == fip_ports.end())
      fip_ports.push_back(scalar(f.router_port));
  }
  const std::string unfrag = "unfragmented";

  chain_head(out, pre, "pre-routing (the router's inbound chain)");
  for (const FipOut& f : rt.fips) {
    rule(out, FlowMap().add("dst", host_ip(f.floating)), nat("dnat", f.fixed, false),
         "floating ip " + f.floating.str());
  }
  if (snat) {
    rule(out, FlowMap().add("dst", host_ip(*gw)).add("frag", unfrag), "rev_snat",
         "replies to the gateway's SNAT");
    rule(out, FlowMap().add("dst", host_ip(*gw)).add("proto", "icmp").add("frag", unfrag), "return",
         "the gateway guard lets ICMP to the gateway by");
    rule(out, FlowMap().add("dst", host_ip(*gw)).add("frag", unfrag), "drop",
         "the gateway guard: nothing else to the gateway address");
  }
  for (std::size_t i : rt.interfaces) {
    const RouterPortOut& p = rt.ports[i];
    rule(out,
         FlowMap()
             .add("in_port", p.name)
             .add("dst", host_ip(p.ip))
             .add("return_flow", true)
             .add("frag", unfrag),
         "rev_snat", "replies of same-subnet SNAT on " + p.name);
  }
  if (rt.fips.empty() && !snat && rt.interfaces.empty()) {
    out.resize(out.size() - std::string("    rules:\n").size());
    out += "    rules: []\n";
  }

  chain_head(out, post, "post-routing (the router's outbound chain)");
  rule(out, FlowMap(), FlowMap().add("jump", skip).str(), "");
  rule(out, FlowMap(), FlowMap().add("jump", exact).str(), "");
  rule(out, FlowMap(), FlowMap().add("jump", flt).str(), "");
  if (snat) {
    rule(out, FlowMap().add("out_port", gw_name).add("src", "!" + host_ip(*gw)).add("frag", unfrag),
         nat("snat", *gw, true), "default SNAT to the gateway address");
    rule(out, FlowMap().add("dst_rewritten", true), nat("snat", *gw, true),
         "hairpin: to a floating ip of this router from behind it");
    rule(out, FlowMap().add("out_port", gw_name).add("src", "!" + host_ip(*gw)), "drop",
         "fragments SNAT left untranslated");
  }
  for (std::size_t i : rt.interfaces) {
    const RouterPortOut& p = rt.ports[i];
    rule(out,
         FlowMap()
             .add("in_port", p.name)
             .add("out_port", p.name)
             .add("dst", "!169.254.169.254/32")
             .add("forward_flow", true)
             .add("frag", unfrag),
         nat("snat", p.ip, true), "same-subnet SNAT on " + p.name);
  }

  chain_head(out, skip, "no SNAT for east-west traffic");
  if (!fip_ports.empty()) {
    rule(out, FlowMap().raw("out_port", flow_list(fip_ports)), "return",
         "leaving by the gateway or a floating ip's port: on to SNAT");
  }
  rule(out, FlowMap().add("dst_rewritten", false).add("frag", unfrag), "accept",
       "east-west: no SNAT");
  if (!fip_ports.empty()) {
    rule(out, FlowMap().raw("in_port", flow_list(fip_ports)).add("frag", unfrag), "accept",
         "from outside: no SNAT");
  }
  chain_head(out, exact, "floating ips leaving by their own port");
  for (const FipOut& f : rt.fips) {
    rule(out, FlowMap().add("out_port", f.router_port).add("src", host_ip(f.fixed)),
         nat("snat", f.floating, false), "floating ip " + f.floating.str());
  }
  if (rt.fips.empty()) {
    out.resize(out.size() - std::string("    rules:\n").size());
    out += "    rules: []\n";
  }
  chain_head(out, flt, "floating ips leaving by any port");
  // Floating IPs of the gateway port first (MidoNet prepends them).
  for (int pass = 0; pass < 2; ++pass) {
    for (const FipOut& f : rt.fips) {
      const bool on_gw = rt.gateway && f.router_port == gw_name;
      if (on_gw != (pass == 0)) continue;
      rule(out, FlowMap().add("src", host_ip(f.fixed)), nat("snat", f.floating, false),
           "floating ip " + f.floating.str());
    }
  }
  if (rt.fips.empty()) {
    out.resize(out.size() - std::string("    rules:\n").size());
    out += "    rules: []\n";
  }
}

std::string Translator::emit() {
  std::string out;
  out.reserve(256 + d_.ports.size() * 160);
  out += "# Imported from a Neutron dump by `hivesim import neutron` (MidoNet's translation).\n";
  out += "# Comments give the Neutron ids. Rules the translation makes carry frag: unfragmented\n";
  out += "# where MidoNet's translator leaves a rule unfragmented-only.\n";
  out += "name: " + scalar(o_.dump_name) + "\nseed: 1\nduration: 10s\n";
  out += "underlay: {mtu: 1500}\n";
  out += "hosts:\n";
  std::vector<std::string> host_names;
  for (const auto& [name, ip] : hosts_) {
    item(out, 2, FlowMap().add("name", name).add("ip", ip.str()));
    host_names.push_back(scalar(name));
  }
  out += "tunnel_zones:\n";
  item(out, 2,
       FlowMap().add("name", "tz").add("type", "vxlan").raw("hosts", flow_list(host_names)));

  out += "chains:\n";
  if (closed_chain_) {
    chain_head(out, std::string(kClosed),
               "a port with port security and no security group: ARP, DHCP and replies only");
    rule(out, FlowMap().add("return_flow", true).add("frag", "unfragmented"), "accept", "");
    rule(out, FlowMap().add("proto", "udp").add("sport", 68LL).add("dport", 67LL), "accept",
         "DHCP requests");
    rule(out, FlowMap().add("proto", "udp").add("sport", 67LL).add("dport", 68LL), "accept",
         "DHCP replies");
    rule(out, FlowMap().raw("ethertype", "0x0806"), "accept", "ARP");
    rule(out, FlowMap(), "drop", "");
  }
  for (const RouterOut& rt : routers_)
    emit_router_chains(out, rt);

  if (!d_.security_groups.empty()) out += "security_groups:\n";
  for (std::size_t g = 0; g < d_.security_groups.size(); ++g) {
    const SecurityGroupIn& sg = d_.security_groups[g];
    out += "  - name: " + scalar(sg_names_[g]) + comment("neutron security group " + sg.id) +
           "\n    rules:\n";
    std::size_t written = 0;
    for (const SgRuleIn& r : sg.rules) {
      const std::string where = "security group " + sg.id + " rule " + r.id;
      if (!r.ipv4) {
        warn(where + ": IPv6 is not modelled, skipped");
        continue;
      }
      FlowMap m;
      m.add("direction", r.ingress ? "ingress" : "egress");
      std::optional<int> proto;
      if (!r.protocol.empty() && r.protocol != "any") {
        proto = protocol_number(r.protocol);
        if (!proto) {
          warn(where + ": protocol '" + r.protocol + "' is unknown, skipped");
          continue;
        }
        m.add("proto", ipproto::to_string(static_cast<std::uint8_t>(*proto)));
      }
      if (r.port_min || r.port_max) {
        if (proto == ipproto::kTcp || proto == ipproto::kUdp) {
          const std::uint32_t lo = r.port_min.value_or(1), hi = r.port_max.value_or(65535);
          m.add("port",
                lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi));
        } else if (proto == 1) {
          warn(where + ": ICMP type/code are not modelled: the rule accepts all ICMP");
        } else {
          warn(where + ": a port range without tcp/udp is not modelled: ignored");
        }
      }
      if (r.remote_group != kNone) {
        m.add("remote_group", sg_names_[r.remote_group]);
      } else if (!r.remote_prefix.empty()) {
        auto prefix = Ipv4Prefix::parse(r.remote_prefix);
        if (!prefix) {
          warn(where + ": remote_ip_prefix '" + r.remote_prefix + "' is not IPv4, skipped");
          continue;
        }
        m.add("remote", prefix->str());
      }
      item(out, 6, m, "neutron rule " + r.id);
      ++written;
    }
    if (written == 0) {
      out.resize(out.size() - std::string("    rules:\n").size());
      out += "    rules: []\n";
    }
  }

  out += "bridges:\n";
  for (const BridgeOut& b : bridges_) {
    out += "  - name: " + scalar(b.name) + comment(b.comment) + "\n";
    if (!b.admin_up) out += "    admin_up: false\n";
    if (!b.subnets.empty()) {
      out += "    subnets:\n";
      for (const FlowMap& s : b.subnets)
        item(out, 6, s);
    }
    if (!b.arp.empty()) {
      out += "    arp_table:  # floating ips, answered with their router port's MAC\n";
      for (const auto& [ip, mac] : b.arp)
        out += "      " + ip.str() + ": " + mac_str(mac) + "\n";
    }
    out += "    ports:\n";
    if (b.ports.empty()) {
      out.resize(out.size() - std::string("    ports:\n").size());
      out += "    ports: []\n";
    }
    for (const BridgePortOut& p : b.ports)
      item(out, 6, p.map, p.comment);
  }

  if (!routers_.empty()) out += "routers:\n";
  for (const RouterOut& rt : routers_) {
    out += "  - name: " + scalar(rt.name) + comment(rt.comment) + "\n";
    if (!rt.admin_up) out += "    admin_up: false\n";
    out += "    inbound_chain: " + scalar(rt.name + "-pre") + "\n";
    out += "    outbound_chain: " + scalar(rt.name + "-post") + "\n";
    out += rt.ports.empty() ? "    ports: []\n" : "    ports:\n";
    for (const RouterPortOut& p : rt.ports) {
      item(out, 6,
           FlowMap()
               .add("name", p.name)
               .add("ip", Ipv4Prefix{p.ip, p.len}.str())
               .raw("mac", mac_str(p.mac))
               .add("peer", p.peer),
           p.comment);
    }
    if (!rt.routes.empty()) {
      out += "    routes:\n";
      for (const FlowMap& r : rt.routes)
        item(out, 6, r);
    }
  }

  if (!lbs_.empty()) out += "load_balancers:\n";
  for (const LbOut& lb : lbs_) {
    out += "  - name: " + scalar(lb.name) + comment(lb.comment) + "\n";
    out += "    router: " + scalar(lb.router) + "\n";
    out += lb.vips.empty() ? "    vips: []\n" : "    vips:\n" + lb.vips;
    out += lb.pools.empty() ? "    pools: []\n" : "    pools:\n" + lb.pools;
  }
  return out;
}

}  // namespace hivesim::neutron::detail
