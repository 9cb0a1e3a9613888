#pragma once
// Failures: the scenario's failures in time order, what they cost, and the backends they kill.
//
// What it holds: the failures sorted by time (stable: scenario order among equal times); per
// failure, the window of losses after it (packets lost, the last loss, when traffic recovered,
// flows it invalidated); the drop rows seen before any failure (a baseline drop is not a
// failure's loss); the pool members that are dead (what reaches them is lost) and the
// generation of each member's health check (a newer check cancels an older one).
// What a failure does to the other parts is the coordinator's step Twin::Impl::fail
// (failures.cpp), one case per kind: host_down stops the agent (its flows, cache, simulations,
// flow state), kills the backends on its ports and, once its NSDB session expires, writes its
// ports inactive; host_up undoes that; agent_restart loses the agent's state only; link and
// NSDB replica failures go to the underlay and the NSDB.
//
// Invariants: a loss belongs to the latest failure at or before it (window_at); a window
// recovers at the first delivery after its last loss; a member is dead exactly between its
// member_down (or its host's host_down) and the matching up.
// Cost: count_loss O(log failures); count_delivery O(1) unless a window waits to recover;
// dead_backend one hash lookup, skipped entirely while no backend is dead.

#include <cstdint>
#include <optional>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "sim/twin/ids.hpp"
#include "topology/model.hpp"

namespace hivesim {

struct FailureWindow {
  std::uint64_t lost = 0;
  SimTime last_loss = 0;
  std::optional<SimTime> recovered_at;
  std::uint64_t invalidated = 0;
};

inline std::uint64_t endpoint_key(Ipv4 ip, std::uint16_t port) {
  return (static_cast<std::uint64_t>(ip.bits) << 16) | port;
}

class Failures {
 public:
  explicit Failures(const Scenario& scenario);

  /// The failures by time (stable).
  const std::vector<FailureId>& by_time() const { return order_; }
  /// When the first failure happens (`otherwise` when none does before it).
  SimTime first_at(SimTime otherwise) const;
  const FailureWindow& window(FailureId f) const { return windows_[f.value]; }

  /// A packet dropped at `now` with `drop`: a loss of the window it falls in, unless the same
  /// drop happened before any failure.
  void count_loss(DropId drop, SimTime now);
  /// A packet landed at `now`: the windows whose losses stopped before recover.
  void count_delivery(SimTime now) {
    if (!unrecovered_.empty()) recover(now);
  }
  void count_invalidated(FailureId cause, std::uint64_t flows) {
    windows_[cause.value].invalidated += flows;
  }

  /// Whether any backend is dead now (else dead_backend() need not be asked).
  bool any_dead_backend() const { return !dead_members_.empty(); }
  /// The pool of the dead backend at `ip`:`port`, if one is.
  std::optional<PoolId> dead_backend(Ipv4 ip, std::uint16_t port) const;
  /// Marks a member dead or alive; returns the generation of the health check its change
  /// starts (the caller schedules it, and runs it only if still current()).
  std::uint64_t set_member_alive(const Topology& topo, PoolId pool, MemberIndex member, bool alive);
  bool current(PoolId pool, MemberIndex member, std::uint64_t generation) const {
    return generation_[pool.value][member.value] == generation;
  }

 private:
  /// The latest failure at or before `t` (none before the first).
  FailureId window_at(SimTime t) const;
  void recover(SimTime now);

  const Scenario& scenario_;
  std::vector<FailureId> order_;
  std::vector<FailureWindow> windows_;          // per failure
  std::vector<FailureId> unrecovered_;          // windows whose losses have not stopped
  absl::flat_hash_set<DropId> baseline_drops_;  // drop ids seen before any failure
  absl::flat_hash_map<std::uint64_t, PoolId> dead_members_;  // endpoint_key -> pool
  std::vector<std::vector<std::uint64_t>> generation_;       // per pool, per member
};

}  // namespace hivesim
