// Condition matching, inline because it is the innermost loop of every simulation.
// Included by chain.hpp only.

#include <algorithm>

namespace hivesim {

namespace detail {

bool port_in_group(const Topology& topo, PortGroupRef group, PortId port);

inline bool frag_policy_accepts(FragmentPolicy policy, FragKind frag) {
  switch (policy) {
    case FragmentPolicy::kAny:
      return true;
    case FragmentPolicy::kHeader:
      return frag != FragKind::kLater;
    case FragmentPolicy::kNonheader:
      return frag == FragKind::kLater;
    case FragmentPolicy::kUnfragmented:
      return frag == FragKind::kNone;
  }
  return false;
}

/// The L4 "ports" a condition sees: tcp/udp ports, ICMP type/code (MidoNet's convention).
inline std::uint16_t l4_src(const Packet& p) {
  return p.proto == ipproto::kIcmp ? p.icmp_type : p.sport;
}
inline std::uint16_t l4_dst(const Packet& p) {
  return p.proto == ipproto::kIcmp ? p.icmp_code : p.dport;
}

}  // namespace detail

inline FragmentPolicy effective_frag_policy(const Condition& c) {
  if (c.frag) return *c.frag;
  return (c.sport || c.dport) ? FragmentPolicy::kHeader : FragmentPolicy::kAny;
}

template <class IsReturn>
bool condition_matches(const Topology& topo, const Condition& c, const Packet& p,
                       const MatchContext& ctx, FieldMask& mask, IsReturn&& is_return) {
  // The fragment policy is checked first and is not subject to `invert` (MidoNet).
  const FragmentPolicy policy = effective_frag_policy(c);
  if (policy != FragmentPolicy::kAny) {
    mask.add(Field::kEthertype);
    mask.add(Field::kNwFrag);
    const FragKind frag = p.is_ipv4() ? p.frag : FragKind::kNone;
    if (!detail::frag_policy_accepts(policy, frag)) return false;
  }
  const bool matched = [&] {
    if (!c.in_ports.empty()) {
      mask.add(Field::kInPort);
      if (std::find(c.in_ports.begin(), c.in_ports.end(), ctx.in_port) == c.in_ports.end()) {
        return false;
      }
    }
    if (!c.out_ports.empty()) {
      if (!ctx.out_port) return false;
      if (std::find(c.out_ports.begin(), c.out_ports.end(), *ctx.out_port) == c.out_ports.end()) {
        return false;
      }
    }
    if (c.port_group) {
      mask.add(Field::kInPort);
      if (!ctx.origin || !detail::port_in_group(topo, *c.port_group, *ctx.origin)) return false;
    }
    if (c.eth_src) {
      mask.add(Field::kEthSrc);
      if (p.eth_src != *c.eth_src) return false;
    }
    if (c.eth_dst) {
      mask.add(Field::kEthDst);
      if (p.eth_dst != *c.eth_dst) return false;
    }
    if (c.vlan) {
      mask.add(Field::kVlan);
      if (p.vlan_count == 0 || p.vlans[0] != *c.vlan) return false;
    }
    if (c.ethertype) {
      mask.add(Field::kEthertype);
      if (p.ethertype != *c.ethertype) return false;
    }
    // Address tests: an ARP packet's sender/target addresses count as src/dst; a packet with
    // neither fails the test, so a negated (`!`) test matches it.
    auto address_test = [&](const Ipv4Prefix& prefix, bool negated, bool source) {
      mask.add(Field::kEthertype);
      bool test = false;
      if (p.is_ipv4()) {
        mask.add(source ? Field::kNwSrc : Field::kNwDst);
        test = prefix.contains(source ? p.src : p.dst);
      } else if (p.is_arp()) {
        mask.add(source ? Field::kArpSpa : Field::kArpTpa);
        test = prefix.contains(source ? p.arp_spa : p.arp_tpa);
      }
      return test != negated;
    };
    if (c.src && !address_test(*c.src, c.src_negated, true)) return false;
    if (c.dst && !address_test(*c.dst, c.dst_negated, false)) return false;
    if (c.proto || c.tos) {
      mask.add(Field::kEthertype);
      if (!p.is_ipv4()) return false;
    }
    if (c.proto) {
      mask.add(Field::kNwProto);
      if (p.proto != *c.proto) return false;
    }
    if (c.tos) {
      mask.add(Field::kNwTos);
      if (p.tos != *c.tos) return false;
    }
    if (c.sport || c.dport) {
      // L4 fields of a non-IP packet or a later fragment are unknown: no match.
      mask.add(Field::kEthertype);
      mask.add(Field::kNwFrag);
      if (!p.has_l4()) return false;
      mask.add(Field::kNwProto);
      if (c.sport) {
        mask.add(Field::kTpSrc);
        if (!c.sport->contains(detail::l4_src(p))) return false;
      }
      if (c.dport) {
        mask.add(Field::kTpDst);
        if (!c.dport->contains(detail::l4_dst(p))) return false;
      }
    }
    if (c.forward_flow) {
      if (is_return() == *c.forward_flow) return false;
    }
    return true;
  }();
  return matched != c.invert;
}

}  // namespace hivesim
