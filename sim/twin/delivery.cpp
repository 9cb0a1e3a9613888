#include "sim/twin/twin_impl.hpp"

namespace hivesim {

bool Twin::Impl::watched(SourceId source, bool reply) const {
  return options_.on_egress || (!reply && sources_[source].reply);
}

bool Twin::Impl::needs_packet(JourneyId journey) const {
  if (!journey) return static_cast<bool>(options_.on_egress);
  return watched(accounting_[journey].source, accounting_[journey].reply);
}

void Twin::Impl::send(HostId host, PortId port, const Packet& packet, JourneyId journey) {
  const HostId to = agents_.host_of(port);
  if (to == host) {
    deliver(port, Landing::of(packet), journey);
    return;
  }
  const UnderlayNet::Route r = underlay_.route(host, to);
  if (options_.on_tunnel && r.lost != UnderlayNet::Route::Lost::kTunnel) {
    options_.on_tunnel(host, to);
  }
  if (r.lost != UnderlayNet::Route::Lost::kNo) {
    if (journey) lose(journey, route_drop(host, to, r.lost));
    return;
  }
  PacketSlot kept;
  if (needs_packet(journey)) {
    kept = underlay_.kept.acquire();
    underlay_.kept[kept] = packet;
  }
  Frame frame{serialise(host, wire_length(packet) + r.overhead),
              to,
              port,
              journey,
              kept,
              packet.dst,
              packet.dport,
              packet.is_ipv4() && packet.proto == ipproto::kTcp,
              false,
              SourceId{},
              0};
  if (journey) {
    const Journey& jr = accounting_[journey];
    if (jr.copies == 1 && !jr.delivered && !jr.consumed && !jr.drop && !jr.vip) {
      // Its only copy, and nothing has happened to it yet: the frame carries it (see Frame).
      frame.journey = Frame::kCarried;
      frame.reply = jr.reply;
      frame.source = jr.source;
      frame.injected_at = jr.injected_at;
      accounting_.close(journey);
      // Such a frame landing where nobody looks (kept nothing: needs_packet) is what arrive()
      // counts at once: counted now when it lands as sent (a packet that waited for its flow's
      // simulation, most often).
      if (!kept && lands_as_sent(host, frame.at)) {
        land_as_sent(host, to, frame.source, frame.reply, frame.injected_at, frame.at);
        return;
      }
    }
  }
  post_frame(host, frame);
}

DropId Twin::Impl::route_drop(HostId host, HostId to, UnderlayNet::Route::Lost lost) {
  return accounting_.intern(DropReason::kTunnelDown,
                            lost == UnderlayNet::Route::Lost::kUnderlay
                                ? std::string("underlay")
                                : topo_.hosts[host.value].name + "->" + topo_.hosts[to.value].name);
}

void Twin::Impl::arrive(HostId host) {
  Frame frame = underlay_.pop(host);
  if (frame.journey == Frame::kCarried && agents_[frame.to].alive &&
      !watched(frame.source, frame.reply) && (!failures_.any_dead_backend() || !frame.ipv4_tcp)) {
    // Most frames: the only copy of a packet nothing happened to, landing where nobody looks
    // at it or answers it. deliver() and finalize() would come to this: its latency and one
    // delivery.
    merge_.reschedule_top(host.value, underlay_.front_at(host));
    Source& src = sources_[frame.source];
    if (!frame.reply) {
      src.latencies.add(sched_.now() - frame.injected_at);
      accounting_.timeline.record(frame.source, sched_.now(), true);
    }
    count_arrival(src, frame.reply, true);
    --accounting_.live;
    merge_.last_landing = std::max(merge_.last_landing, sched_.now());
    return;
  }
  if (frame.journey == Frame::kCarried) {
    frame.journey = accounting_.open();
    Journey& jr = accounting_[frame.journey];
    jr.injected_at = frame.injected_at;
    jr.source = frame.source;
    jr.reply = frame.reply;
    jr.copies = 1;
  }
  // Before delivering: a reply that deliver injects may put frames on this link again.
  merge_.reschedule_top(host.value, underlay_.front_at(host));
  if (!agents_[frame.to].alive) {
    if (frame.packet) underlay_.kept.release(frame.packet);
    if (frame.journey) {
      lose(frame.journey,
           accounting_.intern(DropReason::kHostDown, topo_.hosts[frame.to.value].name));
    }
    return;
  }
  const Landing landing{frame.packet ? &underlay_.kept[frame.packet] : nullptr, frame.dst,
                        frame.dport, frame.ipv4_tcp};
  deliver(frame.port, landing, frame.journey);
  // Only now: a reply that deliver injects may send frames of its own.
  if (frame.packet) underlay_.kept.release(frame.packet);
}

void Twin::Impl::deliver(PortId port, const Landing& landing, JourneyId j) {
  if (options_.on_egress) options_.on_egress(port, *landing.packet, sched_.now());
  if (!j) return;
  if (failures_.any_dead_backend() && landing.ipv4_tcp) {
    // A backend that died answers nothing: what reaches it is lost.
    if (const auto pool = failures_.dead_backend(landing.dst, landing.dport)) {
      lose(j, accounting_.intern(DropReason::kNoBackend, topo_.pools[pool->value].name));
      return;
    }
  }
  Journey& jr = accounting_[j];
  if (!jr.delivered) {
    jr.delivered = true;
    Source& src = sources_[jr.source];
    if (!jr.reply) {
      src.latencies.add(sched_.now() - jr.injected_at);
      // A connection counts once, for the member its first delivered packet reached.
      if (jr.vip) accounting_.count_connection(topo_, jr, landing.dst, landing.dport);
      if (src.reply) {
        if (auto answer = reply_to(*landing.packet)) {
          inject_answer(jr.source, port, std::move(*answer));
        }
      }
    }
  }
  finish_copy(j);
}

}  // namespace hivesim
