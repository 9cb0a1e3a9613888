#include "sim/render/trace_report.hpp"

#include <algorithm>
#include <sstream>

#include "sim/packet/spec.hpp"

namespace hivesim {

namespace {

std::string proto_word(const FlowKey& key, FieldMask mask) {
  if (key.ethertype == ethertype::kArp) return "arp";
  if (key.ethertype != ethertype::kIpv4) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "dl_type=0x%04x", key.ethertype);
    return buf;
  }
  if (!mask.has(Field::kNwProto)) return "ip";
  switch (key.nw_proto) {
    case ipproto::kTcp:
      return "tcp";
    case ipproto::kUdp:
      return "udp";
    case ipproto::kIcmp:
      return "icmp";
    default:
      return "ip,nw_proto=" + std::to_string(key.nw_proto);
  }
}

const char* frag_word(FragKind f) {
  switch (f) {
    case FragKind::kNone:
      return "no";
    case FragKind::kFirst:
      return "first";
    case FragKind::kLater:
      return "later";
  }
  return "no";
}

/// The tunnel (or local output) that carries a packet from the ingress port to `out`.
std::string output_action(const Topology& topo, PortId from, PortId out) {
  const Port& in_port = topo.port(from);
  const Port& out_port = topo.port(out);
  if (!in_port.host || !out_port.host || *in_port.host == *out_port.host) {
    return "output(" + out_port.name + ")";
  }
  std::string zone_type = "no-tunnel-zone";
  for (const TunnelZone& z : topo.tunnel_zones) {
    const bool has_in = std::find(z.hosts.begin(), z.hosts.end(), *in_port.host) != z.hosts.end();
    const bool has_out = std::find(z.hosts.begin(), z.hosts.end(), *out_port.host) != z.hosts.end();
    if (has_in && has_out) {
      zone_type = z.type == TunnelType::kVxlan ? "vxlan" : "gre";
      break;
    }
  }
  // The tunnel key names the egress port, so the egress host needs no simulation.
  return "tunnel(" + topo.host(*out_port.host).name + "," + zone_type +
         ",key=" + std::to_string(out.value + 1) + ")";
}

/// set(...) for the header fields that differ between what entered and what leaves.
std::string set_action(const Packet& in, const Packet& out) {
  std::string fields;
  auto add = [&fields](const std::string& f) { fields += (fields.empty() ? "" : ",") + f; };
  if (in.vlan_count != out.vlan_count || in.vlans != out.vlans) {
    if (out.vlan_count == 0) {
      add("pop_vlan");
    } else {
      add("vlan=" + std::to_string(out.vlans[0]));
    }
  }
  if (in.eth_src != out.eth_src) add("eth_src=" + out.eth_src.str());
  if (in.eth_dst != out.eth_dst) add("eth_dst=" + out.eth_dst.str());
  if (in.is_ipv4() && out.is_ipv4()) {
    if (in.src != out.src) add("nw_src=" + out.src.str());
    if (in.dst != out.dst) add("nw_dst=" + out.dst.str());
    if (in.ttl != out.ttl) add("ttl=" + std::to_string(out.ttl));
    if (in.sport != out.sport) add("tp_src=" + std::to_string(out.sport));
    if (in.dport != out.dport) add("tp_dst=" + std::to_string(out.dport));
  }
  return fields.empty() ? "" : "set(" + fields + "),";
}

}  // namespace

SourceLoc drop_source(const Topology& topo, const DropInfo& drop, SourceLoc recorded) {
  if (recorded.line != 0) return recorded;
  const std::string& d = drop.device;
  if (auto c = topo.find_chain(d)) {
    const Chain& chain = topo.chain(*c);
    if (drop.rule && *drop.rule < chain.rules.size()) return chain.rules[*drop.rule].loc;
    return chain.loc;
  }
  if (auto p = topo.find_port(d)) return topo.port(*p).loc;
  if (auto b = topo.find_bridge(d)) return topo.bridge(*b).loc;
  if (auto r = topo.find_router(d)) return topo.router(*r).loc;
  if (auto v = topo.find_vip(d)) return topo.vips[v->value].loc;
  if (auto p = topo.find_pool(d)) return topo.pools[p->value].loc;
  if (auto h = topo.find_host(d)) return topo.host(*h).loc;
  return {};
}

std::string source_ref(const std::string& file, SourceLoc loc) {
  if (loc.line == 0) return {};
  return file + ":" + std::to_string(loc.line);
}

std::string flow_match_string(const Topology& topo, const FlowKey& key, FieldMask mask) {
  std::vector<std::string> parts;
  if (mask.has(Field::kInPort)) parts.push_back("in_port=" + topo.port(key.in_port).name);
  if (mask.has(Field::kEthertype)) parts.push_back(proto_word(key, mask));
  if (mask.has(Field::kEthSrc)) parts.push_back("dl_src=" + key.eth_src.str());
  if (mask.has(Field::kEthDst)) parts.push_back("dl_dst=" + key.eth_dst.str());
  if (mask.has(Field::kVlan)) {
    parts.push_back(key.vlan == 0 ? "vlan=none" : "vlan=" + std::to_string(key.vlan >> 16));
  }
  if (key.ethertype == ethertype::kArp) {
    if (mask.has(Field::kArpOp)) parts.push_back("arp_op=" + std::to_string(key.arp_op));
    if (mask.has(Field::kArpSpa)) parts.push_back("arp_spa=" + key.nw_src.str());
    if (mask.has(Field::kArpTpa)) parts.push_back("arp_tpa=" + key.nw_dst.str());
    if (mask.has(Field::kArpSha)) parts.push_back("arp_sha=" + key.arp_sha.str());
  } else {
    if (mask.has(Field::kNwSrc)) parts.push_back("nw_src=" + key.nw_src.str());
    if (mask.has(Field::kNwDst)) parts.push_back("nw_dst=" + key.nw_dst.str());
    if (mask.has(Field::kNwTos)) parts.push_back("nw_tos=" + std::to_string(key.nw_tos));
    if (mask.has(Field::kNwTtl)) parts.push_back("nw_ttl=" + std::to_string(key.nw_ttl));
    if (mask.has(Field::kNwFrag)) parts.push_back(std::string("nw_frag=") + frag_word(key.nw_frag));
    const bool icmp = key.nw_proto == ipproto::kIcmp;
    if (mask.has(Field::kTpSrc)) {
      parts.push_back((icmp ? "icmp_type=" : "tp_src=") + std::to_string(key.tp_src));
    }
    if (mask.has(Field::kTpDst)) {
      parts.push_back((icmp ? "icmp_code=" : "tp_dst=") + std::to_string(key.tp_dst));
    }
    if (mask.has(Field::kIcmpId)) parts.push_back("icmp_id=" + std::to_string(key.icmp_id));
    if (mask.has(Field::kTcpFlags)) parts.push_back("tcp_flags=" + std::to_string(key.tcp_flags));
  }
  std::string out;
  for (const std::string& p : parts)
    out += (out.empty() ? "" : ",") + p;
  return out;
}

std::string flow_actions_string(const Topology& topo, const TraceRecord& record) {
  std::string actions;
  for (const OutPacket& o : record.result.out) {
    if (o.generated) continue;
    if (!actions.empty()) actions += ",";
    actions += set_action(record.packet, o.packet) + output_action(topo, record.from, o.port);
  }
  return actions.empty() ? "drop" : actions;
}

nlohmann::json trace_json(const Topology& topo, const TraceRecord& record) {
  const SimulationResult& r = record.result;
  nlohmann::json doc;
  doc["from"] = topo.port(record.from).name;
  doc["packet"] = record.spec;
  doc["verdict"] = std::string(to_string(r.verdict));
  nlohmann::json to = nlohmann::json::array();
  for (PortId p : r.delivered_ports())
    to.push_back(topo.port(p).name);
  doc["to"] = to;
  nlohmann::json outs = nlohmann::json::array();
  for (const OutPacket& o : r.out) {
    outs.push_back({{"port", topo.port(o.port).name},
                    {"packet", format_packet(o.packet)},
                    {"generated", o.generated}});
  }
  doc["out_packets"] = outs;
  if (r.drop) {
    nlohmann::json drop{{"reason", std::string(to_string(r.drop->reason))},
                        {"device", r.drop->device}};
    if (r.drop->rule) drop["rule"] = *r.drop->rule;
    if (!record.scenario_file.empty()) {
      const std::string where =
          source_ref(record.scenario_file, drop_source(topo, *r.drop, r.drop_source));
      if (!where.empty()) drop["source"] = where;
    }
    doc["drop"] = drop;
  }
  nlohmann::json hops = nlohmann::json::array();
  for (const Hop& h : r.hops) {
    hops.push_back({{"device", h.device},
                    {"kind", h.kind},
                    {"in_port", h.in_port},
                    {"out_port", h.out_port},
                    {"detail", h.detail}});
  }
  doc["hops"] = hops;
  doc["flow"] = {{"match", flow_match_string(topo, flow_key(record.packet, record.from), r.mask)},
                 {"actions", flow_actions_string(topo, record)}};
  return doc;
}

std::string trace_text(const Topology& topo, const TraceRecord& record) {
  const SimulationResult& r = record.result;
  std::ostringstream out;
  out << "trace from " << topo.port(record.from).name << ": " << record.spec << "\n";
  out << "  packet  " << format_packet(record.packet) << "\n";
  int n = 0;
  for (const Hop& h : r.hops) {
    out << "  " << ++n << ". " << h.kind << " " << h.device << ": in " << h.in_port;
    if (!h.out_port.empty()) out << ", out " << h.out_port;
    out << "\n";
    if (!h.detail.empty()) out << "       " << h.detail << "\n";
  }
  out << "verdict: " << to_string(r.verdict);
  if (r.drop) {
    out << " (" << to_string(r.drop->reason) << " at " << r.drop->device;
    if (r.drop->rule) out << " rule " << *r.drop->rule;
    if (!record.scenario_file.empty()) {
      const std::string where =
          source_ref(record.scenario_file, drop_source(topo, *r.drop, r.drop_source));
      if (!where.empty()) out << ", " << where;
    }
    out << ")";
  }
  out << "\n";
  for (const OutPacket& o : r.out) {
    out << "  " << (o.generated ? "generated, out " : "out ") << topo.port(o.port).name << ": "
        << format_packet(o.packet) << "\n";
  }
  out << "flow: " << flow_match_string(topo, flow_key(record.packet, record.from), r.mask)
      << " actions=" << flow_actions_string(topo, record) << "\n";
  return out.str();
}

}  // namespace hivesim
