#include "sim/engine/scheduler.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <memory>
#include <new>

namespace hivesim {

namespace {

template <std::size_t N>
int lowest_digit(const std::array<std::uint64_t, N>& occupied) {
  for (std::size_t w = 0; w < N; ++w) {
    if (occupied[w] != 0) return static_cast<int>(w * 64) + __builtin_ctzll(occupied[w]);
  }
  return -1;
}

template <std::size_t N>
bool has_digit(const std::array<std::uint64_t, N>& occupied, int digit) {
  return (occupied[static_cast<std::size_t>(digit) / 64] >> (digit % 64) & 1u) != 0;
}

// Entries a bucket buffer may keep when it empties (or as many as are pending, if more); a
// larger one is freed, so that idle capacity stays proportional to what is pending.
constexpr std::size_t kKeepEntries = std::size_t{1} << 15;
// Runs this short are sorted by insertion, not by counting.
constexpr std::size_t kSmallRun = 32;
constexpr std::size_t kHugePage = std::size_t{1} << 21;

}  // namespace

void* Scheduler::allocate_pages(std::size_t bytes) {
  if (bytes < kHugePage) return ::operator new(bytes);
  void* p = ::operator new (bytes, std::align_val_t{kHugePage});
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Only a hint: if the kernel declines, accesses are merely slower.
  ::madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

void Scheduler::free_pages(void* p, std::size_t bytes) noexcept {
  if (bytes < kHugePage) {
    ::operator delete(p);
  } else {
    ::operator delete (p, std::align_val_t{kHugePage});
  }
}

Scheduler::~Scheduler() {
  for (std::uint32_t slot = 0; slot < generations_.size(); ++slot) {
    if ((generations_[slot] & 1u) != 0) std::destroy_at(callback_at(slot));
  }
}

std::uint32_t Scheduler::new_slot() {
  HIVESIM_CHECK(generations_.size() < UINT32_MAX, "scheduler: too many pending events");
  const auto slot = static_cast<std::uint32_t>(generations_.size());
  if ((slot & kChunkMask) == 0) {
    chunks_.emplace_back(
        static_cast<CallbackStorage*>(allocate_pages(sizeof(CallbackStorage) << kChunkBits)));
  }
  generations_.push_back(0);
  return slot;
}

void Scheduler::adopt_spare(int level, Bucket& bucket) {
  std::vector<Bucket>& spares = spare_[level];
  if (bucket.capacity() == 0 && !spares.empty()) {
    bucket = std::move(spares.back());
    spares.pop_back();
  }
}

void Scheduler::release(int level, unsigned digit) {
  Level& lv = levels_[level];
  Bucket& bucket = lv.buckets[digit];
  bucket.clear();
  if (bucket.capacity() > std::max(kKeepEntries, live_)) {
    Bucket().swap(bucket);
  } else if (bucket.capacity() != 0) {
    spare_[level].push_back(std::move(bucket));
    bucket = Bucket();
  }
  lv.occupied[digit / 64] &= ~(std::uint64_t{1} << (digit % 64));
  for (std::uint64_t word : lv.occupied) {
    if (word != 0) return;
  }
  level_mask_ &= ~(1u << level);
}

bool Scheduler::cancel(Handle h) {
  if (!pending(h)) return false;
  // Destroyed on return, once the scheduler is consistent again: the callback's destructor may
  // itself call back into the scheduler.
  Callback* stored = callback_at(h.slot);
  Callback doomed = std::move(*stored);
  std::destroy_at(stored);
  ++generations_[h.slot];
  free_slots_.push_back(h.slot);
  --live_;
  ++dead_;
  if (dead_ >= kMinSweep && dead_ > live_) sweep_dead();
  return true;
}

void Scheduler::sort_into_run(const Bucket& bucket) {
  const std::size_t n = bucket.size();
  if (run_.size() < n) run_.resize(n);
  if (n <= kSmallRun) {
    // Stable insertion sort: an entry passes only strictly later times.
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t j = i;
      while (j > 0 && run_[j - 1].time > bucket[i].time) {
        run_[j] = run_[j - 1];
        --j;
      }
      run_[j] = bucket[i];
    }
  } else {
    // Counting sort on the low byte (the only one that differs), stable by construction. The
    // prefix sum visits only the bytes present (a bitmap), and leaves counts_ zeroed again.
    std::array<std::uint64_t, kWords> present{};
    for (const Entry& e : bucket) {
      const auto b = static_cast<unsigned>(e.time & kDigitMask);
      ++counts_[b];
      present[b / 64] |= std::uint64_t{1} << (b % 64);
    }
    std::uint32_t sum = 0;
    for (int w = 0; w < kWords; ++w) {
      for (std::uint64_t bits = present[w]; bits != 0; bits &= bits - 1) {
        std::uint32_t& c = counts_[w * 64 + __builtin_ctzll(bits)];
        const std::uint32_t count = c;
        c = sum;
        sum += count;
      }
    }
    for (const Entry& e : bucket) {
      run_[counts_[e.time & kDigitMask]++] = e;
    }
    for (int w = 0; w < kWords; ++w) {
      for (std::uint64_t bits = present[w]; bits != 0; bits &= bits - 1) {
        counts_[w * 64 + __builtin_ctzll(bits)] = 0;
      }
    }
  }
  run_head_ = 0;
  run_end_ = n;
}

bool Scheduler::cascade(std::uint64_t limit) {
  const std::uint32_t upper = level_mask_ & ~1u;
  if (upper == 0) return false;
  const int level = __builtin_ctz(upper);
  const auto digit = static_cast<unsigned>(lowest_digit(levels_[level].occupied));
  const int shift = level * kDigitBits;
  const std::uint64_t high = level + 1 == kLevels ? 0 : ~std::uint64_t{0} << (shift + kDigitBits);
  const std::uint64_t start = (base_ & high) | (std::uint64_t{digit} << shift);
  // Nothing in that bucket is due by `limit`: leave it filed, so that base_ stays <= now().
  if (start > limit) return false;
  base_ = start;
  const Bucket& bucket = levels_[level].buckets[digit];
  if (level == 1) {
    sort_into_run(bucket);
  } else {
    // Every entry files strictly below `level` (never into `bucket`), in its order: equal
    // times stay FIFO.
    for (const Entry& e : bucket) {
      file(e);
    }
  }
  release(level, digit);
  return true;
}

bool Scheduler::next_entry(std::uint64_t limit, Entry& out) {
  for (;;) {
    const bool have_run = run_head_ < run_end_;
    if ((level_mask_ & 1u) != 0) {
      const auto digit = static_cast<unsigned>(lowest_digit(levels_[0].occupied));
      const std::uint64_t late_time = (base_ & ~kDigitMask) | digit;
      // At equal times the run goes first: its events were scheduled before the window opened.
      if (!have_run || late_time < run_[run_head_].time) {
        if (late_time > limit) return false;
        Bucket& bucket = levels_[0].buckets[digit];
        out = bucket[late_head_++];
        if (late_head_ == bucket.size()) {
          late_head_ = 0;
          release(0, digit);
        }
        return true;
      }
    }
    if (have_run) {
      out = run_[run_head_];
      if (out.time > limit) return false;
      ++run_head_;
      prefetch_ahead();
      return true;
    }
    run_head_ = run_end_ = 0;
    if (!cascade(limit)) return false;
  }
}

bool Scheduler::run_next(std::uint64_t limit) {
  HIVESIM_CHECK(!running_, "step/run/run_until called from inside an event callback");
  for (;;) {
    Entry e;
    if (run_head_ < run_end_ && (level_mask_ & 1u) == 0 && run_[run_head_].time <= limit)
        [[likely]] {
      // The common case, kept inline: the next entry is the run's (no late entries).
      e = run_[run_head_++];
      prefetch_ahead();
    } else if (live_ == 0) {
      if (dead_ > 0) drop_dead();
      base_ = static_cast<std::uint64_t>(now_);
      return false;
    } else if (!next_entry(limit, e)) {
      HIVESIM_CHECK(limit != kMaxKey, "scheduler: live events counted but none filed");
      return false;
    }
    if (!live(e)) {
      --dead_;
      continue;
    }
    now_ = static_cast<SimTime>(e.time);
    --live_;
    ++events_run_;
    // Pending no more (a cancel from inside returns false), but the slot stays taken until the
    // callback, which runs in place, returns.
    ++generations_[e.slot];
    Callback* cb = callback_at(e.slot);
    running_ = true;
    (*cb)();
    running_ = false;
    std::destroy_at(cb);
    free_slots_.push_back(e.slot);
    return true;
  }
}

void Scheduler::run_until(SimTime t) {
  HIVESIM_CHECK(!running_, "run_until called from inside an event callback");
  if (t < now_) return;
  while (run_next(static_cast<std::uint64_t>(t))) {
  }
  now_ = t;
}

void Scheduler::drop_dead() {
  for (int level = 0; level < kLevels; ++level) {
    while ((level_mask_ & (1u << level)) != 0) {
      release(level, static_cast<unsigned>(lowest_digit(levels_[level].occupied)));
    }
  }
  late_head_ = 0;
  run_head_ = run_end_ = 0;
  dead_ = 0;
}

void Scheduler::sweep_dead() {
  const auto dead = [this](const Entry& e) { return !live(e); };
  std::size_t kept = 0;
  for (std::size_t i = run_head_; i < run_end_; ++i) {
    if (!dead(run_[i])) run_[kept++] = run_[i];
  }
  run_head_ = 0;
  run_end_ = kept;
  for (int level = 0; level < kLevels; ++level) {
    if ((level_mask_ & (1u << level)) == 0) continue;
    const int first = lowest_digit(levels_[level].occupied);
    for (int digit = first; digit < kBuckets; ++digit) {
      if (!has_digit(levels_[level].occupied, digit)) continue;
      Bucket& bucket = levels_[level].buckets[digit];
      if (level == 0 && digit == first && late_head_ > 0) {
        bucket.erase(bucket.begin(), bucket.begin() + static_cast<std::ptrdiff_t>(late_head_));
        late_head_ = 0;
      }
      // std::erase_if keeps the order of what stays: equal times remain FIFO.
      std::erase_if(bucket, dead);
      if (bucket.empty()) release(level, static_cast<unsigned>(digit));
    }
  }
  dead_ = 0;
}

std::optional<SimTime> Scheduler::next_time() const {
  if (live_ == 0) return std::nullopt;
  std::optional<std::uint64_t> best;
  for (std::size_t i = run_head_; i < run_end_; ++i) {
    if (live(run_[i])) {
      best = run_[i].time;
      break;
    }
  }
  // Late buckets: one time each, ascending.
  if ((level_mask_ & 1u) != 0) {
    const Level& late = levels_[0];
    const int first = lowest_digit(late.occupied);
    for (int digit = first; digit < kBuckets; ++digit) {
      if (!has_digit(late.occupied, digit)) continue;
      const std::uint64_t time = (base_ & ~kDigitMask) | static_cast<std::uint64_t>(digit);
      if (best && *best <= time) break;
      const Bucket& bucket = late.buckets[digit];
      const auto begin =
          bucket.begin() + (digit == first ? static_cast<std::ptrdiff_t>(late_head_) : 0);
      if (std::any_of(begin, bucket.end(), [this](const Entry& e) { return live(e); })) {
        best = time;
        break;
      }
    }
  }
  if (best) return static_cast<SimTime>(*best);
  // Higher levels: every time there is later than level 0's; the first bucket holding a live
  // entry holds the answer, unsorted.
  for (int level = 1; level < kLevels; ++level) {
    if ((level_mask_ & (1u << level)) == 0) continue;
    const Level& lv = levels_[level];
    for (int digit = lowest_digit(lv.occupied); digit < kBuckets; ++digit) {
      if (!has_digit(lv.occupied, digit)) continue;
      for (const Entry& e : lv.buckets[digit]) {
        if (live(e) && (!best || e.time < *best)) best = e.time;
      }
      if (best) return static_cast<SimTime>(*best);
    }
  }
  HIVESIM_CHECK(false, "next_time: live events counted but none filed");
  return std::nullopt;
}

}  // namespace hivesim
