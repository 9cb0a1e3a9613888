// The edge of the virtual network: what the ingress agent does with a VM's packet before the
// port's chains see it (SPEC section 8): its DHCP server and port security's anti-spoof check
// (Walk's members; sim/flow/walk.hpp).
#include <algorithm>

#include "sim/flow/walk.hpp"
#include "sim/packet/dhcp.hpp"

namespace hivesim {

namespace {

constexpr std::uint32_t kLeaseSeconds = 86400;
constexpr std::uint32_t kVxlanOverhead = 50;
/// The server's MAC when no device on the bridge owns its address.
constexpr Mac kDhcpServerMac{0x02000000d4c9ULL};

}  // namespace

bool Walk::dhcp_answer(Branch& b, PortId in_port) {
  const Port& port = topo_.port(in_port);
  const Bridge& br = topo_.bridge(BridgeId{port.device});
  if (br.subnets.empty()) return false;
  const Packet& pkt = b.pkt;
  result_.mask.add(Field::kEthertype);
  if (!pkt.is_ipv4()) return false;
  result_.mask.add(Field::kNwProto);
  result_.mask.add(Field::kNwFrag);
  if (pkt.proto != ipproto::kUdp || !pkt.has_l4()) return false;
  result_.mask.add(Field::kTpSrc);
  result_.mask.add(Field::kTpDst);
  if (pkt.sport != dhcp::kClientPort || pkt.dport != dhcp::kServerPort) return false;
  const auto request = dhcp::decode(pkt.payload);
  if (!request || request->reply ||
      (request->type != dhcp::MessageType::kDiscover &&
       request->type != dhcp::MessageType::kRequest)) {
    return false;
  }
  // The client is known by its MAC: a port of this bridge with that MAC and an address, in
  // the first of the bridge's subnets that holds the address.
  result_.mask.add(Field::kEthSrc);
  const Port* client = nullptr;
  for (PortId pid : br.ports) {
    const Port& p = topo_.port(pid);
    if (p.mac == pkt.eth_src && p.ip) {
      client = &p;
      break;
    }
  }
  if (client == nullptr) {
    if (trace_) note("dhcp: no port of " + br.name + " has MAC " + pkt.eth_src.str());
    return false;
  }
  const Ipv4 address = *client->ip;
  const auto subnet = std::find_if(br.subnets.begin(), br.subnets.end(),
                                   [&](const Subnet& s) { return s.cidr.contains(address); });
  if (subnet == br.subnets.end() || !subnet->dhcp) {
    if (trace_) note("dhcp: " + address.str() + " is in no DHCP-enabled subnet of " + br.name);
    return false;
  }
  const std::optional<Ipv4> server = subnet->server ? subnet->server : subnet->gateway;
  if (!server) {
    if (trace_) note("dhcp: subnet " + subnet->cidr.str() + " has neither server nor gateway");
    return false;
  }

  dhcp::Message reply;
  reply.reply = true;
  reply.xid = request->xid;
  reply.chaddr = request->chaddr;
  reply.server_id = *server;
  const bool wrong_address = request->type == dhcp::MessageType::kRequest &&
                             request->requested_ip && *request->requested_ip != address;
  if (request->type == dhcp::MessageType::kDiscover) {
    reply.type = dhcp::MessageType::kOffer;
  } else {
    reply.type = wrong_address ? dhcp::MessageType::kNak : dhcp::MessageType::kAck;
  }
  if (!wrong_address) {
    reply.yiaddr = address;
    reply.siaddr = *server;
    reply.mask = Ipv4{subnet->cidr.mask()};
    reply.broadcast = subnet->cidr.broadcast();
    reply.router = subnet->gateway;
    reply.dns = subnet->dns;
    reply.lease = kLeaseSeconds;
    const std::uint32_t underlay = topo_.underlay_mtu > kVxlanOverhead
                                       ? topo_.underlay_mtu - kVxlanOverhead
                                       : topo_.underlay_mtu;
    reply.mtu = static_cast<std::uint16_t>(std::min(subnet->mtu.value_or(1500), underlay));
    reply.routes = subnet->routes;
    // With classless routes a client ignores option 3 (RFC 3442): the default route goes
    // into option 121 too.
    if (!reply.routes.empty() && subnet->gateway) {
      reply.routes.push_back(DhcpRoute{Ipv4Prefix{Ipv4{0}, 0}, *subnet->gateway});
    }
  }
  Packet out;
  out.eth_src = sim_.bridge_known_mac(BridgeId{port.device}, *server).value_or(kDhcpServerMac);
  out.eth_dst = pkt.eth_src;
  out.src = *server;
  out.dst = Ipv4{0xffffffffU};
  out.ttl = 64;
  dhcp::set_payload(out, reply);
  consume(b, "dhcp " + std::string(dhcp::to_string(request->type)) + " answered by the agent: " +
                 std::string(dhcp::to_string(reply.type)) + " " + address.str());
  emit(b, std::move(out), in_port);
  return true;
}

bool Walk::anti_spoof(Branch& b, PortId port) {
  const Port& p = topo_.port(port);
  const Packet& pkt = b.pkt;
  result_.mask.add(Field::kEthertype);
  // The (address, MAC) pairs the VM may source: its own, then its allowed address pairs.
  auto allowed_ip = [&](Ipv4 ip, std::optional<Mac> mac) {
    if (p.ip && ip == *p.ip && (!mac || mac == p.mac)) return true;
    return std::any_of(p.allowed_address_pairs.begin(), p.allowed_address_pairs.end(),
                       [&](const AddressPair& pair) {
                         if (!pair.ip.contains(ip)) return false;
                         if (!mac) return true;
                         const std::optional<Mac> want = pair.mac ? pair.mac : p.mac;
                         return want && *mac == *want;
                       });
  };
  bool allowed = false;
  std::string what;
  if (pkt.is_arp()) {
    // ARP: the sender address alone (MidoNet does not check the sender MAC).
    result_.mask.add(Field::kArpSpa);
    allowed = allowed_ip(pkt.arp_spa, std::nullopt);
    what = "ARP sender " + pkt.arp_spa.str();
  } else if (pkt.is_ipv4()) {
    result_.mask.add(Field::kNwProto);
    result_.mask.add(Field::kNwFrag);
    if (pkt.proto == ipproto::kUdp && pkt.has_l4()) {
      result_.mask.add(Field::kTpSrc);
      result_.mask.add(Field::kTpDst);
      allowed = pkt.sport == dhcp::kClientPort && pkt.dport == dhcp::kServerPort;
    }
    if (!allowed) {
      result_.mask.add(Field::kNwSrc);
      result_.mask.add(Field::kEthSrc);
      allowed = allowed_ip(pkt.src, pkt.eth_src);
      what = "source " + pkt.src.str() + " from " + pkt.eth_src.str();
    }
  } else {
    what = "ethertype " + std::to_string(pkt.ethertype);
  }
  if (allowed) return true;
  drop(b, DropReason::kRule, "anti-spoof:" + p.name, std::nullopt,
       what + " is not an address of port " + p.name);
  return false;
}

}  // namespace hivesim
