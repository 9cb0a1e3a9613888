// The twin (`hivesim run`'s engine) on small scenarios (tests/data/scenarios/twin/): packet
// accounting, the datapath flow cache, failures and what they cost, load-balancer spread,
// determinism. Expected values are computed from each scenario's parameters (rates, latencies,
// timeouts), not copied from a run. Each scenario runs in milliseconds of wall time.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/packet/codec.hpp"
#include "sim/render/run_report.hpp"
#include "sim/twin/twin.hpp"
#include "topology/load/loader.hpp"

namespace hivesim {
namespace {

constexpr std::uint16_t kFirstSport = 40000;  // SPEC section 3: the default source port
// Outer headers the underlay adds (sim/twin/twin.cpp): Ethernet + IPv4 + UDP + VXLAN, and
// Ethernet + IPv4 + GRE with a key.
constexpr std::size_t kVxlanOverhead = 50;
constexpr std::size_t kGreOverhead = 42;

Scenario load(const std::string& file) {
  const std::string path = std::string(HIVESIM_TEST_DATA) + "/scenarios/twin/" + file;
  LoadResult loaded = load_scenario(path);
  std::string problems;
  for (const Diagnostic& d : loaded.errors)
    problems += d.str() + "\n";
  INFO(path << "\n" << problems);
  REQUIRE(loaded.scenario);
  return std::move(*loaded.scenario);
}

/// A packet leaving the virtual network at an exterior port.
struct Egress {
  PortId port;
  SimTime at = 0;
  Packet packet;
};

struct Outcome {
  RunReport report;
  std::vector<Egress> egress;
};

/// Runs `scenario` (to `until`, default its duration), recording every egress.
Outcome run(const Scenario& scenario, std::optional<SimTime> until = std::nullopt) {
  Outcome o;
  TwinOptions options;
  options.until = until;
  options.on_egress = [&o](PortId port, const Packet& packet, SimTime at) {
    o.egress.push_back(Egress{port, at, packet});
  };
  auto twin = Twin::make(scenario, std::move(options));
  INFO((twin ? std::string() : twin.error()));
  REQUIRE(twin);
  o.report = (*twin)->run();
  return o;
}

PortId port(const Scenario& s, const std::string& name) {
  const auto p = s.topology.find_port(name);
  REQUIRE(p);
  return *p;
}

const SyntheticTraffic& synthetic(const Scenario& s, std::size_t index) {
  REQUIRE(index < s.traffic.size());
  const auto* t = std::get_if<SyntheticTraffic>(&s.traffic[index].source);
  REQUIRE(t != nullptr);
  return *t;
}

/// Nanoseconds between consecutive packets of a generator.
double packet_gap(const SyntheticTraffic& t) {
  return 1e9 / (t.rate * static_cast<double>(t.packets_per_flow));
}

/// Nanoseconds between the starts of consecutive flows.
SimTime flow_slot(const SyntheticTraffic& t) {
  return static_cast<SimTime>(std::llround(1e9 / t.rate));
}

/// When the generator injects its i-th packet (SPEC section 4: flow k starts at start + k/rate,
/// its packets spread evenly over its slot).
SimTime injected_at(const SyntheticTraffic& t, std::uint64_t i) {
  return t.start + static_cast<SimTime>(std::llround(static_cast<double>(i) * packet_gap(t)));
}

/// How many of the generator's packets are injected in [from, to).
std::uint64_t injected_between(const SyntheticTraffic& t, SimTime from, SimTime to) {
  std::uint64_t n = 0;
  for (std::uint64_t i = 0; i < t.flows * t.packets_per_flow; ++i) {
    const SimTime at = injected_at(t, i);
    n += at >= from && at < to ? 1 : 0;
  }
  return n;
}

std::uint64_t total_packets(const SyntheticTraffic& t) {
  return t.flows * t.packets_per_flow;
}

/// Per flow of a tcp/udp generator (flows differ by source port, counting up from 40000): the
/// packets delivered at `to`.
std::vector<std::uint64_t> delivered_per_flow(const Outcome& o, const SyntheticTraffic& t,
                                              PortId to) {
  std::vector<std::uint64_t> n(t.flows);
  for (const Egress& e : o.egress) {
    if (e.port != to) continue;
    REQUIRE(e.packet.sport >= kFirstSport);
    const std::uint64_t flow = e.packet.sport - kFirstSport;
    REQUIRE(flow < t.flows);
    ++n[flow];
  }
  return n;
}

/// Egress packets at `at_port` in [from, to).
std::uint64_t egress_between(const Outcome& o, PortId at_port, SimTime from, SimTime to) {
  return static_cast<std::uint64_t>(std::count_if(
      o.egress.begin(), o.egress.end(),
      [&](const Egress& e) { return e.port == at_port && e.at >= from && e.at < to; }));
}

std::uint64_t drops_with(const RunReport& r, DropReason reason) {
  std::uint64_t n = 0;
  for (const DropRow& d : r.drops)
    n += d.reason == reason ? d.count : 0;
  return n;
}

std::uint64_t invalidated_by_failures(const RunReport& r) {
  std::uint64_t n = 0;
  for (const FailureRow& f : r.failures)
    n += f.flows_invalidated;
  return n;
}

/// The underlay's serialisation time of `p` in a tunnel with `overhead` bytes of headers.
SimTime serialisation(const Scenario& s, const Packet& p, std::size_t overhead) {
  const double bits = static_cast<double>((wire_length(p) + overhead) * 8);
  return static_cast<SimTime>(
      std::ceil(bits * 1e9 / static_cast<double>(s.underlay.bandwidth_bps)));
}

void check_accounting(const RunReport& r) {
  const PacketTotals& p = r.packets;
  CHECK(p.injected == p.delivered + p.dropped + p.consumed + p.in_flight);
  CHECK(r.flows.cache_hits + r.flows.cache_misses <= p.injected);
  std::uint64_t sent = 0;
  std::uint64_t dropped = 0;
  for (const TrafficRow& t : r.traffic) {
    sent += t.sent + t.replies_sent;
    dropped += t.dropped;
    CHECK(t.sent == t.delivered + t.dropped + t.in_flight);
  }
  CHECK(sent == p.injected);
  std::uint64_t drop_rows = 0;
  for (const DropRow& d : r.drops)
    drop_rows += d.count;
  CHECK(drop_rows == p.dropped);
  CHECK(dropped <= p.dropped);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 1. No failure, no loss

TEST_CASE("Twin: without failures every packet and every reply is delivered") {
  const Scenario s = load("steady.yaml");
  const SyntheticTraffic& t = synthetic(s, 0);
  REQUIRE(t.reply);
  const Outcome o = run(s);
  const RunReport& r = o.report;
  check_accounting(r);

  const std::uint64_t sent = total_packets(t);
  CHECK(r.sim_time == s.duration);
  CHECK(r.packets.injected == 2 * sent);  // each packet answered once
  CHECK(r.packets.delivered == r.packets.injected);
  CHECK(r.packets.dropped == 0);
  CHECK(r.packets.consumed == 0);
  CHECK(r.packets.in_flight == 0);
  CHECK(r.drops.empty());
  REQUIRE(r.traffic.size() == 1);
  const TrafficRow& row = r.traffic[0];
  CHECK(row.sent == sent);
  CHECK(row.delivered == sent);
  CHECK(row.replies_sent == row.delivered);
  CHECK(row.replies_delivered == row.replies_sent);
  CHECK(egress_between(o, port(s, "db1"), 0, s.duration) == sent);
  CHECK(egress_between(o, port(s, "app1"), 0, s.duration) == sent);
  for (std::uint64_t n : delivered_per_flow(o, t, port(s, "db1"))) {
    CHECK(n == t.packets_per_flow);
  }

  // Bridge -> router -> bridge without chains reads no L4 field: one wildcarded flow per
  // direction serves every connection, installed on each ingress host.
  CHECK(r.flows.simulations == 2);
  CHECK(r.flows.installed == 2);
  REQUIRE(r.flows.per_host.size() == 2);
  CHECK(r.flows.per_host[0].host == "hv1");
  CHECK(r.flows.per_host[0].installed == 1);
  CHECK(r.flows.per_host[1].installed == 1);
  CHECK(r.flows.cache_hits + r.flows.cache_misses == r.packets.injected);
  CHECK(r.flows.cache_misses >= r.flows.simulations);
  CHECK(r.flows.cache_hits >= r.packets.injected - 2 * t.flows);
  CHECK(r.flows.invalidated == 0);
  CHECK(r.flows.evicted == 0);

  // A hit costs the underlay only: latency plus serialisation; the very first packet also
  // waited for a simulation and the NSDB fetch of the objects it read.
  const Packet& first = o.egress.front().packet;
  const SimTime tunnel = s.underlay.latency + serialisation(s, first, kVxlanOverhead);
  CHECK(row.latency.p50 == tunnel);
  CHECK(row.latency.p99 == tunnel);
  CHECK(row.latency.max == tunnel + s.topology.hosts[0].agent.sim_latency + s.nsdb.latency);
  for (const ExpectationRow& e : r.expectations) {
    INFO(e.name << ": " << e.detail);
    CHECK(e.passed);
  }
  CHECK(r.all_passed());
}

TEST_CASE("Twin: a stateful chain makes one simulation per connection, later packets hit") {
  const Scenario s = load("flow-table.yaml");
  const SyntheticTraffic& t = synthetic(s, 0);
  const RunReport r = run(s).report;
  check_accounting(r);
  CHECK(r.packets.delivered == total_packets(t));
  // The conntrack lookup reads the 5-tuple: each flow (source port) is its own datapath flow.
  CHECK(r.flows.simulations == t.flows);
  CHECK(r.flows.installed == t.flows);
  CHECK(r.flows.cache_misses == t.flows);
  CHECK(r.flows.cache_hits == t.flows * (t.packets_per_flow - 1));
  CHECK(r.flows.cache_hits + r.flows.cache_misses == r.packets.injected);
  CHECK(r.flows.per_host[0].installed == t.flows);
  CHECK(r.flows.per_host[1].installed == 0);  // hv2 only maps the tunnel key
}

TEST_CASE("Twin: a run cut short by --until counts what is still travelling") {
  const Scenario s = load("steady.yaml");
  const SyntheticTraffic& t = synthetic(s, 0);
  constexpr std::uint64_t kLast = 500;  // the last packet injected before the cut
  const SimTime tunnel = s.underlay.latency + kMicrosecond;  // latency + serialisation, < 1us
  // Half-way through a gap (1.25ms, far more than the 50us a hit and its reply take): every
  // packet sent has landed, and so has its reply.
  const SimTime until = injected_at(t, kLast) + static_cast<SimTime>(packet_gap(t) / 2);
  REQUIRE(until - injected_at(t, kLast) > 2 * tunnel);
  const RunReport r = run(s, until).report;
  check_accounting(r);
  CHECK(r.sim_time == until);
  CHECK(r.traffic[0].sent == injected_between(t, 0, until + 1));
  CHECK(r.traffic[0].sent == kLast + 1);
  CHECK(r.packets.dropped == 0);
  CHECK(r.packets.in_flight == 0);
  CHECK(r.traffic[0].delivered == r.traffic[0].sent);
  CHECK(r.traffic[0].replies_delivered == r.traffic[0].sent);

  // Cut 10us after a packet is injected: it is still in the tunnel (and has no reply yet).
  const SimTime tight = injected_at(t, kLast) + 10 * kMicrosecond;
  REQUIRE(10 * kMicrosecond < s.underlay.latency);
  const RunReport r2 = run(s, tight).report;
  check_accounting(r2);
  CHECK(r2.traffic[0].sent == kLast + 1);
  CHECK(r2.traffic[0].in_flight == 1);
  CHECK(r2.packets.in_flight == 1);
  CHECK(r2.traffic[0].delivered == kLast);
  CHECK(r2.traffic[0].replies_sent == kLast);
}

// ---------------------------------------------------------------------------------------------
// 2. Host down and up

TEST_CASE("Twin: packets to a host are lost only while it is down") {
  Scenario s = load("host-down.yaml");
  const SyntheticTraffic& t = synthetic(s, 0);
  REQUIRE(s.failures.size() == 2);
  const SimTime down = s.failures[0].at;
  const SimTime up = s.failures[1].at;
  REQUIRE(s.failures[0].label == "host_down hv2");
  const PortId vm2 = port(s, "vm2");

  SECTION("no failure, no loss") {
    s.failures.clear();
    const RunReport r = run(s).report;
    check_accounting(r);
    CHECK(r.packets.dropped == 0);
    CHECK(r.traffic[0].delivered == total_packets(t));
    CHECK(r.failures.empty());
  }

  SECTION("the session outlives the outage: hv2's ports stay active") {
    REQUIRE(s.nsdb.session_timeout > up - down);
    const Outcome o = run(s);
    const RunReport& r = o.report;
    check_accounting(r);
    // Everything injected while hv2 was down (give or take the tunnel latency) is lost, at hv2.
    const std::uint64_t expected =
        injected_between(t, down - s.underlay.latency, up - s.underlay.latency);
    CHECK(r.packets.dropped == expected);
    CHECK(r.packets.dropped == static_cast<std::uint64_t>((up - down) / packet_gap(t)));
    REQUIRE(r.drops.size() == 1);
    CHECK(r.drops[0].reason == DropReason::kHostDown);
    CHECK(r.drops[0].device == "hv2");
    CHECK(r.packets.delivered + r.packets.dropped == total_packets(t));

    // Which flows lost packets: only those whose slot overlaps the outage.
    const std::vector<std::uint64_t> got = delivered_per_flow(o, t, vm2);
    std::uint64_t missing = 0;
    for (std::uint64_t k = 0; k < t.flows; ++k) {
      if (got[k] == t.packets_per_flow) continue;
      missing += t.packets_per_flow - got[k];
      const SimTime slot = t.start + static_cast<SimTime>(k) * flow_slot(t);
      INFO("flow " << k << " starting at " << slot << " lost packets");
      CHECK(slot + flow_slot(t) > down);
      CHECK(slot < up);
    }
    CHECK(missing == r.packets.dropped);
    // The delivered ones land after the outage or before it, never during.
    CHECK(egress_between(o, vm2, down, up) == 0);

    REQUIRE(r.failures.size() == 2);
    CHECK(r.failures[0].event == "host_down hv2");
    CHECK(r.failures[0].packets_lost == r.packets.dropped);
    REQUIRE(r.failures[0].recovered_after);
    CHECK(*r.failures[0].recovered_after >= up - down);
    CHECK(*r.failures[0].recovered_after <= up - down + flow_slot(t));
    CHECK(r.failures[1].event == "host_up hv2");
    CHECK(r.failures[1].packets_lost == 0);
    CHECK(r.failures[1].recovered_after == SimTime{0});
    // No session expiry: no port went inactive, no flow was invalidated.
    CHECK(r.flows.invalidated == 0);
  }

  SECTION("the session expires during the outage: ports inactive, then active again") {
    s.nsdb.session_timeout = 300 * kMillisecond;
    REQUIRE(down + s.nsdb.session_timeout < up);
    const Outcome o = run(s);
    const RunReport& r = o.report;
    check_accounting(r);
    CHECK(r.packets.dropped > 0);
    CHECK(drops_with(r, DropReason::kHostDown) == r.packets.dropped);
    // Until the host_up write reaches hv1 its flows still say "vm2 is gone".
    const SimTime visible = up + s.nsdb.latency;
    CHECK(r.packets.dropped == injected_between(t, down - s.underlay.latency, visible));
    CHECK(r.failures[0].packets_lost == injected_between(t, down - s.underlay.latency, up));
    CHECK(r.failures[1].packets_lost == injected_between(t, up, visible));
    CHECK(r.failures[1].packets_lost <= 1);
    CHECK(egress_between(o, vm2, down, visible) == 0);
    // The session expiry and the return each invalidated hv1's flow towards vm2.
    CHECK(r.failures[0].flows_invalidated >= 1);
    CHECK(r.failures[1].flows_invalidated >= 1);
    CHECK(invalidated_by_failures(r) == r.flows.invalidated);
    REQUIRE(r.failures[0].recovered_after);
    CHECK(*r.failures[0].recovered_after >= up - down);
    CHECK(*r.failures[0].recovered_after <= visible - down + flow_slot(t));
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Gateway failover

TEST_CASE("Twin: a dead gateway's flows are lost until its session expires, then use the other") {
  const Scenario s = load("failover.yaml");
  const SyntheticTraffic& t = synthetic(s, 0);
  const SimTime down = s.failures[0].at;
  const SimTime up = s.failures[1].at;
  const SimTime withdrawn = down + s.nsdb.session_timeout + s.nsdb.latency;
  const SimTime restored = up + s.nsdb.latency;
  REQUIRE(withdrawn < up);
  const PortId up1 = port(s, "r1-up1");
  const PortId up2 = port(s, "r1-up2");

  const Outcome o = run(s);
  const RunReport& r = o.report;
  check_accounting(r);
  CHECK(r.packets.dropped > 0);
  REQUIRE(r.drops.size() == 1);
  CHECK(r.drops[0].reason == DropReason::kHostDown);
  CHECK(r.drops[0].device == "gw1");
  CHECK(drops_with(r, DropReason::kNoRoute) == 0);

  // Equal-cost routes: before the failure both gateways carry traffic.
  CHECK(egress_between(o, up1, 0, down) > 0);
  CHECK(egress_between(o, up2, 0, down) > 0);
  // While gw1 is dead and still has its route, the flows hashed to it (about half) are lost.
  const std::uint64_t window = injected_between(t, down, withdrawn);
  CHECK(r.packets.dropped >= window * 3 / 10);
  CHECK(r.packets.dropped <= window * 7 / 10);
  CHECK(egress_between(o, up2, down, withdrawn) + r.packets.dropped >= window);
  // Once the route is withdrawn everything leaves by gw2, until gw1's route is back.
  const SimTime settle = withdrawn + s.underlay.latency + s.topology.hosts[0].agent.sim_latency;
  CHECK(egress_between(o, up1, down, up) == 0);
  CHECK(egress_between(o, up2, settle, up) == injected_between(t, settle, up));
  // Afterwards both are used again.
  CHECK(egress_between(o, up1, restored, s.duration) > 0);
  CHECK(egress_between(o, up2, restored, s.duration) > 0);

  // Lost packets all belong to flows that started in the window.
  const std::vector<std::uint64_t> via1 = delivered_per_flow(o, t, up1);
  const std::vector<std::uint64_t> via2 = delivered_per_flow(o, t, up2);
  std::uint64_t missing = 0;
  for (std::uint64_t k = 0; k < t.flows; ++k) {
    const std::uint64_t got = via1[k] + via2[k];
    if (got == t.packets_per_flow) continue;
    missing += t.packets_per_flow - got;
    const SimTime slot = t.start + static_cast<SimTime>(k) * flow_slot(t);
    INFO("flow " << k << " starting at " << slot << " lost packets");
    CHECK(slot + flow_slot(t) > down);
    CHECK(slot < withdrawn);
  }
  CHECK(missing == r.packets.dropped);

  REQUIRE(r.failures.size() == 2);
  CHECK(r.failures[0].packets_lost == r.packets.dropped);
  REQUIRE(r.failures[0].recovered_after);
  const SimTime expected = s.nsdb.session_timeout + s.nsdb.latency;
  CHECK(*r.failures[0].recovered_after >= expected - flow_slot(t));
  CHECK(*r.failures[0].recovered_after <= expected + flow_slot(t));
  CHECK(r.failures[1].packets_lost == 0);
  // The withdrawal invalidated hv1's flows through gw1; the return, the flow through gw2.
  CHECK(r.failures[0].flows_invalidated > 0);
  CHECK(r.failures[1].flows_invalidated > 0);
  CHECK(invalidated_by_failures(r) == r.flows.invalidated);
  CHECK(r.all_passed());
}

// ---------------------------------------------------------------------------------------------
// 4. Load balancing

TEST_CASE("Twin: the load balancer spreads connections by weight") {
  const Scenario s = load("lb.yaml");
  const SyntheticTraffic& t = synthetic(s, 0);
  REQUIRE(t.flows >= 3000);
  const RunReport r = run(s).report;
  check_accounting(r);
  CHECK(r.packets.dropped == 0);
  REQUIRE(r.load_balancers.size() == 1);
  const LbRow& lb = r.load_balancers[0];
  CHECK(lb.vip == "web-vip");
  CHECK(lb.connections == t.flows);
  REQUIRE(lb.members.size() == 3);
  const std::uint32_t weights[] = {1, 2, 4};
  std::uint64_t sum = 0;
  double skew = 0;
  for (std::size_t m = 0; m < 3; ++m) {
    const LbMemberRow& row = lb.members[m];
    INFO(row.member << ": " << row.connections);
    CHECK(row.weight == weights[m]);
    CHECK(row.expected == Approx(weights[m] / 7.0));
    CHECK(row.share == Approx(static_cast<double>(row.connections) / t.flows));
    CHECK(row.connections > 0);
    sum += row.connections;
    skew = std::max(skew, std::abs(row.share - row.expected) / row.expected);
  }
  CHECK(sum == lb.connections);
  CHECK(lb.max_skew == Approx(skew));
  CHECK(lb.max_skew < 0.15);
  CHECK(lb.members[0].connections < lb.members[1].connections);
  CHECK(lb.members[1].connections < lb.members[2].connections);
  // Every connection is balanced afresh: a simulation per connection and per reply.
  CHECK(r.flows.simulations == 2 * t.flows);
  CHECK(r.traffic[0].replies_delivered == t.flows);
  CHECK(r.all_passed());
}

TEST_CASE("Twin: a dead pool member loses connections until the health monitor marks it") {
  const Scenario s = load("member-down.yaml");
  const SyntheticTraffic& t = synthetic(s, 0);
  REQUIRE(s.failures.size() == 1);
  const SimTime dead = s.failures[0].at;
  const Pool& pool = s.topology.pools[0];
  REQUIRE(pool.health_monitor);
  const HealthMonitor& hm = *pool.health_monitor;
  // Probes run every interval from time 0; `retries` timed-out probes mark the member down.
  const SimTime first_probe = (dead + hm.interval - 1) / hm.interval * hm.interval;
  const SimTime marked = first_probe + (hm.retries - 1) * hm.interval + hm.timeout;
  const SimTime visible = marked + s.nsdb.latency;
  const PortId web1 = port(s, "web1");
  const PortId web2 = port(s, "web2");  // 10.0.1.11, the one that dies

  const Outcome o = run(s);
  const RunReport& r = o.report;
  check_accounting(r);
  REQUIRE(r.drops.size() == 1);
  CHECK(r.drops[0].reason == DropReason::kNoBackend);
  CHECK(r.drops[0].device == "web-pool");
  // Weights 1:1: about half of what was sent between the death and the mark is lost.
  const std::uint64_t window = injected_between(t, dead, visible);
  CHECK(r.packets.dropped >= window * 4 / 10);
  CHECK(r.packets.dropped <= window * 6 / 10);

  REQUIRE(r.failures.size() == 1);
  const FailureRow& f = r.failures[0];
  CHECK(f.event == "member_down web-pool 10.0.1.11");
  CHECK(f.packets_lost == r.packets.dropped);
  REQUIRE(f.recovered_after);
  CHECK(*f.recovered_after >= visible - dead);
  CHECK(*f.recovered_after <= visible - dead + flow_slot(t));
  CHECK(f.flows_invalidated > 0);
  CHECK(f.flows_invalidated == r.flows.invalidated);

  // The LB used both before; once the mark is visible, nothing new goes to the dead member
  // (a connection balanced just before may still send its last packet one slot later).
  CHECK(egress_between(o, web2, 0, dead) > 0);
  CHECK(egress_between(o, web1, 0, dead) > 0);
  CHECK(egress_between(o, web2, visible + flow_slot(t), s.duration) == 0);
  const SimTime settled = visible + flow_slot(t);
  CHECK(egress_between(o, web1, settled, s.duration) == injected_between(t, settled, s.duration));
  // Connections counted for the dead member are those delivered before it died.
  const std::uint64_t before = egress_between(o, web2, 0, dead);
  CHECK(r.load_balancers[0].members[1].connections <= before);
  CHECK(r.load_balancers[0].members[1].connections >= before / t.packets_per_flow);
}

// ---------------------------------------------------------------------------------------------
// 5. A rule change mid-run

TEST_CASE("Twin: a rule change invalidates the flows that read the chain and fails the run") {
  const Scenario s = load("rule-change.yaml");
  const SyntheticTraffic& t = synthetic(s, 0);
  REQUIRE(s.failures.size() == 1);
  const SimTime change = s.failures[0].at;
  const SimTime visible = change + s.nsdb.latency;

  const RunReport before = run(s, change - kMillisecond).report;
  CHECK(before.flows.invalidated == 0);
  CHECK(before.packets.dropped == 0);

  const Outcome o = run(s);
  const RunReport& r = o.report;
  check_accounting(r);
  // Packets that hit the old flow before the change reached hv1 get through; all later ones
  // are dropped by the edited rule.
  CHECK(r.traffic[0].delivered == injected_between(t, 0, visible));
  CHECK(r.packets.dropped == injected_between(t, visible, s.duration));
  REQUIRE(r.drops.size() == 1);
  CHECK(r.drops[0].reason == DropReason::kRule);
  CHECK(r.drops[0].device == "db-in");
  CHECK(r.drops[0].rule == std::uint32_t{0});
  CHECK(egress_between(o, port(s, "db1"), visible + s.underlay.latency + kMillisecond,
                       s.duration) == 0);

  REQUIRE(r.failures.size() == 1);
  const FailureRow& f = r.failures[0];
  CHECK(f.event == "set db-in[0] drop");
  CHECK(f.flows_invalidated > 0);
  CHECK(f.flows_invalidated == r.flows.invalidated - before.flows.invalidated);
  CHECK(f.packets_lost == r.packets.dropped);
  CHECK_FALSE(f.recovered_after);  // never recovers

  REQUIRE(r.expectations.size() == 3);
  CHECK_FALSE(r.expectations[0].passed);  // min_delivered 0.99
  CHECK(r.expectations[0].detail.find(std::to_string(r.traffic[0].delivered)) != std::string::npos);
  CHECK_FALSE(r.expectations[1].passed);  // no drop at db-in
  CHECK(r.expectations[1].detail.find(std::to_string(r.packets.dropped) + " drops") !=
        std::string::npos);
  CHECK(r.expectations[2].passed);  // no no_route drop
  CHECK_FALSE(r.all_passed());
}

TEST_CASE("Twin: drops of a kind seen before the first failure are not counted as its losses") {
  Scenario s = load("rule-change.yaml");
  const SyntheticTraffic db = synthetic(s, 0);
  const SimTime visible = s.failures[0].at + s.nsdb.latency;
  // A second generator the chain always drops (rule 2: not port 5432, not a return flow).
  SyntheticTraffic ssh = db;
  ssh.packet = "tcp dst=10.0.3.10 dport=22";
  s.traffic.push_back(Traffic{"app-to-db-ssh", ssh, {}});

  const RunReport r = run(s).report;
  check_accounting(r);
  REQUIRE(r.traffic.size() == 2);
  CHECK(r.traffic[1].dropped == total_packets(ssh));
  CHECK(r.traffic[1].delivered == 0);
  REQUIRE(r.drops.size() == 2);
  std::uint64_t rule0 = 0;
  std::uint64_t rule2 = 0;
  for (const DropRow& d : r.drops) {
    CHECK(d.device == "db-in");
    (d.rule == std::uint32_t{0} ? rule0 : rule2) += d.count;
  }
  CHECK(rule2 == total_packets(ssh));
  CHECK(rule0 == injected_between(db, visible, s.duration));
  // Only the new kind of drop (rule 0) is the change's loss.
  CHECK(r.failures[0].packets_lost == rule0);
}

// ---------------------------------------------------------------------------------------------
// 6. Determinism

TEST_CASE("Twin: the same scenario and seed give a byte-identical report") {
  Scenario s = load("lb.yaml");
  const std::string first = run_report_json(run(s).report).dump();
  const std::string second = run_report_json(run(s).report).dump();
  CHECK(first == second);
  // Two runs of their own (not one report rendered twice), in every rendering.
  const Scenario f = load("failover.yaml");
  const RunReport one = run(f).report;
  const RunReport two = run(f).report;
  CHECK(run_report_json(one).dump() == run_report_json(two).dump());
  CHECK(run_report_text(one) == run_report_text(two));
  CHECK(run_report_junit(one) == run_report_junit(two));

  const RunReport a = run(s).report;
  s.seed += 1;
  const RunReport b = run(s).report;
  CHECK(b.seed == a.seed + 1);
  std::vector<std::uint64_t> ca;
  std::vector<std::uint64_t> cb;
  for (const LbMemberRow& m : a.load_balancers[0].members)
    ca.push_back(m.connections);
  for (const LbMemberRow& m : b.load_balancers[0].members)
    cb.push_back(m.connections);
  CHECK(ca != cb);
  // The seed moves the backends picked, not what was sent.
  CHECK(a.load_balancers[0].connections == b.load_balancers[0].connections);
  CHECK(a.traffic[0].sent == b.traffic[0].sent);
  CHECK(b.load_balancers[0].max_skew < 0.15);
}

// ---------------------------------------------------------------------------------------------
// 7. NSDB quorum

TEST_CASE("Twin: a change made without an NSDB quorum takes effect when the quorum returns") {
  const Scenario s = load("nsdb-quorum.yaml");
  const SyntheticTraffic& t = synthetic(s, 0);
  REQUIRE(s.failures.size() == 4);
  REQUIRE(s.failures[2].kind == FailureKind::kSet);
  REQUIRE(s.failures[3].kind == FailureKind::kNsdbUp);
  const SimTime change = s.failures[2].at;
  const SimTime quorum = s.failures[3].at;
  const SimTime visible = quorum + s.nsdb.latency;

  // Up to the quorum's return nothing is dropped and the write is not committed.
  const RunReport mid = run(s, quorum - kMillisecond).report;
  CHECK(mid.packets.dropped == 0);
  CHECK(mid.nsdb_writes == 0);
  CHECK(mid.flows.invalidated == 0);

  const RunReport r = run(s).report;
  check_accounting(r);
  CHECK(r.nsdb_writes == 1);
  CHECK(r.traffic[0].delivered == injected_between(t, 0, visible));
  CHECK(r.packets.dropped == injected_between(t, visible, s.duration));
  CHECK(drops_with(r, DropReason::kRule) == r.packets.dropped);
  // With the quorum the same change drops from change + latency instead.
  CHECK(r.packets.dropped < injected_between(t, change + s.nsdb.latency, s.duration));

  REQUIRE(r.failures.size() == 4);
  CHECK(r.failures[2].packets_lost == 0);
  CHECK(r.failures[2].flows_invalidated > 0);  // credited to the change, not the replica
  CHECK(r.failures[3].flows_invalidated == 0);
  CHECK(r.failures[3].packets_lost == r.packets.dropped);
  CHECK(invalidated_by_failures(r) == r.flows.invalidated);
}

// ---------------------------------------------------------------------------------------------
// 8. Underlay link

TEST_CASE("Twin: frames take the last tunnel zone two hosts share, and none when they share none") {
  Scenario s = load("link-down.yaml");
  s.failures.clear();
  const HostId hv1{0}, hv2{1}, hv3{2};
  const auto with_zones = [&s](std::vector<TunnelZone> zones) {
    Scenario z = s;
    z.topology.tunnel_zones = std::move(zones);
    return run_report_json(run(z).report).dump();
  };
  const TunnelZone vxlan{"vx", TunnelType::kVxlan, {hv1, hv2, hv3}, {}};
  const TunnelZone gre{"gre", TunnelType::kGre, {hv1, hv2, hv3}, {}};
  // The two encapsulations differ in size, so in latency: hosts in both take the later zone.
  CHECK(with_zones({vxlan}) != with_zones({gre}));
  CHECK(with_zones({vxlan, gre}) == with_zones({gre}));
  CHECK(with_zones({gre, vxlan}) == with_zones({vxlan}));
  // hv2 in a zone of its own: nothing reaches it, every packet to it is a tunnel_down drop.
  Scenario apart = s;
  apart.topology.tunnel_zones = {TunnelZone{"a", TunnelType::kVxlan, {hv1, hv3}, {}},
                                 TunnelZone{"b", TunnelType::kVxlan, {hv2}, {}}};
  const RunReport r = run(apart).report;
  REQUIRE(r.drops.size() == 1);
  CHECK(r.drops[0].reason == DropReason::kTunnelDown);
  CHECK(r.drops[0].device == "hv1->hv2");
  CHECK(r.traffic[0].delivered == 0);
  CHECK(r.traffic[1].dropped == 0);
}

TEST_CASE("Twin: a cut underlay link drops only the tunnels between its two hosts") {
  const Scenario s = load("link-down.yaml");
  const SyntheticTraffic& to2 = synthetic(s, 0);
  const SyntheticTraffic& to3 = synthetic(s, 1);
  const SimTime down = s.failures[0].at;
  const SimTime up = s.failures[1].at;
  const Outcome o = run(s);
  const RunReport& r = o.report;
  check_accounting(r);

  REQUIRE(r.drops.size() == 1);
  CHECK(r.drops[0].reason == DropReason::kTunnelDown);
  CHECK(r.drops[0].device == "hv1->hv2");
  REQUIRE(r.traffic.size() == 2);
  CHECK(r.traffic[0].dropped == injected_between(to2, down, up));
  CHECK(r.traffic[0].delivered == total_packets(to2) - r.traffic[0].dropped);
  CHECK(r.traffic[1].dropped == 0);
  CHECK(r.traffic[1].delivered == total_packets(to3));
  CHECK(egress_between(o, port(s, "vm2"), down, up) == 0);
  CHECK(egress_between(o, port(s, "vm2"), up, up + flow_slot(to2)) > 0);
  CHECK(egress_between(o, port(s, "vm3"), down, up) == injected_between(to3, down, up));

  REQUIRE(r.failures.size() == 2);
  CHECK(r.failures[0].event == "link_down hv1 hv2");
  CHECK(r.failures[0].packets_lost == r.traffic[0].dropped);
  REQUIRE(r.failures[0].recovered_after);
  CHECK(*r.failures[0].recovered_after >= up - down - flow_slot(to2));
  CHECK(*r.failures[0].recovered_after <= up - down + flow_slot(to2));
  CHECK(r.failures[1].packets_lost == 0);
  CHECK(r.failures[1].recovered_after == SimTime{0});

  // GRE: 42 bytes of outer headers. Both generators inject at the same instants and share
  // hv1's link, so vm3's packets wait for vm2's to be serialised.
  const Packet& p = o.egress.front().packet;
  const SimTime tx = serialisation(s, p, kGreOverhead);
  CHECK(r.traffic[0].latency.p50 == s.underlay.latency + tx);
  CHECK(r.traffic[1].latency.p50 == s.underlay.latency + 2 * tx);
}

// ---------------------------------------------------------------------------------------------
// 9. Flow table capacity and idle expiry

TEST_CASE("Twin: a small flow table evicts, a short idle time expires") {
  Scenario s = load("flow-table.yaml");
  const SyntheticTraffic& t = synthetic(s, 0);

  SECTION("max_flows") {
    constexpr std::uint32_t kMax = 10;
    for (Host& h : s.topology.hosts)
      h.agent.max_flows = kMax;
    const RunReport r = run(s).report;
    check_accounting(r);
    CHECK(r.packets.delivered == total_packets(t));  // eviction costs simulations, not packets
    CHECK(r.flows.evicted > 0);
    CHECK(r.flows.installed - r.flows.evicted - r.flows.expired <= kMax * s.topology.hosts.size());
    CHECK(r.flows.evicted + kMax >= t.flows);
    for (const FlowHostStats& h : r.flows.per_host) {
      INFO(h.host);
      CHECK(h.peak <= kMax);
    }
    CHECK(r.flows.per_host[0].peak == kMax);
  }

  SECTION("flow_idle") {
    const SimTime idle = 100 * kMillisecond;
    for (Host& h : s.topology.hosts)
      h.agent.flow_idle = idle;
    const SimTime last = injected_at(t, total_packets(t) - 1);
    REQUIRE(last + idle + kSecond <= s.duration);  // a sweep runs after every flow went idle
    const RunReport r = run(s).report;
    check_accounting(r);
    CHECK(r.packets.delivered == total_packets(t));
    CHECK(r.flows.evicted == 0);
    CHECK(r.flows.expired > 0);
    CHECK(r.flows.expired == r.flows.installed);
    // Expiry ran during the run too: the table never held every flow at once.
    CHECK(r.flows.per_host[0].peak < r.flows.per_host[0].installed);
  }
}

}  // namespace hivesim

namespace hivesim {

// A flow simulated on the topology before a change but finished after the change reached the
// agent must not be installed (it was: the stale action then served every later packet).
// MidoNet, too, refuses to install a flow whose tags were invalidated during its simulation.
TEST_CASE("Twin: a change that arrives during a simulation still applies to later packets") {
  Scenario s = load("rule-change.yaml");
  const SyntheticTraffic& t = synthetic(s, 0);
  REQUIRE(s.failures.size() == 1);
  // The first packet (at start) misses; its simulation waits sim_latency plus the NSDB fetch.
  // The rule change becomes visible half-way through it.
  const SimTime sim_done = t.start + s.topology.hosts[0].agent.sim_latency + s.nsdb.latency;
  s.failures[0].at = t.start + s.nsdb.latency / 2 - s.nsdb.latency;
  const SimTime visible = s.failures[0].at + s.nsdb.latency;
  REQUIRE(visible > t.start);
  REQUIRE(visible < sim_done);
  const RunReport r = run(s).report;
  check_accounting(r);
  // Packets injected after the simulation finished must meet the edited rule.
  CHECK(r.packets.dropped >= injected_between(t, sim_done, s.duration));
  CHECK(drops_with(r, DropReason::kRule) == r.packets.dropped);
}

}  // namespace hivesim

namespace hivesim {

// Objects count as loaded only once the NSDB delivered them (they counted as soon as they were
// asked for, so without a quorum only the first flow waited). Without a quorum, misses on
// objects never loaded wait for it.
TEST_CASE("Twin: without a quorum an agent that never loaded the topology forwards nothing") {
  const Scenario s = load("nsdb-cold.yaml");
  const SyntheticTraffic& t = synthetic(s, 0);
  REQUIRE(s.failures.size() == 3);
  const SimTime quorum = s.failures[2].at;
  REQUIRE(t.start < quorum);
  const Outcome o = run(s);
  const RunReport& r = o.report;
  check_accounting(r);
  // Nothing is lost: the packets wait for the fetch, then go.
  CHECK(r.packets.dropped == 0);
  CHECK(r.traffic[0].delivered == total_packets(t));
  CHECK(r.traffic[0].latency.max >= quorum - t.start);
  // ... but none gets through before the objects could be loaded.
  CHECK(egress_between(o, port(s, "db1"), 0, quorum + s.nsdb.latency) == 0);
}

}  // namespace hivesim

namespace hivesim {

// Packets nobody looks at take shortcuts (a hit goes straight onto the wire as a frame that
// carries its journey; its arrival is counted from the frame, or when it is sent if nothing can
// happen to it on the way): the report must be the same as when an egress capture watches
// every packet and they take the general path. Every scenario here and in scenarios/, on a
// lossless and on a lossy underlay, and on a slow one with a long latency: frames of up to 100
// bytes are sent and land within a sweep interval (1 s), longer ones do not, and many are still
// on their way at the end. Each to its end and stopped half-way.
TEST_CASE("Twin: the report is the same whether or not egress is watched") {
  std::vector<std::string> paths;
  for (const char* dir : {HIVESIM_TEST_DATA "/scenarios/twin", HIVESIM_SOURCE_DIR "/scenarios"}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() == ".yaml") paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  REQUIRE(paths.size() > 10);
  for (const std::string& path : paths) {
    for (const double loss : {0.0, 0.02}) {
      // As given; a slow underlay; a slow agent (20 ms a simulation, slower than flows start in
      // some scenarios), so that packets queue behind their flow's simulation and are sent when
      // it completes.
      for (const int variant : {0, 1, 2}) {
        for (const bool halfway : {false, true}) {
          LoadResult loaded = load_scenario(path);
          REQUIRE(loaded.scenario);
          Scenario s = std::move(*loaded.scenario);
          s.underlay.loss = loss;
          if (variant == 1) {
            s.underlay.bandwidth_bps = 80'000;  // 100 bytes in 10 ms
            s.underlay.latency = 990 * kMillisecond;
          } else if (variant == 2) {
            for (Host& h : s.topology.hosts)
              h.agent.sim_latency = 20 * kMillisecond;
          }
          TwinOptions options;
          if (halfway) options.until = s.duration / 2;
          auto quiet = Twin::make(s, options);
          REQUIRE(quiet);
          const std::string unwatched = run_report_json((*quiet)->run()).dump();
          INFO(path << ", underlay loss " << loss
                    << (variant == 1   ? ", slow underlay"
                        : variant == 2 ? ", slow agent"
                                       : "")
                    << (halfway ? ", half-way" : ""));
          CHECK(unwatched == run_report_json(run(s, options.until).report).dump());
        }
      }
    }
  }
}

// A packet that waits for its flow's simulation is parked compactly (twin.cpp, Waiting) and
// unparked when the simulation completes: it must leave as it would have without waiting.
namespace {

/// Packets from a client through the router to srv0 (scenarios/replay.yaml), in three flows:
/// UDP whose packets differ in their IP options only, ICMP errors that differ in their quoted
/// header only, and TCP. Each flow's packets share one flow key, so with a slow agent all but
/// the first of a flow wait for its simulation.
std::vector<Packet> waiting_flows() {
  Packet udp;
  udp.eth_src = Mac::parse("02:00:00:00:01:10").value();
  udp.eth_dst = Mac::parse("02:00:00:00:01:01").value();
  udp.src = Ipv4::parse("10.0.1.10").value();
  udp.dst = Ipv4::parse("10.0.2.10").value();
  udp.proto = ipproto::kUdp;
  udp.sport = 5353;
  udp.dport = 53;
  udp.payload_len = 20;
  std::vector<Packet> packets;
  for (const std::uint8_t options : {0, 4, 0, 8, 0, 4}) {
    Packet p = udp;
    p.ip_options_len = options;
    for (std::uint8_t i = 0; i < options; ++i)
      p.ip_options[i] = static_cast<std::uint8_t>(i + 1 == options ? 0 : 1);  // NOPs, then EOL
    if (options == 8) p.ip_options[0] = 7;  // a record-route option's type, to differ from 4
    packets.push_back(p);
  }
  for (const std::uint16_t quoted_port : {1000, 2000, 3000}) {
    Packet p = udp;
    p.proto = ipproto::kIcmp;
    p.icmp_type = 3;  // destination unreachable, port unreachable
    p.icmp_code = 3;
    p.sport = p.dport = 0;
    p.payload_len = 0;
    p.quoted = QuotedHeader{p.dst, p.src, ipproto::kUdp, 64, 0, 7, 28, 53, quoted_port, 0, 0, 0};
    packets.push_back(p);
  }
  // Then a TCP flow, simulated after the ICMP one: its packets are unparked after those.
  for (int i = 0; i < 2; ++i) {
    Packet p = udp;
    p.proto = ipproto::kTcp;
    p.dport = 5432;
    p.tcp_seq = static_cast<std::uint32_t>(i);
    packets.push_back(p);
  }
  return packets;
}

/// A traffic source of given records, in order.
struct ListSource final : TrafficSource {
  std::vector<SourcePacket> records;
  std::size_t next_index = 0;
  SourcePacket* next() override {
    return next_index < records.size() ? &records[next_index++] : nullptr;
  }
};

struct ListRun {
  RunReport report;
  std::vector<Packet> egress;
};

/// Runs `s` on `packets` entering at `tap`, the i-th at times[i], recording every egress.
ListRun run_list(const Scenario& s, const std::vector<Packet>& packets,
                 const std::vector<SimTime>& times) {
  ListRun out;
  TwinOptions options;
  options.on_egress = [&out](PortId, const Packet& packet, SimTime) {
    out.egress.push_back(packet);
  };
  auto twin = Twin::make(s, std::move(options));
  REQUIRE(twin);
  auto source = std::make_unique<ListSource>();
  for (std::size_t i = 0; i < packets.size(); ++i) {
    SourcePacket r;
    r.at = times[i];
    r.port = port(s, "tap");
    r.packet = packets[i];
    source->records.push_back(std::move(r));
  }
  (*twin)->add_source("list", std::move(source), false);
  out.report = (*twin)->run();
  return out;
}

Scenario replay_scenario_with_sim_latency(SimTime sim_latency) {
  LoadResult loaded = load_scenario(HIVESIM_SOURCE_DIR "/scenarios/replay.yaml");
  REQUIRE(loaded.scenario);
  Scenario s = std::move(*loaded.scenario);
  for (Host& h : s.topology.hosts)
    h.agent.sim_latency = sim_latency;
  return s;
}

}  // namespace

TEST_CASE("Twin: a packet that waits for its flow's simulation leaves as if it had not waited") {
  const std::vector<Packet> packets = waiting_flows();
  std::vector<SimTime> times;
  for (std::size_t i = 0; i < packets.size(); ++i)
    times.push_back(static_cast<SimTime>(i) * 10 * kMillisecond);
  // Done before the next packet: no waiting; and slow, so that every later packet of a flow waits.
  const ListRun fast = run_list(replay_scenario_with_sim_latency(kMicrosecond), packets, times);
  const ListRun slow = run_list(replay_scenario_with_sim_latency(kSecond), packets, times);
  CHECK(fast.report.flows.cache_misses == 3);
  CHECK(slow.report.flows.cache_misses == packets.size());
  REQUIRE(fast.egress.size() == packets.size());
  REQUIRE(slow.egress.size() == packets.size());
  for (std::size_t i = 0; i < packets.size(); ++i) {
    INFO("packet " << i);
    CHECK(slow.egress[i] == fast.egress[i]);
    CHECK(slow.egress[i].ip_options == packets[i].ip_options);
    CHECK(slow.egress[i].quoted == packets[i].quoted);
  }
}

TEST_CASE("Twin: an agent that restarts loses the packets waiting for its simulations") {
  // The flows of the test above through a slow agent (1 s a simulation), which restarts while
  // all of them wait: every one is lost (host_down). The same packets sent again after the
  // restart reuse the freed slots for flights and waiting packets, and all leave, as they do
  // through an agent that never restarted.
  const std::vector<Packet> flows = waiting_flows();
  std::vector<Packet> packets = flows;
  packets.insert(packets.end(), flows.begin(), flows.end());
  std::vector<SimTime> times;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const SimTime second_round = i < flows.size() ? 0 : 500 * kMillisecond;
    times.push_back(second_round + static_cast<SimTime>(i % flows.size()) * 10 * kMillisecond);
  }
  const Scenario steady = replay_scenario_with_sim_latency(kSecond);
  Scenario restarting = steady;
  Failure restart;
  restart.at = 300 * kMillisecond;
  restart.kind = FailureKind::kAgentRestart;
  restart.host = steady.topology.find_host("hv1").value();
  restart.label = "agent_restart hv1";
  restarting.failures.push_back(restart);

  const ListRun lost = run_list(restarting, packets, times);
  check_accounting(lost.report);
  CHECK(drops_with(lost.report, DropReason::kHostDown) == flows.size());
  CHECK(lost.report.packets.delivered == flows.size());
  CHECK(lost.report.packets.injected == packets.size());
  // What the second round left as is what it leaves after an agent that never restarted.
  const ListRun kept =
      run_list(steady, flows, std::vector<SimTime>(times.begin() + flows.size(), times.end()));
  REQUIRE(lost.egress.size() == kept.egress.size());
  for (std::size_t i = 0; i < kept.egress.size(); ++i) {
    INFO("packet " << i);
    CHECK(lost.egress[i] == kept.egress[i]);
  }
}

}  // namespace hivesim
