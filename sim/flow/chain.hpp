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
#include <string>
#include <vector>

#include "sim/packet/packet.hpp"
#include "topology/model.hpp"

namespace hivesim {

/// What a condition can see besides the headers.
struct MatchContext {
  PortId in_port;                  // port the packet entered the current device by
  std::optional<PortId> out_port;  // egress port, once the device has chosen it
  std::optional<PortId> origin;    // exterior port the packet entered the network by
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

/// Whether `c` matches; adds the fields it read to `mask`. `is_return` is called only when the
/// condition tests forward_flow/return_flow.
template <class IsReturn>
bool condition_matches(const Topology& topo, const Condition& c, const Packet& p,
                       const MatchContext& ctx, FieldMask& mask, IsReturn&& is_return);

struct ChainDecision {
  enum class Kind : std::uint8_t { kAccept, kDrop, kReject };
  Kind kind = Kind::kAccept;
  ChainId chain;                      // the chain whose rule decided (invalid: no rule did)
  std::optional<std::uint32_t> rule;  // that rule's index
};

/// Walks `chain` for `packet` (which NAT rules may rewrite). Adds read fields to `mask`;
/// `visited` is cleared and then lists the chains visited (for flow tags).
ChainDecision evaluate_chain(const Topology& topo, ChainId chain, Packet& packet,
                             const MatchContext& ctx, ChainEnv& env, FieldMask& mask,
                             std::vector<ChainId>& visited);

/// "src=10.0.0.0/8 proto=tcp dport=80" for traces (actions: describe() in topology/model.hpp).
std::string describe(const Topology& topo, const Condition& c);

}  // namespace hivesim

#include "sim/flow/chain_match.inl"
