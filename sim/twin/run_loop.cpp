#include "sim/twin/twin_impl.hpp"

namespace hivesim {

void Twin::Impl::start() {
  if (started_) return;
  started_ = true;
  for (std::uint32_t i = 0; i < sources_.size(); ++i) {
    const SourceId s{i};
    sources_.pull(s, end_);
    if (sources_[s].pending != nullptr) merge_.push(Due::packets(s, sources_[s].pending->at));
  }
  for (FailureId f : failures_.by_time()) {
    if (scenario_.failures[f.value].at <= end_) {
      sched_.schedule_at(scenario_.failures[f.value].at, [this, f] { fail(f); });
    }
  }
  sched_.schedule_at(std::min(kSweepInterval, end_), [this] { sweep(); });
}

// The run loop, as ns-3's Simulator::ProcessOneEvent: take the next item due, move the clock to
// it, hand it to the part that owns it. Three kinds of items (run_loop.hpp): scheduler events
// (publications, pushes landing, completions, failures, sweeps), a frame landing (the
// underlay's), a packet entering (its source's).
void Twin::Impl::run_until(SimTime limit, bool until_idle) {
  for (std::uint32_t tick = 1; !stopped_; ++tick) {
    if (tick % 1024 == 0 && (stopped_ = over_limits())) return;
    // Idle once nothing is busy and the frames counted when sent have landed.
    if (until_idle && !busy() && !merge_.landing_ahead(sched_)) return;
    const Merge::Next next = merge_.next(sched_, limit);
    switch (next.kind) {
      case Merge::Next::Kind::kNothing:
        sched_.run_until(limit);  // only moves the clock: nothing is due up to `limit`
        return;
      case Merge::Next::Kind::kScheduled:
        sched_.step();
        merge_.event_ran();
        break;
      case Merge::Next::Kind::kFrameLands:
        // The item stays on top while it runs (whatever it schedules is later); its handler
        // replaces it with its stream's next item or removes it (reschedule_top).
        sched_.advance_to(next.item.at);
        ++merge_.stream_events;
        arrive(next.item.host());
        break;
      case Merge::Next::Kind::kPacketEnters:
        sched_.advance_to(next.item.at);
        ++merge_.stream_events;
        inject_pending(next.item.source(), limit);
        break;
    }
  }
}

void Twin::Impl::sweep() {
  // Housekeeping: idle flows and connection state expire.
  agents_.expire(sched_.now());
  state_.nat.expire(sched_.now());  // the SNAT leases (NSDB-wide)
  // Nothing can go idle while nothing happens: across a quiet stretch (a capture with a gap of
  // days) the next sweep waits for the next event instead of ticking through it. A frame
  // counted when sent and not landed yet is no such stretch: the earliest frame on its link
  // lands within a sweep interval (lands_as_sent()).
  SimTime next = sched_.now() + kSweepInterval;
  const bool landing = merge_.landing_pending(sched_.now());
  if (const auto event = merge_.next_activity(sched_); event && *event > next && !landing) {
    next = *event;
  }
  if (next <= end_ && (!options_.until_idle || busy() || landing)) {
    sched_.schedule_at(next, [this] { sweep(); });
  }
}

bool Twin::Impl::busy() const {
  return accounting_.live > 0 || nsdb_.pending() || sources_.any_pending();
}

std::optional<std::string> Twin::Impl::over_limits() const {
  const Limits& l = scenario_.limits;
  const std::uint64_t events = sched_.events_run() + merge_.stream_events;
  const PacketTotals& t = accounting_.totals;
  const std::uint64_t in_flight = t.injected - t.delivered - t.dropped - t.consumed;
  // Checked every 1,024 events: the sum over every agent only when a flow limit is set (it made
  // the check O(hosts), a cost per event that grew with the cloud), the message only when due.
  const std::uint64_t flows = l.max_flows != 0 ? agents_.flows_installed() : 0;
  const auto at_now = [&] {
    return " at " + std::to_string(sched_.now() / 1000000) + "ms of simulated time";
  };
  if (l.max_events != 0 && events > l.max_events)
    return "limits.max_events: more than " + std::to_string(l.max_events) + " events" + at_now();
  if (l.max_flows != 0 && flows > l.max_flows)
    return "limits.max_flows: more than " + std::to_string(l.max_flows) + " flows installed" +
           at_now();
  if (in_flight > l.max_in_flight) {
    return "limits.max_in_flight: more than " + std::to_string(l.max_in_flight) +
           " packets in flight at once" + at_now() +
           " (the traffic outruns what the agents can simulate; lower its rate, or raise "
           "limits.max_in_flight)";
  }
  return std::nullopt;
}

void Twin::Impl::advance(SimTime t) {
  start();
  run_until(std::min(t, end_), false);
}

RunReport Twin::Impl::run() {
  start();
  // Run to its end: a frame that lands before the end and before the first failure may be
  // counted when sent (lands_as_sent).
  merge_.at_send_until = failures_.first_at(end_ + 1);
  merge_.at_send_bytes = underlay_.bytes_within(kSweepInterval - scenario_.underlay.latency);
  if (options_.until_idle) {
    // Events left once nothing is busy are housekeeping and failures after the traffic.
    run_until(end_, true);
    end_ = merge_.last_landing;
    return report();
  }
  for (int step = 1; step <= kProgressSteps; ++step) {
    const SimTime t =
        end_ / kProgressSteps * step + (step == kProgressSteps ? end_ % kProgressSteps : 0);
    run_until(t, false);
    if (stopped_) break;
    if (options_.progress) options_.progress(t, end_);
    if (options_.stop && step < kProgressSteps && options_.stop()) {
      end_ = t;  // the report covers the run so far
      break;
    }
  }
  return report();
}

void Twin::Impl::crossed(const Crossing& c) const {
  HIVESIM_CHECK(c.lands >= c.sent + min_latency(c.kind, underlay_.latency(), nsdb_.latency()),
                "a host reached another sooner than the underlay or the NSDB carries anything");
  if (options_.on_crossing) options_.on_crossing(c);
}

}  // namespace hivesim
