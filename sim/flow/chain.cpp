#include "sim/flow/chain.hpp"

#include <algorithm>

namespace hivesim {

namespace detail {

bool port_in_group(const Topology& topo, PortGroupRef group, PortId port) {
  const std::vector<PortId>& members = group.kind == PortGroupRef::Kind::kPortGroup
                                           ? topo.port_groups[group.index].ports
                                           : topo.security_groups[group.index].ports;
  return std::find(members.begin(), members.end(), port) != members.end();
}

}  // namespace detail

namespace {

/// Yields, in ascending order, the positions of the rules a packet must be tested against: all
/// of them for a linearly walked chain, else its port's indexed rules and the unindexed ones.
class RuleCursor {
 public:
  RuleCursor(std::uint32_t count, const PortIndex* index) : count_(count), index_(index) {}

  /// Restarts at position `from` for a packet seen as `view` (after a NAT rewrite too).
  void seek(const PacketView& view, std::uint32_t from) {
    next_ = from;
    if (index_ == nullptr) return;
    unindexed_ = index_->unindexed;
    indexed_ = index_->for_port(view.has_l4 ? std::optional(view.l4_dst) : std::nullopt);
    a_ = static_cast<std::size_t>(std::lower_bound(unindexed_.begin(), unindexed_.end(), from) -
                                  unindexed_.begin());
    b_ = static_cast<std::size_t>(std::lower_bound(indexed_.begin(), indexed_.end(), from) -
                                  indexed_.begin());
  }

  bool next(std::uint32_t& position) {
    if (index_ == nullptr) {
      if (next_ >= count_) return false;
      position = next_++;
      return true;
    }
    const bool has_a = a_ < unindexed_.size();
    const bool has_b = b_ < indexed_.size();
    if (!has_a && !has_b) return false;
    if (has_a && (!has_b || unindexed_[a_] < indexed_[b_])) {
      position = unindexed_[a_++];
    } else {
      position = indexed_[b_++];
    }
    return true;
  }

  bool indexed() const { return index_ != nullptr; }

 private:
  std::uint32_t count_;
  const PortIndex* index_;
  std::uint32_t next_ = 0;
  std::span<const std::uint32_t> unindexed_;
  std::span<const std::uint32_t> indexed_;
  std::size_t a_ = 0;
  std::size_t b_ = 0;
};

class ChainWalker {
 public:
  ChainWalker(const Topology& topo, const CompiledChains& compiled, Packet& packet,
              const MatchContext& ctx, ChainEnv& env, FieldMask& mask,
              std::vector<ChainId>& visited, ChainId top, std::string_view top_name)
      : topo_(topo),
        compiled_(compiled),
        packet_(packet),
        ctx_(ctx),
        env_(env),
        mask_(mask),
        visited_(visited),
        view_(PacketView::of(packet)),
        top_(top),
        top_name_(top_name) {}

  std::optional<ChainDecision> walk(ChainId id) {
    visited_.push_back(id);
    return walk_rules(id);
  }

 private:
  /// The chain's name in traces: its own, or the one the caller gave the top chain.
  std::string name_of(ChainId id) const {
    return std::string(id == top_ && !top_name_.empty() ? top_name_ : topo_.chain(id).name);
  }

  std::optional<ChainDecision> walk_rules(ChainId id) {
    const Chain& chain = topo_.chain(id);
    const std::span<const CompiledCondition> conditions = compiled_.chain(id);
    auto is_return = [this] { return env_.is_return_flow(); };
    // Locals, not members, in the innermost loop: the compiler can keep them in registers.
    PacketView view = view_;
    FieldMask read;
    RuleCursor cursor(static_cast<std::uint32_t>(conditions.size()), compiled_.index(id));
    cursor.seek(view, 0);
    if (cursor.indexed()) {
      // The index lookup reads the L4 destination port (and what says whether there is one).
      read.add(Field::kEthertype);
      read.add(Field::kNwFrag);
      read.add(Field::kNwProto);
      read.add(Field::kTpDst);
    }
    for (std::uint32_t i = 0; cursor.next(i);) {
      if (!condition_matches(topo_, conditions[i], view, packet_, ctx_, read, is_return)) {
        continue;
      }
      mask_.merge(read);
      read = FieldMask{};
      const Rule& rule = chain.rules[i];
      auto decided = [&](ChainDecision::Kind kind) {
        if (env_.tracing()) {
          env_.note("chain '" + name_of(id) + "' rule " + std::to_string(i) + " (" +
                    describe(topo_, rule.match) + "): " + describe(topo_, rule.action));
        }
        return ChainDecision{kind, id, i};
      };
      switch (rule.action.kind) {
        case ActionKind::kAccept:
          return decided(ChainDecision::Kind::kAccept);
        case ActionKind::kDrop:
          return decided(ChainDecision::Kind::kDrop);
        case ActionKind::kReject:
          return decided(ChainDecision::Kind::kReject);
        case ActionKind::kContinue:
          continue;
        case ActionKind::kReturn:
          if (env_.tracing()) {
            env_.note("chain '" + name_of(id) + "' rule " + std::to_string(i) + ": return");
          }
          return std::nullopt;
        case ActionKind::kJump: {
          if (env_.tracing()) {
            env_.note("chain '" + name_of(id) + "' rule " + std::to_string(i) + ": jump to '" +
                      name_of(rule.action.jump) + "'");
          }
          const ChainId target = rule.action.jump;
          if (std::find(visited_.begin(), visited_.end(), target) != visited_.end()) {
            if (env_.tracing()) {
              env_.note("jump to chain '" + name_of(target) + "' ignored: already visited");
            }
            continue;
          }
          if (auto d = walk(target)) return d;
          if (!(view == view_)) {  // the jumped-to chain rewrote the packet (NAT)
            view = view_;
            cursor.seek(view, i + 1);
          }
          continue;
        }
        case ActionKind::kDnat:
        case ActionKind::kSnat:
        case ActionKind::kRevDnat:
        case ActionKind::kRevSnat: {
          if (!env_.apply_nat(rule.action, packet_)) continue;
          view = view_ = PacketView::of(packet_);  // later rules see the rewritten headers
          cursor.seek(view, i + 1);
          if (env_.tracing()) {
            env_.note("chain '" + name_of(id) + "' rule " + std::to_string(i) + ": " +
                      describe(topo_, rule.action));
          }
          switch (rule.action.then) {
            case NatThen::kAccept:
              return ChainDecision{ChainDecision::Kind::kAccept, id, i};
            case NatThen::kContinue:
              continue;
            case NatThen::kReturn:
              return std::nullopt;
          }
          continue;
        }
      }
    }
    mask_.merge(read);  // what the rules that did not match read
    return std::nullopt;
  }

  const Topology& topo_;
  const CompiledChains& compiled_;
  Packet& packet_;
  const MatchContext& ctx_;
  ChainEnv& env_;
  FieldMask& mask_;
  std::vector<ChainId>& visited_;
  PacketView view_;
  ChainId top_;
  std::string_view top_name_;
};

std::string port_range_str(PortRange r) {
  return r.lo == r.hi ? std::to_string(r.lo) : std::to_string(r.lo) + "-" + std::to_string(r.hi);
}

}  // namespace

std::span<const std::uint32_t> PortIndex::for_port(std::optional<std::uint16_t> port) const {
  if (!port) return {};
  const auto it = by_port.find(*port);
  if (it == by_port.end()) return {};
  return it->second;
}

CompiledChains::CompiledChains(const Topology& topo, bool use_index)
    : rules_(topo.chains.size()), index_(topo.chains.size()) {
  for (std::size_t c = 0; c < topo.chains.size(); ++c) {
    PortIndex index;
    std::size_t indexed = 0;
    for (std::uint32_t i = 0; i < topo.chains[c].rules.size(); ++i) {
      const CompiledCondition k = CompiledCondition::compile(topo.chains[c].rules[i].match);
      // Such a rule matches only packets with an L4 header and exactly this destination port.
      if (!k.invert && k.has_dport && k.dport.lo == k.dport.hi) {
        index.by_port[k.dport.lo].push_back(i);
        ++indexed;
      } else {
        index.unindexed.push_back(i);
      }
      rules_[c].push_back(k);
    }
    if (use_index && indexed >= PortIndex::kMinIndexed) index_[c] = std::move(index);
  }
}

ChainDecision evaluate_chain(const Topology& topo, ChainId chain, Packet& packet,
                             const MatchContext& ctx, ChainEnv& env, FieldMask& mask,
                             std::vector<ChainId>& visited) {
  return evaluate_chain(topo, CompiledChains(topo), chain, packet, ctx, env, mask, visited);
}

ChainDecision evaluate_chain(const Topology& topo, const CompiledChains& compiled, ChainId chain,
                             Packet& packet, const MatchContext& ctx, ChainEnv& env,
                             FieldMask& mask, std::vector<ChainId>& visited,
                             std::string_view top_name) {
  visited.clear();
  ChainWalker walker(topo, compiled, packet, ctx, env, mask, visited, chain, top_name);
  if (auto decision = walker.walk(chain)) return *decision;
  return ChainDecision{ChainDecision::Kind::kAccept, ChainId{}, std::nullopt};
}

std::string describe(const Topology& topo, const Condition& c) {
  std::string s;
  auto add = [&s](const std::string& part) {
    if (!s.empty()) s += ' ';
    s += part;
  };
  auto port_list = [&topo](const std::vector<PortId>& ports) {
    std::string names;
    for (PortId p : ports)
      names += (names.empty() ? "" : ",") + topo.port(p).name;
    return names;
  };
  if (!c.in_ports.empty()) add("in_port=" + port_list(c.in_ports));
  if (!c.out_ports.empty()) add("out_port=" + port_list(c.out_ports));
  if (c.port_group) {
    add("port_group=" + (c.port_group->kind == PortGroupRef::Kind::kPortGroup
                             ? topo.port_groups[c.port_group->index].name
                             : topo.security_groups[c.port_group->index].name));
  }
  if (c.eth_src) add("eth_src=" + c.eth_src->str());
  if (c.eth_dst) add("eth_dst=" + c.eth_dst->str());
  if (c.ethertype) add("ethertype=" + std::to_string(*c.ethertype));
  if (c.vlan) add("vlan=" + std::to_string(*c.vlan));
  if (c.src) add(std::string("src=") + (c.src_negated ? "!" : "") + c.src->str());
  if (c.dst) add(std::string("dst=") + (c.dst_negated ? "!" : "") + c.dst->str());
  if (c.proto) add("proto=" + ipproto::to_string(*c.proto));
  if (c.tos) add("tos=" + std::to_string(*c.tos));
  if (c.sport) add("sport=" + port_range_str(*c.sport));
  if (c.dport) add("dport=" + port_range_str(*c.dport));
  if (c.frag) {
    static constexpr const char* kNames[] = {"any", "header", "nonheader", "unfragmented"};
    add(std::string("frag=") + kNames[static_cast<int>(*c.frag)]);
  }
  if (c.forward_flow) add(*c.forward_flow ? "forward_flow" : "return_flow");
  if (c.dst_rewritten) add(*c.dst_rewritten ? "dst_rewritten" : "!dst_rewritten");
  if (s.empty()) s = "any";
  if (c.invert) s = "not(" + s + ")";
  return s;
}

}  // namespace hivesim
