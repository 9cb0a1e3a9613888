#include "sim/twin/twin_impl.hpp"

namespace hivesim {

void Twin::Impl::pull(SourceId index) {
  Source& s = sources_[index.value];
  const bool had = s.pending != nullptr;
  s.pending = s.source->next();
  if (s.pending != nullptr && s.pending->at > end_) s.pending = nullptr;
  pending_sources_ += (s.pending != nullptr) - had;
}

// The per-packet path of a flow-table hit (inject, datapath, straight_to_wire, route,
// serialise, land_as_sent, ...) is marked always_inline: as separate calls, saving and restoring
// registers at each step cost 15% of what a packet costs the twin (140 of 880 instructions).

void Twin::Impl::inject_pending(SourceId index, SimTime limit) {
  for (std::uint32_t tick = 1;; ++tick) {
    // A source far faster than the agents would otherwise stay in this loop (limits).
    if (tick % 1024 == 0 && (stopped_ = over_limits())) return;
    // Injected from where it waits (pull() replaces it next): no copy of the packet.
    SourcePacket& sp = *sources_[index.value].pending;
    if (sp.extracted) {  // extracted ahead: the record's other lines are read only if needed
      inject(index, sp.port, std::move(sp.packet), false, &sp);
    } else if (sp.malformed) {
      inject_malformed(index, sp.port);
    } else {
      inject(index, sp.port, std::move(sp.packet), false);
    }
    pull(index);
    const SourcePacket* next = sources_[index.value].pending;
    if (next == nullptr) {
      reschedule_top(kSourceKey | index.value, std::nullopt);
      return;
    }
    const Due item{std::max(next->at, sched_.now()), kSourceKey | index.value};
    if (!runs_next(item, limit)) {
      reschedule_top(item.key, item.at);
      return;
    }
    sched_.advance_to(item.at);
    ++stream_events_;
  }
}

void Twin::Impl::inject_answer(SourceId source, PortId port, Packet&& answer) {
  const std::vector<PortId>& from = sources_[source.value].reply_from;
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
  check_answer_state(port, answer);
  inject(source, port, std::move(answer), true);
}

void Twin::Impl::inject_malformed(SourceId source, PortId port) {
  // A frame that does not parse never reaches a flow table: the datapath drops it.
  Packet nothing;
  nothing.ethertype = 0;
  const JourneyId j = new_journey(source, nothing, false);
  lose(j, intern(DropReason::kMalformed, topo_.ports[port.value].name));
}

JourneyId Twin::Impl::alloc_journey() {
  const JourneyId j = journeys_.acquire();
  journeys_[j] = Journey{};
  return j;
}

JourneyId Twin::Impl::new_journey(SourceId source, const Packet& packet, bool reply) {
  const JourneyId j = alloc_journey();
  Journey& jr = journeys_[j];
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
  const HostId host = port_host_[port.value];
  if (!agents_[host.value].alive) {
    if (record != nullptr) record->parse();
    lose(new_journey(source, packet, reply),
         intern(DropReason::kHostDown, topo_.hosts[host.value].name));
    return;
  }
  datapath(host, port, std::move(packet), source, reply, record);
}

[[gnu::always_inline]] inline void Twin::Impl::datapath(HostId host, PortId port, Packet&& packet,
                                                        SourceId source, bool reply,
                                                        SourcePacket* record) {
  Agent& agent = agents_[host.value];
  std::optional<FlowKey> computed;
  const FlowKey& key =
      record != nullptr ? record->extracted->key : computed.emplace(flow_key(packet, port));
  if (const FlowActions* actions = agent.table.lookup(key, sched_.now())) {
    ++flow_stats_.cache_hits;
    if (straight_to_wire(host, *actions, packet, key, record, source, reply)) return;
    if (record != nullptr) record->parse();
    apply(host, *actions, packet, new_journey(source, packet, reply));
    return;
  }
  if (record != nullptr) record->parse();
  ++flow_stats_.cache_misses;
  const JourneyId journey = new_journey(source, packet, reply);
  auto [it, fresh] = agent.in_flight.try_emplace(key);
  FlightRef& ref = it->second;
  if (fresh) {
    ref.flight = flights_.acquire();
    start_simulation(agent, host, key, ref.flight, port, packet);
  }
  const ParkedId parked = parked_.park(port, std::move(packet), journey);
  if (!ref.last) {
    flights_[ref.flight].first = parked;
  } else {
    parked_.link(ref.last, parked);
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
  const HostId to = port_host_[out.port.value];
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
    land_as_sent(host, source, reply, sched_.now(), at);
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
  enqueue(host, frame);
  return true;
}

void Twin::Impl::start_simulation(Agent& agent, HostId host, const FlowKey& key, FlightId index,
                                  PortId port, const Packet& packet) {
  InFlight& flight = flights_[index];
  flight.result = simulate_on(host, port, packet);

  // The agent simulates one flow at a time. Objects it has not loaded yet are fetched from
  // the NSDB together, one round trip; the fetch parks the simulation but does not hold the
  // agent. An object another simulation is still fetching is ready when that fetch is.
  const SimTime begin = std::max(agent.busy_until, sched_.now());
  agent.busy_until = begin + agent.config.sim_latency;
  SimTime ready = agent.busy_until;
  bool missing = false;
  for (const FlowTag& t : flight.result.tags) {
    const auto it = agent.cache.find(tag_key(t));
    if (it == agent.cache.end()) {
      missing = true;
    } else {
      ready = std::max(ready, it->second);
    }
  }
  flight.change_seq = nsdb_.sequence();
  const CompletionId c = completions_.acquire();
  completions_[c] = Completion{host, CompletionId{}, agent.epoch, key, index};
  if (agent.last_started && agent.last_started != c) completions_[agent.last_started].next = c;
  agent.last_started = c;
  if (missing && !nsdb_.quorum()) {
    // Nothing can be read without a quorum: the simulation waits for it (fetch_stalled()).
    stalled_sims_.push_back(c);
    return;
  }
  // As in MidoNet, a simulation that needs an object parks until it arrives, then runs again.
  if (missing) ready = std::max(ready, fetch(agent, flight.result.tags, agent.busy_until));
  sched_.schedule_at(ready, [this, c] { complete(c); });
}

SimTime Twin::Impl::fetch(Agent& agent, const std::vector<FlowTag>& tags, SimTime from) {
  const SimTime arrival = from + scenario_.nsdb.latency;
  for (const FlowTag& t : tags)
    agent.cache.try_emplace(tag_key(t), arrival);
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
  const CompletionId first = completions_[c].next;
  if (!first) return;
  const CompletionId second = completions_[first].next;
  if (second) {
    if (const CompletionId third = completions_[second].next; third) {
      const Completion& t = completions_[third];
      agents_[t.agent.value].in_flight.prefetch(t.key);
      prefetch(&flights_[t.flight], sizeof(InFlight));
    }
    const InFlight& flight = flights_[completions_[second].flight];
    int count = 0;
    for (ParkedId p = flight.first; p && count < kMostPackets; p = parked_.next(p), ++count) {
      prefetch(&parked_[p], sizeof(Waiting));
    }
    prefetch(flight.result.tags.data(), flight.result.tags.size() * sizeof(FlowTag));
    prefetch(flight.result.out.data(), flight.result.out.size() * sizeof(OutPacket));
  }
  int count = 0;
  for (ParkedId p = flights_[completions_[first].flight].first; p && count < kMostPackets;
       p = parked_.next(p), ++count) {
    __builtin_prefetch(&journeys_[parked_[p].journey]);
  }
}

void Twin::Impl::complete(CompletionId c) {
  // In a replay's tail thousands of simulations complete back to back, each reading packets
  // parked long before: without fetching ahead, cache misses took most of the time.
  prefetch_after(c);
  const Completion done = completions_[c];
  completions_.release(c);
  Agent& agent = agents_[done.agent.value];
  if (agent.epoch != done.epoch) return;  // the agent stopped; its packets were dropped then
  const auto entry = agent.in_flight.find(done.key);
  HIVESIM_CHECK(entry != agent.in_flight.end(), "a completion without its in-flight simulation");
  const FlightId index = entry->second.flight;
  agent.in_flight.erase(entry);
  // (The flight's slot stays put while its packets are sent, and is freed after.)
  const InFlight& flight = flights_[index];
  const SimulationResult& result = flight.result;
  Waiting& simulated = parked_[flight.first];
  simulated.unpark(unparked_);  // the packet simulated (unparked_ is reused below)
  // A change to an object the simulation read, published while it ran, makes its result
  // stale: it still decides the packets that waited for it, but no flow is installed. (No
  // change at all since it started, the common case, needs no look at its tags.)
  const bool stale = nsdb_.stale(result.tags, flight.change_seq);
  std::optional<FlowActions> actions = stale ? std::nullopt : actions_for(unparked_, result);
  if (actions) {
    agent.table.install(done.key, result.mask, result.tags, *actions, sched_.now());
  }
  emit(done.agent, simulated, result);
  for (ParkedId p = parked_.next(flight.first); p; p = parked_.next(p)) {
    Waiting& w = parked_[p];
    w.unpark(unparked_);
    if (actions) {
      apply(done.agent, *actions, unparked_, w.journey);
    } else {
      // Not cacheable (it made packets of its own): each packet is simulated.
      emit(done.agent, w, simulate_on(done.agent, w.port, unparked_));
    }
  }
  free_flight(index);
}

void Twin::Impl::free_flight(FlightId index) {
  for (ParkedId p = flights_[index].first; p;) {
    const ParkedId next = parked_.next(p);
    parked_.free(p);
    p = next;
  }
  flights_.release(index);
}

std::optional<FlowActions> Twin::Impl::actions_for(const Packet& in,
                                                   const SimulationResult& result) {
  std::optional<FlowActions> actions = flow_actions_for(in, result);
  if (actions && result.verdict == Verdict::kDropped) actions->drop_id = intern(*result.drop);
  return actions;
}

void Twin::Impl::emit(HostId host, const Waiting& w, const SimulationResult& result) {
  const JourneyId j = w.journey;
  if (result.balanced) journeys_[j].vip = result.balanced->vip.value;
  if (result.verdict == Verdict::kDropped) {
    journeys_[j].drop_id = intern(*result.drop);
  } else if (result.verdict == Verdict::kConsumed) {
    journeys_[j].consumed = true;
  }
  for (const OutPacket& o : result.out) {
    if (o.generated) {
      send(host, o.port, o.packet, JourneyId{});
    } else {
      ++journeys_[j].copies;
      send(host, o.port, o.packet, j);
    }
  }
  finish_copy(j);
}

void Twin::Impl::apply(HostId host, const FlowActions& actions, Packet& packet, JourneyId journey) {
  if (actions.verdict == Verdict::kDropped) {
    lose(journey, actions.drop_id);
    return;
  }
  const std::size_t n = actions.outputs.size();
  if (actions.balanced_vip) journeys_[journey].vip = actions.balanced_vip - 1U;
  if (n == 0) {
    finish_copy(journey);
    return;
  }
  // One copy per output; the ingress's own goes with the last, which takes the packet itself.
  journeys_[journey].copies += static_cast<std::uint32_t>(n - 1);
  for (std::size_t i = 0; i + 1 < n; ++i) {
    scratch_ = packet;
    hivesim::apply(actions.outputs[i].rewrite, scratch_);
    send(host, actions.outputs[i].port, scratch_, journey);
  }
  hivesim::apply(actions.outputs[n - 1].rewrite, packet);
  send(host, actions.outputs[n - 1].port, packet, journey);
}

void Twin::Impl::stop_agent(HostId host) {
  Agent& agent = agents_[host.value];
  ++agent.epoch;
  agent.table.clear();
  agent.cache.clear();
  agent.busy_until = sched_.now();
  agent.flow_state = HostFlowState{};  // its conntrack and NAT bindings go with it
  // Packets queued in the agent are lost with it, in a fixed order.
  std::vector<JourneyId> lost;
  for (const auto& [key, ref] : agent.in_flight) {
    for (ParkedId p = flights_[ref.flight].first; p; p = parked_.next(p))
      lost.push_back(parked_[p].journey);
    free_flight(ref.flight);
  }
  agent.in_flight.clear();
  std::sort(lost.begin(), lost.end());
  const std::uint32_t drop = intern(DropReason::kHostDown, topo_.hosts[host.value].name);
  for (JourneyId j : lost)
    lose(j, drop);
}

SimulationResult Twin::Impl::simulate_on(HostId host, PortId port, const Packet& packet) {
  Agent& agent = agents_[host.value];
  SimulateOptions opts;
  opts.now = sched_.now();
  SimulationResult result;
  journal_.clear();
  {
    HostStateScope scope(state_, agent.flow_state, &journal_);
    const std::size_t before = state_.conntrack.size() + state_.nat.size();
    result = agent.sim->simulate(port, packet, state_, opts);
    // The first version's count: new state, once per other host an output went to.
    if (state_.conntrack.size() + state_.nat.size() > before) {
      absl::flat_hash_set<std::uint32_t> peers;
      for (const OutPacket& o : result.out) {
        if (port_host_[o.port.value] != host) peers.insert(port_host_[o.port.value].value);
      }
      state_pushes_ += peers.size();
    }
  }
  ++flow_stats_.simulations;
  if (!journal_.empty()) replicate(host, port, result);
  return result;
}

}  // namespace hivesim
