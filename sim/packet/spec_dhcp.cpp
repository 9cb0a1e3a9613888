#include "sim/packet/spec_dhcp.hpp"

namespace hivesim::spec_dhcp {

namespace {

/// A comma-separated list; `one` parses an item and returns false when it is bad.
template <class One>
bool parse_list(std::string_view v, One one) {
  if (v.empty()) return false;
  while (!v.empty()) {
    const std::size_t comma = v.find(',');
    if (!one(v.substr(0, comma))) return false;
    v.remove_prefix(comma == std::string_view::npos ? v.size() : comma + 1);
    if (comma != std::string_view::npos && v.empty()) return false;
  }
  return true;
}

template <class T, class Str>
std::string join(const std::vector<T>& items, Str str) {
  std::string out;
  for (const T& item : items) {
    if (!out.empty()) out.push_back(',');
    out += str(item);
  }
  return out;
}

}  // namespace

Status parse_type(std::string_view v, PacketSpec& s) {
  auto type = dhcp::parse_message_type(v);
  if (!type) return Error{"discover, offer, request, decline, ack, nak, release or inform"};
  s.dhcp_type = static_cast<std::uint8_t>(*type);
  return {};
}

Status parse_dns(std::string_view v, PacketSpec& s) {
  const bool good = parse_list(v, [&s](std::string_view item) {
    auto ip = Ipv4::parse(item);
    if (ip) s.dns.push_back(*ip);
    return ip.has_value();
  });
  if (good) return {};
  s.dns.clear();
  return Error{"IPv4 addresses joined by ','"};
}

Status parse_routes(std::string_view v, PacketSpec& s) {
  const bool good = parse_list(v, [&s](std::string_view item) {
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) return false;
    auto dst = Ipv4Prefix::parse(item.substr(0, colon));
    auto via = Ipv4::parse(item.substr(colon + 1));
    if (dst && via) s.routes.push_back(DhcpRoute{*dst, *via});
    return dst && via;
  });
  if (good) return {};
  s.routes.clear();
  return Error{"CIDR:GATEWAY pairs joined by ',', e.g. 0.0.0.0/0:10.0.0.1"};
}

void build(const PacketSpec& spec, Packet& p) {
  dhcp::Message m;
  m.type = static_cast<dhcp::MessageType>(spec.dhcp_type.value_or(1));
  m.reply = m.type == dhcp::MessageType::kOffer || m.type == dhcp::MessageType::kAck ||
            m.type == dhcp::MessageType::kNak;
  m.chaddr = p.eth_src;
  m.requested_ip = spec.requested_ip;
  m.yiaddr = spec.yiaddr.value_or(Ipv4{});
  m.mask = spec.mask;
  m.router = spec.router;
  m.dns = spec.dns;
  m.lease = spec.lease;
  m.mtu = spec.mtu;
  m.server_id = spec.server;
  m.routes = spec.routes;
  p.src = spec.src.value_or(Ipv4{});
  p.dst = spec.dst.value_or(Ipv4{0xffffffffU});
  p.eth_dst = spec.eth_dst.value_or(Mac::broadcast());
  p.ttl = spec.ttl.value_or(64);
  p.tos = spec.tos.value_or(0);
  dhcp::set_payload(p, m);
}

std::vector<std::pair<std::string, std::string>> fields(const dhcp::Message& m) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("dhcp_type", std::string(dhcp::to_string(m.type)));
  if (m.requested_ip) out.emplace_back("requested_ip", m.requested_ip->str());
  if (m.reply) out.emplace_back("yiaddr", m.yiaddr.str());
  if (m.mask) out.emplace_back("mask", m.mask->str());
  if (m.router) out.emplace_back("router", m.router->str());
  if (!m.dns.empty()) out.emplace_back("dns", join(m.dns, [](Ipv4 ip) { return ip.str(); }));
  if (m.lease) out.emplace_back("lease", std::to_string(*m.lease));
  if (m.mtu) out.emplace_back("mtu", std::to_string(*m.mtu));
  if (m.server_id) out.emplace_back("server", m.server_id->str());
  if (!m.routes.empty()) {
    out.emplace_back("routes", join(m.routes, [](const DhcpRoute& r) {
                       return r.dst.str() + ":" + r.via.str();
                     }));
  }
  return out;
}

}  // namespace hivesim::spec_dhcp
