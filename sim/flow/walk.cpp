#include "sim/flow/walk.hpp"

#include <algorithm>
#include <array>

namespace hivesim {

namespace {

/// The chain-evaluation scratch of the thread's walks (a walk never starts another).
std::vector<ChainId>& visited_scratch() {
  thread_local std::vector<ChainId> visited;
  return visited;
}

}  // namespace

Walk::Walk(const Simulator& sim, SimState& state, SimulationResult& result,
           const SimulateOptions& options)
    : sim_(sim),
      topo_(sim.topology()),
      state_(state),
      result_(result),
      trace_(options.trace),
      now_(options.now),
      visited_(visited_scratch()) {
  result_.tags.reserve(16);
}

void Walk::run(PortId in_port, const Packet& packet) {
  origin_ = in_port;
  original_ = packet;
  result_.mask.add(Field::kInPort);
  Branch b{packet, 0, false};
  port_ingress(b, in_port);

  // Original packets first, generated ones after, each in walk order: a stable partition
  // without the temporary buffer std::stable_partition allocates.
  auto& out = result_.out;
  auto first_generated =
      std::find_if(out.begin(), out.end(), [](const OutPacket& o) { return o.generated; });
  for (auto it = first_generated; it != out.end(); ++it) {
    if (!it->generated) std::rotate(first_generated++, it, it + 1);
  }
  const bool delivered = !result_.out.empty() && !result_.out.front().generated;
  if (delivered) {
    result_.verdict = Verdict::kDelivered;
  } else if (consumed_) {
    result_.verdict = Verdict::kConsumed;
  } else {
    result_.verdict = Verdict::kDropped;
    // Every path that ends without output records a drop; this is a safety net.
    result_.drop = first_drop_.value_or(DropInfo{DropReason::kUnsupported, {}, std::nullopt});
    result_.drop_source = first_drop_source_;
  }
  std::sort(result_.tags.begin(), result_.tags.end());
  result_.tags.erase(std::unique(result_.tags.begin(), result_.tags.end()), result_.tags.end());
}

// ---------------------------------------------------------------------------------------------
// Ports

void Walk::port_ingress(Branch& b, PortId port) {
  tag(FlowTag::Kind::kPort, port.value);
  if (topo_.port(port).on_bridge()) {
    bridge(b, port);
  } else {
    router(b, port);
  }
}

void Walk::port_egress(Branch& b, PortId port, PortId device_in,
                       std::optional<PortId> router_in_port, const Packet* received) {
  const Port& p = topo_.port(port);
  tag(FlowTag::Kind::kPort, port.value);
  // A packet generated at a port leaves by it even when the port is down (the ICMP 3/13 a
  // down router port answers with).
  const bool generated_here = b.generated && b.devices == 0;
  if (!p.admin_up && !generated_here) {
    // A down router port answers with ICMP 3/13 from the router's ingress port.
    drop(b, DropReason::kAdminDown, p.name, std::nullopt, "port " + p.name + " is down");
    if (router_in_port && received) {
      icmp_error(b, *received, *router_in_port, 3, icmpcode::kFilterProhibited);
    }
    return;
  }
  for (const auto chain : {p.outbound_chain, sim_.sg_to_vm(port)}) {
    const ChainSite site{received ? router_in_port : std::nullopt};
    if (!run_chain(b, chain, device_in, port, site, received ? *received : b.pkt, port)) {
      return;
    }
  }
  if (p.exterior()) {
    if (!p.active) {
      drop(b, DropReason::kHostDown, p.name, std::nullopt,
           "port " + p.name + " is inactive: its host " + topo_.host(*p.host).name + " is down");
      return;
    }
    deliver(b, port);
    return;
  }
  if (!p.peer) {
    drop(b, DropReason::kNoBinding, p.name, std::nullopt,
         "port " + p.name + " is neither bound to a host nor linked to a peer");
    return;
  }
  port_ingress(b, *p.peer);
}

// ---------------------------------------------------------------------------------------------
// Bridge (MidoNet semantics; the README lists them)

void Walk::bridge(Branch& b, PortId in_port) {
  const Port& ip = topo_.port(in_port);
  const BridgeId id{ip.device};
  const Bridge& br = topo_.bridge(id);
  begin_hop(br.name, "bridge", in_port);
  if (++b.devices > Simulator::kMaxDevices) {
    drop(b, DropReason::kLoop, br.name, std::nullopt, "more than 12 devices");
    return;
  }
  tag(FlowTag::Kind::kBridge, id.value);
  if (!ip.admin_up) {
    drop(b, DropReason::kAdminDown, ip.name, std::nullopt, "port " + ip.name + " is down");
    return;
  }
  if (ip.exterior() && !b.generated && dhcp_answer(b, in_port)) return;
  if (ip.port_security && !anti_spoof(b, in_port)) return;
  for (const auto chain : {ip.inbound_chain, sim_.sg_from_vm(in_port)}) {
    if (!run_chain(b, chain, in_port, std::nullopt, ChainSite{}, b.pkt, in_port)) {
      return;
    }
  }
  Packet& pkt = b.pkt;
  result_.mask.add(Field::kEthSrc);
  if (pkt.eth_src.is_multicast()) {
    drop(b, DropReason::kMalformed, br.name, std::nullopt, "multicast source MAC");
    return;
  }
  if (!br.admin_up) {
    drop(b, DropReason::kAdminDown, br.name, std::nullopt, "bridge is down");
    return;
  }
  result_.mask.add(Field::kVlan);
  const bool tagged = pkt.vlan_count != 0;
  // A VLAN-unaware bridge keeps one MAC table (VLAN 0) for tagged frames too.
  std::uint16_t vlan = 0;
  if (sim_.bridge_vlan_aware(id)) vlan = ip.vlan ? *ip.vlan : (tagged ? pkt.vlans[0] : 0);

  // Bridge chains apply to untagged frames only. MAC learning happens even when the
  // inbound chain drops the frame.
  const bool chains = !tagged;
  const bool admitted =
      !chains || run_chain(b, br.inbound_chain, in_port, std::nullopt, ChainSite{}, pkt);
  const bool from_router = ip.peer && topo_.port(*ip.peer).on_router();
  tag(FlowTag::Kind::kMacEntry, id.value);
  if (!from_router) {
    const SimState::MacKey mac_key{id.value, vlan, pkt.eth_src};
    state_.note_mac(mac_key);
    auto [it, inserted] = state_.macs.try_emplace(mac_key, in_port);
    if (!inserted && it->second != in_port) {
      if (trace_) {
        note("mac " + pkt.eth_src.str() + " moved from " + topo_.port(it->second).name + " to " +
             ip.name);
      }
      it->second = in_port;
    } else if (inserted && trace_) {
      note("mac " + pkt.eth_src.str() + " learned on " + ip.name +
           (vlan ? " vlan " + std::to_string(vlan) : ""));
    }
  }
  if (!admitted) return;

  result_.mask.add(Field::kEthDst);
  if (pkt.eth_dst.is_multicast()) {
    result_.mask.add(Field::kEthertype);
    if (pkt.eth_dst.is_broadcast() && pkt.is_arp() && !tagged &&
        bridge_answer_arp(b, id, in_port)) {
      return;
    }
    bridge_flood(b, br, in_port, chains);
    return;
  }
  // The trace says what decided the way out, as ovn-trace's L2 lookup does: whose MAC the
  // destination is: a router port's, one learned on a port, one declared on a port.
  if (auto rp = sim_.bridge_router_port(id, pkt.eth_dst)) {
    if (trace_) {
      const Port& bridge_side = topo_.port(*rp);
      note("dst mac " + pkt.eth_dst.str() + ": router port " +
           (bridge_side.peer ? topo_.port(*bridge_side.peer).name : bridge_side.name));
    }
    bridge_forward(b, br, in_port, *rp, chains, false);
    return;
  }
  std::optional<PortId> out;
  const char* how = "learned";
  if (auto it = state_.macs.find(SimState::MacKey{id.value, vlan, pkt.eth_dst});
      it != state_.macs.end()) {
    out = it->second;
  } else {
    out = sim_.bridge_declared_port(id, vlan, pkt.eth_dst);
    how = "declared";
  }
  if (!out) {
    if (trace_) note("mac " + pkt.eth_dst.str() + " unknown: flood");
    bridge_flood(b, br, in_port, chains);
    return;
  }
  if (trace_ && *out != in_port) {
    note("dst mac " + pkt.eth_dst.str() + ": " + how + " on " + topo_.port(*out).name);
  }
  if (*out == in_port) {
    drop(b, DropReason::kLoop, br.name, std::nullopt,
         "destination " + pkt.eth_dst.str() + " was learned on the ingress port");
    return;
  }
  bridge_forward(b, br, in_port, *out, chains, false);
}

bool Walk::bridge_answer_arp(Branch& b, BridgeId id, PortId in_port) {
  Packet& pkt = b.pkt;
  result_.mask.add(Field::kArpOp);
  result_.mask.add(Field::kArpTpa);
  result_.mask.add(Field::kArpSpa);
  // Gratuitous ARP (sender == target) is never answered.
  if (pkt.arp_op != arpop::kRequest || pkt.arp_spa == pkt.arp_tpa) return false;
  const auto mac = sim_.bridge_known_mac(id, pkt.arp_tpa);
  if (!mac) return false;
  result_.mask.add(Field::kArpSha);
  Packet reply;
  reply.ethertype = ethertype::kArp;
  reply.eth_src = *mac;
  reply.eth_dst = pkt.eth_src;
  reply.arp_op = arpop::kReply;
  reply.arp_sha = *mac;
  reply.arp_spa = pkt.arp_tpa;
  reply.arp_tha = pkt.arp_sha;
  reply.arp_tpa = pkt.arp_spa;
  consume(b, "ARP reply: " + pkt.arp_tpa.str() + " is at " + mac->str());
  emit(b, std::move(reply), in_port);
  return true;
}

void Walk::bridge_forward(Branch& b, const Bridge& br, PortId in_port, PortId out_port,
                          bool apply_chains, bool flooded) {
  const Port& ip = topo_.port(in_port);
  const Port& op = topo_.port(out_port);
  Packet& pkt = b.pkt;
  if (ip.vlan) {
    // Frame from a VLAN-unaware bridge into a VLAN-aware one: tag it with the link's VLAN.
    std::uint16_t inner = pkt.vlan_count ? pkt.vlans[0] : 0;
    pkt.vlans = {*ip.vlan, inner};
    pkt.vlan_count = static_cast<std::uint8_t>(std::min(pkt.vlan_count + 1, 2));
    if (trace_) note("push vlan " + std::to_string(*ip.vlan));
  } else if (op.vlan) {
    if (pkt.vlan_count == 0 || pkt.vlans[0] != *op.vlan) {
      drop(b, DropReason::kUnsupported, br.name, std::nullopt,
           "frame is not of " + op.name + "'s VLAN " + std::to_string(*op.vlan));
      return;
    }
    pkt.vlans = {pkt.vlans[1], 0};
    pkt.vlan_count -= 1;
    if (trace_) note("pop vlan " + std::to_string(*op.vlan));
  }
  // The outbound chain sees an out port only for a single-port (unicast) decision.
  if (apply_chains &&
      !run_chain(b, br.outbound_chain, in_port,
                 flooded ? std::nullopt : std::optional<PortId>(out_port), ChainSite{}, pkt)) {
    return;
  }
  set_out_port(out_port);
  port_egress(b, out_port, in_port);
}

void Walk::bridge_flood(Branch& b, const Bridge& br, PortId in_port, bool apply_chains) {
  const Port& ip = topo_.port(in_port);
  const std::uint16_t frame_vlan = b.pkt.vlan_count ? b.pkt.vlans[0] : 0;
  int copies = 0;
  for (PortId pid : br.ports) {
    if (pid == in_port) continue;
    const Port& p = topo_.port(pid);
    bool floodable = p.exterior();
    if (!floodable && p.peer && topo_.port(*p.peer).on_bridge()) {
      // VLAN links between bridges: a VLAN-unaware bridge floods into the link to the
      // VLAN-aware one; the VLAN-aware one floods a trunk frame into the link of its VLAN.
      // Two plain bridges linked without VLANs do not flood into each other (MidoNet).
      const Port& peer = topo_.port(*p.peer);
      floodable = peer.vlan.has_value() || (p.vlan && ip.exterior() && frame_vlan == *p.vlan);
    }
    if (!floodable) continue;
    Branch copy = b;
    ++copies;
    bridge_forward(copy, br, in_port, pid, apply_chains, true);
  }
  if (copies == 0) {
    drop(b, DropReason::kNoBinding, br.name, std::nullopt, "flood: no other port to send to");
  }
}

// ---------------------------------------------------------------------------------------------
// Router (MidoNet semantics; the README lists them)

void Walk::router(Branch& b, PortId in_port) {
  const Port& ip = topo_.port(in_port);
  const RouterId id{ip.device};
  const Router& rt = topo_.router(id);
  begin_hop(rt.name, "router", in_port);
  if (++b.devices > Simulator::kMaxDevices) {
    drop(b, DropReason::kLoop, rt.name, std::nullopt, "more than 12 devices");
    return;
  }
  tag(FlowTag::Kind::kRouter, id.value);
  // ICMP errors quote the packet as the router received it.
  const Packet as_received = b.pkt;
  Packet& pkt = b.pkt;
  if (!ip.admin_up) {
    drop(b, DropReason::kAdminDown, ip.name, std::nullopt, "port " + ip.name + " is down");
    icmp_error(b, as_received, in_port, 3, icmpcode::kFilterProhibited);
    return;
  }
  result_.mask.add(Field::kEthertype);
  if (pkt.ethertype == ethertype::kIpv6) {
    drop(b, DropReason::kUnsupported, rt.name, std::nullopt, "IPv6 is not routed");
    return;
  }
  for (const auto chain : {ip.inbound_chain, sim_.sg_from_vm(in_port)}) {
    if (!run_chain(b, chain, in_port, std::nullopt, ChainSite{in_port}, as_received, in_port)) {
      return;
    }
  }
  if (!rt.admin_up) {
    drop(b, DropReason::kAdminDown, rt.name, std::nullopt, "router is down");
    icmp_error(b, as_received, in_port, 3, icmpcode::kFilterProhibited);
    return;
  }
  result_.mask.add(Field::kVlan);
  if (pkt.vlan_count != 0) {
    if (pkt.vlan_count == 1 && pkt.vlans[0] == 0) {
      pkt.vlan_count = 0;  // a priority tag (VLAN 0) is stripped
      if (trace_) note("vlan 0 tag stripped");
    } else {
      drop(b, DropReason::kUnsupported, rt.name, std::nullopt, "VLAN-tagged frame");
      return;
    }
  }
  if (!pkt.is_ipv4() && !pkt.is_arp()) {
    drop(b, DropReason::kUnsupported, rt.name, std::nullopt, "ethertype not routed");
    return;
  }
  result_.mask.add(Field::kEthDst);
  if (pkt.eth_dst.is_broadcast() ? !pkt.is_arp() : pkt.eth_dst != *ip.mac) {
    drop(b, DropReason::kNotForRouter, rt.name, std::nullopt,
         "eth_dst " + pkt.eth_dst.str() + " is not " + ip.name + "'s MAC");
    return;
  }
  if (pkt.is_arp()) {
    router_arp(b, id, in_port);
    return;
  }
  // A packet to a VIP is balanced and skips the router's inbound chains (MidoNet).
  const LbOutcome lb = load_balance(b, id);
  if (lb == LbOutcome::kDropped) return;
  if (lb == LbOutcome::kNoVip) {
    floating_ip_dnat(id, pkt);
    if (!run_chain(b, rt.inbound_chain, in_port, std::nullopt, ChainSite{in_port, true},
                   as_received)) {
      return;
    }
  }

  const CompiledRoute* route = lookup_route(id, pkt);
  if (route == nullptr) {
    drop(b, DropReason::kNoRoute, rt.name, std::nullopt, "no route to " + pkt.dst.str());
    icmp_error(b, as_received, in_port, icmptype::kUnreachable, icmpcode::kNetUnreachable);
    return;
  }
  if (route->local) {
    result_.mask.add(Field::kNwProto);
    result_.mask.add(Field::kTpSrc);
    if (pkt.proto == ipproto::kIcmp && pkt.icmp_type == icmptype::kEchoRequest &&
        pkt.frag == FragKind::kNone) {
      consume(b, "echo request to " + pkt.dst.str() + " answered");
      router_echo_reply(b, id, in_port);
      return;
    }
    drop(b, DropReason::kNotForRouter, rt.name, std::nullopt,
         "addressed to the router itself and not an echo request");
    return;
  }
  if (route->route.type == RouteType::kBlackhole) {
    drop(b, DropReason::kBlackhole, rt.name, std::nullopt,
         "blackhole route " + route->route.dst.str(), route->route.loc);
    return;
  }
  if (route->route.type == RouteType::kReject) {
    drop(b, DropReason::kReject, rt.name, std::nullopt, "reject route " + route->route.dst.str(),
         route->route.loc);
    icmp_error(b, as_received, in_port, icmptype::kUnreachable, icmpcode::kFilterProhibited);
    return;
  }
  result_.mask.add(Field::kNwTtl);
  if (pkt.ttl <= 1) {
    drop(b, DropReason::kTtl, rt.name, std::nullopt, "ttl expired");
    icmp_error(b, as_received, in_port, icmptype::kTimeExceeded, 0);
    return;
  }
  pkt.ttl -= 1;

  const PortId out_id = *route->route.port;
  const Port& egress = topo_.port(out_id);
  const bool has_gateway = route->route.via && route->route.via->bits != 0;
  const Ipv4 next_hop = has_gateway ? *route->route.via : pkt.dst;
  if (trace_) {
    note("route " + route->route.dst.str() +
         (has_gateway ? " via " + next_hop.str() : std::string(" direct")) + ", out " +
         egress.name);
  }
  if (pkt.dst == *egress.ip) {
    drop(b, DropReason::kNotForRouter, rt.name, std::nullopt, "addressed to the egress port");
    return;
  }
  if (!reverse_load_balance(id, pkt)) {
    floating_ip_snat(id, pkt, out_id);
    if (!run_chain(b, rt.outbound_chain, in_port, out_id, ChainSite{in_port}, as_received)) {
      return;
    }
  }
  const NextHop hop = resolve_next_hop(id, out_id, next_hop);
  switch (hop.status) {
    case NextHop::Status::kResolved:
      break;
    case NextHop::Status::kUnreachable:
      drop(b, DropReason::kNoRoute, rt.name, std::nullopt,
           (has_gateway ? "gateway " : "destination ") + next_hop.str() + " not reachable by " +
               egress.name,
           route->route.loc);
      icmp_error(b, as_received, in_port, icmptype::kUnreachable,
                 has_gateway ? icmpcode::kNetUnreachable : icmpcode::kHostUnreachable);
      return;
    case NextHop::Status::kArpMiss:
      drop(b, DropReason::kArpUnresolved, rt.name, std::nullopt,
           "no ARP entry for " + next_hop.str());
      // The router asks, as MidoNet does; in the twin the packet is not held for the answer.
      emit(b, arp_request(egress, next_hop), out_id);
      return;
  }
  pkt.eth_src = *egress.mac;
  pkt.eth_dst = hop.mac;
  set_out_port(out_id);
  port_egress(b, out_id, in_port, in_port, &as_received);
}

void Walk::router_arp(Branch& b, RouterId id, PortId in_port) {
  const Port& ip = topo_.port(in_port);
  const Router& rt = topo_.router(id);
  const Packet& pkt = b.pkt;
  result_.mask.add(Field::kArpOp);
  result_.mask.add(Field::kArpSpa);
  result_.mask.add(Field::kArpTpa);
  result_.mask.add(Field::kArpSha);
  // Only senders on the port's subnet are answered or learned.
  if (!ip.subnet().contains(pkt.arp_spa)) {
    drop(b, DropReason::kNotForRouter, rt.name, std::nullopt,
         "ARP sender " + pkt.arp_spa.str() + " is outside " + ip.subnet().str());
    return;
  }
  const bool gratuitous = pkt.arp_spa == pkt.arp_tpa;
  const bool for_us = pkt.arp_tpa == *ip.ip;
  if (!gratuitous && !for_us) {
    drop(b, DropReason::kNotForRouter, rt.name, std::nullopt,
         "ARP for " + pkt.arp_tpa.str() + ", not " + ip.name + "'s address");
    return;
  }
  if (!pkt.arp_sha.is_multicast()) {
    state_.note_arp(SimState::ArpKey{id.value, pkt.arp_spa});
    state_.arp.insert_or_assign(SimState::ArpKey{id.value, pkt.arp_spa}, pkt.arp_sha);
    if (trace_) note("arp " + pkt.arp_spa.str() + " -> " + pkt.arp_sha.str() + " learned");
  }
  if (pkt.arp_op != arpop::kRequest || gratuitous) {
    consume(b, "ARP taken");
    return;
  }
  Packet reply;
  reply.ethertype = ethertype::kArp;
  reply.eth_src = *ip.mac;
  reply.eth_dst = pkt.eth_src;
  reply.arp_op = arpop::kReply;
  reply.arp_sha = *ip.mac;
  reply.arp_spa = *ip.ip;
  reply.arp_tha = pkt.arp_sha;
  reply.arp_tpa = pkt.arp_spa;
  consume(b, "ARP reply: " + ip.ip->str() + " is at " + ip.mac->str());
  emit(b, std::move(reply), in_port);
}

void Walk::router_echo_reply(const Branch& b, RouterId id, PortId in_port) {
  if (b.generated) return;
  // The reply is routed like any packet the router sends: its own route lookup, next hop,
  // and the router's outbound chains (so a floating IP's SNAT rewrites its source).
  GeneratedScope scope(*this);
  Branch g{Packet{}, 0, true};
  Packet& reply = g.pkt;
  reply.src = b.pkt.dst;
  reply.dst = b.pkt.src;
  reply.proto = ipproto::kIcmp;
  reply.icmp_type = icmptype::kEchoReply;
  reply.icmp_id = b.pkt.icmp_id;
  reply.icmp_seq = b.pkt.icmp_seq;
  reply.payload_len = b.pkt.payload_len;
  reply.payload = b.pkt.payload;
  const CompiledRoute* route = lookup_route(id, reply);
  if (route == nullptr || route->local || route->route.type != RouteType::kPort) {
    note("echo reply: no route back to " + reply.dst.str());
    return;
  }
  const PortId out_id = *route->route.port;
  const Port& egress = topo_.port(out_id);
  const bool has_gateway = route->route.via && route->route.via->bits != 0;
  const Ipv4 next_hop = has_gateway ? *route->route.via : reply.dst;
  const NextHop hop = resolve_next_hop(id, out_id, next_hop);
  if (hop.status != NextHop::Status::kResolved) {
    note("echo reply: no ARP entry for " + next_hop.str());
    // As for any packet the router sends: it asks, and the reply is not held for the answer.
    if (hop.status == NextHop::Status::kArpMiss) emit(b, arp_request(egress, next_hop), out_id);
    return;
  }
  reply.eth_src = *egress.mac;
  reply.eth_dst = hop.mac;
  floating_ip_snat(id, reply, out_id);
  if (!run_chain(g, topo_.router(id).outbound_chain, in_port, out_id, ChainSite{}, reply)) {
    return;
  }
  port_egress(g, out_id, in_port);
}

const CompiledRoute* Walk::lookup_route(RouterId id, const Packet& pkt) {
  result_.mask.add(Field::kNwDst);
  // The table is sorted by prefix length (longest first), then weight (lowest first). The
  // first route matching dst and src fixes the rank; equal-rank matches follow it.
  std::array<const CompiledRoute*, 16> equal{};
  std::size_t count = 0;
  for (const CompiledRoute& r : sim_.routes(id)) {
    if (count != 0 &&
        (r.route.dst.len != equal[0]->route.dst.len || r.route.weight != equal[0]->route.weight)) {
      break;
    }
    if (!r.route.dst.contains(pkt.dst)) continue;
    if (r.route.src.len != 0) {
      result_.mask.add(Field::kNwSrc);
      if (!r.route.src.contains(pkt.src)) continue;
    }
    if (count < equal.size()) equal[count++] = &r;
  }
  if (count <= 1) return count == 0 ? nullptr : equal[0];
  // Equal-cost routes: a stable per-flow choice by a hash of the 5-tuple.
  result_.mask.add(Field::kNwSrc);
  result_.mask.add(Field::kNwProto);
  result_.mask.add(Field::kTpSrc);
  result_.mask.add(Field::kTpDst);
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::uint64_t v :
       {std::uint64_t{pkt.src.bits}, std::uint64_t{pkt.dst.bits}, std::uint64_t{pkt.proto},
        std::uint64_t{pkt.sport}, std::uint64_t{pkt.dport}}) {
    h = (h ^ v) * 0x100000001b3ULL;
  }
  return equal[h % count];
}

Walk::NextHop Walk::resolve_next_hop(RouterId id, PortId egress_id, Ipv4 next_hop) {
  const Port& egress = topo_.port(egress_id);
  if (egress.peer) {
    const Port& peer = topo_.port(*egress.peer);
    if (peer.on_router()) return NextHop{NextHop::Status::kResolved, *peer.mac};
    if (auto mac = sim_.bridge_known_mac(BridgeId{peer.device}, next_hop)) {
      return NextHop{NextHop::Status::kResolved, *mac};
    }
  } else if (!egress.exterior() || !egress.subnet().contains(next_hop)) {
    // Unlinked port, or an exterior port whose subnet does not hold the next hop: no ARP.
    return NextHop{NextHop::Status::kUnreachable, Mac{}};
  }
  tag(FlowTag::Kind::kArpEntry, id.value);
  if (auto it = state_.arp.find(SimState::ArpKey{id.value, next_hop}); it != state_.arp.end()) {
    return NextHop{NextHop::Status::kResolved, it->second};
  }
  if (auto mac = sim_.router_seeded_mac(id, next_hop)) {
    return NextHop{NextHop::Status::kResolved, *mac};
  }
  return NextHop{NextHop::Status::kArpMiss, Mac{}};
}

Packet Walk::arp_request(const Port& egress, Ipv4 target) const {
  Packet request;
  request.ethertype = ethertype::kArp;
  request.eth_src = *egress.mac;
  request.eth_dst = Mac::broadcast();
  request.arp_op = arpop::kRequest;
  request.arp_sha = *egress.mac;
  request.arp_spa = *egress.ip;
  request.arp_tpa = target;
  return request;
}

// ---------------------------------------------------------------------------------------------
// Chains

MatchContext Walk::context(PortId in_port, std::optional<PortId> out_port) const {
  if (in_generated_) return MatchContext{in_port, out_port, std::nullopt, std::nullopt};
  return MatchContext{in_port, out_port, origin_,
                      original_.is_ipv4() ? std::optional(original_.dst) : std::nullopt};
}

bool Walk::walk_chain(Branch& b, ChainId chain, const MatchContext& ctx, const ChainSite& site,
                      const Packet& as_received, PortId owner) {
  nat_device_ = device_code(ctx.in_port);
  // A port chain is shared by the ports of its group set: it is named after `owner`.
  const bool port_chain = owner.valid() && sim_.is_port_chain(chain);
  const std::string top_name = trace_ && port_chain ? sim_.port_chain_name(chain, owner) : "";
  const ChainDecision d = evaluate_chain(topo_, sim_.compiled_chains(), chain, b.pkt, ctx, *this,
                                         result_.mask, visited_, top_name);
  for (ChainId c : visited_)
    tag(FlowTag::Kind::kChain, c.value);
  if (d.kind == ChainDecision::Kind::kAccept) return true;
  const Chain& decided = topo_.chain(d.chain);
  if (port_chain && d.chain == chain) {
    // Its rules stand at the port's declaration.
    drop(b, DropReason::kRule, sim_.port_chain_name(d.chain, owner), d.rule, {},
         topo_.port(owner).loc);
  } else {
    drop(b, DropReason::kRule, decided.name, d.rule, {},
         d.rule && *d.rule < decided.rules.size() ? decided.rules[*d.rule].loc : decided.loc);
  }
  if (!site.icmp_port) return false;  // bridges: REJECT is a silent drop
  if (d.kind == ChainDecision::Kind::kReject) {
    icmp_error(b, as_received, *site.icmp_port, 3, icmpcode::kFilterProhibited);
  } else if (site.frag_needed_on_drop && as_received.is_ipv4() &&
             as_received.frag == FragKind::kFirst) {
    icmp_error(b, as_received, *site.icmp_port, 3, icmpcode::kFragNeeded);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Outcomes

void Walk::deliver(Branch& b, PortId port) {
  if (trace_) {
    const Port& p = topo_.port(port);
    note("leaves by " + p.name + " on host " + topo_.host(*p.host).name);
  }
  // A forward flow that was classified records the key its replies will arrive with.
  if (!b.generated && is_return_ && !*is_return_) {
    if (auto key = conn_key(b.pkt, device_code(port))) {
      state_.conntrack.record(key->reversed(), now_);
    }
  }
  result_.out.push_back(OutPacket{port, b.pkt, b.generated});
}

void Walk::drop(Branch& b, DropReason reason, const std::string& device,
                std::optional<std::uint32_t> rule, const std::string& why, SourceLoc source) {
  if (trace_) {
    note(std::string("drop: ") + std::string(to_string(reason)) + (why.empty() ? "" : ", " + why));
  }
  if (b.generated || first_drop_) return;
  first_drop_ = DropInfo{reason, device, rule};
  first_drop_source_ = source;
}

void Walk::consume(Branch& b, const std::string& why) {
  if (trace_) note(why);
  if (!b.generated) consumed_ = true;
}

void Walk::icmp_error(const Branch& b, const Packet& original, PortId port, std::uint8_t type,
                      std::uint8_t code) {
  const Port& p = topo_.port(port);
  // Never about an ICMP error (any ICMP but echo), a non-first fragment, or a packet to a
  // broadcast or multicast address (RFC 1812 4.3.2.7, as MidoNet applies it).
  if (b.generated || !original.is_ipv4() || original.frag == FragKind::kLater) return;
  if (original.proto == ipproto::kIcmp && original.icmp_type != icmptype::kEchoRequest &&
      original.icmp_type != icmptype::kEchoReply) {
    return;
  }
  if (original.dst.is_broadcast() || original.dst.is_multicast() ||
      original.eth_dst.is_multicast() || original.src.is_broadcast() ||
      original.dst == p.subnet().broadcast()) {
    return;
  }
  Packet e;
  e.eth_src = *p.mac;
  e.eth_dst = original.eth_src;
  e.src = *p.ip;
  e.dst = original.src;
  e.proto = ipproto::kIcmp;
  e.icmp_type = type;
  e.icmp_code = code;
  QuotedHeader q;
  q.src = original.src;
  q.dst = original.dst;
  q.proto = original.proto;
  q.ttl = original.ttl;
  q.tos = original.tos;
  q.ip_id = original.ip_id;
  q.sport = original.sport;
  q.dport = original.dport;
  q.icmp_type = original.icmp_type;
  q.icmp_code = original.icmp_code;
  q.icmp_id = original.icmp_id;
  e.quoted = q;
  if (trace_) {
    note("icmp " + std::to_string(type) + "/" + std::to_string(code) + " to " + original.src.str() +
         " from " + p.name);
  }
  emit(b, std::move(e), port);
}

void Walk::emit(const Branch& from, Packet pkt, PortId port) {
  if (from.generated) return;  // generated packets never generate more
  GeneratedScope scope(*this);
  Branch g{std::move(pkt), 0, true};
  port_egress(g, port, port);
}

Walk::GeneratedScope::GeneratedScope(Walk& w)
    : w_(w), mask_(w.result_.mask), tags_(w.result_.tags.size()), hop_(w.hop_) {
  w_.in_generated_ = true;
}

Walk::GeneratedScope::~GeneratedScope() {
  w_.in_generated_ = false;
  w_.result_.mask = mask_;
  w_.result_.tags.resize(tags_);
  w_.hop_ = hop_;
}

// ---------------------------------------------------------------------------------------------
// Trace and tags

void Walk::note(std::string line) {
  if (!trace_ || result_.hops.empty()) return;
  std::string& detail = result_.hops[hop_].detail;
  if (!detail.empty()) detail += "; ";
  detail += line;
}

void Walk::begin_hop(const std::string& device, const char* kind, PortId in_port) {
  if (!trace_) return;
  Hop h;
  h.device = device;
  h.kind = kind;
  h.in_port = topo_.port(in_port).name;
  if (in_generated_) h.detail = "generated packet";
  result_.hops.push_back(std::move(h));
  hop_ = result_.hops.size() - 1;
}

void Walk::set_out_port(PortId port) {
  if (!trace_ || result_.hops.empty()) return;
  std::string& out = result_.hops[hop_].out_port;
  if (!out.empty()) out += ",";
  out += topo_.port(port).name;
}

void Walk::tag(FlowTag::Kind kind, std::uint32_t id) {
  result_.tags.push_back(FlowTag{kind, id});
}

}  // namespace hivesim
