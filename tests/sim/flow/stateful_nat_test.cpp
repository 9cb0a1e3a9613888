// NAT (MidoNet semantics, /tmp/notes study section 7; SPEC section 4): static and dynamic
// SNAT/DNAT with rev_snat/rev_dnat, floating IPs in both directions, SNAT over address and port
// ranges, DNAT and SNAT on one router, ICMP errors and echo through NAT, determinism under the
// seed. State carries over between simulate calls on one Net, as in a `trace --batch`.

#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fixtures.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

//   vm1 (FIP 200.0.0.10), vm2, vm3 ── net ──┐
//   vm4 ───────────────────────────── net2 ─┼─ r1 ── r2 ── r2-up (exterior, internet)
//   ext1 (200.0.0.5) ───────────────── ext ─┘
// r1 SNATs net to 200.0.1.10-200.0.1.11:5000-5001 and net2 to 200.0.1.20:1024-65535 towards
// r2, and DNATs 200.0.0.80:80 to vm3:8080, SNATing that traffic to 10.0.1.1 (full NAT).
constexpr std::string_view kNat = R"(
hosts:
  - {name: hv1, ip: 192.168.0.1}
  - {name: hv2, ip: 192.168.0.2}
  - {name: gw1, ip: 192.168.0.10}
chains:
  - name: r1-pre
    rules:
      - {match: {dst: 200.0.1.0/24}, action: rev_snat}
      - {match: {dst: 200.0.1.0/24}, action: drop}
      - {match: {proto: tcp, dst: 200.0.0.80, dport: 80}, action: {dnat: {to: 10.0.1.12, ports: 8080}}}
      - {match: {proto: tcp, dst: 10.0.1.1}, action: rev_snat, then: continue}
      - {match: {proto: tcp, src: 10.0.1.12, sport: 8080}, action: rev_dnat}
  - name: r1-post
    rules:
      - {match: {dst: 10.0.1.12, dport: 8080, src: "!10.0.0.0/8"}, action: {snat: {to: 10.0.1.1, ports: 20000-20999}}}
      - {match: {src: 10.0.1.0/24, out_port: r1-r2}, action: {snat: {to: 200.0.1.10-200.0.1.11, ports: 5000-5001}}}
      - {match: {src: 10.0.2.0/24, out_port: r1-r2}, action: {snat: {to: 200.0.1.20, ports: 1024-65535}}}
bridges:
  - name: net
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10}
      - {name: vm2, host: hv1, mac: "02:00:00:00:01:0b", ip: 10.0.1.11}
      - {name: vm3, host: hv2, mac: "02:00:00:00:01:0c", ip: 10.0.1.12}
      - {name: net-r1, peer: r1-net}
  - name: net2
    ports:
      - {name: vm4, host: hv2, mac: "02:00:00:00:02:14", ip: 10.0.2.20}
      - {name: net2-r1, peer: r1-net2}
  - name: ext
    ports:
      - {name: ext1, host: gw1, mac: "02:00:00:00:c8:05", ip: 200.0.0.5}
      - {name: ext-r1, peer: r1-ext}
routers:
  - name: r1
    inbound_chain: r1-pre
    outbound_chain: r1-post
    ports:
      - {name: r1-net, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-net2, ip: 10.0.2.1/24, mac: "02:00:00:00:02:01"}
      - {name: r1-ext, ip: 200.0.0.1/24, mac: "02:00:00:00:c8:01"}
      - {name: r1-r2, ip: 172.16.0.1/30, mac: "02:00:00:00:ac:01", peer: r2-r1}
    routes:
      - {dst: 0.0.0.0/0, via: 172.16.0.2, port: r1-r2}
  - name: r2
    ports:
      - {name: r2-r1, ip: 172.16.0.2/30, mac: "02:00:00:00:ac:02"}
      - {name: r2-up, ip: 180.0.1.2/24, mac: "02:0a:08:06:04:02", host: gw1}
    routes:
      - {dst: 0.0.0.0/0, via: 180.0.1.1, port: r2-up}
      - {dst: 200.0.0.0/16, via: 172.16.0.1, port: r2-r1}
    arp_table: {180.0.1.1: "aa:bb:aa:cc:dd:cc"}
floating_ips:
  - {ip: 200.0.0.10, port: vm1, router: r1}
)";

// What the internet-side gateway (180.0.1.1) puts on the wire towards r2-up.
constexpr std::string_view kFromInternet = " eth_src=aa:bb:aa:cc:dd:cc eth_dst=02:0a:08:06:04:02";

std::string from_internet(std::string spec) {
  return spec + std::string(kFromInternet);
}

NatEndpoint source_of(const Packet& p) {
  return NatEndpoint{p.src, p.sport};
}

std::string str(NatEndpoint e) {
  return e.ip.str() + ":" + std::to_string(e.port);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Floating IP

TEST_CASE("NAT: a floating IP is DNATed to the fixed IP on the way in") {
  Net net(kNat);
  SIMULATE(r, net, "r2-up",
           from_internet("tcp src=198.51.100.7 dst=200.0.0.10 sport=5555 dport=22"));
  REQUIRE(net.to(r) == Names{"vm1"});
  CHECK(format_packet(net.out_at(r, "vm1")) ==
        "tcp eth_src=02:00:00:00:01:01 eth_dst=02:00:00:00:01:0a src=198.51.100.7 "
        "dst=10.0.1.10 ttl=62 tos=0 sport=5555 dport=22 flags=syn len=0");
}

TEST_CASE("NAT: a floating IP's VM leaves with the floating IP as source") {
  Net net(kNat);
  SIMULATE(r, net, "vm1", "tcp dst=198.51.100.7 sport=22 dport=5555 flags=syn,ack");
  REQUIRE(net.to(r) == Names{"r2-up"});
  CHECK(format_packet(net.out_at(r, "r2-up")) ==
        "tcp eth_src=02:0a:08:06:04:02 eth_dst=aa:bb:aa:cc:dd:cc src=200.0.0.10 "
        "dst=198.51.100.7 ttl=62 tos=0 sport=22 dport=5555 flags=syn,ack len=0");
}

TEST_CASE("NAT: a floating IP takes precedence over the router's dynamic SNAT") {
  Net net(kNat);
  // r1-post rule 1 would SNAT 10.0.1.0/24 into 200.0.1.x; the FIP's static SNAT comes first.
  SIMULATE(r, net, "vm1", "udp dst=9.9.9.9 dport=53");
  REQUIRE(net.to(r) == Names{"r2-up"});
  CHECK(net.out_at(r, "r2-up").src == ip("200.0.0.10"));
  CHECK(net.out_at(r, "r2-up").sport == 40000);
}

TEST_CASE("NAT: an echo request to a floating IP reaches the VM, not the router") {
  Net net(kNat);
  SIMULATE(r, net, "r2-up", from_internet("icmp src=198.51.100.7 dst=200.0.0.10 icmp_id=9"));
  CHECK(r.verdict == Verdict::kDelivered);
  REQUIRE(net.to(r) == Names{"vm1"});
  CHECK(net.generated(r).empty());
  CHECK(format_packet(net.out_at(r, "vm1")) ==
        "icmp eth_src=02:00:00:00:01:01 eth_dst=02:00:00:00:01:0a src=198.51.100.7 "
        "dst=10.0.1.10 ttl=62 tos=0 icmp_type=8 icmp_code=0 icmp_id=9 len=0");
}

TEST_CASE("NAT: east-west traffic of a floating-IP VM keeps its fixed address") {
  Net net(kNat);
  SIMULATE(r, net, "vm1", "tcp dst=10.0.2.20 dport=80");
  REQUIRE(net.to(r) == Names{"vm4"});
  CHECK(net.out_at(r, "vm4").src == ip("10.0.1.10"));
  CHECK(net.out_at(r, "vm4").sport == 40000);
}

TEST_CASE("NAT: the floating IP's network answers ARP for it with the router port's MAC") {
  Net net(kNat);
  SIMULATE(r, net, "ext1", "arp arp_tpa=200.0.0.10");
  CHECK(r.verdict == Verdict::kConsumed);
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "ext1");
  CHECK(format_packet(g.packet) ==
        "arp eth_src=02:00:00:00:c8:01 eth_dst=02:00:00:00:c8:05 arp_op=reply "
        "arp_spa=200.0.0.10 arp_tpa=200.0.0.5");
  CHECK(g.packet.arp_sha == mac("02:00:00:00:c8:01"));
  CHECK(g.packet.arp_tha == mac("02:00:00:00:c8:05"));
}

TEST_CASE("NAT: a host on the floating IP's own network reaches the VM by it") {
  Net net(kNat);
  SIMULATE(r, net, "ext1", "tcp dst=200.0.0.10 dport=22");
  REQUIRE(net.to(r) == Names{"vm1"});
  CHECK(format_packet(net.out_at(r, "vm1")) ==
        "tcp eth_src=02:00:00:00:01:01 eth_dst=02:00:00:00:01:0a src=200.0.0.5 dst=10.0.1.10 "
        "ttl=63 tos=0 sport=40000 dport=22 flags=syn len=0");
}

// MidoNet (FloatingIpTranslator: FLOAT_SNAT_EXACT, out-port == the port facing the FIP's
// network) SNATs the VM's traffic leaving by that port, even to a host on that network.
TEST_CASE("NAT: the reply to a host on the floating IP's network leaves from the floating IP") {
  Net net(kNat);
  SIMULATE(r, net, "vm1", "tcp dst=200.0.0.5 sport=22 dport=40000 flags=syn,ack");
  REQUIRE(net.to(r) == Names{"ext1"});
  CHECK(format_packet(net.out_at(r, "ext1")) ==
        "tcp eth_src=02:00:00:00:c8:01 eth_dst=02:00:00:00:c8:05 src=200.0.0.10 dst=200.0.0.5 "
        "ttl=63 tos=0 sport=22 dport=40000 flags=syn,ack len=0");
}

// ---------------------------------------------------------------------------------------------
// Dynamic SNAT over an address and port range

TEST_CASE("NAT: several VMs SNATed to a range get distinct endpoints and their own replies") {
  Net net(kNat);
  struct Flow {
    std::string vm;
    std::uint16_t sport;
    Ipv4 vm_ip;
    NatEndpoint ep;
  };
  std::vector<Flow> flows{{"vm2", 40000, ip("10.0.1.11"), {}},
                          {"vm3", 40000, ip("10.0.1.12"), {}},
                          {"vm2", 40001, ip("10.0.1.11"), {}},
                          {"vm3", 40001, ip("10.0.1.12"), {}}};
  std::set<std::pair<std::uint32_t, std::uint16_t>> used;
  for (Flow& f : flows) {
    SIMULATE(r, net, f.vm, "udp dst=9.9.9.9 dport=53 sport=" + std::to_string(f.sport));
    REQUIRE(net.to(r) == Names{"r2-up"});
    f.ep = source_of(net.out_at(r, "r2-up"));
    INFO(f.vm << ":" << f.sport << " -> " << str(f.ep));
    CHECK((f.ep.ip == ip("200.0.1.10") || f.ep.ip == ip("200.0.1.11")));
    CHECK((f.ep.port == 5000 || f.ep.port == 5001));
    CHECK(used.emplace(f.ep.ip.bits, f.ep.port).second);
  }
  // Addresses are filled in ascending order: the first two flows share 200.0.1.10.
  CHECK(flows[0].ep.ip == ip("200.0.1.10"));
  CHECK(flows[1].ep.ip == ip("200.0.1.10"));
  CHECK(flows[2].ep.ip == ip("200.0.1.11"));
  CHECK(flows[3].ep.ip == ip("200.0.1.11"));

  // Replies, in another order, each reach the VM that opened the flow, un-SNATed.
  for (const Flow& f : {flows[3], flows[0], flows[2], flows[1]}) {
    SIMULATE(r, net, "r2-up",
             from_internet("udp src=9.9.9.9 sport=53 dst=" + f.ep.ip.str() +
                           " dport=" + std::to_string(f.ep.port)));
    REQUIRE(net.to(r) == Names{f.vm});
    const Packet& out = net.out_at(r, f.vm);
    CHECK(out.dst == f.vm_ip);
    CHECK(out.dport == f.sport);
    CHECK(out.src == ip("9.9.9.9"));
    CHECK(out.sport == 53);
  }
}

TEST_CASE("NAT: repeat packets of a connection reuse their SNAT mapping") {
  Net net(kNat);
  SIMULATE(first, net, "vm4", "tcp dst=9.9.9.9 dport=443 sport=41000");
  REQUIRE(net.to(first) == Names{"r2-up"});
  const NatEndpoint ep = source_of(net.out_at(first, "r2-up"));
  CHECK(ep.ip == ip("200.0.1.20"));
  CHECK(ep.port >= 1024);
  for (const char* flags : {"ack", "ack", "fin"}) {
    SIMULATE(r, net, "vm4", std::string("tcp dst=9.9.9.9 dport=443 sport=41000 flags=") + flags);
    REQUIRE(net.to(r) == Names{"r2-up"});
    CHECK(str(source_of(net.out_at(r, "r2-up"))) == str(ep));
  }
}

TEST_CASE("NAT: SNAT never gives one endpoint to two live flows towards the same remote") {
  Net net(kNat);
  std::set<std::pair<std::uint32_t, std::uint16_t>> used;
  for (int i = 0; i < 200; ++i) {
    SIMULATE(r, net, "vm4", "udp dst=9.9.9.9 dport=53 sport=" + std::to_string(30000 + i));
    REQUIRE(net.to(r) == Names{"r2-up"});
    const Packet& out = net.out_at(r, "r2-up");
    CHECK(out.src == ip("200.0.1.20"));
    CHECK(used.emplace(out.src.bits, out.sport).second);
  }
}

TEST_CASE("NAT: a range with every endpoint taken towards a remote leaves the rule unapplied") {
  Net net(kNat);
  // 2 addresses x 2 ports towards 9.9.9.9:53; the fifth flow finds no endpoint.
  for (int i = 0; i < 4; ++i) {
    SIMULATE(r, net, "vm2", "udp dst=9.9.9.9 dport=53 sport=" + std::to_string(42000 + i));
    REQUIRE(net.to(r) == Names{"r2-up"});
  }
  SIMULATE(r, net, "vm2", "udp dst=9.9.9.9 dport=53 sport=42004");
  // The same remote on another port is a different destination: endpoints are free again.
  SIMULATE(other, net, "vm2", "udp dst=9.9.9.9 dport=54 sport=42005");
  REQUIRE(net.to(other) == Names{"r2-up"});
  CHECK(net.out_at(other, "r2-up").src == ip("200.0.1.10"));
  // The fifth flow is not translated by rule 1 (a NAT that does not apply does not match):
  // it goes on and falls off the chain, so it leaves untranslated.
  REQUIRE(net.to(r) == Names{"r2-up"});
  CHECK(net.out_at(r, "r2-up").src == ip("10.0.1.11"));
}

TEST_CASE("NAT: the SNAT allocation is deterministic under the seed") {
  Net net(kNat);
  auto run = [&net](std::uint64_t seed) {
    SimState state(seed);
    std::vector<std::string> eps;
    for (int i = 0; i < 8; ++i) {
      const Packet p =
          net.packet("vm4", "tcp dst=9.9.9.9 dport=443 sport=" + std::to_string(i + 1));
      const SimulationResult r = net.sim().simulate(net.port("vm4"), p, state);
      REQUIRE(r.verdict == Verdict::kDelivered);
      eps.push_back(str(source_of(r.out.front().packet)));
    }
    return eps;
  };
  const auto a = run(42);
  CHECK(a == run(42));
  // The port offset is drawn from the seed: another seed gives another allocation.
  CHECK(a != run(43));
}

TEST_CASE("NAT: an unsolicited packet to the SNAT range skips rev_snat and hits the next rule") {
  Net net(kNat);
  SIMULATE(r, net, "r2-up", from_internet("udp src=9.9.9.9 sport=53 dst=200.0.1.10 dport=5000"));
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(reason_of(r) == "rule");
  CHECK(device_of(r) == "r1-pre");
  CHECK(r.drop->rule == 1U);
  CHECK(net.generated(r).empty());
}

// ---------------------------------------------------------------------------------------------
// DNAT and SNAT together

TEST_CASE("NAT: DNAT and SNAT on one router translate both ways, rules see rewritten headers") {
  Net net(kNat);
  const std::string request =
      from_internet("tcp src=198.51.100.7 dst=200.0.0.80 sport=3333 dport=80");
  SIMULATE(r, net, "r2-up", request);
  REQUIRE(net.to(r) == Names{"vm3"});
  const Packet& in = net.out_at(r, "vm3");
  // r1-pre rule 2 DNATs to vm3:8080; r1-post rule 0 matches that new dst and SNATs.
  CHECK(in.dst == ip("10.0.1.12"));
  CHECK(in.dport == 8080);
  CHECK(in.src == ip("10.0.1.1"));
  CHECK(in.sport >= 20000);
  CHECK(in.sport <= 20999);
  CHECK(in.eth_dst == mac("02:00:00:00:01:0c"));
  const std::uint16_t snat_port = in.sport;

  SIMULATE(again, net, "r2-up", request);
  REQUIRE(net.to(again) == Names{"vm3"});
  CHECK(net.out_at(again, "vm3").sport == snat_port);

  // vm3 answers 10.0.1.1: rev_snat (then continue) and rev_dnat restore both ends.
  SIMULATE(reply, net, "vm3",
           "tcp dst=10.0.1.1 sport=8080 dport=" + std::to_string(snat_port) + " flags=syn,ack");
  REQUIRE(net.to(reply) == Names{"r2-up"});
  CHECK(format_packet(net.out_at(reply, "r2-up")) ==
        "tcp eth_src=02:0a:08:06:04:02 eth_dst=aa:bb:aa:cc:dd:cc src=200.0.0.80 "
        "dst=198.51.100.7 ttl=62 tos=0 sport=80 dport=3333 flags=syn,ack len=0");
}

// ---------------------------------------------------------------------------------------------
// ICMP through NAT

TEST_CASE("NAT: a TTL expiry beyond an SNAT comes back with its outer and quoted header restored") {
  Net net(kNat);
  SIMULATE(r, net, "vm2", "udp dst=9.9.9.9 dport=53 sport=41000 ttl=2");
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(reason_of(r) == "ttl");
  CHECK(device_of(r) == "r2");
  CHECK(net.to(r).empty());
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "vm2");
  // r2 sent it from r2-r1 to the SNAT endpoint, quoting the translated packet (ttl 1 at r2);
  // r1's rev_snat restored the outer dst and the quoted src and sport.
  CHECK(format_packet(g.packet) ==
        "icmp eth_src=02:00:00:00:01:01 eth_dst=02:00:00:00:01:0b src=172.16.0.2 dst=10.0.1.11 "
        "ttl=63 tos=0 icmp_type=11 icmp_code=0 inner_proto=udp inner_src=10.0.1.11 "
        "inner_dst=9.9.9.9 inner_sport=41000 inner_dport=53 inner_ttl=1 len=0");
}

TEST_CASE("NAT: an ICMP error from the internet about an SNATed flow reaches the right VM") {
  Net net(kNat);
  SIMULATE(first, net, "vm3", "udp dst=9.9.9.9 dport=53 sport=41234");
  REQUIRE(net.to(first) == Names{"r2-up"});
  const NatEndpoint ep = source_of(net.out_at(first, "r2-up"));
  SIMULATE(r, net, "r2-up",
           from_internet("icmp src=9.9.9.9 dst=" + ep.ip.str() +
                         " icmp_type=3 icmp_code=3 inner_proto=udp inner_src=" + ep.ip.str() +
                         " inner_dst=9.9.9.9 inner_sport=" + std::to_string(ep.port) +
                         " inner_dport=53 inner_ttl=62"));
  REQUIRE(net.to(r) == Names{"vm3"});
  const Packet& out = net.out_at(r, "vm3");
  CHECK(out.dst == ip("10.0.1.12"));
  CHECK(out.src == ip("9.9.9.9"));
  REQUIRE(out.quoted);
  CHECK(out.quoted->src == ip("10.0.1.12"));
  CHECK(out.quoted->sport == 41234);
  CHECK(out.quoted->dst == ip("9.9.9.9"));
  CHECK(out.quoted->dport == 53);
}

TEST_CASE("NAT: an echo through SNAT keeps its id and the reply is un-SNATed") {
  Net net(kNat);
  SIMULATE(r, net, "vm2", "icmp dst=9.9.9.9 icmp_id=77");
  REQUIRE(net.to(r) == Names{"r2-up"});
  CHECK(format_packet(net.out_at(r, "r2-up")) ==
        "icmp eth_src=02:0a:08:06:04:02 eth_dst=aa:bb:aa:cc:dd:cc src=200.0.1.10 dst=9.9.9.9 "
        "ttl=62 tos=0 icmp_type=8 icmp_code=0 icmp_id=77 len=0");
  SIMULATE(reply, net, "r2-up",
           from_internet("icmp src=9.9.9.9 dst=200.0.1.10 icmp_type=0 icmp_id=77"));
  REQUIRE(net.to(reply) == Names{"vm2"});
  CHECK(format_packet(net.out_at(reply, "vm2")) ==
        "icmp eth_src=02:00:00:00:01:01 eth_dst=02:00:00:00:01:0b src=9.9.9.9 dst=10.0.1.11 "
        "ttl=62 tos=0 icmp_type=0 icmp_code=0 icmp_id=77 len=0");
}

TEST_CASE("NAT: a ping of a router through SNAT is answered back to the VM") {
  Net net(kNat);
  SIMULATE(r, net, "vm2", "icmp dst=180.0.1.2 icmp_id=77");
  CHECK(r.verdict == Verdict::kConsumed);
  CHECK(net.to(r).empty());
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "vm2");
  // r2 answered 200.0.1.10 (the SNAT address, id kept); r1 un-SNATed the reply.
  CHECK(format_packet(g.packet) ==
        "icmp eth_src=02:00:00:00:01:01 eth_dst=02:00:00:00:01:0b src=180.0.1.2 dst=10.0.1.11 "
        "ttl=63 tos=0 icmp_type=0 icmp_code=0 icmp_id=77 len=0");
}

TEST_CASE("NAT: a table's random stream is the seeded Mersenne Twister's, made on first draw") {
  // The engine is made lazily (a per-host table never draws); its stream must not change.
  std::mt19937_64 reference(42);
  NatTable table(42);
  std::vector<std::uint32_t> expected, got;
  for (int i = 0; i < 5; ++i) {
    expected.push_back(10 + static_cast<std::uint32_t>(reference() % 91));
    got.push_back(table.draw(10, 100));
  }
  CHECK(got == expected);

  SECTION("a copy goes on from where its original was, independently") {
    NatTable copy = table;
    const std::uint32_t a = table.draw(0, 1000000);
    const std::uint32_t b = copy.draw(0, 1000000);
    CHECK(a == b);
    CHECK(a == static_cast<std::uint32_t>(reference() % 1000001));
  }
  SECTION("a copy made before any draw starts the stream from the seed") {
    NatTable fresh(7);
    NatTable copy = fresh;
    std::mt19937_64 seven(7);
    const std::uint32_t first = static_cast<std::uint32_t>(seven() % 1000001);
    CHECK(copy.draw(0, 1000000) == first);
    CHECK(fresh.draw(0, 1000000) == first);
  }
  SECTION("a rolled-back draw is drawn again") {
    table.checkpoint();
    const std::uint32_t drawn = table.draw(0, 1000000);
    table.rollback();
    CHECK(table.draw(0, 1000000) == drawn);
  }
}
