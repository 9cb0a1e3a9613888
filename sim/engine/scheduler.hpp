#pragma once
// Scheduler: the discrete-event queue every simulated component posts its future work to.
//
// What it is. A single-threaded priority queue of callbacks keyed by simulated time (SimTime,
// 64-bit integer nanoseconds). step() pops the earliest event, sets now() to its time and runs
// it. There is no global instance: whoever drives a simulation owns a Scheduler.
//
// Order. Events run in (time, insertion sequence) order: events for the same nanosecond run in
// the order they were scheduled, so a run is a pure function of its inputs (as in ns-3 and
// SimGrid). No sequence number is stored: every structure below is stable by construction.
//
// Structure: a radix queue (a hierarchical timing wheel with exact times) over the 64-bit time.
//   - base_ is a lower bound of every queued time. A time t is filed at level L = the index of
//     the highest byte in which t and base_ differ, in bucket (byte L of t): level 1 buckets are
//     256 ns wide, level 2 buckets 64 us, ..., level 7 the top byte. Buckets are vectors appended
//     at the back, so equal times keep insertion order; bitmaps find the next non-empty bucket.
//   - Level 0, the current 256 ns window, is a sorted run plus "late" buckets. When the window is
//     used up, the first non-empty bucket is cascaded: base_ moves to its start; a level-1 bucket
//     is counting-sorted (stable) on its low byte into the run; a higher one is re-filed at lower
//     levels. Events scheduled into the current window after its run was built go to 256
//     one-nanosecond late buckets; at equal times the run goes first (it was scheduled first).
//     An entry moves at most once per level it descends: an event due within 65 us is filed at
//     level 2 or below and moved at most twice (re-filed, then sorted) before it runs.
//   - Entries are 16 bytes {time, slot, generation}. Callbacks live out of line in a slot array
//     (chunks that never move, so a callback runs in place) with a LIFO free list: the slot an
//     event ran from is the next one reused, so a self-rescheduling event stays in cache. The
//     slots of the run's next events are prefetched while the current one runs, and the slot
//     arrays sit in 2 MiB huge pages (madvise on Linux): with a million events pending, those
//     accesses are random, and with 4 KiB pages nearly every one missed the TLB.
//   - Cancellation destroys the callback, frees the slot and bumps its generation at once; the
//     stale entry is skipped when it reaches the front (ns-3 style). When dead entries outnumber
//     live ones (and there are more than a few thousand), all buckets are swept.
//
// Invariants (the tests check behaviour against a naive multimap model):
//   - base_ <= now() between calls and base_ <= every queued time; an entry at level L shares the
//     bytes above L with base_; all entries of one time sit in one bucket, in insertion order.
//   - A slot's generation is odd while its event is pending and even otherwise; a Handle names
//     (slot, odd generation), so a handle never matches a later event reusing the slot (until the
//     32-bit generation wraps: 2^31 reuses of one slot while the handle is held).
//   - size() counts live events only; events_run() counts callbacks invoked; cancelled events
//     never count and never move now().
//
// Cost (n = live events, d = dead entries not yet skipped; amortized):
//   | operation          | cost                                                               |
//   |--------------------|--------------------------------------------------------------------|
//   | schedule_at/in     | O(1): one append; the callback is moved into its slot              |
//   | step               | O(1): an entry moves at most once per level; + dead entries met    |
//   |                    | (the call that opens a window pays for the entries it moves)       |
//   | cancel             | O(1); a sweep is O(n + d), paid for by the d cancels before it     |
//   | pending, size, now | O(1)                                                               |
//   | next_time          | O(1) typical; O(one bucket) when the 256 ns window is empty        |
//   | run_until(t)       | the steps of the events up to t                                    |
//   | memory             | 16 B per entry; 36 B per slot, slots come 64 Ki (2 MiB) at a time; |
//   |                    | emptied bucket buffers are pooled per level, oversized ones freed  |
// For comparison, ns-3: MapScheduler and HeapScheduler O(log n) (Map allocates per event),
// CalendarScheduler O(1) average with O(n) resizes, ListScheduler O(n) insert.
//
// Callbacks may schedule and cancel events, including their own handle (no longer pending while
// they run, so cancel returns false). They must not call step(), run() or run_until() (checked).

#include <absl/functional/any_invocable.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "base/check.hpp"
#include "base/units.hpp"

namespace hivesim {

class Scheduler {
 public:
  using Callback = absl::AnyInvocable<void()>;
  /// Names one scheduled event. Default-constructed: names nothing (never pending).
  struct Handle {
    std::uint32_t slot = 0;
    std::uint32_t generation = 0;
  };

  Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  /// Destroys the callbacks of events still pending.
  ~Scheduler();

  /// Simulated time of the running (or last run) event; 0 before the first; run_until moves it.
  SimTime now() const { return now_; }

  /// Runs `cb` at time `at` (ns), after every event already scheduled for `at`.
  /// Preconditions (checked): at >= now(); cb is not empty.
  Handle schedule_at(SimTime at, Callback cb) {
    HIVESIM_CHECK(at >= now_, "schedule_at: time is in the past");
    HIVESIM_CHECK(cb != nullptr, "schedule_at: empty callback");
    const std::uint32_t slot = acquire_slot(std::move(cb));
    const std::uint32_t generation = generations_[slot];
    file(Entry{static_cast<std::uint64_t>(at), slot, generation});
    ++live_;
    return Handle{slot, generation};
  }
  /// Runs `cb` `delay` ns after now(). Precondition (checked): 0 <= delay, now() + delay fits.
  Handle schedule_in(SimTime delay, Callback cb) {
    HIVESIM_CHECK(delay >= 0 && delay <= kMaxTime - now_, "schedule_in: bad delay");
    return schedule_at(now_ + delay, std::move(cb));
  }

  /// Cancels a pending event and destroys its callback. True if it was pending; false if it has
  /// run, is running, was cancelled already, or `h` names nothing.
  bool cancel(Handle h);
  /// True while the event `h` names is scheduled and has neither run nor been cancelled.
  bool pending(Handle h) const {
    return (h.generation & 1u) != 0 && h.slot < generations_.size() &&
           generations_[h.slot] == h.generation;
  }

  /// Runs the next live event, advancing now() to its time. False, doing nothing, when none.
  bool step() { return run_next(kMaxKey); }
  /// Runs every event with time <= t, including ones those events schedule; then
  /// now() = max(now(), t).
  void run_until(SimTime t);
  /// Moves now() to `t` without running anything: for a caller that merges time-ordered work of
  /// its own with this queue and has seen (next_time()) that no event is due before `t`.
  /// Preconditions (checked): t >= now(); not called from inside a callback.
  void advance_to(SimTime t) {
    HIVESIM_CHECK(t >= now_ && !running_, "advance_to: time is in the past, or inside a callback");
    now_ = t;
  }
  /// Runs events until none is left.
  void run() {
    while (run_next(kMaxKey)) {
    }
  }

  /// Callbacks invoked so far (cancelled events never count).
  std::uint64_t events_run() const { return events_run_; }
  /// Live pending events.
  std::size_t size() const { return live_; }
  /// Time of the next live event, if any.
  std::optional<SimTime> next_time() const;

 private:
  struct Entry {
    std::uint64_t time;
    std::uint32_t slot;
    std::uint32_t generation;
  };
  static_assert(sizeof(Entry) == 16);
  using Bucket = std::vector<Entry>;

  static constexpr int kDigitBits = 8;
  static constexpr int kBuckets = 1 << kDigitBits;
  static constexpr std::uint64_t kDigitMask = kBuckets - 1;
  static constexpr int kLevels = 64 / kDigitBits;
  static constexpr int kWords = kBuckets / 64;
  static constexpr SimTime kMaxTime = INT64_MAX;
  static constexpr std::uint64_t kMaxKey = UINT64_MAX;
  // 2^16 callbacks of 32 bytes: one 2 MiB huge page per chunk.
  static constexpr int kChunkBits = 16;
  static constexpr std::uint32_t kChunkMask = (1u << kChunkBits) - 1;
  // How many events ahead of the running one the run prefetches slots for (measured with a
  // million pending: 2 gives most of the gain, 4 all of it).
  static constexpr std::size_t kPrefetchAhead = 4;
  // Below this many dead entries a sweep is never worth its fixed cost over all buckets.
  static constexpr std::size_t kMinSweep = 4096;

  /// One wheel level. Level 0's buckets are the late buckets of the current window.
  struct Level {
    std::array<std::uint64_t, kWords> occupied{};
    std::array<Bucket, kBuckets> buckets;
  };
  struct alignas(Callback) CallbackStorage {
    std::byte bytes[sizeof(Callback)];
  };

  // Memory for the arrays indexed by slot, which are read in random order: blocks of 2 MiB and
  // up are 2 MiB-aligned and asked to be huge pages, so that a million pending events do not
  // cost a TLB miss (a page walk, nested under a hypervisor) per access.
  static void* allocate_pages(std::size_t bytes);
  static void free_pages(void* p, std::size_t bytes) noexcept;
  template <class T>
  struct PageAllocator {
    using value_type = T;
    PageAllocator() = default;
    template <class U>
    PageAllocator(const PageAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(allocate_pages(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { free_pages(p, n * sizeof(T)); }
    friend bool operator==(const PageAllocator&, const PageAllocator&) { return true; }
  };
  struct ChunkDeleter {
    void operator()(CallbackStorage* p) const noexcept {
      free_pages(p, sizeof(CallbackStorage) << kChunkBits);
    }
  };

  static int level_of(std::uint64_t time, std::uint64_t base) {
    const std::uint64_t diff = time ^ base;
    return diff == 0 ? 0 : (63 - __builtin_clzll(diff)) / kDigitBits;
  }

  Callback* callback_at(std::uint32_t slot) const {
    return std::launder(
        reinterpret_cast<Callback*>(chunks_[slot >> kChunkBits][slot & kChunkMask].bytes));
  }

  std::uint32_t acquire_slot(Callback&& cb) {
    std::uint32_t slot;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      slot = new_slot();
    }
    ::new (static_cast<void*>(callback_at(slot))) Callback(std::move(cb));
    ++generations_[slot];  // even (free) -> odd (pending)
    return slot;
  }

  void file(const Entry& e) {
    const int level = level_of(e.time, base_);
    const auto digit = static_cast<unsigned>(e.time >> (level * kDigitBits) & kDigitMask);
    Level& lv = levels_[level];
    Bucket& bucket = lv.buckets[digit];
    if (bucket.empty()) [[unlikely]] {
      adopt_spare(level, bucket);
      lv.occupied[digit / 64] |= std::uint64_t{1} << (digit % 64);
      level_mask_ |= 1u << level;
    }
    bucket.push_back(e);
  }

  std::uint32_t new_slot();
  void adopt_spare(int level, Bucket& bucket);
  void release(int level, unsigned digit);
  bool run_next(std::uint64_t limit);
  bool next_entry(std::uint64_t limit, Entry& out);
  bool cascade(std::uint64_t limit);
  void sort_into_run(const Bucket& bucket);
  // The slots of the run's next events are random accesses into large arrays when many events
  // are pending; start them now so they overlap the callbacks in between. (Always inlined: GCC
  // deems an out-of-line function made only of prefetches pure, and deletes its calls.)
  [[gnu::always_inline]] void prefetch_ahead() const {
    if (run_head_ + kPrefetchAhead < run_end_) {
      const std::uint32_t ahead = run_[run_head_ + kPrefetchAhead].slot;
      __builtin_prefetch(&generations_[ahead]);
      __builtin_prefetch(callback_at(ahead));
    }
  }
  void sweep_dead();
  void drop_dead();
  bool live(const Entry& e) const { return generations_[e.slot] == e.generation; }

  std::array<Level, kLevels> levels_;
  std::uint32_t level_mask_ = 0;  // bit L set iff level L has an occupied bucket
  std::size_t late_head_ = 0;     // entries already taken from the lowest late bucket
  std::vector<Entry> run_;        // the current window's entries, sorted; capacity reused
  std::size_t run_head_ = 0;
  std::size_t run_end_ = 0;
  // Emptied bucket buffers of each level, handed to the level's next bucket to fill: a level
  // keeps about as many buffers as it has buckets in use at once, each sized for that level.
  std::array<std::vector<Bucket>, kLevels> spare_;
  std::array<std::uint32_t, kBuckets> counts_{};  // sort_into_run's counters, zero between runs
  std::uint64_t base_ = 0;
  SimTime now_ = 0;

  std::vector<std::unique_ptr<CallbackStorage[], ChunkDeleter>> chunks_;
  std::vector<std::uint32_t, PageAllocator<std::uint32_t>> generations_;
  std::vector<std::uint32_t> free_slots_;

  std::size_t live_ = 0;
  std::size_t dead_ = 0;
  std::uint64_t events_run_ = 0;
  bool running_ = false;
};

}  // namespace hivesim
