#pragma once
// Connection tracking and NAT state, as the agent on a host keeps them (MidoNet's
// ConnTrackState and NatState). Both are explicit objects owned by the caller: `trace --batch`
// keeps one set for the batch; the twin one per host (sim/twin/flow_state.hpp), and it pushes
// entries to peers.
//
// Conntrack: a forward flow leaving at an exterior port records the key its replies will have
// (reversed 5-tuple after NAT, plus the device the reply will enter); a packet whose key is
// recorded is a return flow. For ICMP echo, the echo id stands in for both ports.
//
// NAT: a forward binding maps a connection to its translated address; the reverse binding
// lets rev_snat/rev_dnat restore it. Bindings are keyed by the device that translated, so the
// reverse action must run on the same router. Entries idle longer than the expiry are dropped
// by expire().
//
// The tables are absl::flat_hash_map (open addressing: no allocation per entry, one probe
// sequence per lookup). Their iteration order is not stable across processes, so nothing
// that reaches a report may iterate them.
//
// Undo log: between checkpoint() and rollback() every change is journaled (the key and what it
// held before), so rollback() restores the tables, and the NAT random stream, in time
// proportional to the changes since the checkpoint, not to the tables' size (`reach` starts
// each connection from the same state this way). expire() must not run in between.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "base/units.hpp"
#include "topology/address.hpp"

namespace hivesim {

/// A 5-tuple plus the device it is seen at (bit 31 set for routers).
struct ConnKey {
  Ipv4 src;
  Ipv4 dst;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint8_t proto = 0;
  std::uint32_t device = 0;

  ConnKey reversed() const { return ConnKey{dst, src, dport, sport, proto, device}; }
  friend bool operator==(const ConnKey&, const ConnKey&) = default;
  template <class H>
  friend H AbslHashValue(H h, const ConnKey& k) {
    return H::combine(std::move(h), k.src.bits, k.dst.bits, k.sport, k.dport, k.proto, k.device);
  }
};

/// A flow-state key a simulation wrote (created or refreshed): a conntrack entry, or a NAT
/// binding and where it translates to. The twin journals them to push them to the hosts that
/// will see the return traffic (sim/twin/flow_state.hpp).
struct StateWrite {
  enum class Kind : std::uint8_t { kConnTrack, kSnat, kDnat };
  Kind kind = Kind::kConnTrack;
  ConnKey key;  // conntrack: the reply key; NAT: the connection as first seen
  Ipv4 to_ip;   // NAT: the translated endpoint
  std::uint16_t to_port = 0;
};

class ConnTrack {
 public:
  static constexpr SimTime kDefaultIdle = 60 * kSecond;

  bool is_return(const ConnKey& key) const { return entries_.count(key) != 0; }
  /// Records `reply_key` as the key of a return flow, seen at `now`.
  void record(const ConnKey& reply_key, SimTime now) {
    if (journaling_) journal(reply_key);
    entries_[reply_key] = now;
    oldest_ = std::min(oldest_, now);
    if (journal_ != nullptr)
      journal_->push_back(StateWrite{StateWrite::Kind::kConnTrack, reply_key, {}, 0});
  }
  /// While set, every record() is also appended to `journal` (nullptr: none).
  void set_journal(std::vector<StateWrite>* journal) { journal_ = journal; }
  /// Drops entries not refreshed within `idle` of `now`.
  void expire(SimTime now, SimTime idle = kDefaultIdle);
  std::size_t size() const { return entries_.size(); }

  /// Starts journaling changes (see the file comment); a second call moves the checkpoint.
  void checkpoint();
  /// Undoes every change since checkpoint() and stops journaling.
  void rollback();

 private:
  void journal(const ConnKey& key);

  absl::flat_hash_map<ConnKey, SimTime> entries_;
  // No entry is older than this (a lower bound: refreshes only make entries younger), so
  // expire() skips its scan while nothing can be idle. The twin sweeps every host's table
  // each second; on the 10,000-host cloud, where nothing idles out within the run, the scans
  // were 2.8% of its instructions (1.17 G of 42.5 G, callgrind) and are now gone.
  SimTime oldest_ = std::numeric_limits<SimTime>::max();
  std::vector<std::pair<ConnKey, std::optional<SimTime>>> undo_;
  bool journaling_ = false;
  std::vector<StateWrite>* journal_ = nullptr;
};

/// A translated endpoint.
struct NatEndpoint {
  Ipv4 ip;
  std::uint16_t port = 0;
  friend bool operator==(NatEndpoint, NatEndpoint) = default;
};

enum class NatKind : std::uint8_t { kSnat, kDnat };

/// A 64-bit Mersenne Twister made on its first draw: a run keeps a NatTable per host for its
/// bindings, and those never draw (the run's one stream is the shared table's), so the 2.5 KB
/// engine, and its saved copy, cost 5 KB a host for nothing. Copies are deep: a copy draws the
/// same stream as its original from where it was copied.
class LazyRandom {
 public:
  explicit LazyRandom(std::uint64_t seed) : seed_(seed) {}
  LazyRandom(const LazyRandom& o) : seed_(o.seed_), engine_(copy(o.engine_)) {}
  LazyRandom& operator=(const LazyRandom& o) {
    if (this != &o) {
      seed_ = o.seed_;
      engine_ = copy(o.engine_);
    }
    return *this;
  }
  LazyRandom(LazyRandom&&) noexcept = default;
  LazyRandom& operator=(LazyRandom&&) noexcept = default;
  ~LazyRandom() = default;

  std::uint64_t operator()() {
    if (!engine_) engine_ = std::make_unique<std::mt19937_64>(seed_);
    return (*engine_)();
  }

 private:
  static std::unique_ptr<std::mt19937_64> copy(const std::unique_ptr<std::mt19937_64>& e) {
    return e ? std::make_unique<std::mt19937_64>(*e) : nullptr;
  }
  std::uint64_t seed_;
  std::unique_ptr<std::mt19937_64> engine_;
};

class NatTable {
 public:
  explicit NatTable(std::uint64_t seed = 1) : rng_(seed) {}

  /// The binding of a connection already translated by `kind` at its device, if any.
  std::optional<NatEndpoint> forward(NatKind kind, const ConnKey& key) const;
  /// Stores a binding: `key` (as first seen) is translated to `to`; remembers how to undo it.
  void bind(NatKind kind, const ConnKey& key, NatEndpoint to, SimTime now);
  /// For a reply `key` (as it arrives), the original endpoint to restore, if a binding exists.
  std::optional<NatEndpoint> reverse(NatKind kind, const ConnKey& key) const;

  /// Picks a free SNAT endpoint in [ip_lo, ip_hi] x [port_lo, port_hi] for `key`: never one
  /// that a live binding towards the same remote endpoint already uses. Deterministic for a
  /// given seed and call sequence. nullopt when the range is exhausted.
  std::optional<NatEndpoint> allocate_snat(const ConnKey& key, Ipv4 ip_lo, Ipv4 ip_hi,
                                           std::uint16_t port_lo, std::uint16_t port_hi);
  /// A uniformly random value in [lo, hi] from this table's stream (DNAT target choice).
  std::uint32_t draw(std::uint32_t lo, std::uint32_t hi);

  void expire(SimTime now, SimTime idle = ConnTrack::kDefaultIdle);
  std::size_t size() const { return forward_.size(); }
  /// Exchanges the bindings (not the random stream) with `other`'s: the twin keeps one table
  /// of bindings per host and one stream for the whole run.
  void swap_bindings(NatTable& other) {
    forward_.swap(other.forward_);
    reverse_.swap(other.reverse_);
    std::swap(oldest_binding_, other.oldest_binding_);
  }
  /// While set, every bind() is also appended to `journal` (nullptr: none).
  void set_journal(std::vector<StateWrite>* journal) { journal_ = journal; }

  /// Starts journaling changes and random draws (see the file comment).
  void checkpoint();
  /// Undoes every change and draw since checkpoint() and stops journaling.
  void rollback();

 private:
  struct Binding {
    NatEndpoint to;
    SimTime last = 0;
  };
  struct Undo {
    bool reverse = false;  // which map
    ConnKey key;
    std::optional<Binding> before;
  };
  void journal(bool reverse, const ConnKey& key);

  static ConnKey tagged(NatKind kind, ConnKey key) {
    key.device ^= kind == NatKind::kSnat ? 0x40000000U : 0x20000000U;
    return key;
  }

  absl::flat_hash_map<ConnKey, Binding> forward_;
  absl::flat_hash_map<ConnKey, Binding> reverse_;
  // SNAT endpoints in use (the reply keys of SNAT bindings, with their last use): what
  // allocate_snat() avoids. Not swapped by swap_bindings(): MidoNet leases SNAT port blocks
  // through the NSDB, so two hosts never hand out the same endpoint.
  absl::flat_hash_map<ConnKey, SimTime> leases_;
  // Lower bounds on the bindings' and the leases' last use (as ConnTrack::oldest_).
  SimTime oldest_binding_ = std::numeric_limits<SimTime>::max();
  SimTime oldest_lease_ = std::numeric_limits<SimTime>::max();
  LazyRandom rng_;
  std::vector<Undo> undo_;
  std::vector<std::pair<ConnKey, std::optional<SimTime>>> lease_undo_;  // leases_ before a bind
  // The random stream as it was at the checkpoint, saved at the first draw after it (most
  // connections draw nothing, and the engine is 2.5 KB).
  std::optional<LazyRandom> rng_saved_;
  bool journaling_ = false;
  std::vector<StateWrite>* journal_ = nullptr;
};

}  // namespace hivesim
