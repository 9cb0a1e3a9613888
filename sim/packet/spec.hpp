#pragma once
// The one-line packet spec of SPEC section 3: `tcp src=10.0.1.10 dst=10.0.2.12 dport=5432`.
//
// Parsing is in two steps. parse_packet_spec() checks the syntax and keeps exactly what was
// written (every field optional). build_packet() then fills the defaults a VM behind the
// ingress port would use (its MAC and IP, the gateway's MAC, ttl 64, sport 40000, ...), which
// the caller supplies through SpecDefaults because only the topology knows them.
// format_packet() writes any Packet back in the same syntax with every header field explicit,
// so that format -> parse -> build gives the same headers.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "sim/packet/packet.hpp"

namespace hivesim {

enum class SpecProto : std::uint8_t { kTcp, kUdp, kIcmp, kArp, kIp, kEth, kDhcp };

/// What a spec line says, verbatim (absent = not written).
struct PacketSpec {
  SpecProto proto = SpecProto::kTcp;
  std::optional<Mac> eth_src;
  std::optional<Mac> eth_dst;
  std::vector<std::uint16_t> vlans;  // `vlan=10` or QinQ `vlan=100,10` (outer first)
  std::optional<std::uint16_t> ethertype;
  std::optional<Ipv4> src;
  std::optional<Ipv4> dst;
  std::optional<std::uint8_t> ttl;
  std::optional<std::uint8_t> tos;
  std::optional<std::uint8_t> ip_proto;  // `proto=N`
  std::optional<std::uint16_t> sport;
  std::optional<std::uint16_t> dport;
  std::optional<std::uint8_t> tcp_flags;
  std::optional<std::uint8_t> icmp_type;
  std::optional<std::uint8_t> icmp_code;
  std::optional<std::uint16_t> icmp_id;
  std::optional<FragKind> frag;
  std::optional<std::uint16_t> arp_op;
  std::optional<Ipv4> arp_spa;
  std::optional<Ipv4> arp_tpa;
  std::optional<std::uint32_t> len;
  // The header an ICMP error quotes (written by format_packet, accepted on input).
  std::optional<std::uint8_t> inner_proto;
  std::optional<Ipv4> inner_src;
  std::optional<Ipv4> inner_dst;
  std::optional<std::uint16_t> inner_sport;
  std::optional<std::uint16_t> inner_dport;
  std::optional<std::uint8_t> inner_ttl;
  // A quoted ICMP header (inner_proto=icmp): type, code and echo id.
  std::optional<std::uint8_t> inner_icmp_type;
  std::optional<std::uint8_t> inner_icmp_code;
  std::optional<std::uint16_t> inner_icmp_id;
  // DHCP (the `dhcp` word, SPEC section 8): the message type and requested address a client
  // sends, and what a server's reply carries (written by format_packet, accepted on input).
  std::optional<std::uint8_t> dhcp_type;  // dhcp::MessageType
  std::optional<Ipv4> requested_ip;
  std::optional<Ipv4> yiaddr;
  std::optional<Ipv4> mask;
  std::optional<Ipv4> router;
  std::vector<Ipv4> dns;
  std::optional<std::uint32_t> lease;
  std::optional<std::uint16_t> mtu;
  std::optional<Ipv4> server;
  std::vector<DhcpRoute> routes;  // `routes=CIDR:VIA,...` (option 121)
};

/// Syntax and sense check: a protocol word, then key=value pairs separated by blanks, each key
/// at most once and meaningful for the word (no dport on icmp, no flags on udp, no L4 key with
/// frag=later, inner_* only on an ICMP error), and every value without a default present:
/// dst (arp: arp_tpa or dst), dport for tcp/udp, proto for ip, ethertype for eth, inner_proto,
/// inner_dst (and inner_dport for tcp/udp) for an ICMP error. The error message names the
/// offending word, key or value, e.g. "unknown key 'dprt' (did you mean 'dport'?)",
/// "bad value for dport: '70000' (0-65535)", "key 'dport' does not apply to icmp",
/// "tcp needs dport=". Keys beyond SPEC section 3: inner_* and inner_icmp_{type,code,id}.
Result<PacketSpec> parse_packet_spec(std::string_view line);

/// What the sending VM knows; supplied by the caller from the topology.
struct SpecDefaults {
  Mac eth_src;              // the ingress port's MAC (zero if it has none)
  std::optional<Ipv4> src;  // the ingress port's IP
  /// eth_dst for a destination IP: the owner's MAC if on the same bridge, else the gateway's.
  std::function<Mac(Ipv4 dst)> eth_dst_for;
};

/// Builds the packet with defaults applied: src/eth_src from `defaults`; eth_dst from
/// eth_dst_for(dst) (arp request: broadcast; arp reply: eth_dst_for(arp_tpa)); ttl 64, tos 0,
/// sport 40000, tcp flags syn, window 65535, seq/ack 0, ip_id 0; icmp echo request id 1 seq 1;
/// an ICMP error quotes inner_src (default: dst, the original sender), inner_sport 40000,
/// inner_ttl 64, quoted echo request id 1; frag=later sets offset 185 (1480 bytes) and no MF;
/// arp: request, arp_spa = src, arp_tpa = dst, sha = eth_src, tha = eth_dst for a reply;
/// `len` zero bytes of payload (an empty payload vector). QinQ gets outer TPID 0x88a8.
/// dhcp: a client message (discover unless dhcp_type says otherwise) from 0.0.0.0 to
/// 255.255.255.255 and the broadcast MAC, UDP 68 -> 67 (a server type: 67 -> 68), chaddr =
/// eth_src, the DHCP message as payload.
/// Fails (message) on what parse_packet_spec() rejects and when a default is missing, e.g.
/// "tcp needs src= (the ingress port has no IP address)", "eth needs eth_dst= (...)".
Result<Packet> build_packet(const PacketSpec& spec, const SpecDefaults& defaults);

/// Every header field the spec can express, explicit, in this fixed order ([..] only when
/// present, (a|b) alternatives):
///   tcp  eth_src eth_dst [vlan] src dst ttl tos [frag] [sport dport flags] len
///   udp  eth_src eth_dst [vlan] src dst ttl tos [frag] [sport dport] len
///   icmp eth_src eth_dst [vlan] src dst ttl tos [frag] [icmp_type icmp_code (icmp_id |
///        inner_proto inner_src inner_dst [inner_sport inner_dport |
///        inner_icmp_type inner_icmp_code inner_icmp_id] inner_ttl)] len
///   ip   eth_src eth_dst [vlan] src dst ttl tos [frag] proto len
///   arp  eth_src eth_dst [vlan] arp_op arp_spa arp_tpa
///   eth  eth_src eth_dst [vlan] ethertype len
///   dhcp eth_src eth_dst [vlan] src dst ttl tos dhcp_type [requested_ip] [yiaddr mask router
///        dns lease mtu server routes: each when the message carries it]
/// vlan only when tagged ("100,10" for QinQ); frag only when first/later (a later fragment has
/// no L4 keys); flags=none for no flags; icmp_id for ICMP types other than errors; the inner_*
/// keys for an ICMP error (a packet with a QuotedHeader); arp_op is request, reply or a number;
/// ethertype is "0x" and 4 hex digits; the word is tcp/udp/icmp/ip by the IPv4 protocol, arp
/// for ARP and eth for any other ethertype, dhcp for UDP 67/68 carrying a DHCP message. `len` is
/// the payload after the last header. Not expressible, so format -> parse -> build resets them to
/// build_packet's choices: VLAN priorities and the outer TPID (QinQ builds 0x88a8), ip_id, DF, IP
/// options, the fragment offset (later: 185) and MF of a later fragment, tcp seq/ack/window, the
/// ICMP sequence (1) and rest-of-header of errors, ARP sha/tha (sha = eth_src; tha = eth_dst for a
/// reply, else zero), the quoted tos/ip_id/total_len, and the payload bytes (built as zeros).
/// Example: "tcp eth_src=02:00:00:00:01:0a eth_dst=02:00:00:00:01:01 src=10.0.1.10
/// dst=10.0.2.12 ttl=63 tos=0 sport=40000 dport=5432 flags=syn len=0" (one line).
std::string format_packet(const Packet& p);

/// "syn,ack" etc.; empty string for no flags.
std::string format_tcp_flags(std::uint8_t flags);

}  // namespace hivesim
