#include "sim/packet/codec.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <optional>

#include "sim/packet/bytes.hpp"

namespace hivesim {

namespace {

constexpr std::size_t kEthHeader = 14;
constexpr std::size_t kVlanTag = 4;
constexpr std::size_t kArpBody = 28;  // Ethernet/IPv4 ARP
constexpr std::size_t kIpv4Header = 20;
constexpr std::size_t kTcpHeader = 20;
constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kIcmpHeader = 8;
constexpr std::size_t kQuotedL4 = 8;  // RFC 792: the IP header plus 64 bits of the datagram
constexpr std::size_t kQuote = kIpv4Header + kQuotedL4;

constexpr std::uint16_t kIpDontFragment = 0x4000;
constexpr std::uint16_t kIpMoreFragments = 0x2000;
constexpr std::uint16_t kIpOffsetMask = 0x1fff;

/// A parse step: nothing, or the reason the frame is malformed.

[[gnu::format(printf, 1, 2)]] Error malformed(const char* format, ...) {
  char buf[160];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  return Error{buf};
}

Error truncated(const char* what, std::size_t have, std::size_t need) {
  return malformed("%s truncated: %zu of %zu bytes", what, have, need);
}

/// `p = Packet{}`, but the payload keeps its buffer, and the rarer fields are written only when
/// set: a reader parsing frame after frame into one Packet rewrites its first two cache lines.
void reset_keeping_buffer(Packet& p) {
  const bool options = p.ip_options_len != 0;  // (bytes past ip_options_len are zero)
  static_cast<PacketFields&>(p) = PacketFields{};
  p.payload.clear();
  if ((p.arp_sha.bits | p.arp_tha.bits | p.arp_spa.bits | p.arp_tpa.bits) != 0) {
    p.arp_sha = p.arp_tha = Mac{};
    p.arp_spa = p.arp_tpa = Ipv4{};
  }
  if (options) p.ip_options = {};
  p.quoted.reset();
}

/// Unfolded one's-complement sum of the TCP/UDP pseudo header.
std::uint32_t pseudo_header_sum(Ipv4 src, Ipv4 dst, std::uint8_t proto, std::size_t l4_len) {
  return (src.bits >> 16) + (src.bits & 0xffff) + (dst.bits >> 16) + (dst.bits & 0xffff) + proto +
         static_cast<std::uint32_t>(l4_len);
}

void set_payload(Packet& p, std::span<const std::uint8_t> bytes, bool keep) {
  if (keep) p.payload.assign(bytes.begin(), bytes.end());
  p.payload_len = static_cast<std::uint32_t>(bytes.size());
}

// ---------------------------------------------------------------------------------------------
// Parsing. Each step checks the length of its header before reading it.

Status parse_arp(ByteReader& r, Packet& p) {
  if (r.remaining() < kArpBody) return truncated("arp", r.remaining(), kArpBody);
  const std::uint16_t htype = r.u16();
  const std::uint16_t ptype = r.u16();
  const std::uint8_t hlen = r.u8();
  const std::uint8_t plen = r.u8();
  if (htype != 1 || ptype != ethertype::kIpv4 || hlen != 6 || plen != 4) {
    return malformed(
        "arp for hardware type %u, protocol 0x%04x is not supported (only Ethernet/IPv4)", htype,
        ptype);
  }
  p.arp_op = r.u16();
  p.arp_sha = r.mac();
  p.arp_spa = r.ipv4();
  p.arp_tha = r.mac();
  p.arp_tpa = r.ipv4();
  // Anything after the ARP body is Ethernet padding.
  return {};
}

Status parse_tcp(ByteReader& r, Packet& p, bool keep) {
  if (r.remaining() < kTcpHeader) return truncated("tcp header", r.remaining(), kTcpHeader);
  const std::uint8_t* h = r.take(kTcpHeader).data();  // checksum, urgent pointer: not read
  p.sport = load_u16(h);
  p.dport = load_u16(h + 2);
  p.tcp_seq = load_u32(h + 4);
  p.tcp_ack = load_u32(h + 8);
  const std::uint8_t offset_words = h[12] >> 4;
  p.tcp_flags = h[13];
  p.tcp_window = load_u16(h + 14);
  if (offset_words < 5) return malformed("tcp data offset %u is below 5", offset_words);
  const std::size_t options = offset_words * 4U - kTcpHeader;
  if (options > r.remaining()) {
    return malformed("tcp header truncated: data offset %u bytes, %zu in the packet",
                     offset_words * 4U, kTcpHeader + r.remaining());
  }
  r.skip(options);  // options are not modelled
  set_payload(p, r.rest(), keep);
  return {};
}

Status parse_udp(ByteReader& r, Packet& p, bool keep) {
  if (r.remaining() < kUdpHeader) return truncated("udp header", r.remaining(), kUdpHeader);
  const std::uint8_t* h = r.take(kUdpHeader).data();  // checksum: not read
  p.sport = load_u16(h);
  p.dport = load_u16(h + 2);
  const std::uint16_t length = load_u16(h + 4);
  if (p.frag == FragKind::kFirst) {
    // The length covers the whole datagram, most of it in later fragments.
    set_payload(p, r.rest(), keep);
    return {};
  }
  if (length < kUdpHeader) return malformed("udp length %u is below 8", length);
  if (length - kUdpHeader > r.remaining()) {
    return malformed("udp datagram truncated: length %u, %zu bytes in the ip packet", length,
                     kUdpHeader + r.remaining());
  }
  set_payload(p, r.take(length - kUdpHeader), keep);
  return {};
}

/// The IP header and first 8 bytes that an ICMP error quotes.
Status parse_quote(ByteReader& r, QuotedHeader& q) {
  if (r.remaining() < kQuote) return truncated("icmp error quote", r.remaining(), kQuote);
  const std::uint8_t version_ihl = r.peek_u8();
  if ((version_ihl >> 4) != 4) {
    return malformed("icmp error quotes an ip version %u header", version_ihl >> 4);
  }
  const std::size_t ihl = (version_ihl & 0xfU) * 4U;
  if (ihl < kIpv4Header) {
    return malformed("icmp error quotes an ipv4 header with ihl %zu (below 5)", ihl / 4);
  }
  if (r.remaining() < ihl + kQuotedL4) {
    return truncated("icmp error quote", r.remaining(), ihl + kQuotedL4);
  }
  r.skip(1);  // version, ihl
  q.tos = r.u8();
  q.total_len = r.u16();
  q.ip_id = r.u16();
  r.skip(2);  // flags, fragment offset
  q.ttl = r.u8();
  q.proto = r.u8();
  r.skip(2);  // checksum
  q.src = r.ipv4();
  q.dst = r.ipv4();
  r.skip(ihl - kIpv4Header);  // quoted options are not modelled
  ByteReader l4(r.take(kQuotedL4));
  switch (q.proto) {
    case ipproto::kTcp:
    case ipproto::kUdp:
      q.sport = l4.u16();
      q.dport = l4.u16();
      break;
    case ipproto::kIcmp:
      q.icmp_type = l4.u8();
      q.icmp_code = l4.u8();
      l4.skip(2);  // checksum
      q.icmp_id = l4.u16();
      break;
    default:
      break;
  }
  return {};
}

Status parse_icmp(ByteReader& r, Packet& p, bool keep) {
  if (r.remaining() < kIcmpHeader) return truncated("icmp header", r.remaining(), kIcmpHeader);
  p.icmp_type = r.u8();
  p.icmp_code = r.u8();
  r.skip(2);  // checksum
  p.icmp_id = r.u16();
  p.icmp_seq = r.u16();
  if (icmptype::is_error(p.icmp_type)) {
    QuotedHeader q;
    if (Status err = parse_quote(r, q); !err.ok()) return err;
    p.quoted = q;
  }
  set_payload(p, r.rest(), keep);
  return {};
}

Status parse_ipv4(ByteReader& r, Packet& p, bool keep) {
  const std::size_t captured = r.remaining();
  if (captured < kIpv4Header) return truncated("ipv4 header", captured, kIpv4Header);
  // The fixed header at once. The checksum is not verified: captures often carry offloaded ones.
  const std::uint8_t* h = r.take(kIpv4Header).data();
  const std::uint8_t version_ihl = h[0];
  if ((version_ihl >> 4) != 4) {
    return malformed("ip version %u in an ipv4 (0x0800) frame", version_ihl >> 4);
  }
  const std::size_t ihl = (version_ihl & 0xfU) * 4U;
  if (ihl < kIpv4Header) return malformed("ipv4 ihl %zu is below 5", ihl / 4);
  if (captured < ihl) return truncated("ipv4 header", captured, ihl);
  p.tos = h[1];
  const std::uint16_t total_len = load_u16(h + 2);
  p.ip_id = load_u16(h + 4);
  const std::uint16_t flags_offset = load_u16(h + 6);
  p.ttl = h[8];
  p.proto = h[9];
  p.src = Ipv4{load_u32(h + 12)};
  p.dst = Ipv4{load_u32(h + 16)};
  if (total_len < ihl) {
    return malformed("ipv4 total length %u is less than its header length %zu", total_len, ihl);
  }
  if (total_len > captured) {
    return malformed("ipv4 packet truncated: total length %u, %zu bytes captured", total_len,
                     captured);
  }
  p.ip_options_len = static_cast<std::uint8_t>(ihl - kIpv4Header);
  const auto options = r.take(p.ip_options_len);
  std::copy(options.begin(), options.end(), p.ip_options.begin());

  p.dont_fragment = (flags_offset & kIpDontFragment) != 0;
  const bool more = (flags_offset & kIpMoreFragments) != 0;
  p.frag_offset = flags_offset & kIpOffsetMask;
  if (p.frag_offset != 0) {
    p.frag = FragKind::kLater;
    p.more_fragments = more;
  } else if (more) {
    p.frag = FragKind::kFirst;
  }

  // Bytes past the total length are Ethernet padding.
  ByteReader body(r.take(total_len - ihl));
  if (!p.has_l4()) {
    set_payload(p, body.rest(), keep);
    return {};
  }
  switch (p.proto) {
    case ipproto::kTcp:
      return parse_tcp(body, p, keep);
    case ipproto::kUdp:
      return parse_udp(body, p, keep);
    case ipproto::kIcmp:
      return parse_icmp(body, p, keep);
    default:
      set_payload(p, body.rest(), keep);
      return {};
  }
}

// ---------------------------------------------------------------------------------------------
// Serializing.

std::size_t ip_options_size(const Packet& p) {
  // Options fill whole 32-bit words (zero = end of options), at most 40 bytes.
  const std::size_t len = std::min<std::size_t>(p.ip_options_len, p.ip_options.size());
  return (len + 3) / 4 * 4;
}

std::size_t l4_header_size(const Packet& p) {
  if (!p.has_l4()) return 0;
  switch (p.proto) {
    case ipproto::kTcp:
      return kTcpHeader;
    case ipproto::kUdp:
      return kUdpHeader;
    case ipproto::kIcmp:
      return kIcmpHeader + (p.quoted ? kQuote : 0);
    default:
      return 0;
  }
}

void write_payload(ByteWriter& w, const Packet& p) {
  const std::size_t have = std::min<std::size_t>(p.payload.size(), p.payload_len);
  w.bytes(std::span(p.payload).first(have));
  w.zeros(p.payload_len - have);  // an empty payload stands for zeros
}

void write_ethernet(ByteWriter& w, const Packet& p) {
  w.mac(p.eth_dst);
  w.mac(p.eth_src);
  for (std::uint8_t i = 0; i < p.vlan_count && i < 2; ++i) {
    w.u16(i == 0 ? p.outer_tpid : ethertype::kVlan);
    w.u16(static_cast<std::uint16_t>((p.vlan_pcp[i] & 0x7U) << 13 | (p.vlans[i] & 0xfffU)));
  }
  w.u16(p.ethertype);
}

void write_arp(ByteWriter& w, const Packet& p) {
  w.u16(1);  // Ethernet
  w.u16(ethertype::kIpv4);
  w.u8(6);
  w.u8(4);
  w.u16(p.arp_op);
  w.mac(p.arp_sha);
  w.ipv4(p.arp_spa);
  w.mac(p.arp_tha);
  w.ipv4(p.arp_tpa);
}

void write_quote(ByteWriter& w, const QuotedHeader& q) {
  const std::size_t start = w.size();
  w.u8(0x45);
  w.u8(q.tos);
  w.u16(q.total_len);
  w.u16(q.ip_id);
  w.u16(0);  // flags, fragment offset
  w.u8(q.ttl);
  w.u8(q.proto);
  w.u16(0);  // checksum, patched below
  w.ipv4(q.src);
  w.ipv4(q.dst);
  w.patch_u16(start + 10, internet_checksum(w.since(start)));
  switch (q.proto) {
    case ipproto::kTcp:
      w.u16(q.sport);
      w.u16(q.dport);
      w.u32(0);  // sequence number
      break;
    case ipproto::kUdp:
      w.u16(q.sport);
      w.u16(q.dport);
      w.u16(static_cast<std::uint16_t>(
          q.total_len >= kIpv4Header + kUdpHeader ? q.total_len - kIpv4Header : kUdpHeader));
      w.u16(0);  // checksum
      break;
    case ipproto::kIcmp:
      w.u8(q.icmp_type);
      w.u8(q.icmp_code);
      w.u16(0);  // checksum
      w.u16(q.icmp_id);
      w.u16(0);  // sequence number
      break;
    default:
      w.zeros(kQuotedL4);
      break;
  }
}

/// The L4 header (if any) and the payload; returns nothing, checksums are patched by the caller.
void write_l4(ByteWriter& w, const Packet& p) {
  if (!p.has_l4()) return;
  switch (p.proto) {
    case ipproto::kTcp:
      w.u16(p.sport);
      w.u16(p.dport);
      w.u32(p.tcp_seq);
      w.u32(p.tcp_ack);
      w.u8(5 << 4);  // data offset: no options
      w.u8(p.tcp_flags);
      w.u16(p.tcp_window);
      w.u16(0);  // checksum
      w.u16(0);  // urgent pointer
      break;
    case ipproto::kUdp:
      w.u16(p.sport);
      w.u16(p.dport);
      w.u16(static_cast<std::uint16_t>(kUdpHeader + p.payload_len));
      w.u16(0);  // checksum
      break;
    case ipproto::kIcmp:
      w.u8(p.icmp_type);
      w.u8(p.icmp_code);
      w.u16(0);  // checksum
      w.u16(p.icmp_id);
      w.u16(p.icmp_seq);
      if (p.quoted) write_quote(w, *p.quoted);
      break;
    default:
      break;
  }
}

void write_ipv4(ByteWriter& w, const Packet& p) {
  const std::size_t options = ip_options_size(p);
  const std::size_t ihl = kIpv4Header + options;
  const std::size_t l4_len = l4_header_size(p) + p.payload_len;

  std::uint16_t flags_offset = p.dont_fragment ? kIpDontFragment : 0;
  if (p.frag == FragKind::kFirst || (p.frag == FragKind::kLater && p.more_fragments)) {
    flags_offset |= kIpMoreFragments;
  }
  if (p.frag == FragKind::kLater) flags_offset |= p.frag_offset & kIpOffsetMask;

  const std::size_t start = w.size();
  w.u8(static_cast<std::uint8_t>(0x40 | ihl / 4));
  w.u8(p.tos);
  w.u16(static_cast<std::uint16_t>(ihl + l4_len));
  w.u16(p.ip_id);
  w.u16(flags_offset);
  w.u8(p.ttl);
  w.u8(p.proto);
  w.u16(0);  // checksum, patched below
  w.ipv4(p.src);
  w.ipv4(p.dst);
  w.bytes(std::span(p.ip_options).first(std::min<std::size_t>(p.ip_options_len, options)));
  w.zeros(options - std::min<std::size_t>(p.ip_options_len, options));
  w.patch_u16(start + 10, internet_checksum(w.since(start)));

  const std::size_t l4_start = w.size();
  write_l4(w, p);
  write_payload(w, p);
  if (!p.has_l4()) return;
  switch (p.proto) {
    case ipproto::kTcp:
      w.patch_u16(
          l4_start + 16,
          internet_checksum(w.since(l4_start), pseudo_header_sum(p.src, p.dst, p.proto, l4_len)));
      break;
    case ipproto::kUdp: {
      const std::uint16_t sum =
          internet_checksum(w.since(l4_start), pseudo_header_sum(p.src, p.dst, p.proto, l4_len));
      w.patch_u16(l4_start + 6, sum == 0 ? 0xffff : sum);  // 0 would mean "no checksum"
      break;
    }
    case ipproto::kIcmp:
      w.patch_u16(l4_start + 2, internet_checksum(w.since(l4_start)));
      break;
    default:
      break;
  }
}

}  // namespace

std::uint16_t internet_checksum(std::span<const std::uint8_t> data, std::uint32_t initial) {
  std::uint64_t sum = initial;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2)
    sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < data.size()) sum += static_cast<std::uint32_t>(data[i] << 8);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

std::size_t wire_length(const Packet& p) {
  std::size_t l3 = p.payload_len;
  if (p.is_arp()) {
    l3 = kArpBody;
  } else if (p.is_ipv4()) {
    l3 = kIpv4Header + ip_options_size(p) + l4_header_size(p) + p.payload_len;
  }
  return kEthHeader + kVlanTag * std::min<std::size_t>(p.vlan_count, 2) + l3;
}

std::vector<std::uint8_t> serialize(const Packet& p) {
  std::vector<std::uint8_t> out(wire_length(p));
  ByteWriter w(out);
  write_ethernet(w, p);
  if (p.is_arp()) {
    write_arp(w, p);
  } else if (p.is_ipv4()) {
    write_ipv4(w, p);
  } else {
    write_payload(w, p);
  }
  if (w.remaining() != 0) std::abort();  // the size computed above is exact
  return out;
}

Status parse_frame_into(std::span<const std::uint8_t> frame, Packet& p, ParseOptions options) {
  const bool keep = options.keep_payload;
  reset_keeping_buffer(p);
  ByteReader r(frame);
  if (r.remaining() < kEthHeader) return truncated("ethernet header", r.remaining(), kEthHeader);
  const std::uint8_t* h = r.take(kEthHeader).data();
  p.eth_dst = load_mac(h);
  p.eth_src = load_mac(h + 6);
  std::uint16_t type = load_u16(h + 12);

  // Up to two tags: 802.1Q, or QinQ with an outer 0x88a8 (or 0x8100) and an inner 0x8100.
  if (type == ethertype::kVlan || type == ethertype::kQinQ) {
    p.outer_tpid = type;
    do {
      if (r.remaining() < kVlanTag) return truncated("vlan tag", r.remaining(), kVlanTag);
      const std::uint16_t tci = r.u16();
      p.vlan_pcp[p.vlan_count] = static_cast<std::uint8_t>(tci >> 13);  // the DEI bit is dropped
      p.vlans[p.vlan_count] = tci & 0xfff;
      ++p.vlan_count;
      type = r.u16();
    } while (p.vlan_count < 2 && type == ethertype::kVlan);
  }
  p.ethertype = type;

  Status err;
  if (p.is_ipv4()) {
    err = parse_ipv4(r, p, keep);
  } else if (p.is_arp()) {
    err = parse_arp(r, p);
  } else {
    set_payload(p, r.rest(), keep);  // opaque L3 (IPv6, ...): kept as is
  }
  return err;
}

bool frame_flow_key(std::span<const std::uint8_t> frame, PortId in_port, FlowKey& key,
                    std::size_t& length, KeyedRest& rest) {
  static_assert(kFlowFieldsVersion == 1, "frame_flow_key(): set every field of the key");
  // parse_frame_into's checks for these shapes, on the same fields; anything else declines.
  constexpr std::size_t kHeaders = kEthHeader + kIpv4Header;
  if (frame.size() < kHeaders) return false;
  const std::uint8_t* eth = frame.data();
  const std::uint8_t* ip = eth + kEthHeader;
  if (load_u16(eth + 12) != ethertype::kIpv4 || ip[0] != 0x45) return false;  // v4, no options
  const std::uint16_t total_len = load_u16(ip + 2);
  if (total_len < kIpv4Header || total_len > frame.size() - kEthHeader) return false;
  if ((load_u16(ip + 6) & (kIpMoreFragments | kIpOffsetMask)) != 0) return false;
  const std::uint8_t proto = ip[9];
  const std::uint8_t* l4 = ip + kIpv4Header;
  const std::size_t body = total_len - kIpv4Header;
  std::size_t l4_length = 0;  // the header and payload the packet keeps
  if (proto == ipproto::kTcp) {
    if (body < kTcpHeader) return false;
    const std::size_t offset = (l4[12] >> 4) * 4U;
    if (offset < kTcpHeader || offset > body) return false;
    l4_length = kTcpHeader + (body - offset);  // options are skipped
    key.tcp_flags = l4[13];
    rest.tcp_seq = load_u32(l4 + 4);
    rest.tcp_ack = load_u32(l4 + 8);
    rest.tcp_window = load_u16(l4 + 14);
  } else if (proto == ipproto::kUdp) {
    if (body < kUdpHeader) return false;
    const std::uint16_t udp_length = load_u16(l4 + 4);
    if (udp_length < kUdpHeader || udp_length > body) return false;
    l4_length = udp_length;
    key.tcp_flags = 0;
    rest.tcp_seq = 0;
    rest.tcp_ack = 0;
    rest.tcp_window = 0;
  } else {
    return false;
  }
  key.in_port = in_port;
  key.eth_dst = load_mac(eth);
  key.eth_src = load_mac(eth + 6);
  key.vlan = 0;
  key.ethertype = ethertype::kIpv4;
  key.nw_src = Ipv4{load_u32(ip + 12)};
  key.nw_dst = Ipv4{load_u32(ip + 16)};
  key.nw_proto = proto;
  key.nw_tos = ip[1];
  key.nw_ttl = ip[8];
  key.nw_frag = FragKind::kNone;
  key.tp_src = load_u16(l4);
  key.tp_dst = load_u16(l4 + 2);
  key.icmp_id = 0;
  key.arp_op = 0;
  key.arp_sha = Mac{};
  rest.ip_id = load_u16(ip + 4);
  rest.dont_fragment = (load_u16(ip + 6) & kIpDontFragment) != 0;
  length = kHeaders + l4_length;
  return true;
}

void packet_from_keyed(const FlowKey& key, std::size_t length, const KeyedRest& rest, Packet& p) {
  reset_keeping_buffer(p);
  p.eth_dst = key.eth_dst;
  p.eth_src = key.eth_src;
  p.ethertype = ethertype::kIpv4;
  p.src = key.nw_src;
  p.dst = key.nw_dst;
  p.proto = key.nw_proto;
  p.tos = key.nw_tos;
  p.ttl = key.nw_ttl;
  p.ip_id = rest.ip_id;
  p.dont_fragment = rest.dont_fragment;
  p.sport = key.tp_src;
  p.dport = key.tp_dst;
  std::size_t headers = kEthHeader + kIpv4Header + kUdpHeader;
  if (key.nw_proto == ipproto::kTcp) {
    headers = kEthHeader + kIpv4Header + kTcpHeader;
    p.tcp_flags = key.tcp_flags;
    p.tcp_seq = rest.tcp_seq;
    p.tcp_ack = rest.tcp_ack;
    p.tcp_window = rest.tcp_window;
  }
  p.payload_len = static_cast<std::uint32_t>(length - headers);
}

Result<Packet> parse_frame(std::span<const std::uint8_t> frame, ParseOptions options) {
  Packet p;
  if (Status err = parse_frame_into(frame, p, options); !err.ok())
    return std::move(err).take_error();
  return p;
}

}  // namespace hivesim
