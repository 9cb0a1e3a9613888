#pragma once
// Rule chains (MidoNet's Chain / Rule / Condition): condition matching and chain evaluation.
//
// A chain is walked rule by rule; the first rule whose condition matches and whose action is
// terminal decides. `continue` goes on, `jump` walks another chain and comes back unless that
// chain decided, `return` leaves the current chain. A chain that runs out of rules decides
// nothing, and a top-level chain that decides nothing accepts. Jumps nest; a jump to a chain
// already visited in this evaluation is ignored (with a trace line), which cuts loops, as MidoNet
// does. Conditions see the packet as it is now (after earlier rewrites) and record every header
// field they read into the caller's mask.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "sim/packet/packet.hpp"
#include "topology/model.hpp"

namespace hivesim {

/// What a condition can see besides the headers.
struct MatchContext {
  PortId in_port;                  // port the packet entered the current device by
  std::optional<PortId> out_port;  // egress port, once the device has chosen it
  std::optional<PortId> origin;    // exterior port the packet entered the network by
  /// The IPv4 destination the packet entered the network with (dst_rewritten tests it).
  std::optional<Ipv4> original_dst = std::nullopt;
};

/// The services a chain needs from the simulation around it: connection tracking (is this a
/// return flow?) and NAT. The walk implements it; tests can implement it trivially.
class ChainEnv {
 public:
  virtual ~ChainEnv() = default;
  /// Lazily classifies the current packet (conntrack); called only by rules that ask.
  virtual bool is_return_flow() = 0;
  /// Applies a NAT action to `packet`; false when it does not apply (a reverse action with no
  /// mapping), and evaluation goes on with the next rule.
  virtual bool apply_nat(const Action& action, Packet& packet) = 0;
  /// A line for the hop trace (only called when tracing).
  virtual void note(std::string line) = 0;
  virtual bool tracing() const = 0;
};

/// The effective fragment policy of a condition (MidoNet: HEADER when L4 fields are matched,
/// ANY otherwise).
FragmentPolicy effective_frag_policy(const Condition& c);

/// A condition prepared for matching: prefixes pre-masked, the fragment policy as a set of
/// accepted fragment kinds, the common tests flat, and the fields few rules use behind one
/// flag. It points into the Condition it was compiled from, which must outlive it.
struct CompiledCondition {
  const Condition* source = nullptr;
  std::uint32_t src_net = 0;
  std::uint32_t src_mask = 0;
  std::uint32_t dst_net = 0;
  std::uint32_t dst_mask = 0;
  PortRange sport{0, 65535};
  PortRange dport{0, 65535};
  std::int16_t proto = -1;            // -1: any
  std::uint8_t frag_accepts = 0b111;  // bit per FragKind
  std::int8_t forward_flow = -1;      // -1: not tested, 1: forward only, 0: return only
  bool has_src = false;
  bool src_negated = false;
  bool has_dst = false;
  bool dst_negated = false;
  bool has_sport = false;
  bool has_dport = false;
  bool rare = false;  // in/out ports, port group, MACs, VLAN, ethertype or tos are tested
  bool invert = false;

  static CompiledCondition compile(const Condition& c);
};

/// The header facts conditions test, extracted once per chain walk (and again after a NAT
/// rule rewrites the packet).
struct PacketView {
  std::uint32_t src = 0;  // IPv4 source, or ARP sender address
  std::uint32_t dst = 0;  // IPv4 destination, or ARP target address
  Field src_field = Field::kNwSrc;
  Field dst_field = Field::kNwDst;
  bool has_addresses = false;  // IPv4 or ARP
  bool has_l4 = false;         // IPv4 and not a later fragment
  std::uint8_t frag_bit = 1;   // 1 << FragKind (unfragmented for non-IPv4)
  std::int16_t proto = -1;     // -1 when not IPv4
  std::uint16_t l4_src = 0;    // tcp/udp port, ICMP type
  std::uint16_t l4_dst = 0;    // tcp/udp port, ICMP code

  static PacketView of(const Packet& p);
  friend bool operator==(const PacketView&, const PacketView&) = default;
};

/// Whether the condition matches `p` (whose view is `view`); adds the fields it read to
/// `mask`. `is_return` is called only when the condition tests forward_flow/return_flow.
template <class IsReturn>
bool condition_matches(const Topology& topo, const CompiledCondition& c, const PacketView& view,
                       const Packet& p, const MatchContext& ctx, FieldMask& mask,
                       IsReturn&& is_return);
/// The same for a condition not compiled yet (compiles it on every call).
template <class IsReturn>
bool condition_matches(const Topology& topo, const Condition& c, const Packet& p,
                       const MatchContext& ctx, FieldMask& mask, IsReturn&& is_return);

/// The rules of a long chain that can match only one L4 destination port (a non-inverted
/// `dport: N`, as security groups are made of), indexed by that port. A packet is then tested
/// only against its port's rules and the unindexed ones, still in rule order, so the first
/// match is the same as a linear walk's (tests/sim/flow/chain_index_test.cpp checks this).
/// The lookup reads the L4 destination port, which the walk adds to the flow's mask.
struct PortIndex {
  /// Chains with fewer single-port rules than this are walked linearly.
  static constexpr std::size_t kMinIndexed = 8;

  std::vector<std::uint32_t> unindexed;  // rule positions, ascending
  absl::flat_hash_map<std::uint16_t, std::vector<std::uint32_t>> by_port;  // each ascending

  /// The indexed rules a packet with this L4 destination port (none: no L4 header) can match.
  std::span<const std::uint32_t> for_port(std::optional<std::uint16_t> port) const;
};

/// Every rule condition of a topology, compiled once (the Simulator keeps one).
class CompiledChains {
 public:
  /// `use_index`: build PortIndexes for long chains (off only to test against linear walks).
  explicit CompiledChains(const Topology& topo, bool use_index = true);
  /// The compiled conditions of `chain`, in rule order.
  std::span<const CompiledCondition> chain(ChainId chain) const { return rules_[chain.value]; }
  /// The chain's port index, or null when it is walked linearly.
  const PortIndex* index(ChainId chain) const {
    return index_[chain.value] ? &*index_[chain.value] : nullptr;
  }

 private:
  std::vector<std::vector<CompiledCondition>> rules_;
  std::vector<std::optional<PortIndex>> index_;
};

struct ChainDecision {
  enum class Kind : std::uint8_t { kAccept, kDrop, kReject };
  Kind kind = Kind::kAccept;
  ChainId chain;                      // the chain whose rule decided (invalid: no rule did)
  std::optional<std::uint32_t> rule;  // that rule's index
};

/// Walks `chain` for `packet` (which NAT rules may rewrite). Adds read fields to `mask`;
/// `visited` is cleared and then lists the chains visited (for flow tags). Traces name `chain`
/// `top_name` when it is given (a shared port chain is named after the port it runs for).
ChainDecision evaluate_chain(const Topology& topo, const CompiledChains& compiled, ChainId chain,
                             Packet& packet, const MatchContext& ctx, ChainEnv& env,
                             FieldMask& mask, std::vector<ChainId>& visited,
                             std::string_view top_name = {});
/// The same, compiling the topology's conditions first (for callers without a Simulator).
ChainDecision evaluate_chain(const Topology& topo, ChainId chain, Packet& packet,
                             const MatchContext& ctx, ChainEnv& env, FieldMask& mask,
                             std::vector<ChainId>& visited);

/// "src=10.0.0.0/8 proto=tcp dport=80" for traces (actions: describe() in topology/model.hpp).
std::string describe(const Topology& topo, const Condition& c);

}  // namespace hivesim

#include "sim/flow/chain_match.inl"
