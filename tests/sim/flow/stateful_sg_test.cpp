// Security groups (Neutron semantics as MidoNet compiles them, /tmp/notes study section 9):
// ingress = towards the VM, egress = from the VM; default deny both ways except ARP; rules by
// protocol, port (range) and remote CIDR; stateful through conntrack return flows; a drop names
// the port chain "sg-ingress:PORT" / "sg-egress:PORT" and its rule index.

#include <catch2/catch.hpp>

#include <string>

#include "fixtures.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

//   vm1 [web, admin], vm2 ── net ── r1 ── net2 ── vm3, vm4
//                                    └── r1-up (exterior uplink, default route)
// sg-ingress:vm1 / sg-egress:vm1 are: 0 return flows accept, 1 jump web, 2 jump admin,
// 3 drop all but ARP.
constexpr std::string_view kSg = R"(
hosts: [{name: hv1, ip: 192.168.0.1}, {name: hv2, ip: 192.168.0.2}, {name: gw1, ip: 192.168.0.10}]
security_groups:
  - name: web
    rules:
      - {direction: ingress, proto: tcp, port: 80, remote: 0.0.0.0/0}
      - {direction: ingress, proto: tcp, port: 8000-8099, remote: 10.0.2.0/24}
      - {direction: ingress, proto: icmp, remote: 10.0.2.0/24}
      - {direction: egress, proto: udp, port: 53}
      - {direction: egress, proto: tcp, remote: 10.0.2.0/24}
  - name: admin
    rules:
      - {direction: ingress, proto: tcp, port: 22, remote: 10.0.2.30/32}
bridges:
  - name: net
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10, security_groups: [web, admin]}
      - {name: vm2, host: hv1, mac: "02:00:00:00:01:0b", ip: 10.0.1.11}
      - {name: net-r1, peer: r1-net}
  - name: net2
    ports:
      - {name: vm3, host: hv2, mac: "02:00:00:00:02:1e", ip: 10.0.2.30}
      - {name: vm4, host: hv2, mac: "02:00:00:00:02:28", ip: 10.0.2.40}
      - {name: net2-r1, peer: r1-net2}
routers:
  - name: r1
    ports:
      - {name: r1-net, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-net2, ip: 10.0.2.1/24, mac: "02:00:00:00:02:01"}
      - {name: r1-up, ip: 180.0.1.2/24, mac: "02:0a:08:06:04:02", host: gw1}
    routes:
      - {dst: 0.0.0.0/0, via: 180.0.1.1, port: r1-up}
    arp_table: {180.0.1.1: "aa:bb:aa:cc:dd:cc"}
)";

void check_delivered(const Net& net, const SimulationResult& r, const std::string& port) {
  CHECK(r.verdict == Verdict::kDelivered);
  CHECK(net.to(r) == Names{port});
}

void check_sg_drop(const Net& net, const SimulationResult& r, const std::string& chain,
                   std::uint32_t rule) {
  CHECK(r.verdict == Verdict::kDropped);
  CHECK(net.to(r).empty());
  CHECK(reason_of(r) == "rule");
  CHECK(device_of(r) == chain);
  CHECK(r.drop->rule == rule);
}

}  // namespace

TEST_CASE("Security group: ingress is denied by default at the port chain's last rule") {
  Net net(kSg);
  SIMULATE(r, net, "vm2", "udp dst=10.0.1.10 dport=5000");
  check_sg_drop(net, r, "sg-ingress:vm1", 3);
  SIMULATE(tcp, net, "vm2", "tcp dst=10.0.1.10 dport=443");
  check_sg_drop(net, tcp, "sg-ingress:vm1", 3);
}

TEST_CASE("Security group: a port without groups is open") {
  Net net(kSg);
  SIMULATE(open, net, "vm3", "udp dst=10.0.1.11 dport=5000");
  check_delivered(net, open, "vm2");
}

TEST_CASE("Security group: an ingress rule allows its protocol and port from any remote") {
  Net net(kSg);
  SIMULATE(r, net, "vm2", "tcp dst=10.0.1.10 dport=80");
  check_delivered(net, r, "vm1");
  SIMULATE(far, net, "r1-up",
           "tcp src=198.51.100.7 dst=10.0.1.10 dport=80 eth_src=aa:bb:aa:cc:dd:cc");
  check_delivered(net, far, "vm1");
  SIMULATE(udp, net, "vm2", "udp dst=10.0.1.10 dport=80");
  check_sg_drop(net, udp, "sg-ingress:vm1", 3);
}

TEST_CASE("Security group: a port range rule applies to its remote CIDR only") {
  Net net(kSg);
  for (int port : {8000, 8050, 8099}) {
    SIMULATE(r, net, "vm3", "tcp dst=10.0.1.10 dport=" + std::to_string(port));
    check_delivered(net, r, "vm1");
  }
  SIMULATE(above, net, "vm3", "tcp dst=10.0.1.10 dport=8100");
  check_sg_drop(net, above, "sg-ingress:vm1", 3);
  SIMULATE(below, net, "vm3", "tcp dst=10.0.1.10 dport=7999");
  check_sg_drop(net, below, "sg-ingress:vm1", 3);
  SIMULATE(other_remote, net, "vm2", "tcp dst=10.0.1.10 dport=8050");
  check_sg_drop(net, other_remote, "sg-ingress:vm1", 3);
}

TEST_CASE("Security group: a protocol rule with a remote CIDR") {
  Net net(kSg);
  SIMULATE(r, net, "vm3", "icmp dst=10.0.1.10");
  check_delivered(net, r, "vm1");
  SIMULATE(other, net, "vm2", "icmp dst=10.0.1.10");
  check_sg_drop(net, other, "sg-ingress:vm1", 3);
}

TEST_CASE("Security group: rules of every group of the port apply") {
  Net net(kSg);
  SIMULATE(r, net, "vm3", "tcp dst=10.0.1.10 dport=22");
  check_delivered(net, r, "vm1");
  SIMULATE(other, net, "vm4", "tcp dst=10.0.1.10 dport=22");
  check_sg_drop(net, other, "sg-ingress:vm1", 3);
}

TEST_CASE("Security group: egress is denied by default and allowed by egress rules") {
  Net net(kSg);
  SIMULATE(dns, net, "vm1", "udp dst=8.8.8.8 dport=53");
  check_delivered(net, dns, "r1-up");
  SIMULATE(not_dns, net, "vm1", "udp dst=8.8.8.8 dport=54");
  check_sg_drop(net, not_dns, "sg-egress:vm1", 3);
  SIMULATE(tcp_in_cidr, net, "vm1", "tcp dst=10.0.2.40 dport=5432");
  check_delivered(net, tcp_in_cidr, "vm4");
  SIMULATE(tcp_out_of_cidr, net, "vm1", "tcp dst=8.8.8.8 dport=443");
  check_sg_drop(net, tcp_out_of_cidr, "sg-egress:vm1", 3);
  // An ingress rule does not open the egress direction.
  SIMULATE(icmp, net, "vm1", "icmp dst=10.0.2.30");
  check_sg_drop(net, icmp, "sg-egress:vm1", 3);
}

TEST_CASE("Security group: the reply of an allowed egress connection comes back in") {
  Net net(kSg);
  SIMULATE(unsolicited, net, "vm3", "tcp dst=10.0.1.10 sport=5432 dport=40000 flags=syn,ack");
  check_sg_drop(net, unsolicited, "sg-ingress:vm1", 3);
  SIMULATE(request, net, "vm1", "tcp dst=10.0.2.30 dport=5432");
  check_delivered(net, request, "vm3");
  SIMULATE(reply, net, "vm3", "tcp dst=10.0.1.10 sport=5432 dport=40000 flags=syn,ack");
  check_delivered(net, reply, "vm1");
  // Another connection between the same hosts is still unsolicited.
  SIMULATE(other, net, "vm3", "tcp dst=10.0.1.10 sport=5432 dport=40001 flags=syn,ack");
  check_sg_drop(net, other, "sg-ingress:vm1", 3);
}

TEST_CASE("Security group: the reply of an allowed ingress connection goes back out") {
  Net net(kSg);
  SIMULATE(unsolicited, net, "vm1", "tcp dst=10.0.1.11 sport=80 dport=40000 flags=syn,ack");
  check_sg_drop(net, unsolicited, "sg-egress:vm1", 3);
  SIMULATE(request, net, "vm2", "tcp dst=10.0.1.10 dport=80");
  check_delivered(net, request, "vm1");
  SIMULATE(reply, net, "vm1", "tcp dst=10.0.1.11 sport=80 dport=40000 flags=syn,ack");
  check_delivered(net, reply, "vm2");
  SIMULATE(other, net, "vm1", "tcp dst=10.0.1.11 sport=80 dport=40002 flags=syn,ack");
  check_sg_drop(net, other, "sg-egress:vm1", 3);
}

TEST_CASE("Security group: the reply of a routed connection through the uplink comes back in") {
  Net net(kSg);
  SIMULATE(request, net, "vm1", "udp dst=8.8.8.8 dport=53 sport=41000");
  check_delivered(net, request, "r1-up");
  SIMULATE(reply, net, "r1-up",
           "udp src=8.8.8.8 dst=10.0.1.10 sport=53 dport=41000 eth_src=aa:bb:aa:cc:dd:cc");
  check_delivered(net, reply, "vm1");
  SIMULATE(stray, net, "r1-up",
           "udp src=8.8.4.4 dst=10.0.1.10 sport=53 dport=41000 eth_src=aa:bb:aa:cc:dd:cc");
  check_sg_drop(net, stray, "sg-ingress:vm1", 3);
}

TEST_CASE("Security group: ARP is always allowed, both ways") {
  Net net(kSg);
  // An ARP for an unknown address is flooded, into vm1 as well.
  SIMULATE(in, net, "vm2", "arp arp_tpa=10.0.1.99");
  CHECK(net.to(in) == Names{"vm1"});
  SIMULATE(out, net, "vm1", "arp arp_tpa=10.0.1.99");
  CHECK(net.to(out) == Names{"vm2"});
  SIMULATE(reply, net, "vm1", "arp arp_op=reply arp_tpa=10.0.1.11");
  check_delivered(net, reply, "vm2");
  SIMULATE(reply_in, net, "vm2", "arp arp_op=reply arp_tpa=10.0.1.10");
  check_delivered(net, reply_in, "vm1");
}

TEST_CASE("Security group: an ICMP error from a router counts as return traffic") {
  Net net(kSg);
  // The egress rule allows udp 53; the TTL expiry at r1 is generated and passes ingress.
  SIMULATE(r, net, "vm1", "udp dst=8.8.8.8 dport=53 ttl=1");
  CHECK(reason_of(r) == "ttl");
  const OutPacket g = net.only_generated(r);
  CHECK(net.name(g.port) == "vm1");
  CHECK(g.packet.icmp_type == 11);
  CHECK(g.packet.src == ip("10.0.1.1"));
}

TEST_CASE("Security group: a drop is attributed to the port chain and traced by name") {
  Net net(kSg);
  SIMULATE(r, net, "vm2", "udp dst=10.0.1.10 dport=5000");
  check_sg_drop(net, r, "sg-ingress:vm1", 3);
  CHECK(net.last_trace().find("sg:web:ingress") != std::string::npos);
  CHECK(net.last_trace().find("sg:admin:ingress") != std::string::npos);
}
