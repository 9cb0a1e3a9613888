// condition_matches against a naive reference written from the SPEC and the MidoNet study
// (C5.5-C5.7), on many generated (packet, condition, context) triples with a fixed seed; and
// the mask it returns checked the OVS way: changing only fields outside the mask never
// changes the answer.

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "sim/flow/chain.hpp"

using namespace hivesim;
using namespace hivesim::test;

namespace {

constexpr std::string_view kPorts = R"(
hosts: [{name: hv1, ip: 192.168.0.1}]
port_groups:
  - {name: pg, ports: [p0, p2]}
security_groups:
  - name: sg
    rules: [{direction: egress}]
bridges:
  - name: br
    ports:
      - {name: p0, host: hv1}
      - {name: p1, host: hv1, security_groups: [sg]}
      - {name: p2, host: hv1}
      - {name: p3, host: hv1, security_groups: [sg]}
      - {name: p4, host: hv1}
)";
constexpr std::uint32_t kPortCount = 5;

// ---------------------------------------------------------------------------------------------
// The reference: every rule spelled out, no shared code with the core.

bool in_prefix(std::uint32_t addr, std::uint32_t net, int len) {
  if (len == 0) return true;
  const int shift = 32 - len;
  return (addr >> shift) == (net >> shift);
}

bool reference_matches(const Topology& topo, const Condition& c, const Packet& p,
                       const MatchContext& ctx, bool is_return) {
  const bool ipv4 = p.ethertype == 0x0800;
  const bool arp = p.ethertype == 0x0806;

  // 1. The fragment policy, outside `invert`. Unset: HEADER with L4 fields, else ANY.
  FragmentPolicy policy = FragmentPolicy::kAny;
  if (c.frag) {
    policy = *c.frag;
  } else if (c.sport || c.dport) {
    policy = FragmentPolicy::kHeader;
  }
  const FragKind frag = ipv4 ? p.frag : FragKind::kNone;
  bool frag_ok = true;
  if (policy == FragmentPolicy::kHeader)
    frag_ok = frag == FragKind::kNone || frag == FragKind::kFirst;
  if (policy == FragmentPolicy::kNonheader) frag_ok = frag == FragKind::kLater;
  if (policy == FragmentPolicy::kUnfragmented) frag_ok = frag == FragKind::kNone;
  if (!frag_ok) return false;

  // 2. The conjunction of every set field.
  bool all = true;
  auto listed = [](const std::vector<PortId>& list, PortId port) {
    for (PortId q : list) {
      if (q == port) return true;
    }
    return false;
  };
  if (!c.in_ports.empty()) all = all && listed(c.in_ports, ctx.in_port);
  if (!c.out_ports.empty()) all = all && ctx.out_port && listed(c.out_ports, *ctx.out_port);
  if (c.port_group) {
    const std::vector<PortId>& members = c.port_group->kind == PortGroupRef::Kind::kPortGroup
                                             ? topo.port_groups[c.port_group->index].ports
                                             : topo.security_groups[c.port_group->index].ports;
    all = all && ctx.origin && listed(members, *ctx.origin);
  }
  if (c.eth_src) all = all && p.eth_src.bits == c.eth_src->bits;
  if (c.eth_dst) all = all && p.eth_dst.bits == c.eth_dst->bits;
  if (c.vlan) all = all && p.vlan_count > 0 && p.vlans[0] == *c.vlan;
  if (c.ethertype) all = all && p.ethertype == *c.ethertype;
  // Addresses: IPv4 src/dst, or an ARP packet's sender/target; anything else fails the test,
  // so a negated test matches it.
  auto address = [&](const Ipv4Prefix& prefix, bool negated, bool source) {
    bool test = false;
    if (ipv4) test = in_prefix(source ? p.src.bits : p.dst.bits, prefix.addr.bits, prefix.len);
    if (arp)
      test = in_prefix(source ? p.arp_spa.bits : p.arp_tpa.bits, prefix.addr.bits, prefix.len);
    return negated ? !test : test;
  };
  if (c.src) all = all && address(*c.src, c.src_negated, true);
  if (c.dst) all = all && address(*c.dst, c.dst_negated, false);
  if (c.proto) all = all && ipv4 && p.proto == *c.proto;
  if (c.tos) all = all && ipv4 && p.tos == *c.tos;
  // L4: none for non-IP packets and later fragments; ICMP type/code stand for the ports.
  const bool l4 = ipv4 && p.frag != FragKind::kLater;
  const bool icmp = p.proto == 1;
  if (c.sport) {
    const unsigned v = icmp ? p.icmp_type : p.sport;
    all = all && l4 && v >= c.sport->lo && v <= c.sport->hi;
  }
  if (c.dport) {
    const unsigned v = icmp ? p.icmp_code : p.dport;
    all = all && l4 && v >= c.dport->lo && v <= c.dport->hi;
  }
  if (c.forward_flow) all = all && (*c.forward_flow ? !is_return : is_return);
  return c.invert ? !all : all;
}

// ---------------------------------------------------------------------------------------------
// Generators: small pools with the edge values, plus uniform noise.

class Gen {
 public:
  explicit Gen(std::uint64_t seed) : rng_(seed) {}

  std::uint64_t below(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_);
  }
  bool chance(int percent) { return below(100) < static_cast<std::uint64_t>(percent); }
  template <class T, std::size_t N>
  T pick(const std::array<T, N>& a) {
    return a[below(N)];
  }

  Ipv4 address() {
    static constexpr std::array<std::uint32_t, 10> kPool = {
        0x00000000, 0x0a000000, 0x0a000001, 0x0a0000ff, 0x0a000101,
        0x0affffff, 0x0b000000, 0xc0a80101, 0xffffffff, 0x09ffffff};
    if (chance(20)) return Ipv4{static_cast<std::uint32_t>(rng_())};
    return Ipv4{pick(kPool)};
  }
  Ipv4Prefix prefix() {
    static constexpr std::array<std::uint8_t, 10> kLens = {0, 1, 7, 8, 9, 16, 24, 30, 31, 32};
    const std::uint8_t len = chance(20) ? static_cast<std::uint8_t>(below(33)) : pick(kLens);
    return Ipv4Prefix{address(), len};
  }
  std::uint16_t port() {
    static constexpr std::array<std::uint16_t, 13> kPool = {0,  1,   21,   22,   23,    79,   80,
                                                            81, 443, 1023, 1024, 65534, 65535};
    if (chance(15)) return static_cast<std::uint16_t>(below(65536));
    return pick(kPool);
  }
  PortRange range() {
    std::uint16_t lo = port();
    std::uint16_t hi = chance(40) ? lo : port();
    if (lo > hi) std::swap(lo, hi);
    return PortRange{lo, hi};
  }
  std::uint8_t proto() {
    static constexpr std::array<std::uint8_t, 8> kPool = {1, 6, 17, 6, 17, 0, 47, 255};
    return pick(kPool);
  }
  std::uint8_t tos() {
    static constexpr std::array<std::uint8_t, 4> kPool = {0, 4, 0xb8, 255};
    return chance(10) ? static_cast<std::uint8_t>(below(256)) : pick(kPool);
  }
  Mac mac() {
    static constexpr std::array<std::uint64_t, 6> kPool = {0x000000000000, 0x020000000001,
                                                           0x020000000002, 0xffffffffffff,
                                                           0x01005e000001, 0x0200000000ff};
    return Mac{pick(kPool)};
  }
  std::uint16_t ethertype() {
    static constexpr std::array<std::uint16_t, 7> kPool = {0x0800, 0x0800, 0x0800, 0x0806,
                                                           0x0806, 0x86dd, 0x88b5};
    return pick(kPool);
  }
  std::uint16_t vlan_id() {
    static constexpr std::array<std::uint16_t, 4> kPool = {1, 10, 20, 4094};
    return pick(kPool);
  }
  FragKind frag() {
    static constexpr std::array<FragKind, 5> kPool = {
        FragKind::kNone, FragKind::kNone, FragKind::kNone, FragKind::kFirst, FragKind::kLater};
    return pick(kPool);
  }
  PortId any_port() { return PortId{static_cast<std::uint32_t>(below(kPortCount))}; }
  std::vector<PortId> ports() {
    std::vector<PortId> list;
    const std::uint64_t n = 1 + below(3);
    for (std::uint64_t i = 0; i < n; ++i)
      list.push_back(any_port());
    return list;
  }

  void vlans(Packet& p) {
    const std::uint64_t kind = below(6);
    p.vlan_count = kind < 3 ? 0 : (kind < 5 ? 1 : 2);
    p.vlans = {vlan_id(), vlan_id()};
    if (p.vlan_count < 2) p.vlans[1] = 0;
    if (p.vlan_count == 0) p.vlans[0] = 0;
  }
  void l4(Packet& p) {
    p.sport = port();
    p.dport = port();
    static constexpr std::array<std::uint8_t, 6> kTypes = {0, 3, 8, 11, 13, 255};
    static constexpr std::array<std::uint8_t, 6> kCodes = {0, 1, 4, 13, 15, 255};
    p.icmp_type = pick(kTypes);
    p.icmp_code = pick(kCodes);
  }

  Packet packet() {
    Packet p;
    p.eth_src = mac();
    p.eth_dst = mac();
    vlans(p);
    p.ethertype = ethertype();
    // Every header field gets a value, even those of other protocols: they must be ignored.
    p.src = address();
    p.dst = address();
    p.arp_spa = address();
    p.arp_tpa = address();
    p.arp_op = chance(50) ? 1 : 2;
    p.proto = proto();
    p.tos = tos();
    p.frag = frag();
    l4(p);
    if (p.ethertype == 0x0800 && p.frag == FragKind::kLater) {
      p.sport = p.dport = 0;
      p.icmp_type = p.icmp_code = 0;
    }
    return p;
  }

  Condition condition() {
    Condition c;
    const int pct = chance(30) ? 60 : 25;  // some dense, most sparse
    if (chance(pct / 2)) c.in_ports = ports();
    if (chance(pct / 2)) c.out_ports = ports();
    if (chance(pct / 2)) {
      c.port_group = chance(50) ? PortGroupRef{PortGroupRef::Kind::kPortGroup, 0}
                                : PortGroupRef{PortGroupRef::Kind::kSecurityGroup, 0};
    }
    if (chance(pct)) {
      c.src = prefix();
      c.src_negated = chance(40);
    }
    if (chance(pct)) {
      c.dst = prefix();
      c.dst_negated = chance(40);
    }
    if (chance(pct)) c.proto = proto();
    if (chance(pct)) c.sport = range();
    if (chance(pct)) c.dport = range();
    if (chance(pct / 3)) c.eth_src = mac();
    if (chance(pct / 3)) c.eth_dst = mac();
    if (chance(pct / 2)) c.ethertype = ethertype();
    if (chance(pct / 2)) c.vlan = vlan_id();
    if (chance(pct / 3)) c.tos = tos();
    if (chance(pct)) {
      static constexpr std::array<FragmentPolicy, 4> kPolicies = {
          FragmentPolicy::kAny, FragmentPolicy::kHeader, FragmentPolicy::kNonheader,
          FragmentPolicy::kUnfragmented};
      c.frag = pick(kPolicies);
    }
    if (chance(pct / 2)) c.forward_flow = chance(50);
    c.invert = chance(30);
    return c;
  }

  MatchContext context() {
    MatchContext ctx;
    ctx.in_port = any_port();
    if (chance(50)) ctx.out_port = any_port();
    if (chance(85)) ctx.origin = any_port();
    return ctx;
  }

  /// Re-draws every header field (and the in-port) that is not in `mask`.
  void scramble_outside(FieldMask mask, Packet& p, MatchContext& ctx) {
    if (!mask.has(Field::kInPort) && chance(50)) {
      ctx.in_port = any_port();
      ctx.origin = chance(85) ? std::optional<PortId>(any_port()) : std::nullopt;
    }
    if (!mask.has(Field::kEthSrc) && chance(50)) p.eth_src = mac();
    if (!mask.has(Field::kEthDst) && chance(50)) p.eth_dst = mac();
    if (!mask.has(Field::kVlan) && chance(50)) vlans(p);
    if (!mask.has(Field::kEthertype) && chance(50)) p.ethertype = ethertype();
    if (!mask.has(Field::kNwSrc) && chance(50)) p.src = address();
    if (!mask.has(Field::kNwDst) && chance(50)) p.dst = address();
    if (!mask.has(Field::kArpSpa) && chance(50)) p.arp_spa = address();
    if (!mask.has(Field::kArpTpa) && chance(50)) p.arp_tpa = address();
    if (!mask.has(Field::kNwProto) && chance(50)) p.proto = proto();
    if (!mask.has(Field::kNwTos) && chance(50)) p.tos = tos();
    if (!mask.has(Field::kNwFrag) && chance(50)) p.frag = frag();
    if (!mask.has(Field::kTpSrc) && chance(50)) {
      p.sport = port();
      p.icmp_type = static_cast<std::uint8_t>(below(256));
    }
    if (!mask.has(Field::kTpDst) && chance(50)) {
      p.dport = port();
      p.icmp_code = static_cast<std::uint8_t>(below(256));
    }
  }

 private:
  std::mt19937_64 rng_;
};

std::string show(const Topology& topo, const Condition& c, const Packet& p, const MatchContext& ctx,
                 bool is_return) {
  std::ostringstream s;
  s << "condition: " << describe(topo, c) << "\n  packet: ethertype=0x" << std::hex << p.ethertype
    << std::dec << " src=" << p.src.str() << " dst=" << p.dst.str() << " spa=" << p.arp_spa.str()
    << " tpa=" << p.arp_tpa.str() << " proto=" << int{p.proto} << " tos=" << int{p.tos}
    << " frag=" << static_cast<int>(p.frag) << " sport=" << p.sport << " dport=" << p.dport
    << " icmp=" << int{p.icmp_type} << "/" << int{p.icmp_code} << " vlans=" << int{p.vlan_count}
    << ":" << p.vlans[0] << "," << p.vlans[1] << " eth_src=" << p.eth_src.str()
    << " eth_dst=" << p.eth_dst.str() << "\n  ctx: in=" << ctx.in_port.value
    << " out=" << (ctx.out_port ? std::to_string(ctx.out_port->value) : "-")
    << " origin=" << (ctx.origin ? std::to_string(ctx.origin->value) : "-")
    << " return_flow=" << is_return;
  return s.str();
}

}  // namespace

TEST_CASE("Condition: matches like the reference evaluator on 200000 generated cases") {
  const Scenario scenario = load_yaml(kPorts);
  const Topology& topo = scenario.topology;
  REQUIRE(topo.ports.size() == kPortCount);
  REQUIRE(topo.port_groups.size() == 1);
  REQUIRE(topo.security_groups.size() == 1);

  Gen gen(0x5eed'c0de'2024'0001ULL);
  constexpr int kCases = 200000;
  int matched = 0;
  int disagreements = 0;
  int mask_violations = 0;
  int lazy_violations = 0;
  std::string examples;
  for (int i = 0; i < kCases; ++i) {
    const Condition c = gen.condition();
    Packet p = gen.packet();
    MatchContext ctx = gen.context();
    const bool is_return = gen.chance(50);

    FieldMask mask;
    bool asked = false;
    const bool got = condition_matches(topo, c, p, ctx, mask, [&] {
      asked = true;
      return is_return;
    });
    const bool want = reference_matches(topo, c, p, ctx, is_return);
    matched += got ? 1 : 0;
    if (asked && !c.forward_flow) ++lazy_violations;  // conntrack asked only when needed
    if (got != want) {
      if (++disagreements <= 5) {
        examples += "core says " + std::string(got ? "match" : "no match") + ", reference " +
                    (want ? "match" : "no match") + ": " + show(topo, c, p, ctx, is_return) + "\n";
      }
      continue;
    }
    // The megaflow property: what the mask leaves out cannot change the answer.
    const Packet before = p;
    const MatchContext ctx_before = ctx;
    gen.scramble_outside(mask, p, ctx);
    FieldMask mask2;
    const bool again = condition_matches(topo, c, p, ctx, mask2, [&] { return is_return; });
    if (again != got) {
      if (++mask_violations <= 5) {
        examples += "mask too narrow (answer changed from " + std::string(got ? "match" : "no") +
                    "): before " + show(topo, c, before, ctx_before, is_return) + "\n  after " +
                    show(topo, c, p, ctx, is_return) + "\n";
      }
    }
  }
  INFO(examples);
  CHECK(disagreements == 0);
  CHECK(mask_violations == 0);
  CHECK(lazy_violations == 0);
  // The generator must exercise both outcomes substantially.
  CHECK(matched > kCases / 10);
  CHECK(matched < kCases * 9 / 10);
}

TEST_CASE("Condition: hand-picked edge cases of the matching rules") {
  const Scenario scenario = load_yaml(kPorts);
  const Topology& topo = scenario.topology;
  const MatchContext ctx{PortId{0}, std::nullopt, PortId{0}};
  auto matches = [&](const Condition& c, const Packet& p) {
    FieldMask mask;
    return condition_matches(topo, c, p, ctx, mask, [] { return false; });
  };
  Packet tcp;
  tcp.src = ip("10.0.0.1");
  tcp.dst = ip("10.0.1.1");
  tcp.proto = ipproto::kTcp;
  tcp.sport = 40000;
  tcp.dport = 80;

  SECTION("invert does not rescue a packet the fragment policy refuses") {
    Packet later = tcp;
    later.frag = FragKind::kLater;
    later.sport = later.dport = 0;
    Condition c;
    c.frag = FragmentPolicy::kUnfragmented;
    c.invert = true;
    CHECK_FALSE(matches(c, later));
    CHECK_FALSE(matches(c, tcp));  // unfragmented, conjunction true, inverted
  }
  SECTION("L4 conditions default to header fragments and never match a later fragment") {
    Packet later = tcp;
    later.frag = FragKind::kLater;
    later.sport = later.dport = 0;
    Condition c;
    c.dport = PortRange{0, 65535};
    CHECK(matches(c, tcp));
    CHECK_FALSE(matches(c, later));
    c.frag = FragmentPolicy::kAny;
    CHECK_FALSE(matches(c, later));
    c.invert = true;
    CHECK(matches(c, later));
  }
  SECTION("a negated address matches packets without IP, ARP uses sender and target") {
    Packet l2;
    l2.ethertype = 0x88b5;
    Condition neg;
    neg.src = Ipv4Prefix{ip("10.0.0.0"), 8};
    neg.src_negated = true;
    CHECK(matches(neg, l2));
    CHECK_FALSE(matches(neg, tcp));
    Packet arp;
    arp.ethertype = ethertype::kArp;
    arp.arp_spa = ip("10.0.0.5");
    arp.arp_tpa = ip("192.168.0.1");
    CHECK_FALSE(matches(neg, arp));
    Condition dst;
    dst.dst = Ipv4Prefix{ip("192.168.0.0"), 16};
    CHECK(matches(dst, arp));
  }
  SECTION("ICMP type and code stand for the ports") {
    Packet icmp = tcp;
    icmp.proto = ipproto::kIcmp;
    icmp.icmp_type = 8;
    icmp.icmp_code = 0;
    Condition c;
    c.sport = PortRange{8, 8};
    c.dport = PortRange{0, 0};
    CHECK(matches(c, icmp));
    icmp.icmp_type = 0;
    CHECK_FALSE(matches(c, icmp));
  }
  SECTION("out_port never matches where there is no out port, inverted it always does") {
    Condition c;
    c.out_ports = {PortId{1}};
    CHECK_FALSE(matches(c, tcp));
    c.invert = true;
    CHECK(matches(c, tcp));
  }
}
