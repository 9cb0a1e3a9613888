// Condition matching, inline because it is the innermost loop of every simulation.
// Included by chain.hpp only.

#include <algorithm>

namespace hivesim {

namespace detail {

bool port_in_group(const Topology& topo, PortGroupRef group, PortId port);

/// The fragment kinds a policy accepts, one bit per FragKind (none, first, later).
inline constexpr std::uint8_t kFragAccepts[] = {
    0b111,  // kAny
    0b011,  // kHeader: unfragmented and first fragments
    0b100,  // kNonheader: later fragments
    0b001,  // kUnfragmented
};

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

inline PacketView PacketView::of(const Packet& p) {
  PacketView v;
  if (p.is_ipv4()) {
    v.has_addresses = true;
    v.src = p.src.bits;
    v.dst = p.dst.bits;
    v.src_field = Field::kNwSrc;
    v.dst_field = Field::kNwDst;
    v.frag_bit = static_cast<std::uint8_t>(1U << static_cast<unsigned>(p.frag));
    v.proto = p.proto;
    v.has_l4 = p.has_l4();
    v.l4_src = detail::l4_src(p);
    v.l4_dst = detail::l4_dst(p);
  } else if (p.is_arp()) {
    v.has_addresses = true;
    v.src = p.arp_spa.bits;
    v.dst = p.arp_tpa.bits;
    v.src_field = Field::kArpSpa;
    v.dst_field = Field::kArpTpa;
  }
  return v;
}

inline CompiledCondition CompiledCondition::compile(const Condition& c) {
  CompiledCondition k;
  k.source = &c;
  k.frag_accepts = detail::kFragAccepts[static_cast<int>(effective_frag_policy(c))];
  if (c.src) {
    k.has_src = true;
    k.src_negated = c.src_negated;
    k.src_mask = c.src->mask();
    k.src_net = c.src->addr.bits & k.src_mask;
  }
  if (c.dst) {
    k.has_dst = true;
    k.dst_negated = c.dst_negated;
    k.dst_mask = c.dst->mask();
    k.dst_net = c.dst->addr.bits & k.dst_mask;
  }
  k.proto = c.proto ? *c.proto : -1;
  k.has_sport = c.sport.has_value();
  k.has_dport = c.dport.has_value();
  k.sport = c.sport.value_or(PortRange{0, 65535});
  k.dport = c.dport.value_or(PortRange{0, 65535});
  k.rare = !c.in_ports.empty() || !c.out_ports.empty() || c.port_group || c.eth_src || c.eth_dst ||
           c.vlan || c.ethertype || c.tos || c.dst_rewritten;
  k.forward_flow = c.forward_flow ? (*c.forward_flow ? 1 : 0) : -1;
  k.invert = c.invert;
  return k;
}

namespace detail {

/// The fields few rules use, tested on the source condition.
inline bool match_rare_fields(const Topology& topo, const Condition& c, const Packet& p,
                              const MatchContext& ctx, FieldMask& mask) {
  if (c.tos) {
    mask.add(Field::kEthertype);
    mask.add(Field::kNwTos);
    if (!p.is_ipv4() || p.tos != *c.tos) return false;
  }
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
    if (!ctx.origin || !port_in_group(topo, *c.port_group, *ctx.origin)) return false;
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
  if (c.dst_rewritten) {
    mask.add(Field::kEthertype);
    mask.add(Field::kNwDst);
    const bool rewritten = p.is_ipv4() && ctx.original_dst && p.dst != *ctx.original_dst;
    if (rewritten != *c.dst_rewritten) return false;
  }
  return true;
}

template <class IsReturn>
[[gnu::always_inline]] inline bool match_fields(const Topology& topo, const CompiledCondition& k,
                                                const PacketView& v, const Packet& p,
                                                const MatchContext& ctx, FieldMask& mask,
                                                IsReturn& is_return) {
  // The fragment policy is checked first and is not subject to `invert` (MidoNet).
  if (k.frag_accepts != 0b111) {
    mask.add(Field::kEthertype);
    mask.add(Field::kNwFrag);
    if ((k.frag_accepts & v.frag_bit) == 0) return false;
  }
  // Every test below is ANDed before `invert`, so their order does not change the answer. The
  // selective ones (addresses, protocol, ports) go first: a rule that fails early costs little
  // and reads fewer fields, which keeps the flow's mask as wide as the answer allows.
  const bool matched = [&] {
    // An ARP packet's sender/target addresses count as src/dst; a packet with neither fails
    // the test, so a negated (`!`) test matches it.
    if (k.has_src) {
      mask.add(Field::kEthertype);
      if (v.has_addresses) mask.add(v.src_field);
      const bool test = v.has_addresses && (v.src & k.src_mask) == k.src_net;
      if (test == k.src_negated) return false;
    }
    if (k.has_dst) {
      mask.add(Field::kEthertype);
      if (v.has_addresses) mask.add(v.dst_field);
      const bool test = v.has_addresses && (v.dst & k.dst_mask) == k.dst_net;
      if (test == k.dst_negated) return false;
    }
    if (k.proto >= 0) {
      mask.add(Field::kEthertype);
      mask.add(Field::kNwProto);
      if (v.proto != k.proto) return false;
    }
    if (k.has_sport || k.has_dport) {
      // L4 fields of a non-IP packet or a later fragment are unknown: no match.
      mask.add(Field::kEthertype);
      mask.add(Field::kNwFrag);
      if (!v.has_l4) return false;
      mask.add(Field::kNwProto);
      if (k.has_sport) {
        mask.add(Field::kTpSrc);
        if (!k.sport.contains(v.l4_src)) return false;
      }
      if (k.has_dport) {
        mask.add(Field::kTpDst);
        if (!k.dport.contains(v.l4_dst)) return false;
      }
    }
    if (k.rare && !match_rare_fields(topo, *k.source, p, ctx, mask)) return false;
    if (k.forward_flow >= 0 && is_return() == (k.forward_flow == 1)) return false;
    return true;
  }();
  return matched != k.invert;
}

}  // namespace detail

template <class IsReturn>
[[gnu::always_inline]] inline bool condition_matches(const Topology& topo,
                                                     const CompiledCondition& c,
                                                     const PacketView& view, const Packet& p,
                                                     const MatchContext& ctx, FieldMask& mask,
                                                     IsReturn&& is_return) {
  // Reads are collected in a local mask (kept in a register) and merged once: this is the
  // innermost loop of every simulation.
  FieldMask read;
  const bool matched = detail::match_fields(topo, c, view, p, ctx, read, is_return);
  mask.merge(read);
  return matched;
}

template <class IsReturn>
bool condition_matches(const Topology& topo, const Condition& c, const Packet& p,
                       const MatchContext& ctx, FieldMask& mask, IsReturn&& is_return) {
  return condition_matches(topo, CompiledCondition::compile(c), PacketView::of(p), p, ctx, mask,
                           is_return);
}

}  // namespace hivesim
