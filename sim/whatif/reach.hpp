#pragma once
// What-if analysis, part 1: `reach`, the reachability matrix of SPEC section 7.
//
// For every (source port, destination, service) a forward packet `PROTO dst=DEST dport=N` is
// simulated from the source port and, when it is delivered, the reply (addresses and ports
// swapped, `syn,ack` for TCP, echo reply for ICMP) from the port it was delivered to. Result:
// `open` (both delivered), `one_way` (the reply dropped or consumed), `blocked` (the forward
// dropped or consumed), with the drop that decided.
//
// Invariants and cost:
//  - every connection starts from the same state (the scenario's initial one, or the twin's
//    at --at T): SimState::checkpoint() before, rollback() after, so a connection costs its
//    two simulations plus the undo of what they learned, never a copy of the state;
//  - at --at T the flow state is the hive's (SPEC section 6): each host's own conntrack and
//    NAT tables as the run left them at T; the forward walks against its ingress host's, the
//    reply against the tables of the host it enters (the forward's egress host) with the
//    forward's keys installed there, as a push would have; at time 0 every table is empty, so
//    one shared state gives the same answers;
//  - rows come out sorted by (from, to, service) as strings: sources, destinations and
//    services are sorted once and the loops nest in that order;
//  - nothing reads a clock or iterates a hash table: same scenario, same report.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/twin/flow_state.hpp"
#include "topology/model.hpp"

namespace hivesim::whatif {

/// A service: `tcp/22`, `udp/53` or `icmp` (echo; port 0).
struct Service {
  std::uint8_t proto = 6;
  std::uint16_t port = 0;
  std::string name() const;
  friend bool operator==(const Service&, const Service&) = default;
};

/// "tcp/22,udp/53,icmp" -> services, or a message naming the bad item.
Result<std::vector<Service>> parse_services(std::string_view list);

/// A destination as the user named it: a port name (its IP) or an IPv4 address.
struct Destination {
  std::string label;  // as written, or the address for defaults
  Ipv4 ip;
};

/// What the user asked for; an absent field takes the SPEC default.
struct ReachQuery {
  std::optional<std::string> from_glob;  // shell glob over port names
  /// Candidate sources by name (diff: those of both scenarios); default every exterior port.
  std::optional<std::vector<std::string>> sources;
  std::optional<std::vector<std::string>> to;  // port names and IPv4 addresses
  std::optional<std::vector<Service>> services;
};

/// The defaults of SPEC section 7, each sorted by its string form and without duplicates.
std::vector<std::string> default_sources(const Topology& topo);
std::vector<std::string> default_destinations(const Scenario& scenario);
std::vector<Service> default_services(const Scenario& scenario);

/// The resolved matrix axes, each sorted by its string form.
struct ReachPlan {
  std::vector<PortId> sources;
  std::vector<Destination> destinations;
  std::vector<Service> services;
};

/// Resolves `query` against the scenario: a glob that matches no exterior port, an unknown
/// port, a port without an address or a malformed address is an error naming it.
Result<ReachPlan> plan_reach(const Scenario& scenario, const ReachQuery& query);

enum class Reach : std::uint8_t { kOpen, kOneWay, kBlocked };
std::string_view to_string(Reach r);

/// The drop that decided a connection that is not open.
struct ReachDrop {
  bool reply = false;     // direction: forward or reply
  bool consumed = false;  // answered by a device rather than dropped (reason "consumed")
  DropInfo info;          // reason, device, rule (device: who answered, when consumed)
  SourceLoc source;       // where the deciding rule or route (else the device) is written
};

struct ReachRow {
  std::uint32_t from = 0;  // index into ReachReport::sources
  std::uint32_t to = 0;    // index into destinations
  std::uint32_t service = 0;
  std::optional<PortId> to_port;  // where the forward packet was delivered
  Reach result = Reach::kBlocked;
  std::optional<ReachDrop> drop;  // set iff result != kOpen
};

struct ReachReport {
  std::string scenario;       // its name
  std::string scenario_file;  // as given; drop sources are "FILE:LINE"
  SimTime at = 0;
  std::vector<std::string> sources;       // port names
  std::vector<std::string> destinations;  // labels
  std::vector<std::string> services;      // names
  std::vector<std::string> port_names;    // by PortId, for to_port
  std::vector<ReachRow> rows;             // sorted by (from, to, service)
  std::uint64_t open = 0;
  std::uint64_t one_way = 0;
  std::uint64_t blocked = 0;
  /// Connections left out, each with why (a source whose packet cannot be built).
  std::vector<std::string> notes;
};

/// Runs every connection of `plan` on `sim` from `state` (left as it was), one state for every
/// host. `at` is only stamped on the report and on state entries.
ReachReport run_reach(const Scenario& scenario, const Simulator& sim, SimState& state,
                      const ReachPlan& plan, SimTime at = 0);
/// The same against per-host flow state (left as it was), as the hive keeps it: each forward
/// against its ingress host's conntrack/NAT tables, its answer against those of the host it
/// enters plus what the forward pushed there (SPEC section 6). What `reach --at T` runs.
ReachReport run_reach(const Scenario& scenario, const Simulator& sim, HostStates& states,
                      const ReachPlan& plan, SimTime at);

/// The whole question: plans, builds the state at `at` (the initial one at 0, else the twin
/// run up to `at`) and runs. Errors: a bad query, or a twin that cannot be built.
Result<ReachReport> reach(const Scenario& scenario, const ReachQuery& query, SimTime at = 0);

/// "FILE:LINE" of a drop, or "".
std::string drop_source_ref(const ReachReport& report, const ReachDrop& drop);

}  // namespace hivesim::whatif
