#pragma once
// Test helpers: generated packets (fixed seeds) and small byte utilities.

#include <cstdint>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/packet/packet.hpp"
#include "sim/packet/spec.hpp"

namespace hivesim::test {

/// Bytes from a hex string; spaces are ignored.
inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  int high = -1;
  for (char c : hex) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (v < 0) continue;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(high * 16 + v));
      high = -1;
    }
  }
  return out;
}

/// A reference RFC 1071 sum, written independently of the codec: the plain 16-bit
/// one's-complement sum of the bytes (odd tail padded with zero), folded, not complemented.
inline std::uint16_t ones_sum(std::span<const std::uint8_t> bytes, std::uint32_t start = 0) {
  std::uint32_t sum = start;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    sum += (i % 2 == 0) ? bytes[i] * 256U : bytes[i];
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(sum);
}

/// The payload written out as bytes (an empty payload with payload_len > 0 means zeros), which
/// is what parse_frame gives back.
inline Packet with_payload_bytes(Packet p) {
  if (p.payload.empty()) p.payload.assign(p.payload_len, 0);
  return p;
}

class PacketGen {
 public:
  explicit PacketGen(std::uint32_t seed) : rng_(seed) {}

  std::uint32_t uniform(std::uint32_t lo, std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng_);
  }
  bool coin() { return uniform(0, 1) == 1; }
  std::uint8_t u8() { return static_cast<std::uint8_t>(uniform(0, 255)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(uniform(0, 65535)); }
  Mac mac() { return Mac{(std::uint64_t{uniform(0, 0xffff)} << 32) | uniform(0, 0xffffffff)}; }
  Ipv4 ip() { return Ipv4{uniform(0, 0xffffffff)}; }

  /// Any packet the codec models, with every field it keeps set at random (options, VLAN
  /// priorities, sequence numbers, payload bytes), in the canonical form parse_frame returns.
  Packet wire_packet() {
    Packet p = base();
    if (p.is_ipv4() && coin()) {
      p.ip_options_len = static_cast<std::uint8_t>(4 * uniform(1, 10));
      for (std::size_t i = 0; i < p.ip_options_len; ++i)
        p.ip_options[i] = u8();
    }
    if (p.is_ipv4()) {
      p.ip_id = u16();
      p.dont_fragment = coin();
      if (p.frag == FragKind::kLater) {
        p.frag_offset = static_cast<std::uint16_t>(uniform(1, 0x1fff));
        p.more_fragments = coin();
      }
      if (p.has_l4() && p.proto == ipproto::kTcp) {
        p.tcp_seq = uniform(0, 0xffffffff);
        p.tcp_ack = uniform(0, 0xffffffff);
        p.tcp_window = u16();
      }
      if (p.has_l4() && p.proto == ipproto::kIcmp) {
        p.icmp_id = u16();
        p.icmp_seq = u16();
      }
      if (p.quoted) {
        p.quoted->tos = u8();
        p.quoted->ip_id = u16();
        p.quoted->total_len = u16();
      }
    }
    for (std::uint8_t i = 0; i < p.vlan_count; ++i)
      p.vlan_pcp[i] = u8() & 7;
    if (p.vlan_count > 0 && coin()) p.outer_tpid = ethertype::kQinQ;
    if (p.is_arp()) p.arp_tha = mac();
    p.payload.resize(p.payload_len);
    for (auto& b : p.payload)
      b = u8();
    return p;
  }

  /// A packet that the packet spec can express exactly, with build_packet()'s choices for the
  /// fields it cannot (see format_packet's contract).
  Packet spec_packet() { return base(); }

 private:
  Packet base() {
    Packet p;
    p.eth_src = mac();
    p.eth_dst = mac();
    p.vlan_count = static_cast<std::uint8_t>(uniform(0, 2));
    for (std::uint8_t i = 0; i < p.vlan_count; ++i) {
      p.vlans[i] = static_cast<std::uint16_t>(uniform(1, 4094));
    }
    if (p.vlan_count == 2) p.outer_tpid = ethertype::kQinQ;

    switch (uniform(0, 9)) {
      case 0:
        make_arp(p);
        break;
      case 1:
        make_opaque(p);
        break;
      default:
        make_ipv4(p);
        break;
    }
    return p;
  }

  void make_arp(Packet& p) {
    p.ethertype = ethertype::kArp;
    p.arp_op = coin() ? arpop::kRequest : arpop::kReply;
    if (uniform(0, 9) == 0) p.arp_op = static_cast<std::uint16_t>(uniform(3, 65535));
    p.arp_sha = p.eth_src;
    if (p.arp_op == arpop::kReply) p.arp_tha = p.eth_dst;
    p.arp_spa = ip();
    p.arp_tpa = ip();
  }

  void make_opaque(Packet& p) {
    do {
      p.ethertype = u16();
    } while (p.ethertype == ethertype::kIpv4 || p.ethertype == ethertype::kArp ||
             p.ethertype == ethertype::kVlan || p.ethertype == ethertype::kQinQ);
    p.payload_len = uniform(0, 200);
  }

  void make_ipv4(Packet& p) {
    p.ethertype = ethertype::kIpv4;
    p.src = ip();
    p.dst = ip();
    p.ttl = u8();
    p.tos = u8();
    const std::uint32_t frag = uniform(0, 5);
    p.frag = frag == 0 ? FragKind::kFirst : frag == 1 ? FragKind::kLater : FragKind::kNone;
    if (p.frag == FragKind::kLater) p.frag_offset = 185;
    p.payload_len = uniform(0, 3) == 0 ? uniform(0, 1400) : uniform(0, 40);

    switch (uniform(0, 3)) {
      case 0:
        p.proto = ipproto::kTcp;
        if (!p.has_l4()) break;
        p.sport = u16();
        p.dport = u16();
        p.tcp_flags = u8();
        break;
      case 1:
        p.proto = ipproto::kUdp;
        if (!p.has_l4()) break;
        p.sport = u16();
        p.dport = u16();
        break;
      case 2:
        p.proto = ipproto::kIcmp;
        if (p.has_l4()) make_icmp(p);
        break;
      default:
        do {
          p.proto = u8();
        } while (p.proto == ipproto::kTcp || p.proto == ipproto::kUdp || p.proto == ipproto::kIcmp);
        break;
    }
  }

  void make_icmp(Packet& p) {
    static constexpr std::uint8_t kErrors[] = {3, 4, 5, 11, 12};
    if (coin()) {
      p.icmp_type = kErrors[uniform(0, 4)];
      p.icmp_code = static_cast<std::uint8_t>(uniform(0, 15));
      QuotedHeader q;
      q.src = ip();
      q.dst = ip();
      q.ttl = u8();
      const std::uint32_t kind = uniform(0, 3);
      q.proto = kind == 0   ? ipproto::kTcp
                : kind == 1 ? ipproto::kUdp
                : kind == 2 ? ipproto::kIcmp
                            : static_cast<std::uint8_t>(uniform(50, 255));
      if (q.proto == ipproto::kTcp || q.proto == ipproto::kUdp) {
        q.sport = u16();
        q.dport = u16();
      } else if (q.proto == ipproto::kIcmp) {
        q.icmp_type = coin() ? icmptype::kEchoRequest : u8();
        q.icmp_code = u8();
        q.icmp_id = u16();
      }
      q.total_len = q.proto == ipproto::kTcp ? 40 : 28;
      p.quoted = q;
    } else {
      do {
        p.icmp_type = coin() ? icmptype::kEchoRequest : u8();
      } while (icmptype::is_error(p.icmp_type));
      p.icmp_code = coin() ? 0 : u8();
      p.icmp_id = u16();
      p.icmp_seq = 1;
    }
  }

  std::mt19937 rng_;
};

}  // namespace hivesim::test

/// Failed comparisons of packets print the spec line plus the fields the spec cannot express.
template <>
struct Catch::StringMaker<hivesim::Packet> {
  static std::string convert(const hivesim::Packet& p) {
    char extra[320];
    std::snprintf(extra, sizeof extra,
                  " [tpid=0x%04x pcp=%u,%u ip_id=%u df=%d off=%u mf=%d opts=%u seq=%u ack=%u "
                  "win=%u icmp_id=%u icmp_seq=%u sha=%s tha=%s payload=%zu/%u]",
                  p.outer_tpid, p.vlan_pcp[0], p.vlan_pcp[1], p.ip_id, p.dont_fragment,
                  p.frag_offset, p.more_fragments, p.ip_options_len, p.tcp_seq, p.tcp_ack,
                  p.tcp_window, p.icmp_id, p.icmp_seq, p.arp_sha.str().c_str(),
                  p.arp_tha.str().c_str(), p.payload.size(), p.payload_len);
    std::string out = hivesim::format_packet(p) + extra;
    if (p.quoted) {
      std::snprintf(extra, sizeof extra, " [quoted tos=%u ip_id=%u len=%u sport=%u dport=%u]",
                    p.quoted->tos, p.quoted->ip_id, p.quoted->total_len, p.quoted->sport,
                    p.quoted->dport);
      out += extra;
    }
    return out;
  }
};
