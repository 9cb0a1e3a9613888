// The discrete-event scheduler: (time, insertion) order, cancellation and handles, callbacks that
// reschedule, run_until, and a randomized differential check against a naive multimap model.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sim/engine/scheduler.hpp"

using namespace hivesim;

namespace {

/// What ran: (now() when it ran, tag).
using Log = std::vector<std::pair<SimTime, int>>;

/// Schedules an event that appends (now(), tag) to `log`.
Scheduler::Handle log_at(Scheduler& s, SimTime at, Log& log, int tag) {
  return s.schedule_at(at, [&s, &log, tag] { log.emplace_back(s.now(), tag); });
}

}  // namespace

TEST_CASE("Scheduler: a new scheduler is empty at time 0") {
  Scheduler s;
  CHECK(s.now() == 0);
  CHECK(s.size() == 0);
  CHECK(s.events_run() == 0);
  CHECK_FALSE(s.next_time().has_value());
  CHECK_FALSE(s.step());
  CHECK_FALSE(s.pending(Scheduler::Handle{}));
  CHECK_FALSE(s.cancel(Scheduler::Handle{}));
}

TEST_CASE("Scheduler: equal times run in insertion order") {
  Scheduler s;
  Log log;
  for (int i = 0; i < 1000; ++i)
    log_at(s, 42, log, i);
  s.run();
  REQUIRE(log.size() == 1000);
  for (int i = 0; i < 1000; ++i) {
    CHECK(log[static_cast<std::size_t>(i)] == std::pair<SimTime, int>{42, i});
  }
}

TEST_CASE("Scheduler: equal times stay in insertion order through a sorted window") {
  // 2000 events over 7 distinct times of the window [768, 1024), filed before it opens: they are
  // counting-sorted into the window's run, which must keep each time's insertion order.
  Scheduler s;
  Log log;
  for (int i = 0; i < 2000; ++i)
    log_at(s, 1000 + (i * 5) % 7, log, i);
  s.run();
  Log expected;
  for (int t = 0; t < 7; ++t) {
    for (int i = 0; i < 2000; ++i) {
      if ((i * 5) % 7 == t) expected.emplace_back(1000 + t, i);
    }
  }
  CHECK(log == expected);
}

TEST_CASE("Scheduler: events run in time order across every wheel level") {
  Scheduler s;
  Log log;
  // Times chosen to land on different levels and in reverse order of insertion; the two 300s and
  // the two big ones check FIFO after cascading.
  const std::vector<SimTime> times = {
      INT64_MAX, kSecond * 3600, 1LL << 40, 1LL << 32, 70000, 300,   5, 0,
      300,       1LL << 40,      255,       256,       65535, 65536, 1, 2};
  for (std::size_t i = 0; i < times.size(); ++i)
    log_at(s, times[i], log, static_cast<int>(i));
  CHECK(s.size() == times.size());
  CHECK(s.next_time() == SimTime{0});
  s.run();
  REQUIRE(log.size() == times.size());
  const std::vector<int> expected = {7, 14, 15, 6, 10, 11, 5, 8, 12, 13, 4, 3, 2, 9, 1, 0};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(log[i].second == expected[i]);
    CHECK(log[i].first == times[static_cast<std::size_t>(expected[i])]);
  }
  CHECK(s.now() == INT64_MAX);
  CHECK(s.size() == 0);
  CHECK(s.events_run() == times.size());
}

TEST_CASE("Scheduler: events scheduled into the running window keep (time, seq) order") {
  // Events 1 and 2 are filed before the window [256, 512) opens; 3..5 are scheduled while it
  // runs, at times equal to, between and after them.
  Scheduler s;
  Log log;
  log_at(s, 300, log, 1);
  log_at(s, 310, log, 2);
  s.schedule_at(256, [&] {
    log_at(s, 310, log, 3);  // ties with 2, scheduled later: after it
    log_at(s, 305, log, 4);
    log_at(s, 256, log, 5);  // now: after everything queued for now, before 300
  });
  s.run();
  CHECK(log == Log{{256, 5}, {300, 1}, {305, 4}, {310, 2}, {310, 3}});
}

TEST_CASE("Scheduler: next_time skips cancelled events") {
  Scheduler s;
  const auto a = s.schedule_at(10, [] {});
  const auto b = s.schedule_at(10, [] {});
  s.schedule_at(70000, [] {});
  CHECK(s.next_time() == SimTime{10});
  CHECK(s.cancel(a));
  CHECK(s.next_time() == SimTime{10});
  CHECK(s.cancel(b));
  CHECK(s.next_time() == SimTime{70000});
  CHECK(s.step());
  CHECK(s.now() == 70000);
  CHECK(s.events_run() == 1);
}

TEST_CASE("Scheduler: destroying it destroys pending callbacks once") {
  auto token = std::make_shared<int>(0);
  {
    Scheduler s;
    for (int i = 0; i < 100; ++i)
      s.schedule_at(i * 1000, [token] {});
    s.run_until(50'000);
    CHECK(token.use_count() == 1 + 49);
  }
  CHECK(token.use_count() == 1);
}

TEST_CASE("Scheduler: schedule_in is relative to now") {
  Scheduler s;
  Log log;
  s.schedule_at(1000, [&] { s.schedule_in(500, [&] { log.emplace_back(s.now(), 1); }); });
  s.run();
  REQUIRE(log.size() == 1);
  CHECK(log[0].first == 1500);
}

TEST_CASE("Scheduler: cancel") {
  Scheduler s;
  Log log;
  const auto a = log_at(s, 10, log, 1);
  const auto b = log_at(s, 20, log, 2);
  const auto c = log_at(s, 30, log, 3);
  CHECK(s.pending(a));
  CHECK(s.size() == 3);

  SECTION("a pending event, then the same handle again") {
    CHECK(s.cancel(b));
    CHECK_FALSE(s.pending(b));
    CHECK(s.size() == 2);
    CHECK_FALSE(s.cancel(b));
    CHECK(s.size() == 2);
    s.run();
    CHECK(log == Log{{10, 1}, {30, 3}});
    CHECK(s.events_run() == 2);
  }
  SECTION("an event that already ran") {
    CHECK(s.step());
    CHECK_FALSE(s.pending(a));
    CHECK_FALSE(s.cancel(a));
    CHECK(s.size() == 2);
    s.run();
    CHECK(s.events_run() == 3);
  }
  SECTION("a stale handle whose slot was reused") {
    CHECK(s.cancel(a));
    // The freed slot is reused by the next event; the old handle must not reach it.
    const auto d = log_at(s, 15, log, 4);
    CHECK(d.slot == a.slot);
    CHECK(d.generation != a.generation);
    CHECK_FALSE(s.pending(a));
    CHECK_FALSE(s.cancel(a));
    CHECK(s.pending(d));
    s.run();
    CHECK(log == Log{{15, 4}, {20, 2}, {30, 3}});
  }
  SECTION("cancelled events do not move now()") {
    CHECK(s.cancel(c));
    s.run();
    CHECK(s.now() == 20);
    CHECK(s.next_time() == std::nullopt);
    log_at(s, 25, log, 5);  // between base and the cancelled 30: must still run
    CHECK(s.next_time() == SimTime{25});
    s.run();
    CHECK(log.back() == std::pair<SimTime, int>{25, 5});
  }
}

TEST_CASE("Scheduler: callbacks schedule and cancel events while running") {
  Scheduler s;
  Log log;
  Scheduler::Handle self;
  Scheduler::Handle victim;
  bool self_cancel = true;
  self = s.schedule_at(5, [&] {
    // A running event is no longer pending: cancelling itself is a no-op.
    self_cancel = s.cancel(self);
    CHECK(s.cancel(victim));
    log_at(s, 5, log, 1);  // same time as now: runs in this same instant, after queued ones
    log_at(s, 7, log, 2);
  });
  log_at(s, 5, log, 0);
  victim = log_at(s, 6, log, 99);
  s.run();
  CHECK_FALSE(self_cancel);
  CHECK(log == Log{{5, 0}, {5, 1}, {7, 2}});
  CHECK(s.events_run() == 4);
}

TEST_CASE("Scheduler: a self-rescheduling chain") {
  Scheduler s;
  int count = 0;
  struct Tick {
    Scheduler* s;
    int* count;
    void operator()() const {
      if (++*count < 100) s->schedule_in(7, Tick{s, count});
    }
  };
  s.schedule_at(0, Tick{&s, &count});
  s.run();
  CHECK(count == 100);
  CHECK(s.now() == 99 * 7);
  CHECK(s.events_run() == 100);
}

TEST_CASE("Scheduler: run_until") {
  Scheduler s;
  Log log;
  log_at(s, 100, log, 1);
  log_at(s, 200, log, 2);
  log_at(s, 201, log, 3);
  log_at(s, 100000, log, 4);

  s.run_until(200);
  CHECK(log == Log{{100, 1}, {200, 2}});  // an event exactly at t runs
  CHECK(s.now() == 200);
  CHECK(s.size() == 2);

  s.run_until(1000);
  CHECK(s.now() == 1000);  // now advances to t even with no event there
  CHECK(log.size() == 3);
  CHECK(s.next_time() == SimTime{100000});

  // Scheduling between now and the next event (which sits in a higher wheel bucket) still works.
  log_at(s, 1001, log, 5);
  s.run_until(50000);
  CHECK(log.back() == std::pair<SimTime, int>{1001, 5});
  CHECK(s.now() == 50000);

  s.run_until(10);  // the past: nothing runs, now stays
  CHECK(s.now() == 50000);

  // Events that events schedule within the horizon run too.
  s.schedule_at(60000, [&] { log_at(s, 60000, log, 6); });
  s.run_until(60000);
  CHECK(log.back() == std::pair<SimTime, int>{60000, 6});
  CHECK(s.events_run() == 6);
  s.run();
  CHECK(s.now() == 100000);
  CHECK(s.events_run() == 7);
}

TEST_CASE("Scheduler: advance_to moves the clock between events, and order holds after it") {
  Scheduler s;
  Log log;
  log_at(s, 100, log, 1);
  log_at(s, 70'000, log, 2);  // a higher wheel level than the window around 100
  s.step();
  // A caller merging its own work moves the clock to a time before the next event...
  s.advance_to(5'000);
  CHECK(s.now() == 5'000);
  CHECK(s.events_run() == 1);
  // ...then schedules from there, into the window it jumped to and beyond the pending event.
  log_at(s, 5'000, log, 3);
  log_at(s, 5'001, log, 4);
  log_at(s, 80'000, log, 5);
  s.advance_to(5'000);  // the same time again is allowed
  s.run();
  CHECK(log == Log{{100, 1}, {5'000, 3}, {5'001, 4}, {70'000, 2}, {80'000, 5}});
}

TEST_CASE("Scheduler: slots are reused") {
  Scheduler s;
  std::uint32_t max_slot = 0;
  for (int round = 0; round < 1000; ++round) {
    for (int i = 0; i < 10; ++i) {
      const auto h = s.schedule_in(i, [] {});
      max_slot = std::max(max_slot, h.slot);
    }
    s.run();
  }
  CHECK(max_slot < 10);
  std::vector<Scheduler::Handle> handles;
  for (int i = 0; i < 10000; ++i)
    handles.push_back(s.schedule_in(1000 + i, [] {}));
  for (const auto& h : handles)
    CHECK(s.cancel(h));
  CHECK(s.size() == 0);
  for (int i = 0; i < 10; ++i)
    max_slot = std::max(max_slot, s.schedule_in(1, [] {}).slot);
  CHECK(max_slot < 10000);
  s.run();
  CHECK(s.events_run() == 10010);
}

TEST_CASE("Scheduler: callbacks with large captures and owned state") {
  Scheduler s;
  std::string big(1000, 'x');
  std::size_t seen = 0;
  auto owned = std::make_unique<int>(7);
  s.schedule_at(3, [&seen, big] { seen = big.size(); });
  const auto h = s.schedule_at(4, [p = std::move(owned), &seen] { seen += *p; });
  s.run_until(3);
  CHECK(seen == 1000);
  CHECK(s.cancel(h));  // destroys the unique_ptr (ASan checks it is freed once)
  s.run();
  CHECK(seen == 1000);
}

TEST_CASE("Scheduler: mass cancellation sweeps dead entries and keeps order") {
  // 9000 events at one time (one bucket) and 9000 spread out; the first event cancels two thirds
  // of the rest while its bucket is partly drained, which triggers a sweep mid-bucket.
  Scheduler s;
  Log log;
  std::vector<Scheduler::Handle> handles;
  std::vector<bool> cancelled(18001, false);
  handles.push_back(s.schedule_at(5, [&] {
    log.emplace_back(s.now(), 0);
    for (std::size_t i = 1; i < handles.size(); ++i) {
      if (i % 3 != 0) {
        CHECK(s.cancel(handles[i]));
        cancelled[i] = true;
      }
    }
  }));
  for (int i = 1; i <= 9000; ++i)
    handles.push_back(log_at(s, 5, log, i));
  for (int i = 9001; i <= 18000; ++i)
    handles.push_back(log_at(s, 5 + (i * 7919) % 70000, log, i));
  s.run();
  Log expected{{5, 0}};
  for (int i = 1; i <= 9000; ++i) {
    if (!cancelled[static_cast<std::size_t>(i)]) expected.emplace_back(5, i);
  }
  Log spread;
  for (int i = 9001; i <= 18000; ++i) {
    if (!cancelled[static_cast<std::size_t>(i)]) spread.emplace_back(5 + (i * 7919) % 70000, i);
  }
  std::stable_sort(spread.begin(), spread.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  expected.insert(expected.end(), spread.begin(), spread.end());
  CHECK(log == expected);
  CHECK(s.events_run() == expected.size());
}

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A delay drawn from several scales, to reach every wheel level and many equal times.
SimTime delay_from(std::uint64_t r) {
  const std::uint64_t v = r >> 8;
  switch (r % 6) {
    case 0:
      return 0;
    case 1:
      return static_cast<SimTime>(v % 4);
    case 2:
      return static_cast<SimTime>(v % 300);
    case 3:
      return static_cast<SimTime>(v % 100000);
    case 4:
      return static_cast<SimTime>(v % (1ULL << 34));
    default:
      return static_cast<SimTime>(v % 3);
  }
}

/// Whether event `tag` schedules a child when it runs, and after how long: a pure function of the
/// tag, so the model and the scheduler agree without sharing state.
std::optional<SimTime> child_of(int tag) {
  const std::uint64_t r = splitmix64(static_cast<std::uint64_t>(tag));
  if (r % 4 != 0) return std::nullopt;
  return delay_from(r >> 2);
}

/// The reference: a multimap keyed by (time, insertion sequence), popped from the front.
struct Model {
  std::map<std::pair<SimTime, std::uint64_t>, int> queue;
  std::map<int, std::pair<SimTime, std::uint64_t>> key_of;
  std::uint64_t seq = 0;
  int next_tag = 0;
  SimTime now = 0;
  std::vector<int> ran;

  int schedule(SimTime at) {
    const int tag = next_tag++;
    const auto key = std::make_pair(at, seq++);
    queue.emplace(key, tag);
    key_of.emplace(tag, key);
    return tag;
  }
  bool cancel(int tag) {
    const auto it = key_of.find(tag);
    return it != key_of.end() && queue.erase(it->second) == 1;
  }
  void step() {
    const auto it = queue.begin();
    const int tag = it->second;
    now = it->first.first;
    queue.erase(it);
    ran.push_back(tag);
    if (const auto child = child_of(tag)) schedule(now + *child);
  }
};

/// The system under test, driven with the same tags.
struct Real {
  Scheduler s;
  std::map<int, Scheduler::Handle> handle_of;
  int next_tag = 0;
  std::vector<int> ran;

  int schedule(SimTime at) {
    const int tag = next_tag++;
    handle_of.emplace(tag, s.schedule_at(at, [this, tag] {
      ran.push_back(tag);
      if (const auto child = child_of(tag)) schedule(s.now() + *child);
    }));
    return tag;
  }
};

}  // namespace

TEST_CASE("Scheduler: matches a naive (time, seq) multimap on random operations") {
  std::mt19937_64 rng(20240531);
  Model model;
  Real real;
  Scheduler& s = real.s;
  std::uint64_t cancels = 0;
  std::uint64_t successful_cancels = 0;

  for (int op = 0; op < 100000; ++op) {
    const auto kind = rng() % 20;
    if (kind < 9 || (kind == 9 && rng() % 8 != 0)) {
      const SimTime at = s.now() + delay_from(rng());
      REQUIRE(real.schedule(at) == model.schedule(at));
    } else if (kind == 9) {
      // A burst: many events at a few equal times, so the sorted windows hold ties.
      const SimTime at = s.now() + delay_from(rng());
      const auto count = rng() % 100;
      for (std::uint64_t i = 0; i < count; ++i) {
        const SimTime t = at + static_cast<SimTime>(rng() % 3);
        REQUIRE(real.schedule(t) == model.schedule(t));
      }
    } else if (kind < 13 && model.next_tag > 0) {
      // Mostly recent events (likely pending), sometimes any event ever scheduled.
      const int n = model.next_tag;
      const int tag = rng() % 2 == 0 ? n - 1 - static_cast<int>(rng() % std::min(n, 64))
                                     : static_cast<int>(rng() % static_cast<std::uint64_t>(n));
      const Scheduler::Handle h = real.handle_of.at(tag);
      const bool was_pending = model.cancel(tag);
      REQUIRE(s.pending(h) == was_pending);
      REQUIRE(s.cancel(h) == was_pending);
      REQUIRE_FALSE(s.pending(h));
      REQUIRE_FALSE(s.cancel(h));
      ++cancels;
      successful_cancels += was_pending ? 1 : 0;
    } else if (kind < 19) {
      const bool had = !model.queue.empty();
      if (had) {
        REQUIRE(s.next_time() == model.queue.begin()->first.first);
        model.step();
      }
      REQUIRE(s.step() == had);
      if (had) REQUIRE(s.now() == model.now);
      REQUIRE(real.ran.size() == model.ran.size());
      if (had) REQUIRE(real.ran.back() == model.ran.back());
    } else {
      // Mostly short horizons, so the queue keeps growing; sometimes far (2^34 ns) ones.
      const SimTime horizon = rng() % 128 == 0 ? (1LL << 34) : 200000;
      const SimTime t = s.now() + delay_from(rng()) % horizon;
      while (!model.queue.empty() && model.queue.begin()->first.first <= t)
        model.step();
      s.run_until(t);
      REQUIRE(s.now() == t);
      REQUIRE(real.ran == model.ran);
    }
    REQUIRE(s.size() == model.queue.size());
    REQUIRE(s.events_run() == model.ran.size());
  }
  // The mix must have exercised what it claims to.
  CHECK(successful_cancels > 2000);
  CHECK(cancels - successful_cancels > 2000);
  CHECK(model.ran.size() > 30000);

  while (!model.queue.empty())
    model.step();
  s.run();
  CHECK(real.ran == model.ran);
  CHECK(s.events_run() == model.ran.size());
  CHECK(s.size() == 0);
}
