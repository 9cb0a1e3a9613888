#include "sim/twin/twin_impl.hpp"

namespace hivesim {

void Twin::Impl::start() {
  if (started_) return;
  started_ = true;
  for (std::uint32_t i = 0; i < sources_.size(); ++i) {
    pull(SourceId{i});
    if (sources_[i].pending != nullptr) push_due(sources_[i].pending->at, kSourceKey | i);
  }
  for (std::uint32_t i : failure_order_) {
    if (scenario_.failures[i].at <= end_) {
      sched_.schedule_at(scenario_.failures[i].at, [this, i] { fail(i); });
    }
  }
  sched_.schedule_at(std::min(kSweepInterval, end_), [this] { sweep(); });
}

void Twin::Impl::sweep() {
  // Housekeeping: idle flows and connection state expire.
  for (Agent& a : agents_) {
    if (a.alive) a.table.expire(sched_.now());
  }
  for (Agent& a : agents_) {
    if (a.alive) a.flow_state.expire(sched_.now());
  }
  state_.nat.expire(sched_.now());  // the SNAT leases (NSDB-wide)
  // Nothing can go idle while nothing happens: across a quiet stretch (a capture with a gap of
  // days) the next sweep waits for the next event instead of ticking through it. A frame
  // counted when sent and not landed yet is no such stretch: the earliest frame on its link
  // lands within a sweep interval (lands_as_sent()).
  SimTime next = sched_.now() + kSweepInterval;
  if (const auto event = next_activity(); event && *event > next && !landing_pending()) {
    next = *event;
  }
  if (next <= end_ && (!options_.until_idle || busy() || landing_pending())) {
    sched_.schedule_at(next, [this] { sweep(); });
  }
}

bool Twin::Impl::busy() const {
  return live_journeys_ > 0 || nsdb_.pending() || pending_sources_ > 0;
}

void Twin::Impl::push_due(SimTime at, std::uint32_t key) {
  due_.push_back(Due{at, key});
  std::push_heap(due_.begin(), due_.end(), std::greater<>{});
}

void Twin::Impl::pop_top() {
  std::pop_heap(due_.begin(), due_.end(), std::greater<>{});
  due_.pop_back();
}

std::optional<SimTime> Twin::Impl::next_activity() {
  std::optional<SimTime> next = sched_.next_time();
  if (!due_.empty() && (!next || due_.front().at < *next)) next = due_.front().at;
  return next;
}

void Twin::Impl::refresh_next_event() {
  // The scheduler's next time changes only when an event runs (the cache is dropped then) or is
  // scheduled (its size grows: the twin cancels nothing).
  if (sched_.size() != next_size_) {
    next_event_ = sched_.next_time();
    next_size_ = sched_.size();
  }
}

bool Twin::Impl::runs_next(const Due& item, SimTime limit) {
  if (item.at > limit) return false;
  refresh_next_event();
  if (next_event_ && *next_event_ <= item.at) return false;
  // The other streams: the top's children hold the earliest of them.
  for (std::size_t child = 1; child <= 2 && child < due_.size(); ++child) {
    if (item > due_[child]) return false;
  }
  return true;
}

void Twin::Impl::run_until(SimTime limit, bool until_idle) {
  for (std::uint32_t tick = 1; !stopped_; ++tick) {
    if (tick % 1024 == 0 && (stopped_ = over_limits())) return;
    refresh_next_event();
    // Idle once nothing is busy and the frames counted when sent have landed.
    if (until_idle && !busy() && !landing_ahead()) return;
    if (!due_.empty() && due_.front().at <= limit &&
        (!next_event_ || due_.front().at < *next_event_)) {
      // The item stays on top while it runs (whatever it schedules is later); its handler
      // replaces it with its stream's next item or removes it (reschedule_top).
      const Due d = due_.front();
      sched_.advance_to(d.at);  // nothing is due before it
      ++stream_events_;
      if ((d.key & kSourceKey) != 0) {
        inject_pending(SourceId{d.key & ~kSourceKey}, limit);
      } else {
        arrive(HostId{d.key});
      }
    } else if (next_event_ && *next_event_ <= limit) {
      sched_.step();
      next_size_ = SIZE_MAX;
    } else {
      break;
    }
  }
  if (!stopped_) sched_.run_until(limit);
}

std::optional<std::string> Twin::Impl::over_limits() const {
  const Limits& l = scenario_.limits;
  const std::uint64_t events = sched_.events_run() + stream_events_;
  const std::uint64_t in_flight =
      totals_.injected - totals_.delivered - totals_.dropped - totals_.consumed;
  // Checked every 1,024 events: the sum over every agent only when a flow limit is set (it made
  // the check O(hosts), a cost per event that grew with the cloud), the message only when due.
  std::uint64_t flows = 0;
  if (l.max_flows != 0) {
    for (const Agent& a : agents_)
      flows += a.table.stats().installed;
  }
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
  at_send_until_ = end_ + 1;
  for (std::uint32_t i : failure_order_) {
    at_send_until_ = std::min(at_send_until_, scenario_.failures[i].at);
  }
  at_send_bytes_ = underlay_.bytes_within(kSweepInterval - scenario_.underlay.latency);
  if (options_.until_idle) {
    // Events left once nothing is busy are housekeeping and failures after the traffic.
    run_until(end_, true);
    end_ = last_landing_;
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

}  // namespace hivesim
