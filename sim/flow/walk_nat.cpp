// The walk's stateful services: connection tracking keys, NAT actions of chain rules, L4 load
// balancing and floating IPs (Walk's members; sim/flow/walk.hpp).
#include <algorithm>

#include "sim/flow/walk.hpp"

namespace hivesim {

std::uint32_t Walk::device_code(PortId port) const {
  const Port& p = topo_.port(port);
  return p.on_router() ? (p.device | 0x80000000U) : p.device;
}

std::optional<ConnKey> Walk::conn_key(const Packet& pkt, std::uint32_t device) const {
  if (!pkt.is_ipv4()) return std::nullopt;
  ConnKey key{pkt.src, pkt.dst, pkt.sport, pkt.dport, pkt.proto, device};
  if (pkt.proto == ipproto::kIcmp) {
    // The echo id stands in for both ports; other ICMP has none.
    const bool echo =
        pkt.icmp_type == icmptype::kEchoRequest || pkt.icmp_type == icmptype::kEchoReply;
    key.sport = key.dport = echo ? pkt.icmp_id : 0;
  } else if (pkt.proto != ipproto::kTcp && pkt.proto != ipproto::kUdp) {
    return std::nullopt;
  }
  return key;
}

bool Walk::is_return_flow() {
  // Packets the devices generate (ICMP errors, replies) always count as return traffic.
  if (in_generated_) return true;
  if (!is_return_) {
    result_.mask.add(Field::kEthertype);
    result_.mask.add(Field::kNwSrc);
    result_.mask.add(Field::kNwDst);
    result_.mask.add(Field::kNwProto);
    result_.mask.add(Field::kTpSrc);
    result_.mask.add(Field::kTpDst);
    const auto key = conn_key(original_, device_code(origin_));
    is_return_ = key && state_.conntrack.is_return(*key);
    if (trace_) note(*is_return_ ? "conntrack: return flow" : "conntrack: forward flow");
  }
  return *is_return_;
}

bool Walk::apply_nat(const Action& action, Packet& pkt) {
  if (!pkt.is_ipv4()) return false;
  result_.mask.add(Field::kNwSrc);
  result_.mask.add(Field::kNwDst);
  const bool snat_side = action.kind == ActionKind::kSnat || action.kind == ActionKind::kRevSnat;
  if ((action.kind == ActionKind::kDnat || action.kind == ActionKind::kSnat) &&
      action.nat.is_static()) {
    // Static NAT: a stateless address rewrite, ports untouched.
    (snat_side ? pkt.src : pkt.dst) = action.nat.ip_lo;
    return true;
  }
  result_.mask.add(Field::kNwProto);
  result_.mask.add(Field::kTpSrc);
  result_.mask.add(Field::kTpDst);
  const bool icmp = pkt.proto == ipproto::kIcmp;
  const bool echo =
      icmp && (pkt.icmp_type == icmptype::kEchoRequest || pkt.icmp_type == icmptype::kEchoReply);
  if (icmp && !echo && !pkt.quoted) return false;
  if (icmp && echo) result_.mask.add(Field::kIcmpId);

  switch (action.kind) {
    case ActionKind::kSnat:
    case ActionKind::kDnat: {
      if (icmp && !echo) return false;  // errors are only reverse-translated
      const auto key = conn_key(pkt, nat_device_);
      if (!key) return false;
      const NatKind kind = snat_side ? NatKind::kSnat : NatKind::kDnat;
      auto to = state_.nat.forward(kind, *key);
      if (!to) {
        const NatTarget& t = action.nat;
        if (kind == NatKind::kSnat) {
          // ICMP echo keeps its id: only the address is chosen.
          to = echo ? state_.nat.allocate_snat(*key, t.ip_lo, t.ip_hi, pkt.icmp_id, pkt.icmp_id)
                    : state_.nat.allocate_snat(*key, t.ip_lo, t.ip_hi, t.port_lo, t.port_hi);
        } else {
          const Ipv4 ip{state_.nat.draw(t.ip_lo.bits, t.ip_hi.bits)};
          const bool keep_port = echo || (t.port_lo == 0 && t.port_hi == 0);
          const auto port = keep_port
                                ? key->dport
                                : static_cast<std::uint16_t>(state_.nat.draw(t.port_lo, t.port_hi));
          to = NatEndpoint{ip, port};
        }
        if (!to) {
          if (trace_) note("nat: no free address/port in the target range");
          return false;
        }
        state_.nat.bind(kind, *key, *to, now_);
      }
      if (kind == NatKind::kSnat) {
        pkt.src = to->ip;
        if (!echo) pkt.sport = to->port;
      } else {
        pkt.dst = to->ip;
        if (!echo) pkt.dport = to->port;
      }
      return true;
    }
    case ActionKind::kRevSnat:
    case ActionKind::kRevDnat: {
      const NatKind kind = snat_side ? NatKind::kSnat : NatKind::kDnat;
      if (pkt.quoted && icmp && !echo) {
        // An ICMP error about a translated packet: the quoted header is the packet as it
        // left (translated); its reply key is the quote reversed.
        const QuotedHeader& q = *pkt.quoted;
        Packet quoted_pkt;
        quoted_pkt.src = q.dst;
        quoted_pkt.dst = q.src;
        quoted_pkt.proto = q.proto;
        quoted_pkt.sport = q.dport;
        quoted_pkt.dport = q.sport;
        quoted_pkt.icmp_type =
            q.icmp_type == icmptype::kEchoRequest ? icmptype::kEchoReply : q.icmp_type;
        quoted_pkt.icmp_id = q.icmp_id;
        const auto key = conn_key(quoted_pkt, nat_device_);
        if (!key) return false;
        const auto orig = state_.nat.reverse(kind, *key);
        if (!orig) return false;
        QuotedHeader& mq = *pkt.quoted;
        if (kind == NatKind::kSnat) {
          if (pkt.dst == mq.src) pkt.dst = orig->ip;
          mq.src = orig->ip;
          if (q.proto != ipproto::kIcmp) mq.sport = orig->port;
        } else {
          if (pkt.src == mq.dst) pkt.src = orig->ip;
          mq.dst = orig->ip;
          if (q.proto != ipproto::kIcmp) mq.dport = orig->port;
        }
        return true;
      }
      const auto key = conn_key(pkt, nat_device_);
      if (!key) return false;
      const auto orig = state_.nat.reverse(kind, *key);
      if (!orig) return false;
      if (kind == NatKind::kSnat) {
        pkt.dst = orig->ip;
        if (!echo) pkt.dport = orig->port;
      } else {
        pkt.src = orig->ip;
        if (!echo) pkt.sport = orig->port;
      }
      return true;
    }
    default:
      return false;
  }
}

namespace {

/// NAT bindings of a load balancer are kept under their own device code.
std::uint32_t lb_device(LoadBalancerId lb) {
  return 0x10000000U | lb.value;
}

bool member_active(const PoolMember& m) {
  return m.admin_up && m.healthy && m.weight > 0;
}

}  // namespace

Walk::LbOutcome Walk::load_balance(Branch& b, RouterId id) {
  Packet& pkt = b.pkt;
  for (LoadBalancerId lb_id : sim_.load_balancers(id)) {
    const LoadBalancer& lb = topo_.load_balancers[lb_id.value];
    tag(FlowTag::Kind::kLoadBalancer, lb_id.value);
    if (!lb.admin_up) continue;
    result_.mask.add(Field::kNwDst);
    result_.mask.add(Field::kNwProto);
    result_.mask.add(Field::kTpDst);
    for (VipId vip_id : lb.vips) {
      const Vip& vip = topo_.vips[vip_id.value];
      // VIPs balance TCP only (MidoNet); UDP to a VIP is routed like any packet.
      if (!vip.admin_up || pkt.proto != ipproto::kTcp || !pkt.has_l4() || pkt.dst != vip.ip ||
          pkt.dport != vip.port) {
        continue;
      }
      const Pool& pool = topo_.pools[vip.pool.value];
      tag(FlowTag::Kind::kPool, vip.pool.value);
      result_.mask.add(Field::kNwSrc);
      const bool sticky = vip.persistence == Persistence::kSourceIp;
      if (!sticky) result_.mask.add(Field::kTpSrc);
      ConnKey key{pkt.src,   pkt.dst,       sticky ? std::uint16_t{0} : pkt.sport,
                  pkt.dport, ipproto::kTcp, lb_device(lb_id)};
      // An existing connection keeps its member while it stays valid: active, or for a
      // non-sticky VIP also admin-disabled (its connections drain).
      auto find_member = [&pool](NatEndpoint e) -> const PoolMember* {
        for (const PoolMember& m : pool.members) {
          if (m.ip == e.ip && m.port == e.port) return &m;
        }
        return nullptr;
      };
      std::optional<NatEndpoint> to = state_.nat.forward(NatKind::kDnat, key);
      if (to) {
        const PoolMember* m = find_member(*to);
        const bool valid = m && (member_active(*m) || (!sticky && m->weight > 0));
        if (!valid) to.reset();
      }
      if (!to && pool.admin_up) {
        std::uint64_t total = 0;
        for (const PoolMember& m : pool.members)
          total += member_active(m) ? m.weight : 0;
        if (total > 0) {
          std::uint64_t pick = state_.nat.draw(0, static_cast<std::uint32_t>(total - 1));
          for (const PoolMember& m : pool.members) {
            if (!member_active(m)) continue;
            if (pick < m.weight) {
              to = NatEndpoint{m.ip, m.port};
              break;
            }
            pick -= m.weight;
          }
          state_.nat.bind(NatKind::kDnat, key, *to, now_);
        }
      }
      if (!to) {
        drop(b, DropReason::kNoBackend, vip.name, std::nullopt,
             "pool " + pool.name + " has no active member");
        return LbOutcome::kDropped;
      }
      if (trace_) {
        note("lb " + lb.name + " vip " + vip.name + ": member " + to->ip.str() + ":" +
             std::to_string(to->port));
      }
      if (!b.generated) result_.balanced = LbChoice{vip_id, to->ip, to->port};
      pkt.dst = to->ip;
      pkt.dport = to->port;
      return LbOutcome::kBalanced;
    }
  }
  return LbOutcome::kNoVip;
}

bool Walk::reverse_load_balance(RouterId id, Packet& pkt) {
  if (sim_.load_balancers(id).empty() || pkt.proto != ipproto::kTcp || !pkt.has_l4()) {
    return false;
  }
  result_.mask.add(Field::kNwSrc);
  result_.mask.add(Field::kTpSrc);
  // Only a pool member's packets can be replies of balanced connections.
  if (!sim_.is_pool_member(id, NatEndpoint{pkt.src, pkt.sport})) return false;
  for (LoadBalancerId lb_id : sim_.load_balancers(id)) {
    result_.mask.add(Field::kNwDst);
    result_.mask.add(Field::kTpDst);
    // Non-sticky bindings carry the client port; sticky ones leave it out.
    ConnKey key{pkt.src, pkt.dst, pkt.sport, pkt.dport, ipproto::kTcp, lb_device(lb_id)};
    auto vip = state_.nat.reverse(NatKind::kDnat, key);
    if (!vip) {
      key.dport = 0;
      vip = state_.nat.reverse(NatKind::kDnat, key);
    }
    if (!vip) continue;
    if (trace_) {
      note("lb " + topo_.load_balancers[lb_id.value].name + ": reply from " + pkt.src.str() +
           " restored to vip " + vip->ip.str() + ":" + std::to_string(vip->port));
    }
    pkt.src = vip->ip;
    pkt.sport = vip->port;
    return true;
  }
  return false;
}

void Walk::floating_ip_dnat(RouterId id, Packet& pkt) {
  const auto& fips = sim_.floating_ips(id);
  if (fips.empty()) return;
  result_.mask.add(Field::kNwDst);
  for (const FloatingIpRule& f : fips) {
    if (pkt.dst == f.floating) {
      pkt.dst = f.fixed;
      if (trace_) note("floating ip " + f.floating.str() + " -> " + f.fixed.str());
      return;
    }
  }
}

void Walk::floating_ip_snat(RouterId id, Packet& pkt, PortId out_port) {
  const auto& fips = sim_.floating_ips(id);
  if (fips.empty()) return;
  result_.mask.add(Field::kNwSrc);
  const FloatingIpRule* fip = nullptr;
  for (const FloatingIpRule& f : fips) {
    if (pkt.src == f.fixed) fip = &f;
  }
  if (fip == nullptr) return;
  // Leaving by the port on the floating IP's network: always translated (MidoNet's
  // FLOAT_SNAT_EXACT). Elsewhere only north-south traffic is; east-west traffic (to another
  // network of this router) keeps the fixed address.
  if (!topo_.port(out_port).subnet().contains(fip->floating)) {
    result_.mask.add(Field::kNwDst);
    for (PortId pid : topo_.router(id).ports) {
      if (topo_.port(pid).subnet().contains(pkt.dst)) return;
    }
  }
  pkt.src = fip->floating;
  if (trace_) note("floating ip: source " + fip->fixed.str() + " -> " + fip->floating.str());
}

}  // namespace hivesim
