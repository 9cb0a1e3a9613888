#include <span>

#include "sim/twin/twin_impl.hpp"

namespace hivesim {

void Twin::Impl::write(Change change) {
  if (const auto visible = nsdb_.write(std::move(change), sched_.now())) published_at(*visible);
}

void Twin::Impl::published_at(SimTime visible) {
  // Committed now: the publication notifies the agents watching what changed, a crossing
  // through the NSDB (writes stalled for a quorum commit when it returns).
  post(Crossing{Crossing::Kind::kNsdbWrite, HostId{}, HostId{}, sched_.now(), visible},
       [this] { publish(); });
}

void Twin::Impl::publish() {
  std::vector<std::pair<FlowTag, FailureId>> changed;  // tag, cause
  for (const Change& change : nsdb_.take_visible(sched_.now())) {
    const std::span<const PortId> ports =
        change.host ? std::span<const PortId>(agents_.ports_of(change.host))
                    : std::span<const PortId>();
    for (FlowTag t : apply_change(topo_, change, ports))
      changed.emplace_back(t, change.cause);
  }
  if (changed.empty()) return;
  std::vector<FlowTag> tags;
  for (const auto& [tag, cause] : changed)
    tags.push_back(tag);
  nsdb_.changed(tags);
  ++topo_.version;
  current_ = std::make_shared<const Simulator>(topo_);
  for (Agent& agent : agents_) {
    if (!agent.alive) continue;
    agent.sim = current_;
    bool watched = false;
    for (const auto& [tag, cause] : changed) {
      if (!agent.cache.contains(tag_key(tag))) continue;
      watched = true;
      const std::size_t n = agent.table.invalidate(tag);
      accounting_.flows.invalidated += n;
      if (cause) failures_.count_invalidated(cause, n);
    }
    if (watched) nsdb_.notified();
  }
}

std::vector<FlowTag> apply_change(Topology& topo, const Change& c,
                                  std::span<const PortId> host_ports) {
  std::vector<FlowTag> tags;
  switch (c.kind) {
    case Change::Kind::kPortsActive:
      for (PortId p : host_ports) {
        Port& port = topo.ports[p.value];
        if (port.active == c.value) continue;
        port.active = c.value;
        tags.push_back(FlowTag{FlowTag::Kind::kPort, p.value});
        // Its routes are withdrawn or restored.
        if (port.on_router()) tags.push_back(FlowTag{FlowTag::Kind::kRouter, port.device});
      }
      break;
    case Change::Kind::kPortAdmin: {
      Port& port = topo.ports[c.port.value];
      if (port.admin_up == c.value) break;
      port.admin_up = c.value;
      tags.push_back(FlowTag{FlowTag::Kind::kPort, c.port.value});
      break;
    }
    case Change::Kind::kRule:
      topo.chains[c.rule.chain.value].rules[c.rule.rule].action = c.rule.action;
      tags.push_back(FlowTag{FlowTag::Kind::kChain, c.rule.chain.value});
      break;
    case Change::Kind::kMemberHealth: {
      PoolMember& m = topo.pools[c.pool.value].members[c.member.value];
      if (m.healthy == c.value) break;
      m.healthy = c.value;
      tags.push_back(FlowTag{FlowTag::Kind::kPool, c.pool.value});
      break;
    }
  }
  return tags;
}

}  // namespace hivesim
