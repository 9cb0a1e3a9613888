#include "topology/load/loader_impl.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "base/ip_proto.hpp"

namespace hivesim::scenario_loader {

using yaml_schema::peek;

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

std::vector<AddressPair> Loader::read_address_pairs(const Field& list) {
  std::vector<AddressPair> pairs;
  const auto items = list.items("allowed address pair");
  for (std::size_t i = 0; i < items.size(); ++i) {
    MapReader m = items[i].map(list.owner() + ": allowed_address_pairs[" + std::to_string(i) + "]",
                               {"ip", "mac"});
    if (!m.ok()) continue;
    AddressPair pair;
    if (!read_required(m, "ip", pair.ip, &Field::cidr, true)) continue;
    read(m, "mac", pair.mac, &Field::mac);
    pairs.push_back(pair);
  }
  return pairs;
}

std::vector<Subnet> Loader::read_subnets(const Field& list) {
  std::vector<Subnet> subnets;
  const auto items = list.items("subnet");
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string owner = list.owner() + ": subnets[" + std::to_string(i) + "]";
    MapReader m =
        items[i].map(owner, {"cidr", "gateway", "dhcp", "server", "dns", "routes", "mtu"});
    if (!m.ok()) continue;
    Subnet subnet;
    subnet.loc = items[i].loc();
    if (!read_required(m, "cidr", subnet.cidr, &Field::cidr, false)) continue;
    subnet.cidr = Ipv4Prefix{subnet.cidr.network(), subnet.cidr.len};
    read(m, "gateway", subnet.gateway, &Field::ip);
    read(m, "dhcp", subnet.dhcp, &Field::boolean);
    read(m, "server", subnet.server, &Field::ip);
    read(m, "mtu", subnet.mtu, &Field::integer, 68, 65535);
    if (auto dns = m.get("dns")) {
      for (const Field& d : dns->one_or_many()) {
        if (auto ip = d.ip()) subnet.dns.push_back(*ip);
      }
    }
    if (auto routes = m.get("routes")) {
      const auto route_items = routes->items("route");
      for (std::size_t r = 0; r < route_items.size(); ++r) {
        MapReader rm =
            route_items[r].map(owner + ": routes[" + std::to_string(r) + "]", {"dst", "via"});
        if (!rm.ok()) continue;
        DhcpRoute route;
        // Both fields are read (and reported) before deciding.
        const bool dst_ok = read_required(rm, "dst", route.dst, &Field::cidr, true);
        const bool via_ok = read_required(rm, "via", route.via, &Field::ip);
        if (dst_ok && via_ok) subnet.routes.push_back(route);
      }
    }
    subnets.push_back(std::move(subnet));
  }
  return subnets;
}

void Loader::read_bridges(const Field& list) {
  const auto items = list.items("bridge");
  for (std::size_t i = 0; i < items.size(); ++i)
    read_bridge(i, items[i]);
}

void Loader::read_bridge(std::size_t i, const Field& item) {
  Bridge& bridge = topo_.bridges[i];
  MapReader m = item.map(
      label("bridge", bridge.name, "bridges", i),
      {"name", "ports", "inbound_chain", "outbound_chain", "arp_table", "admin_up", "subnets"});
  if (!m.ok()) return;
  if (auto name = m.require("name")) name->text();
  if (auto subnets = m.get("subnets")) bridge.subnets = read_subnets(*subnets);
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
  // "bridge 'b': port 'p'", in one allocation (a cloud has a million ports).
  std::string owner;
  if (!port.name.empty()) {
    owner.reserve(device.size() + port.name.size() + 10);
    owner.append(device).append(": port '").append(port.name).append("'");
  } else {
    owner = device + ": " + label("port", port.name, "ports", index);
  }
  MapReader m = item.map(std::move(owner), {"name", "host", "peer", "mac", "ip", "inbound_chain",
                                            "outbound_chain", "security_groups", "admin_up", "vlan",
                                            "port_security", "allowed_address_pairs"});
  if (!m.ok()) return;
  if (auto name = m.require("name")) name->text();
  if (auto host = m.get("host")) port.host = hosts_.resolve(*host);
  if (auto peer = m.get("peer")) {
    if (m.has("host")) {
      peer->error("a port is either exterior (host) or interior (peer), not both");
    } else if (auto target = peer->text()) {
      peers_.push_back(PeerDecl{id, std::move(*target), peer->loc(), peer->shared_owner()});
    }
  }
  read(m, "mac", port.mac, &Field::mac);
  read(m, "admin_up", port.admin_up, &Field::boolean);
  port.inbound_chain = read_chain_ref(m, "inbound_chain");
  port.outbound_chain = read_chain_ref(m, "outbound_chain");

  if (port.on_bridge()) {
    read(m, "ip", port.ip, &Field::ip);
    read(m, "vlan", port.vlan, &Field::integer, 1, 4094);
    read(m, "port_security", port.port_security, &Field::boolean);
    if (auto pairs = m.get("allowed_address_pairs")) {
      port.allowed_address_pairs = read_address_pairs(*pairs);
    }
    if (auto groups = m.get("security_groups")) {
      for (const Field& g : groups->one_or_many()) {
        auto sg = security_groups_.resolve(g);
        if (!sg) continue;
        if (std::find(port.security_groups.begin(), port.security_groups.end(), *sg) !=
            port.security_groups.end()) {
          g.error("security group " + q(g.node().scalar()) + " is listed twice");
          continue;
        }
        port.security_groups.push_back(*sg);
        topo_.security_groups[sg->value].ports.push_back(id);
      }
    }
    return;
  }

  // Router port.
  for (std::string_view bridge_only :
       {"security_groups", "vlan", "port_security", "allowed_address_pairs"}) {
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
  // Every port is declared by now: resolve the names the peers were written with.
  std::vector<std::pair<const PeerDecl*, PortId>> links;
  links.reserve(peers_.size());
  for (const PeerDecl& d : peers_) {
    if (auto target = ports_.find(d.target)) {
      links.emplace_back(&d, *target);
    } else {
      d.error(diags_, ports_.unknown(d.target));
    }
  }
  // claimed[q] = the port that first named q as its peer.
  std::unordered_map<std::uint32_t, PortId> declared;  // port -> the peer it declares
  for (const auto& [d, target] : links)
    declared.emplace(d->port.value, target);
  std::unordered_map<std::uint32_t, PortId> claimed;
  for (const auto& [dp, target] : links) {
    const PeerDecl& d = *dp;
    const PortId t = target;
    Port& a = topo_.ports[d.port.value];
    Port& b = topo_.ports[t.value];
    if (d.port == t) {
      d.error(diags_, "a port cannot be its own peer");
      continue;
    }
    if (a.device_kind == b.device_kind && a.device == b.device) {
      d.error(diags_, "peer " + q(b.name) + " is on the same " +
                          (a.on_bridge() ? "bridge" : "router") + "; a link joins two devices");
      continue;
    }
    if (b.host) {
      d.error(diags_, "peer " + q(b.name) + " is an exterior port (bound to host " +
                          q(topo_.host(*b.host).name) + ") and cannot be linked");
      continue;
    }
    if (auto it = declared.find(t.value); it != declared.end() && it->second != d.port) {
      d.error(diags_, "peer " + q(b.name) + " names " + q(topo_.port(it->second).name) +
                          " as its peer, not " + q(a.name));
      continue;
    }
    auto [it, inserted] = claimed.try_emplace(t.value, d.port);
    if (!inserted && it->second != d.port) {
      d.error(diags_,
              "peer " + q(b.name) + " is already linked to " + q(topo_.port(it->second).name));
      continue;
    }
    if (a.on_bridge() && b.on_bridge() && !a.vlan && !b.vlan) {
      d.error(diags_,
              "a bridge-to-bridge link needs a vlan on one of its ports (VLAN-aware bridge)");
      continue;
    }
    a.peer = t;
    b.peer = d.port;
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
    const yaml::Node ip_node = peek(items[i].node(), "ip");
    const std::string owner = ip_node.is_defined() && ip_node.is_scalar()
                                  ? "floating ip " + std::string(ip_node.scalar())
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
       std::initializer_list<std::pair<std::string_view, std::uint8_t>>{
           {ipproto::name(ipproto::kTcp), ipproto::kTcp},
           {ipproto::name(ipproto::kUdp), ipproto::kUdp}});
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

}  // namespace hivesim::scenario_loader
