#include "sim/twin/accounting.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "sim/twin/twin_impl.hpp"

#include <optional>

namespace hivesim {

// The accounting part.

Accounting::Accounting(const Topology& topo, SimTime timeline_length)
    : timeline(timeline_length), vip_member_connections_(topo.vips.size()) {
  for (std::uint32_t v = 0; v < topo.vips.size(); ++v) {
    vip_member_connections_[v].resize(topo.pools[topo.vips[v].pool.value].members.size());
  }
}

DropId Accounting::intern(const DropInfo& drop) {
  DropKey key{drop.reason, drop.device, drop.rule};
  auto [it, fresh] = drop_ids_.try_emplace(std::move(key), DropId{});
  if (fresh) {
    it->second = DropId{static_cast<std::uint32_t>(drop_rows_.size())};
    drop_rows_.push_back(DropRow{drop.reason, drop.device, drop.rule, 0});
  }
  return it->second;
}

DropId Accounting::intern(DropReason reason, const std::string& device) {
  return intern(DropInfo{reason, device, std::nullopt});
}

void Accounting::count_connection(const Topology& topo, const Journey& jr, Ipv4 dst,
                                  std::uint16_t dport) {
  // A connection counts once, for the member its first delivered packet reached.
  if (!connections_seen_.insert(ConnKey{jr.src, jr.dst, jr.sport, jr.dport, jr.proto, jr.vip.value})
           .second) {
    return;
  }
  const Pool& pool = topo.pools[topo.vips[jr.vip.value].pool.value];
  for (std::size_t m = 0; m < pool.members.size(); ++m) {
    if (pool.members[m].ip == dst && pool.members[m].port == dport) {
      ++vip_member_connections_[jr.vip.value][m];
    }
  }
}

std::vector<DropRow> Accounting::drop_rows() const {
  std::vector<DropRow> drops = drop_rows_;
  std::erase_if(drops, [](const DropRow& d) { return d.count == 0; });
  std::sort(drops.begin(), drops.end(), [](const DropRow& a, const DropRow& b) {
    if (a.count != b.count) return a.count > b.count;
    return std::tie(a.reason, a.device, a.rule) < std::tie(b.reason, b.device, b.rule);
  });
  return drops;
}

std::vector<LbRow> Accounting::load_balancers(const Topology& topo,
                                              const Topology& declared) const {
  std::vector<LbRow> rows;
  for (std::uint32_t v = 0; v < topo.vips.size(); ++v) {
    const Vip& vip = topo.vips[v];
    const Pool& pool = declared.pools[vip.pool.value];
    LbRow row;
    row.vip = vip.name;
    std::uint64_t weights = 0;
    for (const PoolMember& m : pool.members)
      weights += m.admin_up ? m.weight : 0;
    for (std::size_t m = 0; m < pool.members.size(); ++m) {
      row.connections += vip_member_connections_[v][m];
    }
    for (std::size_t m = 0; m < pool.members.size(); ++m) {
      const PoolMember& member = pool.members[m];
      LbMemberRow mr;
      mr.member = member.ip.str() + ":" + std::to_string(member.port);
      mr.weight = member.weight;
      mr.connections = vip_member_connections_[v][m];
      mr.share = row.connections
                     ? static_cast<double>(mr.connections) / static_cast<double>(row.connections)
                     : 0.0;
      mr.expected = weights && member.admin_up
                        ? static_cast<double>(member.weight) / static_cast<double>(weights)
                        : 0.0;
      if (row.connections && mr.expected > 0) {
        row.max_skew = std::max(row.max_skew, std::abs(mr.share - mr.expected) / mr.expected);
      }
      row.members.push_back(std::move(mr));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// The coordinator's steps: a journey's copies finishing, and the report.

void Twin::Impl::lose(JourneyId j, DropId drop) {
  if (!accounting_[j].drop) accounting_[j].drop = drop;
  finish_copy(j);
}

void Twin::Impl::finish_copy(JourneyId j) {
  HIVESIM_CHECK(accounting_[j].copies > 0, "a packet copy finished twice");
  if (--accounting_[j].copies == 0) finalize(j);
}

void Twin::Impl::finalize(JourneyId j) {
  const Journey& jr = accounting_[j];
  Source& src = sources_[jr.source];
  const SimTime now = sched_.now();
  if (!jr.reply) accounting_.timeline.record(jr.source, now, jr.delivered || jr.consumed);
  if (jr.delivered || jr.consumed) {
    count_arrival(src, jr.reply, jr.delivered);
  } else {
    HIVESIM_CHECK(jr.drop, "a dropped packet without a drop reason");
    ++accounting_.totals.dropped;
    if (!jr.reply) ++src.row.dropped;
    accounting_.count_drop(jr.drop);
    failures_.count_loss(jr.drop, now);
  }
  accounting_.close(j);
  --accounting_.live;
  merge_.last_landing = std::max(merge_.last_landing, now);
}

void Twin::Impl::count_arrival(Source& src, bool reply, bool delivered) {
  ++(delivered ? accounting_.totals.delivered : accounting_.totals.consumed);
  ++(reply ? src.row.replies_delivered : src.row.delivered);
  // A delivery after a failure's last loss means the network carries traffic again.
  failures_.count_delivery(sched_.now());
}

RunReport Twin::Impl::report() {
  RunReport r;
  r.scenario = scenario_.name;
  r.seed = scenario_.seed;
  r.sim_time = end_;
  r.events = sched_.events_run() + merge_.stream_events;
  r.packets = accounting_.totals;
  r.packets.in_flight =
      r.packets.injected - r.packets.delivered - r.packets.dropped - r.packets.consumed;

  r.flows = accounting_.flows;
  for (std::uint32_t h = 0; h < agents_.size(); ++h) {
    const FlowTableStats& s = agents_[HostId{h}].table.stats();
    r.flows.installed += s.installed;
    r.flows.expired += s.expired;
    r.flows.evicted += s.evicted;
    r.flows.per_host.push_back(FlowHostStats{topo_.hosts[h].name, s.installed, s.peak});
  }

  r.drops = accounting_.drop_rows();
  r.load_balancers = accounting_.load_balancers(topo_, scenario_.topology);

  for (std::uint32_t i = 0; i < scenario_.failures.size(); ++i) {
    const Failure& f = scenario_.failures[i];
    const FailureWindow& w = failures_.window(FailureId{i});
    FailureRow row;
    row.at = f.at;
    row.event = f.label;
    row.packets_lost = w.lost;
    row.flows_invalidated = w.invalidated;
    if (w.lost == 0) {
      row.recovered_after = 0;
    } else if (w.recovered_at) {
      row.recovered_after = *w.recovered_at - f.at;
    }
    r.failures.push_back(std::move(row));
  }

  for (Source& s : sources_) {
    TrafficRow row = s.row;
    row.in_flight = row.sent - row.delivered - row.dropped;
    const std::vector<SimTime> p = s.latencies.percentiles({0.50, 0.90, 0.99, 1.0});
    row.latency.p50 = p[0];
    row.latency.p90 = p[1];
    row.latency.p99 = p[2];
    row.latency.max = p[3];
    r.traffic.push_back(std::move(row));
  }
  r.nsdb_writes = nsdb_.writes();
  r.nsdb_notifications = nsdb_.notifications();
  r.state_pushes = replication_.state_pushes();
  r.flow_state = replication_.row();
  r.timeline = accounting_.timeline.finish(end_, r.traffic, scenario_.failures);
  r.expectations = evaluate(r);
  return r;
}

std::vector<ExpectationRow> Twin::Impl::evaluate(const RunReport& r) {
  std::vector<ExpectationRow> rows;
  // Trace expectations run like a batch on the final state, each host with its own.
  // A copy of every host's tables (a tenth of a large run's peak memory): made only when a trace
  // expectation needs it.
  std::optional<HostStates> probe;
  for (const Expectation& e : scenario_.expectations) {
    ExpectationRow row;
    row.name = e.name;
    if (const auto* t = std::get_if<ExpectTrace>(&e.what)) {
      std::optional<std::string> failure;
      if (!probe) probe.emplace(host_states());
      probe->run(t->from, [&](SimState& s) {
        SimulationResult result;
        failure = check_trace_expectation(*current_, *t, s, &result);
        return result;
      });
      row.passed = !failure;
      row.detail = failure ? *failure : "held at the end of the run";
    } else if (const auto* lb = std::get_if<ExpectLb>(&e.what)) {
      const LbRow& l = r.load_balancers[lb->vip.value];
      char buf[160];
      std::snprintf(buf, sizeof buf, "max skew %.4f (limit %.4f) over %llu connections", l.max_skew,
                    lb->max_skew, static_cast<unsigned long long>(l.connections));
      row.passed = l.connections > 0 && l.max_skew <= lb->max_skew;
      row.detail = l.connections ? buf : "no connection reached VIP " + l.vip;
    } else if (const auto* tr = std::get_if<ExpectTraffic>(&e.what)) {
      const TrafficRow& row_t = r.traffic[tr->traffic.value];
      // Packets still travelling when the run ended are neither delivered nor lost.
      const std::uint64_t landed = row_t.sent - row_t.in_flight;
      const double ratio =
          landed ? static_cast<double>(row_t.delivered) / static_cast<double>(landed) : 0.0;
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "delivered %llu of %llu sent (%.4f, %llu still in flight), minimum %.4f",
                    static_cast<unsigned long long>(row_t.delivered),
                    static_cast<unsigned long long>(row_t.sent), ratio,
                    static_cast<unsigned long long>(row_t.in_flight), tr->min_delivered);
      row.passed = landed > 0 && ratio >= tr->min_delivered;
      row.detail = landed ? buf : "traffic " + row_t.name + " delivered nothing by the end";
    } else if (const auto* d = std::get_if<ExpectDrops>(&e.what)) {
      std::uint64_t count = 0;
      for (const DropRow& row_d : r.drops) {
        if (d->reason && row_d.reason != *d->reason) continue;
        if (d->device && row_d.device != *d->device) continue;
        count += row_d.count;
      }
      row.passed = count <= d->max;
      row.detail = std::to_string(count) + " drops" +
                   (d->reason ? " with reason " + std::string(to_string(*d->reason)) : "") +
                   (d->device ? " at " + *d->device : "") + ", at most " + std::to_string(d->max) +
                   " allowed";
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace hivesim
