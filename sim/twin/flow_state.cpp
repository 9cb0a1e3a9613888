#include "sim/twin/flow_state.hpp"

#include <algorithm>

namespace hivesim {

void HostFlowState::install(const StateWrite& w, SimTime now) {
  switch (w.kind) {
    case StateWrite::Kind::kConnTrack:
      conntrack.record(w.key, now);
      break;
    case StateWrite::Kind::kSnat:
    case StateWrite::Kind::kDnat:
      nat.bind(w.kind == StateWrite::Kind::kSnat ? NatKind::kSnat : NatKind::kDnat, w.key,
               NatEndpoint{w.to_ip, w.to_port}, now);
      break;
  }
}

PushTargets::PushTargets(const Topology& topo) : topo_(topo), stateful_groups_(topo.ports.size()) {
  for (std::uint32_t g = 0; g < topo.port_groups.size(); ++g) {
    if (!topo.port_groups[g].stateful) continue;
    for (PortId p : topo.port_groups[g].ports)
      stateful_groups_[p.value].push_back(PortGroupId{g});
  }
}

std::vector<HostId> PushTargets::of(PortId in, const std::vector<OutPacket>& out,
                                    HostId ingress) const {
  std::vector<HostId> hosts;
  of(in, out, ingress, hosts);
  return hosts;
}

void PushTargets::of(PortId in, const std::vector<OutPacket>& out, HostId ingress,
                     std::vector<HostId>& hosts) const {
  hosts.clear();
  auto add_port = [&](PortId p) {
    if (const auto& h = topo_.ports[p.value].host; h && *h != ingress) hosts.push_back(*h);
  };
  auto add_groups = [&](PortId p) {
    for (PortGroupId g : stateful_groups_[p.value]) {
      for (PortId member : topo_.port_groups[g.value].ports)
        add_port(member);
    }
  };
  add_groups(in);
  for (const OutPacket& o : out) {
    add_port(o.port);
    add_groups(o.port);
  }
  std::sort(hosts.begin(), hosts.end());
  hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
}

std::uint32_t Replication::open_payload() {
  std::uint32_t id;
  if (free_payloads_.empty()) {
    id = static_cast<std::uint32_t>(payloads_.size());
    payloads_.emplace_back();
  } else {
    id = free_payloads_.back();
    free_payloads_.pop_back();
  }
  payloads_[id].keys.assign(journal_.begin(), journal_.end());
  payloads_[id].pushes = 0;
  return id;
}

void Replication::payload_landed(std::uint32_t id) {
  Payload& p = payloads_[id];
  if (p.pushes > 0) --p.pushes;
  if (p.pushes == 0) free_payloads_.push_back(id);
}

namespace {

/// The connection of a conntrack reply key, whatever device it is seen at.
ConnKey connection(ConnKey key) {
  key.device = 0;
  return key;
}

}  // namespace

void Replication::note_answers() {
  if (!tracking_) return;
  for (const StateWrite& w : journal_) {
    if (w.kind == StateWrite::Kind::kConnTrack) {
      AnswerState& a = answered_[connection(w.key)];
      a.conntrack = true;
      a.ct_device = w.key.device;
      continue;
    }
    ConnKey reply = w.key.reversed();  // as the answer arrives: translated
    if (w.kind == StateWrite::Kind::kSnat) {
      reply.dst = w.to_ip;
      reply.dport = w.to_port;
    } else {
      reply.src = w.to_ip;
      reply.sport = w.to_port;
    }
    AnswerState& a = answered_[connection(reply)];
    a.nat |= w.kind == StateWrite::Kind::kSnat ? 1 : 2;
    a.nat_device = w.key.device;
  }
}

void Replication::check_answer(const HostFlowState& here, const Packet& answer) {
  if (answered_.empty() || !answer.is_ipv4()) return;
  ConnKey key{answer.src, answer.dst, answer.sport, answer.dport, answer.proto, 0};
  if (answer.proto == ipproto::kIcmp) {
    key.sport = key.dport = answer.icmp_id;
  } else if (answer.proto != ipproto::kTcp && answer.proto != ipproto::kUdp) {
    return;
  }
  const auto it = answered_.find(key);
  if (it == answered_.end()) return;  // its connection keeps no state
  const AnswerState& a = it->second;
  bool found = true;
  if (a.conntrack) {
    key.device = a.ct_device;
    found = here.conntrack.is_return(key);
  }
  key.device = a.nat_device;
  if ((a.nat & 1) != 0 && !here.nat.reverse(NatKind::kSnat, key)) found = false;
  if ((a.nat & 2) != 0 && !here.nat.reverse(NatKind::kDnat, key)) found = false;
  if (!found) ++row_.replies_without_state;
}

HostStates::HostStates(const Topology& topo, std::uint64_t seed)
    : topo_(topo),
      shared_(seed),
      hosts_(std::max<std::size_t>(1, topo.hosts.size())),
      targets_(topo) {}

HostStates::HostStates(const Topology& topo, SimState shared, std::vector<HostFlowState> hosts)
    : topo_(topo), shared_(std::move(shared)), hosts_(std::move(hosts)), targets_(topo) {}

HostId HostStates::host_of(PortId p) const {
  // A port with no host (an interior port: only tests send from one) uses host 0's tables.
  const auto& h = topo_.ports[p.value].host;
  return h ? *h : HostId{0};
}

}  // namespace hivesim
