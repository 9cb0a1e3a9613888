#pragma once
// The datapath flow table: wildcarded flows installed after a simulation, matched by later
// packets without one (the megaflow cache of OVS, as driven by a MidoNet agent).
//
// A flow is (mask, masked key) -> actions, where the mask is the set of header fields its
// simulation read: every packet that agrees with the key on those fields gets the same actions.
//
// Structure (tuple-space search, as OVS's classifier): one hash subtable per distinct mask,
// searched in the order the subtables were created; the first match wins, so a lookup does not
// depend on hash order and is the same on every run. Entries live in a slab (blocks of 32 that
// never move, with a free list) and are threaded on an intrusive, index-based LRU list. Tags are
// kept per distinct tag set, not per flow: a flow belongs to the set of exactly its tags (a list
// threaded through the entries), and a tag index maps each FlowTag to the sets that carry it. Flows
// between the same two ports through the same devices share a set, so a host's thousands of flows
// have tens or hundreds of sets, and the index costs a flow 12 bytes of links instead of 8 bytes
// per tag (about 140 bytes a flow with the 10-14 tags of a routed, security-grouped flow).
//
// Invariants:
//  - within a subtable a masked key is unique; no subtable is empty (it is dropped with its last
//    flow, and made again, last in the search order, by the next flow with that mask);
//  - the LRU list holds exactly the live flows, most recently used first; as `now` never goes
//    back (checked), it is also sorted by last-used time, so expiry and eviction pop its back;
//  - every live flow is on the list of exactly one tag set, whose tags are its tags (sorted,
//    unique); every set in use is in the tag index under each of its tags. A set whose last
//    flow goes stays (dead, reusable) until dead sets outnumber live ones (plus a small slack),
//    when they are freed and the index is rebuilt from the live sets: amortised O(tags) a set;
//  - nothing iterates a hash table in a way that changes results (absl's order is random per
//    process): the sweep rebuilds the index in set order, and which slot a flow gets (the only
//    thing removal order decides) is never observable.
//
// Cost, with m subtables: lookup O(m) hash probes (plus O(1) per expired flow met on the way);
// install O(m + tags) (one hash of the sorted tags finds the set); invalidate O(sets carrying the
// tag + flows removed); expire O(expired). A key is read as 7 words once per lookup (FlowKey has
// no padding), then masked, hashed and compared word-wise per subtable. Memory per flow: a
// 160-byte slab entry (the packed masked key, LRU and set links, and the actions with one output
// held inline) and 8 bytes plus a control byte in its subtable (its id and half its hash, so
// that a growing subtable rehashes without reading its entries); per tag set, its tags (8 bytes
// each) and a place in each tag's list. Measured figures: bench/datapath_bench BM_Memory and the
// README's memory budget.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

// absl copies a trivially copyable InlinedVector's inline buffer whole, initialised or not,
// which GCC 12 reports as maybe-uninitialized wherever a FlowActions is moved (a false
// positive). Diagnostic pragmas go by source location, so this covers that header's code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <absl/container/inlined_vector.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "base/units.hpp"
#include "sim/datapath/rewrite.hpp"
#include "sim/flow/result.hpp"
#include "sim/packet/packet.hpp"

namespace hivesim {

/// One output action: rewrite the ingress packet, then send it out of `port`.
struct FlowOutput {
  PortId port;
  PacketRewrite rewrite;
  friend bool operator==(const FlowOutput&, const FlowOutput&) = default;
};

struct FlowActions {
  Verdict verdict = Verdict::kDropped;  // kDelivered or kDropped (kConsumed is never installed)
  /// 1 + the index of the VIP that balanced this flow's packets; 0 when none did. 16 bits keep
  /// the entry small: the twin counts per-VIP connections only for the first 65,535 VIPs.
  std::uint16_t balanced_vip = 0;
  std::uint32_t drop_id = 0;  // the twin's interned drop row, when dropped
  // Empty when dropped; one output is the common case, held without an allocation.
  absl::InlinedVector<FlowOutput, 1> outputs;
  friend bool operator==(const FlowActions&, const FlowActions&) = default;
};

struct FlowTableConfig {
  std::uint32_t capacity = 100000;  // flows, >= 1
  SimTime idle = 60 * kSecond;      // a flow unused this long is expired
};

/// Counters since construction (clear() does not reset them).
struct FlowTableStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t installed = 0;    // install() calls, replacements included
  std::uint64_t invalidated = 0;  // flows removed by invalidate()
  std::uint64_t expired = 0;      // by expire() or met expired by lookup()
  std::uint64_t evicted = 0;      // least recently used flows dropped to make room
  std::uint64_t peak = 0;         // largest size()
};

/// Not copyable; movable (a moved-from table may only be destroyed or assigned to).
/// `now` must never decrease from one call to the next (checked).
class FlowTable {
 public:
  explicit FlowTable(FlowTableConfig config);
  ~FlowTable();
  FlowTable(FlowTable&&) noexcept;
  FlowTable& operator=(FlowTable&&) noexcept;

  /// The flow matching `key` (under its mask), its last-used time refreshed to `now`; nullptr on
  /// a miss. A matching flow idle for >= config.idle is expired on the spot (counted expired)
  /// and the search goes on, so the result is as if expire(now) had run first. The pointer is
  /// valid until the next non-const call.
  const FlowActions* lookup(const FlowKey& key, SimTime now);

  /// Installs a flow for `key` under `mask` (the table stores masked(key, mask)), replacing a
  /// flow with the same mask and masked key; when full, first evicts the least recently used
  /// flow. `tags` need not be sorted or unique. Precondition: actions.verdict is kDelivered, or
  /// kDropped with no outputs.
  void install(const FlowKey& key, FieldMask mask, std::span<const FlowTag> tags,
               FlowActions actions, SimTime now);

  /// Removes every flow carrying `tag`; returns how many were removed (counted invalidated).
  std::size_t invalidate(FlowTag tag);

  /// Removes every flow idle for >= config.idle at `now`; returns how many (counted expired).
  std::size_t expire(SimTime now);

  /// Agent restart: every flow goes and memory is released (not counted invalidated/expired).
  void clear();

  std::size_t size() const;
  const FlowTableStats& stats() const;
  const FlowTableConfig& config() const;

  /// Aborts (HIVESIM_CHECK) if an invariant above does not hold. For tests; O(size).
  void check_invariants() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The flow an agent installs after simulating `in`: the verdict, one set-field output per port
/// the packet leaves by, and the VIP that balanced it. nullopt when the result cannot be a flow:
/// the packet was consumed, a device generated packets (each such packet goes to the agent), or
/// an output is not a set-field rewrite of `in`. `drop_id` is left 0 for the caller to fill.
std::optional<FlowActions> flow_actions_for(const Packet& in, const SimulationResult& result);

}  // namespace hivesim
