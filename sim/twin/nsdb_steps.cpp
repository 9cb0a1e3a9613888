#include "sim/twin/twin_impl.hpp"

namespace hivesim {

void Twin::Impl::write(Change change) {
  if (const auto visible = nsdb_.write(std::move(change), sched_.now())) published_at(*visible);
}

void Twin::Impl::published_at(SimTime visible) {
  sched_.schedule_at(visible, [this] { publish(); });
}

void Twin::Impl::publish() {
  std::vector<std::pair<FlowTag, std::uint32_t>> changed;  // tag, cause
  for (const Change& change : nsdb_.take_visible(sched_.now())) {
    for (FlowTag t : apply_change(change))
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
      flow_stats_.invalidated += n;
      if (cause != Change::kNoCause) windows_[cause].invalidated += n;
    }
    if (watched) nsdb_.notified();
  }
}

std::vector<FlowTag> Twin::Impl::apply_change(const Change& c) {
  std::vector<FlowTag> tags;
  switch (c.kind) {
    case Change::Kind::kPortsActive:
      for (PortId p : host_ports_[c.target]) {
        Port& port = topo_.ports[p.value];
        if (port.active == c.value) continue;
        port.active = c.value;
        tags.push_back(FlowTag{FlowTag::Kind::kPort, p.value});
        // Its routes are withdrawn or restored.
        if (port.on_router()) tags.push_back(FlowTag{FlowTag::Kind::kRouter, port.device});
      }
      break;
    case Change::Kind::kPortAdmin: {
      Port& port = topo_.ports[c.target];
      if (port.admin_up == c.value) break;
      port.admin_up = c.value;
      tags.push_back(FlowTag{FlowTag::Kind::kPort, c.target});
      break;
    }
    case Change::Kind::kRule:
      topo_.chains[c.rule.chain.value].rules[c.rule.rule].action = c.rule.action;
      tags.push_back(FlowTag{FlowTag::Kind::kChain, c.rule.chain.value});
      break;
    case Change::Kind::kMemberHealth: {
      PoolMember& m = topo_.pools[c.target].members[c.member];
      if (m.healthy == c.value) break;
      m.healthy = c.value;
      tags.push_back(FlowTag{FlowTag::Kind::kPool, c.target});
      break;
    }
  }
  return tags;
}

}  // namespace hivesim
