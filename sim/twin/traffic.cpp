#include "sim/twin/traffic.hpp"

#include <cmath>
#include <utility>

#include "sim/packet/codec.hpp"
#include "sim/packet/spec.hpp"
#include "topology/check.hpp"

namespace hivesim {

Extracted extract(const Packet& packet, PortId port) {
  return Extracted{flow_key(packet, port), static_cast<std::uint32_t>(wire_length(packet)),
                   packet.vlan_count};
}

void SourcePacket::parse() {
  if (keyed) {
    packet_from_keyed(extracted->key, extracted->length, *keyed, packet);
    keyed.reset();
    return;
  }
  if (unparsed.empty()) return;
  const Status err = parse_frame_into(unparsed, packet, ParseOptions{keep_payload});
  HIVESIM_CHECK(err.ok(), "a frame its source extracted without parsing did not parse");
  unparsed = {};
}

Result<SyntheticSource> SyntheticSource::make(const Simulator& sim,
                                              const SyntheticTraffic& traffic) {
  auto spec = parse_packet_spec(traffic.packet);
  if (!spec) return Error{spec.error()};
  auto packet = build_packet(*spec, sim.spec_defaults(traffic.from));
  if (!packet) return Error{packet.error()};
  return SyntheticSource(traffic, std::move(*packet));
}

SyntheticSource::SyntheticSource(const SyntheticTraffic& traffic, Packet base)
    : traffic_(traffic), base_(std::move(base)) {
  // The loader guarantees rate > 0 and packets_per_flow >= 1.
  gap_ns_ = 1e9 / (traffic_.rate * static_cast<double>(traffic_.packets_per_flow));
}

SourcePacket* SyntheticSource::next() {
  if (flow_ >= traffic_.flows) return nullptr;
  SourcePacket& out = out_;
  const double index = static_cast<double>(flow_ * traffic_.packets_per_flow + packet_);
  out.at = traffic_.start + static_cast<SimTime>(std::llround(index * gap_ns_));
  out.port = traffic_.from;
  out.packet = base_;
  Packet& p = out.packet;
  if (p.is_ipv4() && p.has_l4()) {
    if (p.proto == ipproto::kTcp || p.proto == ipproto::kUdp) {
      const std::uint64_t first = p.sport >= 1024 ? p.sport - 1024U : 0;
      p.sport = static_cast<std::uint16_t>(1024 + (first + flow_) % (65536 - 1024));
    } else if (p.proto == ipproto::kIcmp && p.icmp_type == icmptype::kEchoRequest) {
      p.icmp_id = static_cast<std::uint16_t>(p.icmp_id + flow_);
      p.icmp_seq = static_cast<std::uint16_t>(packet_ + 1);
    }
    if (p.proto == ipproto::kTcp && packet_ > 0 && p.tcp_flags == tcpflag::kSyn) {
      p.tcp_flags = tcpflag::kAck;
    }
  }
  if (++packet_ == traffic_.packets_per_flow) {
    packet_ = 0;
    ++flow_;
  }
  return &out;
}

std::optional<Packet> reply_to(const Packet& p) {
  if (!p.is_ipv4() || p.frag == FragKind::kLater) return std::nullopt;
  Packet r = p;
  std::swap(r.eth_src, r.eth_dst);
  std::swap(r.src, r.dst);
  r.ttl = 64;
  r.quoted.reset();
  if (p.proto == ipproto::kTcp || p.proto == ipproto::kUdp) {
    std::swap(r.sport, r.dport);
    if (p.proto == ipproto::kTcp) {
      r.tcp_flags = p.tcp_flags == tcpflag::kSyn ? tcpflag::kSyn | tcpflag::kAck : tcpflag::kAck;
    }
  } else if (p.proto == ipproto::kIcmp) {
    if (p.icmp_type != icmptype::kEchoRequest) return std::nullopt;
    r.icmp_type = icmptype::kEchoReply;
  }
  return r;
}

}  // namespace hivesim
