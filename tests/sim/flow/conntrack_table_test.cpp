// The conntrack and NAT tables on their own: what expire() drops and keeps. expire() skips its
// scan while no entry can be idle (a lower bound on the entries' times); these cases pin the
// answers that shortcut must not change.

#include <catch2/catch.hpp>

#include "sim/flow/conntrack.hpp"

using namespace hivesim;

namespace {

ConnKey key(std::uint16_t sport) {
  return ConnKey{Ipv4{0x0a000001}, Ipv4{0x0a000002}, sport, 80, 6, 7};
}

}  // namespace

TEST_CASE("ConnTrack: expire drops what idled past the limit, keeps what was refreshed") {
  ConnTrack ct;
  ct.record(key(1), 0);
  ct.record(key(2), 0);
  ct.expire(30 * kSecond);  // nothing idle yet
  CHECK(ct.size() == 2);
  ct.record(key(2), 40 * kSecond);  // refreshed
  ct.expire(61 * kSecond);
  CHECK_FALSE(ct.is_return(key(1)));
  CHECK(ct.is_return(key(2)));
  ct.expire(100 * kSecond);  // 60 s after the refresh: not yet
  CHECK(ct.is_return(key(2)));
  ct.expire(101 * kSecond);
  CHECK(ct.size() == 0);
  // An empty table, then a new entry: the bound starts again from it.
  ct.record(key(3), 200 * kSecond);
  ct.expire(260 * kSecond);
  CHECK(ct.is_return(key(3)));
  ct.expire(261 * kSecond);
  CHECK(ct.size() == 0);
}

TEST_CASE("ConnTrack: a rolled-back refresh leaves the entry to expire at its old time") {
  ConnTrack ct;
  ct.record(key(1), 0);
  ct.checkpoint();
  ct.record(key(1), 50 * kSecond);
  ct.rollback();
  ct.expire(61 * kSecond);
  CHECK(ct.size() == 0);
}

TEST_CASE("NatTable: bindings and leases expire; swapped bindings keep their age") {
  NatTable old_table;
  const NatEndpoint to{Ipv4{0xcb007105}, 40000};
  old_table.bind(NatKind::kSnat, key(1), to, 0);
  REQUIRE(old_table.forward(NatKind::kSnat, key(1)) == to);
  old_table.expire(60 * kSecond);
  CHECK(old_table.size() == 1);
  // Its SNAT lease stays with the table that bound it: the endpoint is taken.
  const ConnKey k = key(1);
  CHECK_FALSE(old_table.allocate_snat(k, to.ip, to.ip, to.port, to.port));
  // A fresh table takes the old bindings (the twin keeps one table of bindings per host and
  // swaps them in): they are still 0 s old there, and expire on time.
  NatTable fresh;
  fresh.bind(NatKind::kDnat, key(2), to, 30 * kSecond);
  fresh.swap_bindings(old_table);
  CHECK(fresh.size() == 1);
  fresh.expire(61 * kSecond);
  CHECK(fresh.size() == 0);
  // And the binding swapped out, 30 s old, is still in the other table until its time.
  old_table.expire(61 * kSecond);
  CHECK(old_table.size() == 1);
  old_table.expire(91 * kSecond);
  CHECK(old_table.size() == 0);
  // The lease idled out at 61 s too: the endpoint can be handed out again.
  CHECK(old_table.allocate_snat(k, to.ip, to.ip, to.port, to.port) == to);
}
