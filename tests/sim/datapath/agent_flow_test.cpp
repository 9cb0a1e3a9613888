// The datapath as an agent drives it: simulate a first packet, turn the result into a wildcarded
// flow, and check that later packets hitting the flow get what a simulation would give them.

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sim/datapath/flow_table.hpp"
#include "tests/sim/flow/fixtures.hpp"
#include "tests/sim/packet/packet_gen.hpp"

namespace hivesim {
namespace {

constexpr const char* kTwoTier = R"(
name: datapath-l3
hosts:
  - {name: hv1, ip: 192.168.0.1}
  - {name: hv2, ip: 192.168.0.2}
chains:
  - name: app-in
    rules:
      - {match: {proto: tcp, dport: 22}, action: accept}
      - {match: {proto: tcp, dport: 5432, src: 10.0.1.0/24}, action: accept}
      - {action: drop}
bridges:
  - name: web
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10}
      - {name: vm2, host: hv2, mac: "02:00:00:00:01:0b", ip: 10.0.1.11}
      - {name: web-r1, peer: r1-web}
  - name: app
    ports:
      - {name: vm3, host: hv2, mac: "02:00:00:00:02:1e", ip: 10.0.2.30, outbound_chain: app-in}
      - {name: app-r1, peer: r1-app}
routers:
  - name: r1
    ports:
      - {name: r1-web, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-app, ip: 10.0.2.1/24, mac: "02:00:00:00:02:01"}
)";

/// What the flow does to `in`: the packets leaving, in output order.
std::vector<OutPacket> run_actions(const FlowActions& a, const Packet& in) {
  std::vector<OutPacket> out;
  for (const FlowOutput& o : a.outputs) {
    Packet p = in;
    apply(o.rewrite, p);
    out.push_back(OutPacket{o.port, p, false});
  }
  return out;
}

std::vector<OutPacket> originals(const SimulationResult& r) {
  std::vector<OutPacket> out;
  for (const OutPacket& o : r.out) {
    if (!o.generated) out.push_back(o);
  }
  return out;
}

bool same_outputs(const std::vector<OutPacket>& a, const std::vector<OutPacket>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].port != b[i].port || !(a[i].packet == b[i].packet)) return false;
  }
  return true;
}

TEST_CASE("Datapath: a routed first packet becomes a MAC and TTL rewrite flow") {
  test::Net net(kTwoTier);
  const PortId in = net.port("vm1");
  const Packet first = net.packet("vm1", "tcp dst=10.0.2.30 dport=5432");
  SIMULATE(r, net, "vm1", "tcp dst=10.0.2.30 dport=5432");
  REQUIRE(r.verdict == Verdict::kDelivered);
  const auto actions = flow_actions_for(first, r);
  REQUIRE(actions);
  REQUIRE(actions->outputs.size() == 1);
  CHECK(actions->outputs[0].port == net.port("vm3"));
  CHECK(to_string(actions->outputs[0].rewrite) ==
        "set(eth_src=02:00:00:00:02:01,eth_dst=02:00:00:00:02:1e,nw_ttl=63)");

  FlowTable table({});
  table.install(flow_key(first, in), r.mask, r.tags, *actions, 0);
  const FlowActions* hit = table.lookup(flow_key(first, in), 1);
  REQUIRE(hit != nullptr);
  CHECK(*hit == *actions);

  // A change to any object the simulation read takes the flow away.
  REQUIRE_FALSE(r.tags.empty());
  CHECK(table.invalidate(r.tags.back()) == 1);
  CHECK(table.lookup(flow_key(first, in), 2) == nullptr);
}

/// The megaflow promise: a packet that agrees with a flow on its mask gets, from the flow, what
/// a simulation would give it.
TEST_CASE("Datapath: later packets that hit a flow get what a simulation would give them") {
  test::Net net(kTwoTier);
  const PortId in = net.port("vm1");
  const char* const specs[] = {
      "tcp dst=10.0.2.30 dport=5432",  // routed, accepted
      "tcp dst=10.0.2.30 dport=80",    // routed, dropped by app-in
      "udp dst=10.0.1.11 dport=53",    // bridged
  };
  for (const char* spec : specs) {
    INFO("first packet: " << spec);
    const Packet first = net.packet("vm1", spec);
    const SimulationResult r = net.send("vm1", first, spec);
    const auto actions = flow_actions_for(first, r);
    REQUIRE(actions);
    FlowTable table({});
    table.install(flow_key(first, in), r.mask, r.tags, *actions, 0);

    test::PacketGen gen(7);
    int hits = 0;
    for (int i = 0; i < 200; ++i) {
      // Vary fields, some inside the mask (a miss), some outside (a hit).
      Packet p = first;
      if (gen.coin()) p.sport = static_cast<std::uint16_t>(gen.uniform(1024, 1030));
      if (gen.coin()) p.dport = static_cast<std::uint16_t>(gen.uniform(5430, 5433));
      if (gen.coin()) p.ttl = static_cast<std::uint8_t>(gen.uniform(2, 64));
      if (gen.coin()) p.tos = static_cast<std::uint8_t>(gen.uniform(0, 1) * 4);
      if (gen.coin()) p.tcp_seq = gen.uniform(0, 1000);
      if (gen.coin()) p.payload_len = gen.uniform(0, 100);
      const FlowKey key = flow_key(p, in);
      const bool agrees = masked(key, r.mask) == masked(flow_key(first, in), r.mask);
      const FlowActions* hit = table.lookup(key, 1);
      REQUIRE((hit != nullptr) == agrees);
      if (hit == nullptr) continue;
      ++hits;
      const SimulationResult again = net.send("vm1", p);
      INFO("trace:\n" << net.last_trace());
      REQUIRE(again.verdict == hit->verdict);
      CHECK(same_outputs(run_actions(*hit, p), originals(again)));
    }
    CHECK(hits > 0);
  }
}

}  // namespace
}  // namespace hivesim

namespace hivesim {

TEST_CASE("Datapath: results that made packets of their own are never installed") {
  test::Net net(kTwoTier);
  // A ping to the router is answered (consumed); a TTL-expired packet gets an ICMP error.
  for (const char* spec : {"icmp dst=10.0.1.1", "tcp dst=10.0.2.30 dport=5432 ttl=1"}) {
    INFO(spec);
    const Packet p = net.packet("vm1", spec);
    const SimulationResult r = net.send("vm1", p, spec);
    REQUIRE(
        std::any_of(r.out.begin(), r.out.end(), [](const OutPacket& o) { return o.generated; }));
    CHECK_FALSE(flow_actions_for(p, r).has_value());
  }
  // A drop is a flow (with no outputs), as MidoNet installs drop flows.
  const Packet dropped = net.packet("vm1", "tcp dst=10.0.2.30 dport=80");
  const auto drop = flow_actions_for(dropped, net.send("vm1", dropped, "dport 80"));
  REQUIRE(drop);
  CHECK(drop->verdict == Verdict::kDropped);
  CHECK(drop->outputs.empty());
}

}  // namespace hivesim
