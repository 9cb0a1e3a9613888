#pragma once
// The NSDB: a ZooKeeper-like replicated store that agents read topology objects from and that
// topology changes (port liveness, admin state, rule edits, member health) are written to.
//
// What it models: replicas that fail and recover, and the quorum a write needs (a majority of
// replicas up). A write with a quorum commits and becomes visible to the watching agents after
// the NSDB latency; without one it stalls, and every stalled write commits, in order, the moment
// the quorum returns. Each publication that changed something bumps a change sequence, and the
// store remembers, per watched object (flow tag), the sequence that changed it last: a
// simulation that started before a change to an object it read is stale. Watches themselves
// are the agents' caches (agent.hpp): a publication notifies the agents that loaded a changed
// object, and they invalidate the flows tagged with it.
//
// Invariants: commits become visible in commit order (the latency is the same for all); a
// stalled write is never lost; the change sequence only grows. No clock and no randomness:
// callers pass the simulated time.
// Cost: write/commit O(1); take_visible O(changes due); stale() O(tags of the simulation) in a
// hash map, and nothing at all when no change happened since the simulation started.

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "sim/flow/result.hpp"
#include "sim/twin/ids.hpp"
#include "topology/model.hpp"

namespace hivesim {

/// A watch key: an object kind and its id.
inline std::uint64_t tag_key(FlowTag t) {
  return (static_cast<std::uint64_t>(t.kind) << 32) | t.id;
}

/// A topology change written to the NSDB.
struct Change {
  enum class Kind : std::uint8_t { kPortsActive, kPortAdmin, kRule, kMemberHealth };
  Kind kind = Kind::kPortAdmin;
  HostId host;         // kPortsActive: the host whose ports change
  PortId port;         // kPortAdmin
  PoolId pool;         // kMemberHealth, with the member
  MemberIndex member;  // kMemberHealth
  bool value = true;
  RuleChange rule;  // kRule
  FailureId cause;  // the failure credited with the flows it invalidates (none: none)
};

/// Applies a visible change to `topo` (the latest published topology; `host_ports`: the
/// exterior ports of the change's host, for kPortsActive): the flow tags of what it changed
/// (none when it changed nothing).
std::vector<FlowTag> apply_change(Topology& topo, const Change& change,
                                  std::span<const PortId> host_ports);

class Nsdb {
 public:
  /// `replicas` all up; a commit is visible `latency` after it.
  Nsdb(std::uint32_t replicas, SimTime latency) : up_(replicas, true), latency_(latency) {}

  /// Whether a majority of the replicas is up.
  bool quorum() const;
  /// Marks replica `index` up or down; true when that gave the quorum back (the caller then
  /// commits take_stalled() and restarts the reads that waited).
  bool set_replica(std::uint32_t index, bool up);

  /// Writes `change` at `now`: commits it (returns when it becomes visible; the caller
  /// schedules a publication then) or, without a quorum, stalls it (nullopt).
  std::optional<SimTime> write(Change change, SimTime now);
  /// Commits a change unconditionally; when it becomes visible.
  SimTime commit(Change change, SimTime now);
  /// The writes stalled for want of a quorum, in write order; they are no longer held.
  std::vector<Change> take_stalled();
  /// The committed changes visible at `now`, in commit order; they are no longer held.
  std::vector<Change> take_visible(SimTime now);
  /// Whether a committed change is still to become visible.
  bool pending() const { return !committed_.empty(); }

  /// Records that a publication changed `tags`: the change sequence moves on.
  void changed(const std::vector<FlowTag>& tags);
  /// The current change sequence (a simulation remembers it when it starts).
  std::uint64_t sequence() const { return seq_; }
  /// Whether a change to one of `tags` was published after sequence `since`.
  bool stale(const std::vector<FlowTag>& tags, std::uint64_t since) const;

  SimTime latency() const { return latency_; }
  std::uint64_t writes() const { return writes_; }
  /// Counts one agent notified of a publication.
  void notified() { ++notifications_; }
  std::uint64_t notifications() const { return notifications_; }

 private:
  std::vector<bool> up_;
  SimTime latency_ = 0;
  std::deque<std::pair<SimTime, Change>> committed_;
  std::vector<Change> stalled_;
  std::uint64_t seq_ = 0;
  absl::flat_hash_map<std::uint64_t, std::uint64_t> tag_changed_;  // tag -> last change seq
  std::uint64_t writes_ = 0;
  std::uint64_t notifications_ = 0;
};

}  // namespace hivesim
