#include "sim/twin/twin_impl.hpp"

namespace hivesim {

void Twin::Impl::fail(std::uint32_t index) {
  const Failure& f = scenario_.failures[index];
  const HostId host = f.host;
  switch (f.kind) {
    case FailureKind::kHostDown: {
      Agent& agent = agents_[host.value];
      if (!agent.alive) break;
      stop_agent(host);
      agent.alive = false;
      set_members_alive(host, false, index);
      agent.sim.reset();
      const std::uint64_t generation = ++agent.down_generation;
      // Its NSDB session expires; then its ports are inactive and routes through them go.
      sched_.schedule_in(scenario_.nsdb.session_timeout, [this, host, generation, index] {
        if (agents_[host.value].alive || agents_[host.value].down_generation != generation) return;
        Change c;
        c.kind = Change::Kind::kPortsActive;
        c.target = host.value;
        c.value = false;
        c.cause = index;
        write(c);
      });
      break;
    }
    case FailureKind::kHostUp: {
      Agent& agent = agents_[host.value];
      if (agent.alive) break;
      agent.alive = true;
      ++agent.down_generation;
      agent.sim = current_;
      set_members_alive(host, true, index);
      Change c;
      c.kind = Change::Kind::kPortsActive;
      c.target = host.value;
      c.value = true;
      c.cause = index;
      write(c);
      break;
    }
    case FailureKind::kAgentRestart:
      if (agents_[host.value].alive) {
        stop_agent(host);
        agents_[host.value].sim = current_;
      }
      break;
    case FailureKind::kNsdbDown:
    case FailureKind::kNsdbUp: {
      if (nsdb_.set_replica(f.replica, f.kind == FailureKind::kNsdbUp)) {
        for (Change& c : nsdb_.take_stalled())
          published_at(nsdb_.commit(std::move(c), sched_.now()));
        std::vector<CompletionId> sims = std::move(stalled_sims_);
        stalled_sims_.clear();
        for (CompletionId c : sims) {
          Agent& agent = agents_[completions_[c].agent.value];
          if (agent.epoch != completions_[c].epoch) {
            completions_.release(c);  // the agent stopped meanwhile
            continue;
          }
          const auto it = agent.in_flight.find(completions_[c].key);
          HIVESIM_CHECK(it != agent.in_flight.end(), "a stalled simulation went missing");
          const SimTime ready = fetch(agent, flights_[it->second.flight].result.tags, sched_.now());
          sched_.schedule_at(ready, [this, c] { complete(c); });
        }
      }
      break;
    }
    case FailureKind::kLinkDown:
      underlay_.set_link(host, f.peer_host, false);
      break;
    case FailureKind::kLinkUp:
      underlay_.set_link(host, f.peer_host, true);
      break;
    case FailureKind::kMemberDown:
    case FailureKind::kMemberUp: {
      const Pool& pool = topo_.pools[f.pool.value];
      for (std::uint32_t m = 0; m < pool.members.size(); ++m) {
        const PoolMember& member = pool.members[m];
        if (member.ip != f.member_ip || (f.member_port && *f.member_port != member.port)) continue;
        set_member_alive(f.pool.value, m, f.kind == FailureKind::kMemberUp, index);
      }
      break;
    }
    case FailureKind::kPortDown:
    case FailureKind::kPortUp: {
      Change c;
      c.kind = Change::Kind::kPortAdmin;
      c.target = f.port.value;
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

void Twin::Impl::set_member_alive(std::uint32_t pool, std::uint32_t member, bool alive,
                                  std::uint32_t cause) {
  const PoolMember& m = topo_.pools[pool].members[member];
  const std::uint64_t ep = endpoint_key(m.ip, m.port);
  if (alive) {
    dead_members_.erase(ep);
  } else {
    dead_members_[ep] = pool;
  }
  schedule_health_check(pool, member, alive, cause);
}

void Twin::Impl::set_members_alive(HostId host, bool alive, std::uint32_t cause) {
  // Backends living on the host's VM ports die and come back with it.
  for (PortId p : host_ports_[host.value]) {
    const Port& port = topo_.ports[p.value];
    if (!port.on_bridge() || !port.ip) continue;
    for (std::uint32_t pool = 0; pool < topo_.pools.size(); ++pool) {
      for (std::uint32_t m = 0; m < topo_.pools[pool].members.size(); ++m) {
        if (topo_.pools[pool].members[m].ip == *port.ip) set_member_alive(pool, m, alive, cause);
      }
    }
  }
}

void Twin::Impl::schedule_health_check(std::uint32_t pool, std::uint32_t member, bool healthy,
                                       std::uint32_t cause) {
  const auto& monitor = topo_.pools[pool].health_monitor;
  const std::uint64_t generation = ++member_generation_[pool][member];
  if (!monitor) return;  // nobody checks: the LB keeps sending to a dead backend
  // Probes run every `interval` from time 0. A member is marked down when `retries`
  // consecutive probes have timed out, and up again by the first probe that succeeds.
  const SimTime now = sched_.now();
  const SimTime first_probe = (now + monitor->interval - 1) / monitor->interval * monitor->interval;
  const SimTime at = healthy ? first_probe
                             : first_probe +
                                   static_cast<SimTime>(monitor->retries - 1) * monitor->interval +
                                   monitor->timeout;
  sched_.schedule_at(at, [this, pool, member, healthy, cause, generation] {
    if (member_generation_[pool][member] != generation) return;
    Change c;
    c.kind = Change::Kind::kMemberHealth;
    c.target = pool;
    c.member = member;
    c.value = healthy;
    c.cause = cause;
    write(c);
  });
}

}  // namespace hivesim
