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
  const std::string_view word = ipproto::name(key.nw_proto);
  return word.empty() ? "ip,nw_proto=" + std::to_string(key.nw_proto) : std::string(word);
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
  static_assert(kFlowFieldsVersion == 1, "flow_match_string(): show every field of the mask");
  std::vector<std::string> parts;
  auto add = [&](Field f, const std::string& value) {
    if (mask.has(f)) parts.push_back(std::string(field_name(f)) + "=" + value);
  };
  if (mask.has(Field::kInPort)) add(Field::kInPort, topo.port(key.in_port).name);
  if (mask.has(Field::kEthertype)) parts.push_back(proto_word(key, mask));
  add(Field::kEthSrc, key.eth_src.str());
  add(Field::kEthDst, key.eth_dst.str());
  add(Field::kVlan, key.vlan == 0 ? "none" : std::to_string(key.vlan >> 16));
  if (key.ethertype == ethertype::kArp) {
    add(Field::kArpOp, std::to_string(key.arp_op));
    add(Field::kArpSpa, key.nw_src.str());
    add(Field::kArpTpa, key.nw_dst.str());
    add(Field::kArpSha, key.arp_sha.str());
  } else {
    add(Field::kNwSrc, key.nw_src.str());
    add(Field::kNwDst, key.nw_dst.str());
    add(Field::kNwTos, std::to_string(key.nw_tos));
    add(Field::kNwTtl, std::to_string(key.nw_ttl));
    add(Field::kNwFrag, frag_word(key.nw_frag));
    if (key.nw_proto == ipproto::kIcmp) {
      if (mask.has(Field::kTpSrc)) parts.push_back("icmp_type=" + std::to_string(key.tp_src));
      if (mask.has(Field::kTpDst)) parts.push_back("icmp_code=" + std::to_string(key.tp_dst));
    } else {
      add(Field::kTpSrc, std::to_string(key.tp_src));
      add(Field::kTpDst, std::to_string(key.tp_dst));
    }
    add(Field::kIcmpId, std::to_string(key.icmp_id));
    add(Field::kTcpFlags, std::to_string(key.tcp_flags));
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
