#include <memory>

#include "sim/twin/twin_impl.hpp"

namespace hivesim {
namespace {

/// The connection of a conntrack reply key, whatever device it is seen at.
ConnKey connection(ConnKey key) {
  key.device = 0;
  return key;
}

}  // namespace

void Twin::Impl::replicate(HostId host, PortId in, const SimulationResult& result) {
  if (any_reply_source_) {
    // What an answer of the connection must find where it enters (check_answer_state).
    for (const StateWrite& w : journal_) {
      if (w.kind == StateWrite::Kind::kConnTrack) {
        AnswerState& a = answered_connections_[connection(w.key)];
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
      AnswerState& a = answered_connections_[connection(reply)];
      a.nat |= w.kind == StateWrite::Kind::kSnat ? 1 : 2;
      a.nat_device = w.key.device;
    }
  }
  const std::vector<HostId> targets = push_targets_.of(in, result.out, host);
  if (targets.empty()) return;
  // One message per target, sent now: it lands an underlay latency later, ahead of the packet,
  // which leaves after the simulation and takes at least as long on the same tunnel.
  auto keys = std::make_shared<const std::vector<StateWrite>>(journal_);
  for (HostId to : targets) {
    ++flow_state_.pushes;
    if (!underlay_.message_reaches(host, to)) {
      ++flow_state_.lost;
      continue;
    }
    sched_.schedule_in(underlay_.latency(), [this, to, keys] {
      Agent& agent = agents_[to.value];
      if (!agent.alive) {
        ++flow_state_.lost;
        return;
      }
      for (const StateWrite& w : *keys)
        agent.flow_state.install(w, sched_.now());
      ++flow_state_.delivered;
    });
  }
}

void Twin::Impl::check_answer_state(PortId port, const Packet& answer) {
  if (answered_connections_.empty() || !answer.is_ipv4()) return;
  ConnKey key{answer.src, answer.dst, answer.sport, answer.dport, answer.proto, 0};
  if (answer.proto == ipproto::kIcmp) {
    key.sport = key.dport = answer.icmp_id;
  } else if (answer.proto != ipproto::kTcp && answer.proto != ipproto::kUdp) {
    return;
  }
  const auto it = answered_connections_.find(key);
  if (it == answered_connections_.end()) return;  // its connection keeps no state
  const AnswerState& a = it->second;
  const HostFlowState& here = agents_[port_host_[port.value].value].flow_state;
  bool found = true;
  if (a.conntrack) {
    key.device = a.ct_device;
    found = here.conntrack.is_return(key);
  }
  key.device = a.nat_device;
  if ((a.nat & 1) != 0 && !here.nat.reverse(NatKind::kSnat, key)) found = false;
  if ((a.nat & 2) != 0 && !here.nat.reverse(NatKind::kDnat, key)) found = false;
  if (!found) ++flow_state_.replies_without_state;
}

HostStates Twin::Impl::host_states() const {
  std::vector<HostFlowState> hosts;
  hosts.reserve(agents_.size());
  for (const Agent& a : agents_)
    hosts.push_back(a.flow_state);
  return HostStates(topo_, state_, std::move(hosts));
}

}  // namespace hivesim
