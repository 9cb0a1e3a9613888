// The port index of long chains (PortIndex) against a linear walk of the same rules, as Open
// vSwitch tests its classifier against a trivial one: same decision on random chains and
// packets, and the indexed walk's mask is sound (a field outside it cannot change the answer).

#include <catch2/catch.hpp>

#include <random>

#include "sim/flow/chain.hpp"

using namespace hivesim;

namespace {

/// A deterministic environment: a fixed conntrack answer, and DNAT/SNAT that rewrite the
/// destination port (so NAT moves a packet to another port's rules mid-chain).
class TestEnv final : public ChainEnv {
 public:
  explicit TestEnv(bool is_return) : is_return_(is_return) {}
  bool is_return_flow() override { return is_return_; }
  bool apply_nat(const Action& a, Packet& p) override {
    if (!p.has_l4() || a.kind != ActionKind::kDnat) return false;
    p.dst = a.nat.ip_lo;
    p.dport = a.nat.port_lo;
    return true;
  }
  void note(std::string) override {}
  bool tracing() const override { return false; }

 private:
  bool is_return_;
};

struct Generator {
  std::mt19937_64 rng{0x1dec5eed};
  int pick(int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); }
  std::uint16_t port() {
    return static_cast<std::uint16_t>(pick(6) == 0 ? 1 + pick(65535) : 20 + pick(12));
  }

  Condition condition() {
    Condition c;
    switch (pick(6)) {
      case 0:
      case 1:
      case 2: {  // a single-port rule, as security groups have (indexable unless inverted)
        const auto p = port();
        c.dport = PortRange{p, p};
        break;
      }
      case 3: {  // a range
        const auto lo = port();
        c.dport = PortRange{lo, static_cast<std::uint16_t>(lo + pick(5))};
        break;
      }
      case 4:
        c.sport = PortRange{port(), 65535};
        break;
      default:
        break;
    }
    if (pick(3) == 0) c.proto = pick(2) ? ipproto::kTcp : ipproto::kUdp;
    if (pick(3) == 0)
      c.src = Ipv4Prefix{Ipv4{0x0a000000U + static_cast<std::uint32_t>(pick(4) << 8)}, 24};
    if (pick(8) == 0) c.frag = static_cast<FragmentPolicy>(pick(4));
    if (pick(10) == 0) c.invert = true;
    if (pick(10) == 0) c.forward_flow = pick(2) == 0;
    if (pick(12) == 0) c.tos = static_cast<std::uint8_t>(pick(2));
    return c;
  }

  Action action(std::uint32_t chain, std::uint32_t chains) {
    Action a;
    const int k = pick(10);
    if (k < 3)
      a.kind = ActionKind::kAccept;
    else if (k < 5)
      a.kind = ActionKind::kDrop;
    else if (k == 5)
      a.kind = ActionKind::kContinue;
    else if (k == 6)
      a.kind = ActionKind::kReturn;
    else if (k == 7 && chain + 1 < chains) {
      a.kind = ActionKind::kJump;
      a.jump = ChainId{chain + 1 +
                       static_cast<std::uint32_t>(pick(static_cast<int>(chains - chain - 1)))};
    } else if (k == 8) {
      a.kind = ActionKind::kDnat;
      a.nat = NatTarget{Ipv4{0x0a000909}, Ipv4{0x0a000909}, port(), 0};
      a.nat.port_hi = a.nat.port_lo;
      a.then = static_cast<NatThen>(pick(3));
    } else {
      a.kind = ActionKind::kReject;
    }
    return a;
  }

  Topology topology() {
    Topology t;
    const std::uint32_t chains = 3;
    for (std::uint32_t c = 0; c < chains; ++c) {
      Chain chain{"c" + std::to_string(c), {}, {}};
      const int rules = c == 0 ? 20 + pick(60) : 5 + pick(30);
      for (int r = 0; r < rules; ++r)
        chain.rules.push_back(Rule{condition(), action(c, chains), {}});
      t.chains.push_back(std::move(chain));
    }
    return t;
  }

  Packet packet() {
    Packet p;
    const int kind = pick(10);
    if (kind == 0) {
      p.ethertype = ethertype::kArp;
      p.arp_spa = Ipv4{0x0a000001};
      return p;
    }
    p.src = Ipv4{0x0a000000U + static_cast<std::uint32_t>(pick(4) << 8) + 5};
    p.dst = Ipv4{0x0a000a0a};
    p.proto = kind < 5 ? ipproto::kTcp : kind < 9 ? ipproto::kUdp : ipproto::kIcmp;
    p.frag = pick(6) == 0 ? static_cast<FragKind>(1 + pick(2)) : FragKind::kNone;
    p.sport = port();
    p.dport = port();
    p.icmp_type = static_cast<std::uint8_t>(pick(2) ? 8 : 3);
    p.icmp_code = static_cast<std::uint8_t>(pick(3));
    p.tos = static_cast<std::uint8_t>(pick(2));
    return p;
  }
};

struct Outcome {
  ChainDecision decision;
  Packet packet;
  FieldMask mask;
};

Outcome evaluate(const Topology& t, const CompiledChains& compiled, Packet p, bool is_return) {
  TestEnv env(is_return);
  FieldMask mask;
  std::vector<ChainId> visited;
  const MatchContext ctx{PortId{0}, std::nullopt, std::nullopt};
  const ChainDecision d = evaluate_chain(t, compiled, ChainId{0}, p, ctx, env, mask, visited);
  return Outcome{d, p, mask};
}

bool same(const ChainDecision& a, const ChainDecision& b) {
  return a.kind == b.kind && a.chain == b.chain && a.rule == b.rule;
}

/// Changes one field the mask does not cover; false if every field is covered.
bool perturb_outside(Generator& g, Packet& p, FieldMask mask) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    switch (g.pick(5)) {
      case 0:
        if (!mask.has(Field::kTpDst)) {
          p.dport = g.port();
          p.icmp_code = static_cast<std::uint8_t>(g.pick(3));
          return true;
        }
        break;
      case 1:
        if (!mask.has(Field::kTpSrc)) {
          p.sport = g.port();
          p.icmp_type = static_cast<std::uint8_t>(g.pick(2) ? 8 : 3);
          return true;
        }
        break;
      case 2:
        if (!mask.has(Field::kNwSrc) && !mask.has(Field::kArpSpa)) {
          p.src = Ipv4{0x0a000000U + static_cast<std::uint32_t>(g.pick(4) << 8) + 5};
          return true;
        }
        break;
      case 3:
        if (!mask.has(Field::kNwTos)) {
          p.tos = static_cast<std::uint8_t>(g.pick(2));
          return true;
        }
        break;
      default:
        if (!mask.has(Field::kNwProto) && p.is_ipv4()) {
          p.proto = g.pick(2) ? ipproto::kTcp : ipproto::kUdp;
          return true;
        }
        break;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("Chain index: indexed and linear walks decide alike, and the mask is sound") {
  Generator g;
  int topologies_indexed = 0;
  int perturbed = 0;
  for (int round = 0; round < 400; ++round) {
    const Topology t = g.topology();
    const CompiledChains indexed(t, true);
    const CompiledChains linear(t, false);
    if (indexed.index(ChainId{0}) != nullptr) ++topologies_indexed;
    for (int n = 0; n < 100; ++n) {
      const Packet p = g.packet();
      const bool is_return = g.pick(2) == 0;
      const Outcome a = evaluate(t, indexed, p, is_return);
      const Outcome b = evaluate(t, linear, p, is_return);
      INFO("round " << round << " packet " << n);
      REQUIRE(same(a.decision, b.decision));
      REQUIRE(a.packet.dport == b.packet.dport);  // the same NAT rules applied
      Packet q = p;
      if (perturb_outside(g, q, a.mask)) {
        ++perturbed;
        REQUIRE(same(evaluate(t, indexed, q, is_return).decision, a.decision));
      }
    }
  }
  CHECK(topologies_indexed > 300);  // the property is about indexed chains: most must be
  CHECK(perturbed > 1000);
}
