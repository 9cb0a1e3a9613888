#pragma once
// The digital twin: a scenario's hosts, agents, NSDB and underlay running in simulated time.
//
// What runs (SPEC section 1, README "How `run` models MidoNet"):
//  - one agent per host, with a datapath flow table (sim/datapath) answering hits; a miss goes
//    to the agent, which runs the flow core on its cached topology version, pays the modelled
//    simulation latency (plus an NSDB round trip for objects it has not cached yet), installs a
//    wildcarded flow and releases the packets of that flow that waited meanwhile;
//  - an NSDB with replicas and a quorum: topology changes (port liveness, admin state, rule
//    edits, member health) are writes that reach the agents after the NSDB latency, and each
//    agent invalidates exactly the flows tagged with the changed objects it watches; without a
//    quorum writes (and cache misses on uncached objects) stall while agents serve what they
//    have;
//  - an underlay: each host's link serialises tunnelled frames at the scenario bandwidth, adds
//    the latency, loses a seeded fraction; a link can be cut; only hosts sharing a tunnel zone
//    can reach each other; the egress host maps the tunnel key to its port with no simulation;
//  - traffic sources, failures at their times, and the expectations at the end.
//
//  - flow state kept per host: each agent's conntrack, NAT and LB bindings; what a simulation
//    writes is pushed over the underlay to the hosts that will see the return traffic (egress
//    ports' hosts, stateful port groups' members); a reply entering a host without it is a new
//    forward flow there (sim/twin/flow_state.hpp, SPEC section 6).
//
// Invariants: single-threaded and deterministic. Every random draw comes from a stream seeded
// by the scenario seed; nothing reads a clock; no report value depends on hash-table order.
// Hosts interact only through messages crossing the underlay or the NSDB, each taking at least
// that part's latency (message.hpp). The parts and the files they live in are mapped in
// twin_impl.hpp.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "sim/report/run_report.hpp"
#include "sim/twin/flow_state.hpp"
#include "sim/twin/message.hpp"
#include "sim/twin/traffic.hpp"
#include "topology/model.hpp"

namespace hivesim {

struct TwinOptions {
  /// Simulated time to run to; default the scenario's `duration`.
  std::optional<SimTime> until;
  /// Called now and then with the simulated time reached (a progress bar); never a clock.
  std::function<void(SimTime now, SimTime end)> progress;
  /// Asked after each progress step (every 1% of the run); when it returns true, run() stops
  /// there and returns the report of the run so far, `sim_time` being the time reached (the
  /// GUI's cancel button). Not asked with `until_idle`.
  std::function<bool()> stop;
  /// Called for every packet leaving the virtual network at an exterior port (pcap capture).
  std::function<void(PortId port, const Packet& packet, SimTime at)> on_egress;
  /// Called for every frame put on a tunnel from host `from` to host `to` (a tunnel zone joins
  /// them and their link is up): `sweep --fail link` lists the pairs that exchanged packets.
  std::function<void(HostId from, HostId to)> on_tunnel;
  /// Called for every message one host sends another, over the underlay or through the NSDB
  /// (message.hpp): tests check the boundary with it. Costs a branch per frame when unset.
  std::function<void(const Crossing&)> on_crossing;
  /// Opens a scenario `pcap` traffic source (the io layer provides it; the twin reads no files).
  /// Without it such an entry is refused.
  std::function<Result<std::unique_ptr<TrafficSource>>(const Traffic&, const PcapTraffic&)>
      open_pcap;
  /// Generate the scenario's own `traffic` (replay turns this off and adds its capture).
  bool scenario_traffic = true;
  /// Ignore `until`/`duration`: run until every source is exhausted and every packet has
  /// landed; the report's sim time is when the last one did (replay).
  bool until_idle = false;
};

class Twin {
 public:
  /// Builds the twin for a loaded (valid) scenario. Fails with a message when a synthetic
  /// traffic spec cannot be built, or when the scenario asks for what `run` does not do yet.
  static Result<std::unique_ptr<Twin>> make(const Scenario& scenario, TwinOptions options);
  ~Twin();
  Twin(const Twin&) = delete;
  Twin& operator=(const Twin&) = delete;

  /// Adds a traffic source (e.g. a pcap); `name` is its row in the report.
  void add_source(std::string name, std::unique_ptr<TrafficSource> source, bool reply);

  /// Runs to the end time and returns the report (expectations evaluated). Call once.
  RunReport run();
  /// Set when run() or advance() stopped early because the scenario's `limits` (SPEC section
  /// 10) were passed: the message; the report is then partial and must not be written.
  const std::optional<std::string>& stopped() const;

  /// Runs up to simulated time `t` (at most the end) without reporting: for `trace --at T`.
  void advance(SimTime t);
  /// The topology version published last (what an agent at that time simulates on)...
  const Simulator& simulator() const;
  /// ...and the live MAC and ARP tables (NSDB-wide), with the NAT/LB random stream. Conntrack,
  /// NAT and LB bindings are per host: see host_states().
  SimState& state();
  /// A copy of the flow state of every host (with the shared tables): what `trace --at` and
  /// the end-of-run expectations simulate against. Valid while the twin lives.
  HostStates host_states() const;

  class Impl;

 private:
  explicit Twin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hivesim
