#include "sim/twin/failures.hpp"

#include <algorithm>

#include "sim/twin/twin_impl.hpp"

namespace hivesim {

// The failures part.

Failures::Failures(const Scenario& scenario)
    : scenario_(scenario), windows_(scenario.failures.size()) {
  for (std::uint32_t i = 0; i < scenario.failures.size(); ++i)
    order_.push_back(FailureId{i});
  std::stable_sort(order_.begin(), order_.end(), [&scenario](FailureId a, FailureId b) {
    return scenario.failures[a.value].at < scenario.failures[b.value].at;
  });
  const Topology& topo = scenario.topology;
  generation_.resize(topo.pools.size());
  for (std::uint32_t p = 0; p < topo.pools.size(); ++p) {
    generation_[p].resize(topo.pools[p].members.size());
  }
}

SimTime Failures::first_at(SimTime otherwise) const {
  for (FailureId f : order_)
    otherwise = std::min(otherwise, scenario_.failures[f.value].at);
  return otherwise;
}

FailureId Failures::window_at(SimTime t) const {
  // The latest failure at or before t (scenario order among failures at the same time).
  const auto it = std::upper_bound(
      order_.begin(), order_.end(), t,
      [this](SimTime time, FailureId f) { return time < scenario_.failures[f.value].at; });
  if (it == order_.begin()) return FailureId{};
  return *std::prev(it);
}

void Failures::count_loss(DropId drop, SimTime now) {
  const FailureId window = window_at(now);
  if (!window) {
    baseline_drops_.insert(drop);
  } else if (!baseline_drops_.contains(drop)) {
    FailureWindow& fw = windows_[window.value];
    ++fw.lost;
    fw.last_loss = now;
    if (fw.recovered_at || fw.lost == 1) unrecovered_.push_back(window);
    fw.recovered_at.reset();
  }
}

void Failures::recover(SimTime now) {
  std::erase_if(unrecovered_, [this, now](FailureId w) {
    if (windows_[w.value].last_loss >= now) return false;
    windows_[w.value].recovered_at = now;
    return true;
  });
}

std::optional<PoolId> Failures::dead_backend(Ipv4 ip, std::uint16_t port) const {
  const auto it = dead_members_.find(endpoint_key(ip, port));
  if (it == dead_members_.end()) return std::nullopt;
  return it->second;
}

std::uint64_t Failures::set_member_alive(const Topology& topo, PoolId pool, MemberIndex member,
                                         bool alive) {
  const PoolMember& m = topo.pools[pool.value].members[member.value];
  const std::uint64_t ep = endpoint_key(m.ip, m.port);
  if (alive) {
    dead_members_.erase(ep);
  } else {
    dead_members_[ep] = pool;
  }
  return ++generation_[pool.value][member.value];
}

// The coordinator's steps: what each kind of failure does to the parts.

void Twin::Impl::fail(FailureId index) {
  const Failure& f = scenario_.failures[index.value];
  switch (f.kind) {
    case FailureKind::kHostDown:
      host_down(f.host, index);
      break;
    case FailureKind::kHostUp:
      host_up(f.host, index);
      break;
    case FailureKind::kAgentRestart:
      agent_restart(f.host);
      break;
    case FailureKind::kNsdbDown:
    case FailureKind::kNsdbUp:
      nsdb_replica(f.replica, f.kind == FailureKind::kNsdbUp);
      break;
    case FailureKind::kLinkDown:
    case FailureKind::kLinkUp:
      underlay_.set_link(f.host, f.peer_host, f.kind == FailureKind::kLinkUp);
      break;
    case FailureKind::kMemberDown:
    case FailureKind::kMemberUp: {
      const Pool& pool = topo_.pools[f.pool.value];
      for (std::uint32_t m = 0; m < pool.members.size(); ++m) {
        const PoolMember& member = pool.members[m];
        if (member.ip != f.member_ip || (f.member_port && *f.member_port != member.port)) continue;
        set_member_alive(f.pool, MemberIndex{m}, f.kind == FailureKind::kMemberUp, index);
      }
      break;
    }
    case FailureKind::kPortDown:
    case FailureKind::kPortUp: {
      Change c;
      c.kind = Change::Kind::kPortAdmin;
      c.port = f.port;
      c.value = f.kind == FailureKind::kPortUp;
      c.cause = index;
      write(c);
      break;
    }
    case FailureKind::kSet: {
      Change c;
      c.kind = Change::Kind::kRule;
      c.rule = f.change;
      c.cause = index;
      write(c);
      break;
    }
  }
}

// A host dies: its agent stops (flow table, NSDB cache, simulations in flight and the packets
// waiting in them, flow state: all lost), the backends on its VM ports die with it, and once
// its NSDB session expires the NSDB marks its ports inactive (routes through them go). Frames
// landing on it meanwhile are lost (arrive()); pushes to it too (replicate()).
void Twin::Impl::host_down(HostId host, FailureId cause) {
  Agent& agent = agents_[host];
  if (!agent.alive) return;
  stop_agent(host);
  agent.alive = false;
  set_members_alive(host, false, cause);
  agent.sim.reset();
  const std::uint64_t generation = ++agent.down_generation;
  sched_.schedule_in(scenario_.nsdb.session_timeout, [this, host, generation, cause] {
    if (agents_[host].alive || agents_[host].down_generation != generation) return;
    Change c;
    c.kind = Change::Kind::kPortsActive;
    c.host = host;
    c.value = false;
    c.cause = cause;
    write(c);
  });
}

// A host returns: its agent starts empty (no flows, no cache, no flow state), its backends
// live again, and it writes its ports active.
void Twin::Impl::host_up(HostId host, FailureId cause) {
  Agent& agent = agents_[host];
  if (agent.alive) return;
  agent.alive = true;
  ++agent.down_generation;
  agent.sim = current_;
  set_members_alive(host, true, cause);
  Change c;
  c.kind = Change::Kind::kPortsActive;
  c.host = host;
  c.value = true;
  c.cause = cause;
  write(c);
}

// An agent restarts: as host_down's agent part, and it is back at once.
void Twin::Impl::agent_restart(HostId host) {
  if (!agents_[host].alive) return;
  stop_agent(host);
  agents_[host].sim = current_;
}

void Twin::Impl::stop_agent(HostId host) {
  const DropId drop = accounting_.intern(DropReason::kHostDown, topo_.hosts[host.value].name);
  for (JourneyId j : agents_.stop(host, sched_.now()))
    lose(j, drop);
}

void Twin::Impl::nsdb_replica(std::uint32_t replica, bool up) {
  if (!nsdb_.set_replica(replica, up)) return;
  // The quorum is back: the stalled writes commit, the stalled reads go on.
  for (Change& c : nsdb_.take_stalled())
    published_at(nsdb_.commit(std::move(c), sched_.now()));
  std::vector<CompletionId> sims = std::move(agents_.stalled);
  agents_.stalled.clear();
  for (CompletionId c : sims) {
    const HostId host = agents_.completions[c].agent;
    Agent& agent = agents_[host];
    if (agent.epoch != agents_.completions[c].epoch) {
      agents_.completions.release(c);  // the agent stopped meanwhile
      continue;
    }
    const auto it = agent.in_flight.find(agents_.completions[c].key);
    HIVESIM_CHECK(it != agent.in_flight.end(), "a stalled simulation went missing");
    const SimTime ready = fetch(host, agents_.flights[it->second.flight].result.tags, sched_.now());
    sched_.schedule_at(ready, [this, c] { complete(c); });
  }
}

void Twin::Impl::set_member_alive(PoolId pool, MemberIndex member, bool alive, FailureId cause) {
  const std::uint64_t generation = failures_.set_member_alive(topo_, pool, member, alive);
  const auto& monitor = topo_.pools[pool.value].health_monitor;
  if (!monitor) return;  // nobody checks: the LB keeps sending to a dead backend
  // Probes run every `interval` from time 0. A member is marked down when `retries`
  // consecutive probes have timed out, and up again by the first probe that succeeds.
  const SimTime now = sched_.now();
  const SimTime first_probe = (now + monitor->interval - 1) / monitor->interval * monitor->interval;
  const SimTime at = alive ? first_probe
                           : first_probe +
                                 static_cast<SimTime>(monitor->retries - 1) * monitor->interval +
                                 monitor->timeout;
  sched_.schedule_at(at, [this, pool, member, alive, cause, generation] {
    if (!failures_.current(pool, member, generation)) return;
    Change c;
    c.kind = Change::Kind::kMemberHealth;
    c.pool = pool;
    c.member = member;
    c.value = alive;
    c.cause = cause;
    write(c);
  });
}

void Twin::Impl::set_members_alive(HostId host, bool alive, FailureId cause) {
  // Backends living on the host's VM ports die and come back with it.
  for (PortId p : agents_.ports_of(host)) {
    const Port& port = topo_.ports[p.value];
    if (!port.on_bridge() || !port.ip) continue;
    for (std::uint32_t pool = 0; pool < topo_.pools.size(); ++pool) {
      for (std::uint32_t m = 0; m < topo_.pools[pool].members.size(); ++m) {
        if (topo_.pools[pool].members[m].ip == *port.ip) {
          set_member_alive(PoolId{pool}, MemberIndex{m}, alive, cause);
        }
      }
    }
  }
}

}  // namespace hivesim
