#include "sim/datapath/rewrite.hpp"

#include <algorithm>

#include <cstdio>

namespace hivesim {

namespace {

bool same_vlan_stack(const Packet& a, const Packet& b) {
  return a.vlan_count == b.vlan_count && a.vlans == b.vlans && a.vlan_pcp == b.vlan_pcp &&
         a.outer_tpid == b.outer_tpid;
}

bool has_ports(const Packet& p) {
  return p.has_l4() && (p.proto == ipproto::kTcp || p.proto == ipproto::kUdp);
}

bool has_echo_id(const Packet& p) {
  return p.has_l4() && p.proto == ipproto::kIcmp &&
         (p.icmp_type == icmptype::kEchoRequest || p.icmp_type == icmptype::kEchoReply);
}

void append(std::string& out, const char* name, const std::string& value) {
  out += out.empty() ? "set(" : ",";
  out += name;
  out += '=';
  out += value;
}

}  // namespace

std::optional<PacketRewrite> rewrite_between(const Packet& in, const Packet& out) {
  PacketRewrite rw;
  if (in.eth_src != out.eth_src) {
    rw.mark(RewriteField::kEthSrc);
    rw.eth_src = out.eth_src;
  }
  if (in.eth_dst != out.eth_dst) {
    rw.mark(RewriteField::kEthDst);
    rw.eth_dst = out.eth_dst;
  }
  if (!same_vlan_stack(in, out)) {
    rw.mark(RewriteField::kVlans);
    rw.vlan_count = out.vlan_count;
    rw.vlans = out.vlans;
    rw.vlan_pcp = out.vlan_pcp;
    rw.outer_tpid = out.outer_tpid;
  }
  // A field is only rewritable where the packet has that header; a difference elsewhere is left
  // out here and caught by the check below.
  if (in.is_ipv4()) {
    if (in.src != out.src) {
      rw.mark(RewriteField::kNwSrc);
      rw.nw_src = out.src;
    }
    if (in.dst != out.dst) {
      rw.mark(RewriteField::kNwDst);
      rw.nw_dst = out.dst;
    }
    if (in.tos != out.tos) {
      rw.mark(RewriteField::kNwTos);
      rw.nw_tos = out.tos;
    }
    if (in.ttl != out.ttl) {
      rw.mark(RewriteField::kNwTtl);
      rw.nw_ttl = out.ttl;
    }
  }
  if (has_ports(in)) {
    if (in.sport != out.sport) {
      rw.mark(RewriteField::kTpSrc);
      rw.tp_src = out.sport;
    }
    if (in.dport != out.dport) {
      rw.mark(RewriteField::kTpDst);
      rw.tp_dst = out.dport;
    }
  }
  if (has_echo_id(in) && in.icmp_id != out.icmp_id) {
    rw.mark(RewriteField::kIcmpId);
    rw.icmp_id = out.icmp_id;
  }

  // Every other field must already be equal. Checking the result against `out` as a whole keeps
  // this correct when Packet gains fields (the copy allocates only for a non-empty payload).
  Packet check = in;
  apply(rw, check);
  if (!(check == out)) return std::nullopt;
  return rw;
}

void apply(const PacketRewrite& rw, Packet& p) {
  if (rw.empty()) return;
  if (rw.has(RewriteField::kEthSrc)) p.eth_src = rw.eth_src;
  if (rw.has(RewriteField::kEthDst)) p.eth_dst = rw.eth_dst;
  if (rw.has(RewriteField::kVlans)) {
    p.vlan_count = rw.vlan_count;
    p.vlans = rw.vlans;
    p.vlan_pcp = rw.vlan_pcp;
    p.outer_tpid = rw.outer_tpid;
  }
  if (rw.has(RewriteField::kNwSrc)) p.src = rw.nw_src;
  if (rw.has(RewriteField::kNwDst)) p.dst = rw.nw_dst;
  if (rw.has(RewriteField::kNwTos)) p.tos = rw.nw_tos;
  if (rw.has(RewriteField::kNwTtl)) p.ttl = rw.nw_ttl;
  if (rw.has(RewriteField::kTpSrc)) p.sport = rw.tp_src;
  if (rw.has(RewriteField::kTpDst)) p.dport = rw.tp_dst;
  if (rw.has(RewriteField::kIcmpId)) p.icmp_id = rw.icmp_id;
}

std::size_t rewritten_length(const PacketRewrite& rewrite, std::size_t length,
                             std::uint8_t vlan_count) {
  if (!rewrite.has(RewriteField::kVlans)) return length;
  constexpr std::size_t kTag = 4;  // wire_length counts at most two tags
  return length - kTag * std::min<std::size_t>(vlan_count, 2) +
         kTag * std::min<std::size_t>(rewrite.vlan_count, 2);
}

std::string to_string(const PacketRewrite& rw) {
  std::string out;
  if (rw.has(RewriteField::kEthSrc)) append(out, "eth_src", rw.eth_src.str());
  if (rw.has(RewriteField::kEthDst)) append(out, "eth_dst", rw.eth_dst.str());
  if (rw.has(RewriteField::kVlans)) {
    const std::size_t n = rw.vlan_count < 2 ? rw.vlan_count : 2;
    std::string ids;
    std::string pcps;
    bool any_pcp = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) {
        ids += ':';
        pcps += ':';
      }
      ids += std::to_string(rw.vlans[i]);
      pcps += std::to_string(rw.vlan_pcp[i]);
      any_pcp = any_pcp || rw.vlan_pcp[i] != 0;
    }
    append(out, "vlans", n == 0 ? std::string("none") : ids);
    if (any_pcp) append(out, "vlan_pcp", pcps);
    if (n > 0 && rw.outer_tpid != ethertype::kVlan) {
      char tpid[8];
      std::snprintf(tpid, sizeof tpid, "0x%04x", rw.outer_tpid);
      append(out, "vlan_tpid", tpid);
    }
  }
  if (rw.has(RewriteField::kNwSrc)) append(out, "nw_src", rw.nw_src.str());
  if (rw.has(RewriteField::kNwDst)) append(out, "nw_dst", rw.nw_dst.str());
  if (rw.has(RewriteField::kNwTos)) append(out, "nw_tos", std::to_string(rw.nw_tos));
  if (rw.has(RewriteField::kNwTtl)) append(out, "nw_ttl", std::to_string(rw.nw_ttl));
  if (rw.has(RewriteField::kTpSrc)) append(out, "tp_src", std::to_string(rw.tp_src));
  if (rw.has(RewriteField::kTpDst)) append(out, "tp_dst", std::to_string(rw.tp_dst));
  if (rw.has(RewriteField::kIcmpId)) append(out, "icmp_id", std::to_string(rw.icmp_id));
  if (!out.empty()) out += ')';
  return out;
}

}  // namespace hivesim
