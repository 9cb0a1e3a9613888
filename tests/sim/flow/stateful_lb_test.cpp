// L4 load balancer (MidoNet's v1 VIP/pool, /tmp/notes study section 8): TCP-only VIPs on a
// router, weighted random choice among admin-up weight>0 members, source-IP persistence, an
// existing connection keeping its member, no_backend drops, replies restored to the VIP.

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "fixtures.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

//   web1, web2, web3 ── web ── r1 ── r1-up (exterior, clients)
// r1's inbound chain drops everything to 200.0.0.100: TCP to the VIP is balanced before it
// and skips it, anything else to the VIP address meets it.
constexpr std::string_view kLb = R"(
hosts: [{name: hv1, ip: 192.168.0.1}, {name: gw1, ip: 192.168.0.10}]
chains:
  - name: r1-in
    rules:
      - {match: {dst: 200.0.0.100}, action: drop}
bridges:
  - name: web
    ports:
      - {name: web1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10}
      - {name: web2, host: hv1, mac: "02:00:00:00:01:0b", ip: 10.0.1.11}
      - {name: web3, host: hv1, mac: "02:00:00:00:01:0c", ip: 10.0.1.12}
      - {name: web-r1, peer: r1-web}
routers:
  - name: r1
    inbound_chain: r1-in
    ports:
      - {name: r1-web, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-up, ip: 200.0.0.1/24, mac: "02:0a:08:06:04:02", host: gw1}
    routes:
      - {dst: 0.0.0.0/0, via: 200.0.0.254, port: r1-up}
    arp_table: {200.0.0.254: "aa:bb:aa:cc:dd:cc"}
load_balancers:
  - name: lb1
    router: r1
    vips:
      - {name: web-vip, ip: 200.0.0.100, port: 80, proto: tcp, pool: web-pool}
      - {name: sticky-vip, ip: 200.0.0.101, port: 80, proto: tcp, pool: web-pool,
         persistence: source_ip}
      - {name: drain-vip, ip: 200.0.0.102, port: 80, proto: tcp, pool: drain-pool}
      - {name: dead-vip, ip: 200.0.0.103, port: 80, proto: tcp, pool: dead-pool}
    pools:
      - name: web-pool
        members:
          - {ip: 10.0.1.10, port: 8080, weight: 1}
          - {ip: 10.0.1.11, port: 8080, weight: 2}
          - {ip: 10.0.1.12, port: 8080, weight: 4}
      - name: drain-pool
        members:
          - {ip: 10.0.1.10, port: 8081, weight: 1}
          - {ip: 10.0.1.11, port: 8081, weight: 1, admin_up: false}
          - {ip: 10.0.1.12, port: 8081, weight: 0}
      - name: dead-pool
        members:
          - {ip: 10.0.1.10, port: 9090, weight: 1, admin_up: false}
          - {ip: 10.0.1.11, port: 9090, weight: 0}
)";

// A client on the internet behind the uplink's gateway.
std::string client(const std::string& spec) {
  return spec + " src=198.51.100.7 eth_src=aa:bb:aa:cc:dd:cc";
}

std::string to_vip(const std::string& vip, int sport, const std::string& src = "198.51.100.7") {
  return "tcp src=" + src + " dst=" + vip + " dport=80 sport=" + std::to_string(sport) +
         " eth_src=aa:bb:aa:cc:dd:cc";
}

/// The member (port name) a connection went to; REQUIREs delivery to exactly one port.
std::string member_of(const Net& net, const SimulationResult& r) {
  const Names to = net.to(r);
  REQUIRE(to.size() == 1);
  return to.front();
}

/// Simulates on `sim` (a changed topology) with the Net's state, as after a topology change.
SimulationResult send_on(const Simulator& sim, Net& net, const std::string& from,
                         const std::string& spec) {
  return sim.simulate(net.port(from), net.packet(from, spec), net.state());
}

}  // namespace

TEST_CASE("Load balancer: a TCP connection to the VIP is DNATed to a member") {
  Net net(kLb);
  SIMULATE(r, net, "r1-up", to_vip("200.0.0.100", 1000));
  const std::string member = member_of(net, r);
  const Packet& out = net.out_at(r, member);
  CHECK(out.dport == 8080);
  CHECK(out.src == ip("198.51.100.7"));
  CHECK(out.sport == 1000);
  CHECK(out.ttl == 63);
  CHECK(out.eth_src == mac("02:00:00:00:01:01"));
  const std::map<std::string, std::string> ips{
      {"web1", "10.0.1.10"}, {"web2", "10.0.1.11"}, {"web3", "10.0.1.12"}};
  CHECK(out.dst == ip(ips.at(member)));
}

TEST_CASE("Load balancer: UDP to the VIP is not balanced") {
  Net net(kLb);
  SIMULATE(r, net, "r1-up", client("udp dst=200.0.0.100 dport=80"));
  // Not balanced, so the router's inbound chain sees it (TCP to the VIP skips that chain).
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(reason_of(r) == "rule");
  CHECK(device_of(r) == "r1-in");
  CHECK(r.drop->rule == 0U);
  SIMULATE(tcp_other_port, net, "r1-up", client("tcp dst=200.0.0.100 dport=81"));
  CHECK(device_of(tcp_other_port) == "r1-in");
  SIMULATE(tcp, net, "r1-up", to_vip("200.0.0.100", 1000));
  CHECK(tcp.verdict == Verdict::kDelivered);
}

TEST_CASE("Load balancer: weights 1/2/4 over 1,400 connections give shares within 25%") {
  Net net(kLb);
  std::map<std::string, int> count;
  for (int i = 0; i < 1400; ++i) {
    const SimulationResult r = net.send("r1-up", to_vip("200.0.0.100", 1000 + i));
    REQUIRE(r.verdict == Verdict::kDelivered);
    ++count[member_of(net, r)];
  }
  INFO("web1 " << count["web1"] << ", web2 " << count["web2"] << ", web3 " << count["web3"]);
  CHECK(count["web1"] + count["web2"] + count["web3"] == 1400);
  CHECK(count["web1"] >= 150);
  CHECK(count["web1"] <= 250);
  CHECK(count["web2"] >= 300);
  CHECK(count["web2"] <= 500);
  CHECK(count["web3"] >= 600);
  CHECK(count["web3"] <= 1000);
}

TEST_CASE("Load balancer: the same connection keeps its member within a batch") {
  Net net(kLb);
  std::map<int, std::string> first;
  for (int sport = 2000; sport < 2050; ++sport) {
    const SimulationResult r = net.send("r1-up", to_vip("200.0.0.100", sport));
    first[sport] = member_of(net, r);
  }
  for (int sport = 2000; sport < 2050; ++sport) {
    const SimulationResult r = net.send("r1-up", to_vip("200.0.0.100", sport) + " flags=ack");
    INFO("sport " << sport);
    CHECK(member_of(net, r) == first[sport]);
  }
}

TEST_CASE("Load balancer: a sticky VIP keeps a client IP on one member across ports") {
  Net net(kLb);
  std::set<std::string> clients_members;
  for (int c = 1; c <= 20; ++c) {
    const std::string src = "198.51.100." + std::to_string(c);
    std::set<std::string> members;
    for (int sport = 3000; sport < 3010; ++sport) {
      const SimulationResult r = net.send("r1-up", to_vip("200.0.0.101", sport, src));
      members.insert(member_of(net, r));
    }
    INFO("client " << src);
    CHECK(members.size() == 1);
    clients_members.insert(*members.begin());
  }
  // Different clients still spread over the pool.
  CHECK(clients_members.size() > 1);
}

TEST_CASE("Load balancer: a non-sticky VIP spreads one client's connections") {
  Net net(kLb);
  std::set<std::string> members;
  for (int sport = 4000; sport < 4040; ++sport) {
    members.insert(member_of(net, net.send("r1-up", to_vip("200.0.0.100", sport))));
  }
  CHECK(members.size() == 3);
}

TEST_CASE("Load balancer: admin-down and weight-0 members get no new connections") {
  Net net(kLb);
  for (int sport = 5000; sport < 5200; ++sport) {
    const SimulationResult r = net.send("r1-up", to_vip("200.0.0.102", sport));
    REQUIRE(member_of(net, r) == "web1");
    CHECK(net.out_at(r, "web1").dport == 8081);
  }
}

TEST_CASE("Load balancer: a pool with no usable member drops no_backend at the VIP") {
  Net net(kLb);
  SIMULATE(r, net, "r1-up", to_vip("200.0.0.103", 6000));
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(reason_of(r) == "no_backend");
  CHECK(device_of(r) == "dead-vip");
  CHECK_FALSE(r.drop->rule);
  CHECK(net.generated(r).empty());
}

TEST_CASE("Load balancer: a member's reply is restored to the VIP's address and port") {
  Net net(kLb);
  SIMULATE(r, net, "r1-up", to_vip("200.0.0.100", 1234));
  const std::string member = member_of(net, r);
  const Packet& in = net.out_at(r, member);
  SIMULATE(reply, net, member,
           "tcp dst=198.51.100.7 sport=8080 dport=1234 flags=syn,ack src=" + in.dst.str());
  REQUIRE(net.to(reply) == Names{"r1-up"});
  CHECK(format_packet(net.out_at(reply, "r1-up")) ==
        "tcp eth_src=02:0a:08:06:04:02 eth_dst=aa:bb:aa:cc:dd:cc src=200.0.0.100 "
        "dst=198.51.100.7 ttl=63 tos=0 sport=80 dport=1234 flags=syn,ack len=0");
}

TEST_CASE("Load balancer: a sticky VIP's reply is restored to the VIP too") {
  Net net(kLb);
  SIMULATE(r, net, "r1-up", to_vip("200.0.0.101", 4321));
  const std::string member = member_of(net, r);
  const Packet& in = net.out_at(r, member);
  SIMULATE(reply, net, member,
           "tcp dst=198.51.100.7 sport=8080 dport=4321 flags=syn,ack src=" + in.dst.str());
  REQUIRE(net.to(reply) == Names{"r1-up"});
  const Packet& out = net.out_at(reply, "r1-up");
  CHECK(out.src == ip("200.0.0.101"));
  CHECK(out.sport == 80);
  CHECK(out.dport == 4321);
}

TEST_CASE("Load balancer: a member going admin-down keeps non-sticky connections only") {
  Net net(kLb);
  // Find a non-sticky and a sticky connection on web3, then take web3's member down.
  int plain_port = -1;
  for (int sport = 7000; sport < 7100 && plain_port < 0; ++sport) {
    if (member_of(net, net.send("r1-up", to_vip("200.0.0.100", sport))) == "web3") {
      plain_port = sport;
    }
  }
  std::string sticky_client;
  for (int c = 1; c <= 50 && sticky_client.empty(); ++c) {
    const std::string src = "198.51.100." + std::to_string(c);
    if (member_of(net, net.send("r1-up", to_vip("200.0.0.101", 7000, src))) == "web3") {
      sticky_client = src;
    }
  }
  REQUIRE(plain_port >= 0);
  REQUIRE_FALSE(sticky_client.empty());

  Topology changed = net.topo();
  changed.pools[0].members[2].admin_up = false;  // web-pool's 10.0.1.12
  const Simulator after(changed);

  // The established non-sticky connection drains on its (admin-disabled) member.
  const SimulationResult kept = send_on(after, net, "r1-up", to_vip("200.0.0.100", plain_port));
  CHECK(net.to(kept) == Names{"web3"});
  // A sticky client moves to an active member.
  const SimulationResult moved =
      send_on(after, net, "r1-up", to_vip("200.0.0.101", 7000, sticky_client));
  REQUIRE(moved.verdict == Verdict::kDelivered);
  CHECK(net.to(moved) != Names{"web3"});
  // New connections never go to it.
  for (int sport = 8000; sport < 8200; ++sport) {
    const SimulationResult r = send_on(after, net, "r1-up", to_vip("200.0.0.100", sport));
    REQUIRE(r.verdict == Verdict::kDelivered);
    CHECK(net.to(r) != Names{"web3"});
  }
}

TEST_CASE("Load balancer: the choice of members is deterministic under the seed") {
  Net net(kLb);
  auto run = [&net](std::uint64_t seed) {
    SimState state(seed);
    std::string members;
    for (int sport = 100; sport < 140; ++sport) {
      const SimulationResult r = net.sim().simulate(
          net.port("r1-up"), net.packet("r1-up", to_vip("200.0.0.100", sport)), state);
      REQUIRE(r.verdict == Verdict::kDelivered);
      members += net.name(r.out.front().port) + ",";
    }
    return members;
  };
  const std::string a = run(5);
  CHECK(a == run(5));
  CHECK(a != run(6));
}
