#pragma once
// The run loop's merge: what is due next, among the scheduler's events and the two streams the
// twin keeps outside the scheduler.
//
// What it is: the run loop (run_loop.cpp, Twin::Impl::run_until) pops the next item, moves the
// clock to it and hands it to the part that owns it, as ns-3's ProcessOneEvent does. Items are
// scheduler events (NSDB publications, pushes landing, simulations completing, failures,
// sweeps), the front frame of each host's link (it lands: the underlay's), and each source's
// next packet (it enters: traffic's). Frames on a link land in the order they were sent and a
// source yields packets in time order, so only the front of each stream needs a place: a heap
// of a few entries instead of a scheduler event per packet. What that bought a replay: no
// closure, no scheduler insertion and no heap sift over thousands of events per packet (the
// scheduler holds only the agents' completions and housekeeping).
//
// Also here, the landing-as-sent shortcut's bookkeeping (Twin::Impl::lands_as_sent): a frame
// that will land exactly as sent is counted when sent, and `landed` keeps the last such landing
// in the merge's order so that the run still goes on to it (and stops at the same time, with
// the same events) as if the frame had travelled.
//
// Invariants: at the same time, scheduler events run first, then frames landing, then packets
// entering, each stream by index (the order the reports were produced with); an item stays on
// the heap's top while it runs, and its handler replaces it (reschedule_top).
// Cost: next() O(1) (a cached scheduler time, re-read only when the scheduler changed); a
// reschedule one sift-down of a 4-ary heap of (hosts sending + sources) entries.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "base/check.hpp"
#include "sim/engine/scheduler.hpp"
#include "sim/twin/ids.hpp"

namespace hivesim {

/// The next item of a stream outside the scheduler: the front frame of a host's link or a
/// source's next packet.
struct Due {
  SimTime at = 0;
  std::uint32_t key = 0;  // a host, or kSourceKey | a source

  static constexpr std::uint32_t kSourceKey = 1U << 31;
  static Due frames(HostId host, SimTime at) { return Due{at, host.value}; }
  static Due packets(SourceId source, SimTime at) { return Due{at, kSourceKey | source.value}; }
  bool is_source() const { return (key & kSourceKey) != 0; }
  HostId host() const { return HostId{key}; }
  SourceId source() const { return SourceId{key & ~kSourceKey}; }

  // Earliest first; at the same time frames arrive before packets enter, each by index.
  friend bool operator>(const Due& a, const Due& b) {
    return a.at != b.at ? a.at > b.at : a.key > b.key;
  }
};

class Merge {
 public:
  /// What runs next, up to a limit.
  struct Next {
    enum class Kind : std::uint8_t { kNothing, kScheduled, kFrameLands, kPacketEnters };
    Kind kind = Kind::kNothing;
    Due item;  // kFrameLands, kPacketEnters
  };
  /// The next item due at or before `limit`.
  Next next(const Scheduler& sched, SimTime limit) {
    refresh(sched);
    if (!due_.empty() && due_.front().at <= limit &&
        (!next_event_ || due_.front().at < *next_event_)) {
      const Due d = due_.front();
      return Next{d.is_source() ? Next::Kind::kPacketEnters : Next::Kind::kFrameLands, d};
    }
    if (next_event_ && *next_event_ <= limit) return Next{Next::Kind::kScheduled, {}};
    return Next{};
  }
  /// A scheduler event ran: its next time is read again.
  void event_ran() { next_size_ = SIZE_MAX; }

  void push(Due item) {
    due_.push_back(item);
    sift_up(due_.size() - 1, item);
  }
  /// The running item (on top) is done: its stream's next item, due at `next`, takes its
  /// place, or with nullopt the stream leaves the merge.
  void reschedule_top(std::uint32_t key, std::optional<SimTime> next);
  /// Whether `item`, on top of the merge, would run next: no scheduler event at its time or
  /// before, no other stream earlier in the merge's order, and not past `limit`.
  bool runs_next(const Due& item, SimTime limit, const Scheduler& sched);
  /// When the next thing of any kind is due (nullopt: nothing is).
  std::optional<SimTime> next_activity(const Scheduler& sched) const;

  /// Whether a frame counted when sent has yet to land at `now` or later (a scheduler event at
  /// the same time runs first, as it would before the frame's arrival).
  bool landing_pending(SimTime now) const { return landed.at >= now; }
  /// Whether something due comes before the last frame counted when sent would have landed: the
  /// run goes on to it even when nothing is busy, as it would if that frame were on the wire.
  bool landing_ahead(const Scheduler& sched) {
    refresh(sched);
    return (next_event_ && *next_event_ <= landed.at) || (!due_.empty() && landed > due_.front());
  }
  /// Counts a frame landing, as sent, at `at` from `host`'s link.
  void landed_as_sent(HostId host, SimTime at) {
    ++stream_events;
    if (const Due landing = Due::frames(host, at); landing > landed) landed = landing;
    last_landing = std::max(last_landing, at);
  }

  std::uint64_t stream_events = 0;  // items run from the streams (events in the report)
  SimTime last_landing = 0;         // the last packet landing (a run until idle ends there)
  // Landing as sent: frames landing before `at_send_until` may, if at most `at_send_bytes`
  // long; the last landing counted so, in the merge's order (at -1: none).
  SimTime at_send_until = -1;
  std::size_t at_send_bytes = 0;
  Due landed{-1, 0};

 private:
  /// Reads the scheduler's next time if it may have changed: it changes only when an event
  /// runs (event_ran()) or is scheduled (its size grows: the twin cancels nothing).
  void refresh(const Scheduler& sched) {
    if (sched.size() != next_size_) {
      next_event_ = sched.next_time();
      next_size_ = sched.size();
    }
  }

  // A 4-ary heap: a node's children are adjacent (64 bytes), so a sift-down visits half as
  // many levels as a binary heap's. What it bought: at 100,000 hosts the merge holds ~1M
  // streams and the binary heap's sift-down, waiting for memory at every level, was 5.5% of
  // the run (perf, 2026-12-07; bench/README.md "100,000 hosts").
  static constexpr std::size_t kArity = 4;
  void sift_up(std::size_t i, Due item) {
    while (i > 0) {
      const std::size_t parent = (i - 1) / kArity;
      if (!(due_[parent] > item)) break;
      due_[i] = due_[parent];
      i = parent;
    }
    due_[i] = item;
  }
  /// Puts `item` in the hole at `i` or below, moving earlier children up.
  void sift_down(std::size_t i, Due item) {
    Due* const heap = due_.data();
    const std::size_t n = due_.size();
    for (std::size_t first = kArity * i + 1; first < n; first = kArity * i + 1) {
      const std::size_t end = std::min(first + kArity, n);
      std::size_t least = first;
      for (std::size_t c = first + 1; c < end; ++c) {
        if (heap[least] > heap[c]) least = c;
      }
      if (!(item > heap[least])) break;
      heap[i] = heap[least];
      i = least;
    }
    heap[i] = item;
  }

  std::vector<Due> due_;  // a min-heap of the streams' fronts
  std::optional<SimTime> next_event_;
  std::size_t next_size_ = SIZE_MAX;
};

inline void Merge::reschedule_top(std::uint32_t key, std::optional<SimTime> next) {
  HIVESIM_CHECK(!due_.empty() && due_.front().key == key, "a stream item ran off the top");
  if (!next) {
    const Due last = due_.back();
    due_.pop_back();
    if (!due_.empty()) sift_down(0, last);
    return;
  }
  // Later than (or as early as) before: sift it down.
  sift_down(0, Due{*next, key});
}

inline bool Merge::runs_next(const Due& item, SimTime limit, const Scheduler& sched) {
  if (item.at > limit) return false;
  refresh(sched);
  if (next_event_ && *next_event_ <= item.at) return false;
  // The other streams: the top's children hold the earliest of them.
  for (std::size_t child = 1; child <= kArity && child < due_.size(); ++child) {
    if (item > due_[child]) return false;
  }
  return true;
}

inline std::optional<SimTime> Merge::next_activity(const Scheduler& sched) const {
  std::optional<SimTime> next = sched.next_time();
  if (!due_.empty() && (!next || due_.front().at < *next)) next = due_.front().at;
  return next;
}

}  // namespace hivesim
