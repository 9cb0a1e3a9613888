#include "sim/packet/dhcp.hpp"

#include <array>
#include <initializer_list>

namespace hivesim::dhcp {

namespace {

constexpr std::size_t kFixed = 236;  // op .. file: the BOOTP header before the cookie
constexpr std::array<std::uint8_t, 4> kCookie = {99, 130, 83, 99};
constexpr std::size_t kMinSize = 300;

constexpr std::array<std::string_view, 8> kTypeNames = {"discover", "offer", "request", "decline",
                                                        "ack",      "nak",   "release", "inform"};

void put_bytes(std::vector<std::uint8_t>& out, std::initializer_list<std::uint8_t> bytes) {
  for (std::uint8_t b : bytes)
    out.push_back(b);
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void put_ip_option(std::vector<std::uint8_t>& out, std::uint8_t code, Ipv4 ip) {
  out.push_back(code);
  out.push_back(4);
  put_u32(out, ip.bits);
}

std::uint32_t get_u32(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

/// Option 121 (RFC 3442): per route a prefix length, the significant octets of the
/// destination, then the router.
void put_routes(std::vector<std::uint8_t>& out, const std::vector<DhcpRoute>& routes) {
  std::vector<std::uint8_t> data;
  for (const DhcpRoute& r : routes) {
    data.push_back(r.dst.len);
    const std::uint32_t net = r.dst.network().bits;
    for (int i = 0; i < (r.dst.len + 7) / 8; ++i)
      data.push_back(static_cast<std::uint8_t>(net >> (24 - 8 * i)));
    put_u32(data, r.via.bits);
  }
  // An option holds at most 255 bytes; longer route lists are cut at a whole route.
  std::size_t used = 0;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const std::size_t size = 1 + static_cast<std::size_t>((routes[i].dst.len + 7) / 8) + 4;
    if (used + size > 255) break;
    used += size;
  }
  if (used == 0) return;
  out.push_back(121);
  out.push_back(static_cast<std::uint8_t>(used));
  for (std::size_t i = 0; i < used; ++i)
    out.push_back(data[i]);
}

bool get_routes(std::span<const std::uint8_t> d, std::vector<DhcpRoute>& routes) {
  std::size_t i = 0;
  while (i < d.size()) {
    const std::uint8_t len = d[i++];
    if (len > 32) return false;
    const std::size_t octets = (len + 7U) / 8U;
    if (i + octets + 4 > d.size()) return false;
    std::uint32_t net = 0;
    for (std::size_t k = 0; k < octets; ++k)
      net |= std::uint32_t{d[i + k]} << (24 - 8 * k);
    i += octets;
    routes.push_back(DhcpRoute{Ipv4Prefix{Ipv4{net}, len}, Ipv4{get_u32(d, i)}});
    i += 4;
  }
  return true;
}

}  // namespace

std::string_view to_string(MessageType t) {
  const auto i = static_cast<std::size_t>(t) - 1;
  return i < kTypeNames.size() ? kTypeNames[i] : std::string_view("unknown");
}

std::optional<MessageType> parse_message_type(std::string_view word) {
  for (std::size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == word) return static_cast<MessageType>(i + 1);
  }
  return std::nullopt;
}

std::vector<std::uint8_t> encode(const Message& m) {
  std::vector<std::uint8_t> out;
  out.reserve(kMinSize + 256);
  out.resize(kFixed, 0);
  out[0] = m.reply ? 2 : 1;
  out[1] = 1;  // Ethernet
  out[2] = 6;
  for (int i = 0; i < 4; ++i)
    out[4 + i] = static_cast<std::uint8_t>(m.xid >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) {
    out[12 + i] = static_cast<std::uint8_t>(m.ciaddr.bits >> (24 - 8 * i));
    out[16 + i] = static_cast<std::uint8_t>(m.yiaddr.bits >> (24 - 8 * i));
    out[20 + i] = static_cast<std::uint8_t>(m.siaddr.bits >> (24 - 8 * i));
  }
  for (int i = 0; i < 6; ++i)
    out[28 + i] = static_cast<std::uint8_t>(m.chaddr.bits >> (40 - 8 * i));
  for (std::uint8_t c : kCookie)
    out.push_back(c);
  put_bytes(out, {53, 1, static_cast<std::uint8_t>(m.type)});
  if (m.requested_ip) put_ip_option(out, 50, *m.requested_ip);
  if (m.server_id) put_ip_option(out, 54, *m.server_id);
  if (m.mask) put_ip_option(out, 1, *m.mask);
  if (m.router) put_ip_option(out, 3, *m.router);
  if (!m.dns.empty()) {
    const std::size_t n = std::min<std::size_t>(m.dns.size(), 63);
    out.push_back(6);
    out.push_back(static_cast<std::uint8_t>(4 * n));
    for (std::size_t i = 0; i < n; ++i)
      put_u32(out, m.dns[i].bits);
  }
  if (m.lease) {
    put_bytes(out, {51, 4});
    put_u32(out, *m.lease);
  }
  if (m.mtu) {
    put_bytes(out, {26, 2, static_cast<std::uint8_t>(*m.mtu >> 8),
                    static_cast<std::uint8_t>(*m.mtu & 0xff)});
  }
  if (m.broadcast) put_ip_option(out, 28, *m.broadcast);
  if (!m.routes.empty()) put_routes(out, m.routes);
  out.push_back(255);
  if (out.size() < kMinSize) out.resize(kMinSize, 0);
  return out;
}

std::optional<Message> decode(std::span<const std::uint8_t> b) {
  if (b.size() < kFixed + kCookie.size()) return std::nullopt;
  if (b[0] != 1 && b[0] != 2) return std::nullopt;
  for (std::size_t i = 0; i < kCookie.size(); ++i) {
    if (b[kFixed + i] != kCookie[i]) return std::nullopt;
  }
  Message m;
  m.reply = b[0] == 2;
  m.xid = get_u32(b, 4);
  m.ciaddr = Ipv4{get_u32(b, 12)};
  m.yiaddr = Ipv4{get_u32(b, 16)};
  m.siaddr = Ipv4{get_u32(b, 20)};
  m.chaddr = Mac{(std::uint64_t{get_u32(b, 28)} << 16) | (std::uint64_t{b[32]} << 8) | b[33]};
  bool has_type = false;
  std::size_t i = kFixed + kCookie.size();
  while (i < b.size()) {
    const std::uint8_t code = b[i++];
    if (code == 0) continue;  // pad
    if (code == 255) break;
    if (i >= b.size()) return std::nullopt;
    const std::size_t len = b[i++];
    if (i + len > b.size()) return std::nullopt;
    const auto d = b.subspan(i, len);
    i += len;
    const auto ip = [&]() -> std::optional<Ipv4> {
      if (len < 4) return std::nullopt;
      return Ipv4{get_u32(d, 0)};
    };
    switch (code) {
      case 53:
        if (len != 1 || d[0] < 1 || d[0] > 8) return std::nullopt;
        m.type = static_cast<MessageType>(d[0]);
        has_type = true;
        break;
      case 50:
        m.requested_ip = ip();
        break;
      case 54:
        m.server_id = ip();
        break;
      case 1:
        m.mask = ip();
        break;
      case 3:
        m.router = ip();
        break;
      case 28:
        m.broadcast = ip();
        break;
      case 6:
        for (std::size_t k = 0; k + 4 <= len; k += 4)
          m.dns.push_back(Ipv4{get_u32(d, k)});
        break;
      case 51:
        if (len == 4) m.lease = get_u32(d, 0);
        break;
      case 26:
        if (len == 2) m.mtu = static_cast<std::uint16_t>((d[0] << 8) | d[1]);
        break;
      case 121:
        if (!get_routes(d, m.routes)) return std::nullopt;
        break;
      default:
        break;  // options the model does not use
    }
  }
  if (!has_type) return std::nullopt;
  return m;
}

std::optional<Message> of_packet(const Packet& p) {
  if (!p.is_ipv4() || p.proto != ipproto::kUdp || !p.has_l4()) return std::nullopt;
  const bool to_server = p.sport == kClientPort && p.dport == kServerPort;
  const bool to_client = p.sport == kServerPort && p.dport == kClientPort;
  if (!to_server && !to_client) return std::nullopt;
  if (p.payload.empty()) return std::nullopt;
  return decode(p.payload);
}

void set_payload(Packet& p, const Message& m) {
  p.ethertype = ethertype::kIpv4;
  p.proto = ipproto::kUdp;
  p.sport = m.reply ? kServerPort : kClientPort;
  p.dport = m.reply ? kClientPort : kServerPort;
  p.payload = encode(m);
  p.payload_len = static_cast<std::uint32_t>(p.payload.size());
}

}  // namespace hivesim::dhcp
