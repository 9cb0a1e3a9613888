#include "sim/twin/twin_impl.hpp"

namespace hivesim {

void Twin::Impl::replicate(HostId host, PortId in, const SimulationResult& result) {
  replication_.note_answers();
  const std::vector<HostId>& targets = replication_.targets(in, result.out, host);
  if (targets.empty()) return;
  // One message per target, sent now: it lands an underlay latency later, ahead of the packet,
  // which leaves after the simulation and takes at least as long on the same tunnel.
  const std::uint32_t keys = replication_.open_payload();
  std::size_t sent = 0;
  for (HostId to : targets) {
    const bool reaches = underlay_.message_reaches(host, to);
    replication_.sent(reaches);
    if (!reaches) continue;
    const SimTime now = sched_.now();
    replication_.add_push(keys);
    ++sent;
    // (this, to, keys: 16 bytes, held in the scheduler's slot without an allocation)
    post(Crossing{Crossing::Kind::kStatePush, host, to, now, now + underlay_.latency()},
         [this, to, keys] {
           // The receiver installs the keys, if it is alive to receive them.
           Agent& agent = agents_[to];
           replication_.landed(agent.alive);
           if (agent.alive) {
             for (const StateWrite& w : replication_.payload(keys))
               agent.flow_state.install(w, sched_.now());
           }
           replication_.payload_landed(keys);
         });
  }
  // Sent nowhere: the slot goes back at once.
  if (sent == 0) replication_.payload_landed(keys);
}

HostStates Twin::Impl::host_states() const {
  std::vector<HostFlowState> hosts;
  hosts.reserve(agents_.size());
  for (const Agent& a : agents_)
    hosts.push_back(a.flow_state);
  return HostStates(topo_, state_, std::move(hosts));
}

}  // namespace hivesim
