#pragma once
// The report of `hivesim run` and `hivesim replay` (SPEC section 5) as plain values, which the
// twin fills. Its renderings (the JSON document, human text, JUnit XML) are in sim/render/, so
// that nothing here or below needs a JSON library.
//
// Invariants: every list is in a fixed order decided by the twin (drops sorted by count
// descending then reason/device/rule; load balancers, failures, traffic and expectations in
// scenario order), so that the same scenario and seed render byte-identical documents. Nothing
// here reads a clock or a hash-table iteration order.

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/report/timeline.hpp"
#include "topology/model.hpp"

namespace hivesim {

struct FlowHostStats {
  std::string host;
  std::uint64_t installed = 0;  // flows installed over the run
  std::uint64_t peak = 0;       // most flows in the host's table at once
};

struct FlowStats {
  std::uint64_t simulations = 0;  // flow-core calls (datapath misses the agent handled)
  std::uint64_t installed = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t invalidated = 0;        // removed by a flow-tag invalidation
  std::uint64_t expired = 0;            // removed idle
  std::uint64_t evicted = 0;            // removed for capacity
  std::vector<FlowHostStats> per_host;  // scenario host order
};

struct DropRow {
  DropReason reason = DropReason::kRule;
  std::string device;                 // device or chain that decided ("" when none did)
  std::optional<std::uint32_t> rule;  // rule index when a chain decided
  std::uint64_t count = 0;
};

struct LbMemberRow {
  std::string member;  // "10.0.1.10:8080"
  std::uint32_t weight = 0;
  std::uint64_t connections = 0;
  double share = 0.0;     // connections / all connections to the VIP
  double expected = 0.0;  // weight / sum of eligible weights
};

struct LbRow {
  std::string vip;
  std::uint64_t connections = 0;
  std::vector<LbMemberRow> members;  // pool order
  double max_skew = 0.0;             // max |share - expected| / expected over members
};

struct FailureRow {
  SimTime at = 0;
  std::string event;  // Failure::label
  std::uint64_t packets_lost = 0;
  std::optional<SimTime> recovered_after;  // nullopt: not recovered (JSON null)
  std::uint64_t flows_invalidated = 0;     // datapath flows the change it caused invalidated
};

struct LatencyStats {
  SimTime p50 = 0;
  SimTime p90 = 0;
  SimTime p99 = 0;
  SimTime max = 0;
};

struct TrafficRow {
  std::string name;
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  std::uint64_t in_flight = 0;  // still travelling when the run ended
  std::uint64_t replies_sent = 0;
  std::uint64_t replies_delivered = 0;
  LatencyStats latency;  // of delivered packets, injection to delivery
};

struct ExpectationRow {
  std::string name;
  bool passed = false;
  std::string detail;
};

struct PacketTotals {
  std::uint64_t injected = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  std::uint64_t consumed = 0;   // answered by a device (ARP reply, echo reply)
  std::uint64_t in_flight = 0;  // injected = delivered + dropped + consumed + in_flight
};

/// Extra totals of `replay` (tcpreplay-style actuals); absent for `run`.
struct ReplayTotals {
  std::string pcap;
  std::string port;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t flows = 0;           // distinct flow keys seen
  SimTime duration = 0;              // simulated time from first to last packet
  std::optional<std::string> error;  // the capture broke part-way (what was replayed is kept)
};

struct RunReport {
  std::string scenario;
  std::uint64_t seed = 0;
  SimTime sim_time = 0;
  std::uint64_t events = 0;
  PacketTotals packets;
  FlowStats flows;
  std::vector<DropRow> drops;
  std::vector<LbRow> load_balancers;
  std::vector<FailureRow> failures;
  std::vector<TrafficRow> traffic;
  std::vector<ExpectationRow> expectations;
  std::optional<ReplayTotals> replay;
  /// NSDB activity: writes committed, watch notifications delivered, state-push messages.
  std::uint64_t nsdb_writes = 0;
  std::uint64_t nsdb_notifications = 0;
  std::uint64_t state_pushes = 0;
  /// Flow-state replication (SPEC section 6).
  struct FlowStateRow {
    std::uint64_t pushes = 0;                 // messages sent, one per (simulation, target host)
    std::uint64_t delivered = 0;              // installed on a live target
    std::uint64_t lost = 0;                   // lost by the underlay, a cut link, or a dead target
    std::uint64_t replies_without_state = 0;  // answers entering a host lacking their state
  } flow_state;
  /// Delivered/dropped per traffic per time bucket, and the failure events (SPEC section 9).
  Timeline timeline;

  bool all_passed() const {
    return std::all_of(expectations.begin(), expectations.end(),
                       [](const ExpectationRow& e) { return e.passed; });
  }
};

}  // namespace hivesim
