#include <algorithm>

#include "sim/twin/agent.hpp"
#include "sim/twin/nsdb.hpp"

namespace hivesim {

Agents::Agents(const Topology& topo, const std::shared_ptr<const Simulator>& sim)
    : port_host_(topo.ports.size()), loaded_(topo.ports.size()), host_ports_(topo.hosts.size()) {
  agents_.reserve(topo.hosts.size());
  for (const Host& h : topo.hosts) {
    agents_.emplace_back(h.agent);
    agents_.back().sim = sim;
  }
  for (std::uint32_t p = 0; p < topo.ports.size(); ++p) {
    if (const auto& host = topo.ports[p].host) {
      port_host_[p] = *host;
      host_ports_[host->value].push_back(PortId{p});
    }
  }
}

std::vector<JourneyId> Agents::stop(HostId host, SimTime now) {
  Agent& agent = agents_[host.value];
  ++agent.epoch;
  agent.table.clear();
  agent.cache.clear();
  agent.busy_until = now;
  agent.flow_state = HostFlowState{};  // its conntrack and NAT bindings go with it
  // Packets queued in the agent are lost with it, in a fixed order.
  std::vector<JourneyId> lost;
  for (const auto& [key, ref] : agent.in_flight) {
    for (ParkedId p = flights[ref.flight].first; p; p = parked.next(p))
      lost.push_back(parked[p].journey);
    free_flight(ref.flight);
  }
  agent.in_flight.clear();
  std::sort(lost.begin(), lost.end());
  return lost;
}

void Agents::free_flight(FlightId index) {
  for (ParkedId p = flights[index].first; p;) {
    const ParkedId next = parked.next(p);
    parked.free(p);
    p = next;
  }
  flights.release(index);
}

SimTime Agents::fetch(Agent& agent, const std::vector<FlowTag>& tags, SimTime from,
                      SimTime latency) {
  const SimTime arrival = from + latency;
  for (const FlowTag& t : tags)
    agent.cache.try_emplace(tag_key(t), arrival);
  return arrival;
}

void Agents::expire(SimTime now) {
  for (Agent& a : agents_) {
    if (a.alive) a.table.expire(now);
  }
  for (Agent& a : agents_) {
    if (a.alive) a.flow_state.expire(now);
  }
}

std::uint64_t Agents::flows_installed() const {
  std::uint64_t flows = 0;
  for (const Agent& a : agents_)
    flows += a.table.stats().installed;
  return flows;
}

}  // namespace hivesim
