#pragma once
// Accounting: what the run report counts, and the journeys it counts them from.
//
// What it holds: a Journey per injected packet until its fate is known (delivered, answered by
// a device, or dropped); the drop rows, interned by reason, device and rule (a flow caches its
// row's id, so a hit never builds a string); the packet totals and flow statistics; the load
// balancers' connections per member; the timeline of landings per source. The steps that
// finish journeys (accounting.cpp: lose, finish_copy, finalize, report) are the coordinator's:
// they also tell the failures part about losses and deliveries.
//
// Invariants: a journey is finished exactly once, when its last copy is (finish_copy), and
// counted exactly once: delivered, consumed or dropped with a drop row. Drop ids are dense in
// first-seen order; the report sorts the rows, so the order never shows.
// Cost: O(1) per journey step (a slab slot, reused LIFO); intern() one ordered-map lookup, only
// when a simulation or a failure decides a drop.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <absl/container/flat_hash_set.h>

#include "sim/flow/conntrack.hpp"
#include "sim/flow/result.hpp"
#include "sim/report/run_report.hpp"
#include "sim/twin/ids.hpp"
#include "sim/twin/slab.hpp"
#include "sim/twin/timeline.hpp"
#include "topology/model.hpp"

namespace hivesim {

/// One injected packet, until its fate is known.
struct Journey {
  SimTime injected_at = 0;
  SourceId source;
  std::uint32_t copies = 0;  // copies still travelling (plus one while the ingress decides)
  DropId drop;               // none: not dropped (yet)
  bool reply = false;
  bool delivered = false;
  bool consumed = false;
  VipId vip;  // the VIP that balanced it (none: not balanced)
  // The connection as injected (load-balancer accounting).
  std::uint8_t proto = 0;
  Ipv4 src;
  Ipv4 dst;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
};

class Accounting {
 public:
  /// `timeline_length`: the run's end (0 for a run until idle: the timeline grows).
  Accounting(const Topology& topo, SimTime timeline_length);

  /// A journey slot, reset.
  JourneyId open() {
    const JourneyId j = journeys_.acquire();
    journeys_[j] = Journey{};
    return j;
  }
  Journey& operator[](JourneyId j) { return journeys_[j]; }
  const Journey& operator[](JourneyId j) const { return journeys_[j]; }
  void close(JourneyId j) { journeys_.release(j); }

  DropId intern(const DropInfo& drop);
  DropId intern(DropReason reason, const std::string& device);
  void count_drop(DropId drop) { ++drop_rows_[drop.value].count; }
  /// A balanced journey's first delivered packet, to the backend at `dst`:`dport`: one
  /// connection for that member (once per connection).
  void count_connection(const Topology& topo, const Journey& jr, Ipv4 dst, std::uint16_t dport);

  /// The drop rows that counted something, most first.
  std::vector<DropRow> drop_rows() const;
  /// The load balancers' rows; `declared` is the scenario's topology (admin weights).
  std::vector<LbRow> load_balancers(const Topology& topo, const Topology& declared) const;

  PacketTotals totals;
  FlowStats flows;
  std::uint64_t live = 0;  // journeys injected and not finished
  TimelineRecorder timeline;

 private:
  struct DropKey {
    DropReason reason;
    std::string device;
    std::optional<std::uint32_t> rule;
    friend auto operator<=>(const DropKey&, const DropKey&) = default;
  };

  Slab<Journey, JourneyId> journeys_;
  std::map<DropKey, DropId> drop_ids_;
  std::vector<DropRow> drop_rows_;
  std::vector<std::vector<std::uint64_t>> vip_member_connections_;  // per VIP, per member
  absl::flat_hash_set<ConnKey> connections_seen_;
};

}  // namespace hivesim
