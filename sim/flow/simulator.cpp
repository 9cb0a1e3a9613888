#include "sim/flow/simulator.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

#include "sim/flow/walk.hpp"

namespace hivesim {

namespace {

/// A locally administered MAC for a port that declares none (stable per port id).
Mac derived_mac(PortId port) {
  return Mac{0x02ff00000000ULL | port.value};
}

}  // namespace

Simulator::Simulator(const Topology& topology) : Simulator(Topology(topology)) {}

Simulator::Simulator(Topology&& topology)
    : topo_(std::move(topology)),
      routes_(topo_.routers.size()),
      bridge_router_macs_(topo_.bridges.size()),
      bridge_ip_macs_(topo_.bridges.size()),
      bridge_declared_macs_(topo_.bridges.size()),
      bridge_vlan_aware_(topo_.bridges.size(), false),
      sg_from_vm_(topo_.ports.size()),
      sg_to_vm_(topo_.ports.size()),
      router_fips_(topo_.routers.size()),
      router_lbs_(topo_.routers.size()),
      router_members_(topo_.routers.size()),
      router_arp_(topo_.routers.size()) {
  compile_security_groups();
  compiled_chains_ = std::make_unique<CompiledChains>(topo_);
  for (std::uint32_t r = 0; r < topo_.routers.size(); ++r) {
    const Router& router = topo_.routers[r];
    auto& table = routes_[r];
    // Routes through an exterior port whose host is gone are withdrawn (MidoNet publishes a
    // port's routes only while the port is active).
    auto withdrawn = [this](std::optional<PortId> pid) {
      return pid && topo_.port(*pid).exterior() && !topo_.port(*pid).active;
    };
    for (std::int32_t i = 0; i < static_cast<std::int32_t>(router.routes.size()); ++i) {
      if (withdrawn(router.routes[i].port)) continue;
      table.push_back(CompiledRoute{router.routes[i], false, i});
    }
    for (PortId pid : router.ports) {
      const Port& port = topo_.port(pid);
      if (!port.ip) continue;
      if (!withdrawn(pid)) {
        Route connected;
        connected.dst = Ipv4Prefix{port.subnet().network(), port.prefix_len};
        connected.port = pid;
        table.push_back(CompiledRoute{connected, false, -1});
      }
      Route local;
      local.dst = Ipv4Prefix{*port.ip, 32};
      local.port = pid;
      local.weight = 0;
      table.push_back(CompiledRoute{local, true, -1});
    }
    // Longest prefix first, then lowest weight; the lookup relies on this order.
    std::stable_sort(table.begin(), table.end(),
                     [](const CompiledRoute& a, const CompiledRoute& b) {
                       if (a.route.dst.len != b.route.dst.len)
                         return a.route.dst.len > b.route.dst.len;
                       return a.route.weight < b.route.weight;
                     });
    for (const ArpEntry& e : router.arp_table)
      router_arp_[r].emplace(e.ip, e.mac);
  }

  for (std::uint32_t b = 0; b < topo_.bridges.size(); ++b) {
    const Bridge& bridge = topo_.bridges[b];
    for (PortId pid : bridge.ports) {
      if (topo_.port(pid).vlan) bridge_vlan_aware_[b] = true;
    }
    // What the bridge can answer ARP for: VM ports' fixed IPs, then its arp_table, then the
    // router ports linked to it (MidoNet looks at router ports first).
    for (PortId pid : bridge.ports) {
      const Port& port = topo_.port(pid);
      if (port.mac && port.ip) bridge_ip_macs_[b].insert_or_assign(*port.ip, *port.mac);
    }
    for (const ArpEntry& e : bridge.arp_table)
      bridge_ip_macs_[b].insert_or_assign(e.ip, e.mac);
    for (PortId pid : bridge.ports) {
      const Port& port = topo_.port(pid);
      if (port.mac && !port.peer) {
        const std::uint16_t vlan = bridge_vlan_aware_[b] ? port.vlan.value_or(0) : 0;
        bridge_declared_macs_[b].emplace((std::uint64_t{vlan} << 48) | port.mac->bits, pid);
      }
      if (!port.peer) continue;
      const Port& peer = topo_.port(*port.peer);
      if (peer.on_router() && peer.mac) {
        bridge_router_macs_[b].emplace(*peer.mac, pid);
        if (peer.ip) bridge_ip_macs_[b].insert_or_assign(*peer.ip, *peer.mac);
      }
    }
  }

  for (std::uint32_t i = 0; i < topo_.load_balancers.size(); ++i) {
    const LoadBalancer& lb = topo_.load_balancers[i];
    router_lbs_[lb.router.value].push_back(LoadBalancerId{i});
    auto& members = router_members_[lb.router.value];
    for (PoolId pool : lb.pools) {
      for (const PoolMember& m : topo_.pools[pool.value].members) {
        members.push_back(NatEndpoint{m.ip, m.port});
      }
    }
    std::sort(members.begin(), members.end(), [](NatEndpoint a, NatEndpoint b) {
      return std::tie(a.ip.bits, a.port) < std::tie(b.ip.bits, b.port);
    });
  }
  // Floating IPs: the router translates them; the bridge of the network the floating IP
  // belongs to answers ARP for it with the MAC of the router port on that network.
  // VIPs likewise.
  auto answer_arp_for = [this](RouterId router, Ipv4 ip) {
    for (PortId pid : topo_.router(router).ports) {
      const Port& rp = topo_.port(pid);
      if (!rp.ip || !rp.subnet().contains(ip) || !rp.peer) continue;
      const Port& bp = topo_.port(*rp.peer);
      if (bp.on_bridge()) bridge_ip_macs_[bp.device].insert_or_assign(ip, *rp.mac);
    }
  };
  for (const FloatingIp& fip : topo_.floating_ips) {
    const Port& vm = topo_.port(fip.port);
    if (!vm.ip) continue;
    router_fips_[fip.router.value].push_back(FloatingIpRule{fip.ip, *vm.ip});
    answer_arp_for(fip.router, fip.ip);
  }
  for (const Vip& vip : topo_.vips)
    answer_arp_for(topo_.load_balancers[vip.lb.value].router, vip.ip);
}

void Simulator::compile_security_groups() {
  // Neutron semantics as MidoNet compiles them: each group becomes two chains of accept
  // rules; each port with groups gets a chain per direction that accepts return flows, jumps
  // to its groups' chains, and drops everything else but ARP.
  const auto accept = [] {
    Action a;
    a.kind = ActionKind::kAccept;
    return a;
  };
  std::vector<ChainId> ingress_of(topo_.security_groups.size());
  std::vector<ChainId> egress_of(topo_.security_groups.size());
  for (std::uint32_t g = 0; g < topo_.security_groups.size(); ++g) {
    const SecurityGroup& sg = topo_.security_groups[g];
    Chain ingress{"sg:" + sg.name + ":ingress", {}, sg.loc};
    Chain egress{"sg:" + sg.name + ":egress", {}, sg.loc};
    for (const SecurityGroupRule& r : sg.rules) {
      // A remote group stands for the fixed IPs of its member ports: one rule per address.
      std::vector<Ipv4Prefix> remotes;
      if (r.remote_group) {
        for (PortId member : topo_.security_groups[r.remote_group->value].ports) {
          if (const auto& ip = topo_.port(member).ip) remotes.push_back(Ipv4Prefix{*ip, 32});
        }
      } else {
        remotes.push_back(r.remote);
      }
      Chain& chain = r.direction == SgDirection::kIngress ? ingress : egress;
      for (const Ipv4Prefix& remote : remotes) {
        Condition c;
        c.proto = r.proto;
        if (remote.len != 0) {
          (r.direction == SgDirection::kIngress ? c.src : c.dst) = remote;
        }
        if (r.port) {
          // A port range accepts the header fragment by port and later fragments by protocol.
          Condition header = c;
          header.dport = r.port;
          chain.rules.push_back(Rule{header, accept(), r.loc});
          c.frag = FragmentPolicy::kNonheader;
        }
        chain.rules.push_back(Rule{c, accept(), r.loc});
      }
    }
    ingress_of[g] = ChainId{static_cast<std::uint32_t>(topo_.chains.size())};
    topo_.chains.push_back(std::move(ingress));
    egress_of[g] = ChainId{static_cast<std::uint32_t>(topo_.chains.size())};
    topo_.chains.push_back(std::move(egress));
  }
  // A port's chains depend only on its groups, in order: ports with the same groups share one
  // pair of chains (a cloud of a million ports has a handful of group sets). The chains are
  // named after the group set; what users see is named after the port (port_chain_name()).
  first_port_chain_ = static_cast<std::uint32_t>(topo_.chains.size());
  std::map<std::vector<std::uint32_t>, std::uint32_t> shared;  // group ids -> ingress chain
  std::vector<std::uint32_t> key;
  for (std::uint32_t p = 0; p < topo_.ports.size(); ++p) {
    const Port& port = topo_.ports[p];
    if (port.security_groups.empty()) continue;
    key.clear();
    for (SecurityGroupId g : port.security_groups)
      key.push_back(g.value);
    auto [it, added] = shared.try_emplace(key, static_cast<std::uint32_t>(topo_.chains.size()));
    if (added) {
      std::string groups;
      for (SecurityGroupId g : port.security_groups)
        groups += (groups.empty() ? "" : ",") + topo_.security_groups[g.value].name;
      add_port_chain(port, "sg-ingress:[" + groups + "]", ingress_of);
      add_port_chain(port, "sg-egress:[" + groups + "]", egress_of);
    }
    sg_to_vm_[p] = ChainId{it->second};
    sg_from_vm_[p] = ChainId{it->second + 1};
  }
}

void Simulator::add_port_chain(const Port& port, std::string name,
                               const std::vector<ChainId>& group_chains) {
  const auto accept = [] {
    Action a;
    a.kind = ActionKind::kAccept;
    return a;
  };
  Chain chain{std::move(name), {}, port.loc};
  // Exactly its rules (return flows, a jump per group, the drop).
  chain.rules.reserve(port.security_groups.size() + 2);
  Condition return_flow;
  return_flow.forward_flow = false;
  chain.rules.push_back(Rule{return_flow, accept(), port.loc});
  for (SecurityGroupId g : port.security_groups) {
    Action jump;
    jump.kind = ActionKind::kJump;
    jump.jump = group_chains[g.value];
    chain.rules.push_back(Rule{Condition{}, jump, port.loc});
  }
  Condition not_arp;
  not_arp.ethertype = ethertype::kArp;
  not_arp.invert = true;
  Action drop;
  drop.kind = ActionKind::kDrop;
  chain.rules.push_back(Rule{not_arp, drop, port.loc});
  topo_.chains.push_back(std::move(chain));
}

std::optional<ChainId> Simulator::find_chain(std::string_view name) const {
  for (const auto& [prefix, to_vm] : {std::pair{std::string_view("sg-ingress:"), true},
                                      std::pair{std::string_view("sg-egress:"), false}}) {
    if (!name.starts_with(prefix)) continue;
    if (const auto port = topo_.find_port(name.substr(prefix.size()))) {
      if (auto chain = to_vm ? sg_to_vm(*port) : sg_from_vm(*port)) return chain;
    }
  }
  const auto chain = topo_.find_chain(name);
  if (chain && is_port_chain(*chain)) return std::nullopt;  // a group set's, not a user's name
  return chain;
}

bool Simulator::is_port_chain(ChainId chain) const {
  return chain.valid() && chain.value >= first_port_chain_ && chain.value < topo_.chains.size();
}

std::string Simulator::port_chain_name(ChainId chain, PortId port) const {
  if (!is_port_chain(chain)) return {};
  // Chains come in pairs from first_port_chain_: to the VM (ingress), then from it (egress).
  const bool to_vm = (chain.value - first_port_chain_) % 2 == 0;
  return (to_vm ? "sg-ingress:" : "sg-egress:") + topo_.port(port).name;
}

bool Simulator::is_pool_member(RouterId router, NatEndpoint e) const {
  const auto& members = router_members_[router.value];
  return std::binary_search(members.begin(), members.end(), e, [](NatEndpoint a, NatEndpoint b) {
    return std::tie(a.ip.bits, a.port) < std::tie(b.ip.bits, b.port);
  });
}

std::optional<PortId> Simulator::bridge_router_port(BridgeId bridge, Mac mac) const {
  const auto& m = bridge_router_macs_[bridge.value];
  auto it = m.find(mac);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::optional<Mac> Simulator::bridge_known_mac(BridgeId bridge, Ipv4 ip) const {
  const auto& m = bridge_ip_macs_[bridge.value];
  auto it = m.find(ip);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::optional<PortId> Simulator::bridge_declared_port(BridgeId bridge, std::uint16_t vlan,
                                                      Mac mac) const {
  const auto& m = bridge_declared_macs_[bridge.value];
  auto it = m.find((std::uint64_t{vlan} << 48) | mac.bits);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::optional<Mac> Simulator::router_seeded_mac(RouterId router, Ipv4 ip) const {
  const auto& m = router_arp_[router.value];
  auto it = m.find(ip);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

SimulationResult Simulator::simulate(PortId in_port, const Packet& packet, SimState& state,
                                     SimulateOptions options) const {
  SimulationResult result;
  Walk walk(*this, state, result, options);
  walk.run(in_port, packet);
  return result;
}

void Simulator::simulate(PortId in_port, const Packet& packet, SimState& state,
                         SimulateOptions options, SimulationResult& result) const {
  // As a fresh result, keeping the vectors' capacity. A member added to SimulationResult must
  // be reset here too (the size check is the reminder).
  static_assert(sizeof(SimulationResult) == 168, "SimulationResult changed: reset it here");
  result.verdict = Verdict::kDropped;
  result.drop.reset();
  result.drop_source = SourceLoc{};
  result.out.clear();
  result.mask = FieldMask{};
  result.tags.clear();
  result.balanced.reset();
  result.hops.clear();
  Walk walk(*this, state, result, options);
  walk.run(in_port, packet);
}

SpecDefaults Simulator::spec_defaults(PortId port_id) const {
  const Port& port = topo_.port(port_id);
  SpecDefaults d;
  d.eth_src = port.mac.value_or(derived_mac(port_id));
  d.src = port.ip;
  if (port.on_router()) {
    // The machine behind an exterior router port is its neighbour on that subnet, not the
    // router: the router's ARP entry there if it has one (typically the upstream gateway),
    // else an unnamed machine whose address the packet spec must give (src=).
    d.eth_src = derived_mac(port_id);
    d.src.reset();
    for (const ArpEntry& e : topo_.router(RouterId{port.device}).arp_table) {
      if (port.subnet().contains(e.ip)) {
        d.eth_src = e.mac;
        d.src = e.ip;
        break;
      }
    }
    const Mac gw = *port.mac;
    d.eth_dst_for = [gw](Ipv4) { return gw; };
    return d;
  }
  const BridgeId bridge{port.device};
  // The gateway: the router port on this bridge whose subnet holds the VM's address, else the
  // first router port on the bridge, else broadcast.
  std::optional<Mac> gateway;
  for (PortId pid : topo_.bridge(bridge).ports) {
    const Port& p = topo_.port(pid);
    if (!p.peer || !topo_.port(*p.peer).on_router()) continue;
    const Port& rp = topo_.port(*p.peer);
    if (!gateway || (port.ip && rp.subnet().contains(*port.ip))) gateway = rp.mac;
    if (port.ip && rp.subnet().contains(*port.ip)) break;
  }
  const Mac fallback = gateway.value_or(Mac::broadcast());
  d.eth_dst_for = [this, bridge, fallback](Ipv4 dst) {
    return bridge_known_mac(bridge, dst).value_or(fallback);
  };
  return d;
}

std::vector<PortId> SimulationResult::delivered_ports() const {
  std::vector<PortId> ports;
  for (const OutPacket& o : out) {
    if (!o.generated) ports.push_back(o.port);
  }
  return ports;
}

}  // namespace hivesim
