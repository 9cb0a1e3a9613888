#include "sim/twin/twin_impl.hpp"

namespace hivesim {

// The per-packet path of a flow-table hit (inject, datapath, straight_to_wire, route,
// serialise, land_as_sent, ...) is marked always_inline: as separate calls, saving and restoring
// registers at each step cost 15% of what a packet costs the twin (140 of 880 instructions).

void Twin::Impl::inject_pending(SourceId index, SimTime limit) {
  for (std::uint32_t tick = 1;; ++tick) {
    // A source far faster than the agents would otherwise stay in this loop (limits).
    if (tick % 1024 == 0 && (stopped_ = over_limits())) return;
    // Injected from where it waits (pull() replaces it next): no copy of the packet.
    SourcePacket& sp = *sources_[index].pending;
    if (sp.extracted) {  // extracted ahead: the record's other lines are read only if needed
      inject(index, sp.port, std::move(sp.packet), false, &sp);
    } else if (sp.malformed) {
      inject_malformed(index, sp.port);
    } else {
      inject(index, sp.port, std::move(sp.packet), false);
    }
    sources_.pull(index, end_);
    const SourcePacket* next = sources_[index].pending;
    if (next == nullptr) {
      merge_.reschedule_top(Due::packets(index, 0).key, std::nullopt);
      return;
    }
    const Due item = Due::packets(index, std::max(next->at, sched_.now()));
    if (!merge_.runs_next(item, limit, sched_)) {
      merge_.reschedule_top(item.key, item.at);
      return;
    }
    sched_.advance_to(item.at);
    ++merge_.stream_events;
  }
}

void Twin::Impl::inject_answer(SourceId source, PortId port, Packet&& answer) {
  const std::vector<PortId>& from = sources_[source].reply_from;
  if (!from.empty()) {
    // An upstream's ECMP: a stable hash of the connection picks the port (the same for every
    // answer of a flow, and for every run).
    std::uint64_t h = (std::uint64_t{answer.src.bits} << 32) | answer.dst.bits;
    h ^= (std::uint64_t{answer.sport} << 24) ^ (std::uint64_t{answer.dport} << 8) ^ answer.proto;
    h *= 0x9e3779b97f4a7c15ULL;
    port = from[(h >> 32) % from.size()];
    // The upstream addresses the router port it sends to.
    const Port& p = topo_.ports[port.value];
    if (p.on_router() && p.mac) answer.eth_dst = *p.mac;
  }
  // Whether it finds its connection's state where it enters (counted when it does not).
  replication_.check_answer(agents_[agents_.host_of(port)].flow_state, answer);
  inject(source, port, std::move(answer), true);
}

void Twin::Impl::inject_malformed(SourceId source, PortId port) {
  // A frame that does not parse never reaches a flow table: the datapath drops it.
  Packet nothing;
  nothing.ethertype = 0;
  const JourneyId j = new_journey(source, nothing, false);
  lose(j, accounting_.intern(DropReason::kMalformed, topo_.ports[port.value].name));
}

JourneyId Twin::Impl::new_journey(SourceId source, const Packet& packet, bool reply) {
  const JourneyId j = accounting_.open();
  Journey& jr = accounting_[j];
  jr.injected_at = sched_.now();
  jr.source = source;
  jr.copies = 1;
  jr.reply = reply;
  jr.proto = packet.is_ipv4() ? packet.proto : 0;
  jr.src = packet.src;
  jr.dst = packet.dst;
  jr.sport = packet.sport;
  jr.dport = packet.dport;
  count_injection(source, reply);
  return j;
}

[[gnu::always_inline]] inline void Twin::Impl::inject(SourceId source, PortId port, Packet&& packet,
                                                      bool reply, SourcePacket* record) {
  const HostId host = agents_.host_of(port);
  if (!agents_[host].alive) {
    if (record != nullptr) record->parse();
    lose(new_journey(source, packet, reply),
         accounting_.intern(DropReason::kHostDown, topo_.hosts[host.value].name));
    return;
  }
  datapath(host, port, std::move(packet), source, reply, record);
}

[[gnu::always_inline]] inline void Twin::Impl::datapath(HostId host, PortId port, Packet&& packet,
                                                        SourceId source, bool reply,
                                                        SourcePacket* record) {
  Agent& agent = agents_[host];
  std::optional<FlowKey> computed;
  const FlowKey& key =
      record != nullptr ? record->extracted->key : computed.emplace(flow_key(packet, port));
  if (const FlowActions* actions = agent.table.lookup(key, sched_.now())) {
    ++accounting_.flows.cache_hits;
    if (straight_to_wire(host, *actions, packet, key, record, source, reply)) return;
    if (record != nullptr) record->parse();
    apply(host, *actions, packet, new_journey(source, packet, reply));
    return;
  }
  if (record != nullptr) record->parse();
  ++accounting_.flows.cache_misses;
  const JourneyId journey = new_journey(source, packet, reply);
  auto [it, fresh] = agent.in_flight.try_emplace(key);
  FlightRef& ref = it->second;
  if (fresh) {
    ref.flight = agents_.flights.acquire();
    start_simulation(agent, host, key, ref.flight, port, packet);
  }
  const ParkedId parked = agents_.parked.park(port, std::move(packet), journey);
  if (!ref.last) {
    agents_.flights[ref.flight].first = parked;
  } else {
    agents_.parked.link(ref.last, parked);
  }
  ref.last = parked;
}

[[gnu::always_inline]] inline bool Twin::Impl::straight_to_wire(HostId host,
                                                                const FlowActions& actions,
                                                                Packet& packet, const FlowKey& key,
                                                                SourcePacket* record,
                                                                SourceId source, bool reply) {
  if (actions.verdict != Verdict::kDelivered || actions.outputs.size() != 1 ||
      actions.balanced_vip != 0 || watched(source, reply)) {
    return false;
  }
  const FlowOutput& out = actions.outputs.front();
  const HostId to = agents_.host_of(out.port);
  if (to == host) return false;
  // What apply() and send() would do with a journey of one copy, which send() then parks.
  const UnderlayNet::Route r = underlay_.route(host, to);
  if (options_.on_tunnel && r.lost != UnderlayNet::Route::Lost::kTunnel) {
    options_.on_tunnel(host, to);
  }
  if (r.lost != UnderlayNet::Route::Lost::kNo) {
    if (record != nullptr) record->parse();
    lose(new_journey(source, packet, reply), route_drop(host, to, r.lost));
    return true;
  }
  count_injection(source, reply);
  // The rewritten packet's length, and the TCP destination a dead backend is looked up by.
  const PacketRewrite& rw = out.rewrite;
  const Extracted* extracted = record != nullptr ? &*record->extracted : nullptr;
  const std::size_t length = extracted != nullptr
                                 ? rewritten_length(rw, extracted->length, extracted->vlan_count)
                                 : rewritten_length(rw, wire_length(packet), packet.vlan_count);
  const std::size_t bytes = length + r.overhead;
  const SimTime at = serialise(host, bytes);
  if (lands_as_sent(host, at)) {
    land_as_sent(host, to, source, reply, sched_.now(), at);
    return true;
  }
  Frame frame{at,
              to,
              out.port,
              Frame::kCarried,
              PacketSlot{},
              rw.has(RewriteField::kNwDst) ? rw.nw_dst : key.nw_dst,
              rw.has(RewriteField::kTpDst) ? rw.tp_dst : key.tp_dst,
              key.ethertype == ethertype::kIpv4 && key.nw_proto == ipproto::kTcp,
              reply,
              source,
              sched_.now()};
  post_frame(host, frame);
  return true;
}

void Twin::Impl::start_simulation(Agent& agent, HostId host, const FlowKey& key, FlightId index,
                                  PortId port, const Packet& packet) {
  InFlight& flight = agents_.flights[index];
  simulate_on(host, port, packet, flight.result);  // a reused slot's vectors are reused

  // The agent simulates one flow at a time. Objects it has not loaded yet are fetched from
  // the NSDB together, one round trip; the fetch parks the simulation but does not hold the
  // agent. An object another simulation is still fetching is ready when that fetch is.
  const SimTime begin = std::max(agent.busy_until, sched_.now());
  agent.busy_until = begin + agent.config.sim_latency;
  SimTime ready = agent.busy_until;
  bool missing = false;
  LoadedTags& loaded = agents_.loaded(port);
  if (loaded.epoch == agent.epoch && loaded.tags == flight.result.tags) {
    ready = std::max(ready, loaded.ready);  // the same objects as the last time: all loaded
  } else {
    SimTime latest = 0;
    for (const FlowTag& t : flight.result.tags) {
      const auto it = agent.cache.find(tag_key(t));
      if (it == agent.cache.end()) {
        missing = true;
      } else {
        latest = std::max(latest, it->second);
      }
    }
    ready = std::max(ready, latest);
    if (!missing) {
      loaded.tags.assign(flight.result.tags.begin(), flight.result.tags.end());
      loaded.ready = latest;
      loaded.epoch = agent.epoch;
    }
  }
  flight.change_seq = nsdb_.sequence();
  const CompletionId c = agents_.completions.acquire();
  agents_.completions[c] = Completion{host, CompletionId{}, agent.epoch, key, index};
  if (agent.last_started && agent.last_started != c)
    agents_.completions[agent.last_started].next = c;
  agent.last_started = c;
  if (missing && !nsdb_.quorum()) {
    // Nothing can be read without a quorum: the simulation waits for it (fetch_stalled()).
    agents_.stalled.push_back(c);
    return;
  }
  // As in MidoNet, a simulation that needs an object parks until it arrives, then runs again.
  if (missing) ready = std::max(ready, fetch(host, flight.result.tags, agent.busy_until));
  sched_.schedule_at(ready, [this, c] { complete(c); });
}

SimTime Twin::Impl::fetch(HostId host, const std::vector<FlowTag>& tags, SimTime from) {
  // A read through the NSDB: the objects are ready for the agent a round trip later.
  const SimTime arrival = Agents::fetch(agents_[host], tags, from, nsdb_.latency());
  crossed(Crossing{Crossing::Kind::kNsdbRead, HostId{}, host, from, arrival});
  return arrival;
}

void Twin::Impl::prefetch_after(CompletionId c) {
  // A pipeline over the completions that follow, each stage reading only what the one before
  // fetched: the third's map slot and flight, the second's packets and result, the next one's
  // packets' journeys. (Each link may be stale, then only a cache line is wasted; every walk
  // is bounded.)
  const auto prefetch = [](const void* data, std::size_t bytes) {
    const char* p = static_cast<const char*>(data);
    for (std::size_t at = 0; at < bytes; at += 64)
      __builtin_prefetch(p + at);
  };
  constexpr int kMostPackets = 32;
  const CompletionId first = agents_.completions[c].next;
  if (!first) return;
  const CompletionId second = agents_.completions[first].next;
  if (second) {
    if (const CompletionId third = agents_.completions[second].next; third) {
      const Completion& t = agents_.completions[third];
      agents_[t.agent].in_flight.prefetch(t.key);
      prefetch(&agents_.flights[t.flight], sizeof(InFlight));
    }
    const InFlight& flight = agents_.flights[agents_.completions[second].flight];
    int count = 0;
    for (ParkedId p = flight.first; p && count < kMostPackets;
         p = agents_.parked.next(p), ++count) {
      prefetch(&agents_.parked[p], sizeof(Waiting));
    }
    prefetch(flight.result.tags.data(), flight.result.tags.size() * sizeof(FlowTag));
    prefetch(flight.result.out.data(), flight.result.out.size() * sizeof(OutPacket));
  }
  int count = 0;
  for (ParkedId p = agents_.flights[agents_.completions[first].flight].first;
       p && count < kMostPackets; p = agents_.parked.next(p), ++count) {
    __builtin_prefetch(&accounting_[agents_.parked[p].journey]);
  }
}

void Twin::Impl::complete(CompletionId c) {
  // In a replay's tail thousands of simulations complete back to back, each reading packets
  // parked long before: without fetching ahead, cache misses took most of the time.
  prefetch_after(c);
  const Completion done = agents_.completions[c];
  agents_.completions.release(c);
  Agent& agent = agents_[done.agent];
  if (agent.epoch != done.epoch) return;  // the agent stopped; its packets were dropped then
  const auto entry = agent.in_flight.find(done.key);
  HIVESIM_CHECK(entry != agent.in_flight.end(), "a completion without its in-flight simulation");
  const FlightId index = entry->second.flight;
  agent.in_flight.erase(entry);
  // (The flight's slot stays put while its packets are sent, and is freed after.)
  const InFlight& flight = agents_.flights[index];
  const SimulationResult& result = flight.result;
  Waiting& simulated = agents_.parked[flight.first];
  simulated.unpark(agents_.unparked);  // the packet simulated (agents_.unparked is reused below)
  // A change to an object the simulation read, published while it ran, makes its result
  // stale: it still decides the packets that waited for it, but no flow is installed. (No
  // change at all since it started, the common case, needs no look at its tags.)
  const bool stale = nsdb_.stale(result.tags, flight.change_seq);
  std::optional<FlowActions> actions = stale ? std::nullopt : actions_for(agents_.unparked, result);
  if (actions) {
    agent.table.install(done.key, result.mask, result.tags, *actions, sched_.now());
  }
  emit(done.agent, simulated, result);
  for (ParkedId p = agents_.parked.next(flight.first); p; p = agents_.parked.next(p)) {
    Waiting& w = agents_.parked[p];
    w.unpark(agents_.unparked);
    if (actions) {
      apply(done.agent, *actions, agents_.unparked, w.journey);
    } else {
      // Not cacheable (it made packets of its own): each packet is simulated.
      simulate_on(done.agent, w.port, agents_.unparked, agents_.simulated);
      emit(done.agent, w, agents_.simulated);
    }
  }
  agents_.free_flight(index);
}

std::optional<FlowActions> Twin::Impl::actions_for(const Packet& in,
                                                   const SimulationResult& result) {
  std::optional<FlowActions> actions = flow_actions_for(in, result);
  if (actions && result.verdict == Verdict::kDropped) {
    actions->drop_id = accounting_.intern(*result.drop).value;
  }
  return actions;
}

void Twin::Impl::emit(HostId host, const Waiting& w, const SimulationResult& result) {
  const JourneyId j = w.journey;
  if (result.balanced) accounting_[j].vip = result.balanced->vip;
  if (result.verdict == Verdict::kDropped) {
    accounting_[j].drop = accounting_.intern(*result.drop);
  } else if (result.verdict == Verdict::kConsumed) {
    accounting_[j].consumed = true;
  }
  for (const OutPacket& o : result.out) {
    if (o.generated) {
      send(host, o.port, o.packet, JourneyId{});
    } else {
      ++accounting_[j].copies;
      send(host, o.port, o.packet, j);
    }
  }
  finish_copy(j);
}

void Twin::Impl::apply(HostId host, const FlowActions& actions, Packet& packet, JourneyId journey) {
  if (actions.verdict == Verdict::kDropped) {
    lose(journey, DropId{actions.drop_id});
    return;
  }
  const std::size_t n = actions.outputs.size();
  if (actions.balanced_vip) accounting_[journey].vip = VipId{actions.balanced_vip - 1U};
  if (n == 0) {
    finish_copy(journey);
    return;
  }
  // One copy per output; the ingress's own goes with the last, which takes the packet itself.
  accounting_[journey].copies += static_cast<std::uint32_t>(n - 1);
  for (std::size_t i = 0; i + 1 < n; ++i) {
    agents_.scratch = packet;
    hivesim::apply(actions.outputs[i].rewrite, agents_.scratch);
    send(host, actions.outputs[i].port, agents_.scratch, journey);
  }
  hivesim::apply(actions.outputs[n - 1].rewrite, packet);
  send(host, actions.outputs[n - 1].port, packet, journey);
}

void Twin::Impl::simulate_on(HostId host, PortId port, const Packet& packet,
                             SimulationResult& result) {
  Agent& agent = agents_[host];
  SimulateOptions opts;
  opts.now = sched_.now();
  {
    HostStateScope scope(state_, agent.flow_state, replication_.begin_journal());
    const std::size_t before = state_.conntrack.size() + state_.nat.size();
    agent.sim->simulate(port, packet, state_, opts, result);
    // The first version's count: new state, once per other host an output went to (counted
    // in a small buffer, not a set: outputs are few, and a flood's many stay O(n log n)).
    if (state_.conntrack.size() + state_.nat.size() > before) {
      absl::InlinedVector<std::uint32_t, 8> peers;
      for (const OutPacket& o : result.out) {
        if (agents_.host_of(o.port) != host) peers.push_back(agents_.host_of(o.port).value);
      }
      std::sort(peers.begin(), peers.end());
      replication_.count_state_pushes(
          static_cast<std::uint64_t>(std::unique(peers.begin(), peers.end()) - peers.begin()));
    }
  }
  ++accounting_.flows.simulations;
  if (replication_.wrote()) replicate(host, port, result);
}

}  // namespace hivesim
