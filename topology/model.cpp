#include "topology/model.hpp"

#include <array>

namespace hivesim {

namespace {

// Indexed by the enums' values; the names are the report vocabulary of SPEC section 5.
constexpr std::array<std::string_view, 3> kVerdictNames{"delivered", "dropped", "consumed"};

constexpr std::array<std::string_view, 15> kDropReasonNames{
    "rule",           "no_route",  "blackhole",      "reject",    "admin_down",  "no_backend",
    "loop",           "ttl",       "arp_unresolved", "host_down", "tunnel_down", "no_binding",
    "not_for_router", "malformed", "unsupported"};

static_assert(kDropReasonNames.size() == static_cast<std::size_t>(DropReason::kUnsupported) + 1);

template <class E, std::size_t N>
std::optional<E> parse_name(const std::array<std::string_view, N>& names, std::string_view text) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

/// Linear lookup by name: topologies hold at most thousands of objects and lookups happen while
/// loading or answering a CLI argument, never per packet.
template <class IdT, class T>
std::optional<IdT> find_by_name(const std::vector<T>& objects, std::string_view name) {
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (objects[i].name == name) return IdT(static_cast<std::uint32_t>(i));
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Verdict v) {
  return kVerdictNames.at(static_cast<std::size_t>(v));
}

std::string_view to_string(DropReason r) {
  return kDropReasonNames.at(static_cast<std::size_t>(r));
}

std::optional<Verdict> parse_verdict(std::string_view text) {
  return parse_name<Verdict>(kVerdictNames, text);
}

std::optional<DropReason> parse_drop_reason(std::string_view text) {
  return parse_name<DropReason>(kDropReasonNames, text);
}

std::optional<PortId> Topology::find_port(std::string_view name) const {
  return find_by_name<PortId>(ports, name);
}
std::optional<HostId> Topology::find_host(std::string_view name) const {
  return find_by_name<HostId>(hosts, name);
}
std::optional<BridgeId> Topology::find_bridge(std::string_view name) const {
  return find_by_name<BridgeId>(bridges, name);
}
std::optional<RouterId> Topology::find_router(std::string_view name) const {
  return find_by_name<RouterId>(routers, name);
}
std::optional<ChainId> Topology::find_chain(std::string_view name) const {
  return find_by_name<ChainId>(chains, name);
}
std::optional<SecurityGroupId> Topology::find_security_group(std::string_view name) const {
  return find_by_name<SecurityGroupId>(security_groups, name);
}
std::optional<PoolId> Topology::find_pool(std::string_view name) const {
  return find_by_name<PoolId>(pools, name);
}
std::optional<VipId> Topology::find_vip(std::string_view name) const {
  return find_by_name<VipId>(vips, name);
}
std::optional<LoadBalancerId> Topology::find_load_balancer(std::string_view name) const {
  return find_by_name<LoadBalancerId>(load_balancers, name);
}

namespace {

std::string nat_target_str(const NatTarget& t) {
  std::string s = t.ip_lo.str();
  if (t.ip_hi != t.ip_lo) s += "-" + t.ip_hi.str();
  if (t.port_lo != 0 || t.port_hi != 0) {
    s += ":" + std::to_string(t.port_lo);
    if (t.port_hi != t.port_lo) s += "-" + std::to_string(t.port_hi);
  }
  return s;
}

}  // namespace

std::string describe(const Topology& topo, const Action& a) {
  std::string s;
  switch (a.kind) {
    case ActionKind::kAccept:
      return "accept";
    case ActionKind::kDrop:
      return "drop";
    case ActionKind::kReject:
      return "reject";
    case ActionKind::kContinue:
      return "continue";
    case ActionKind::kReturn:
      return "return";
    case ActionKind::kJump:
      return "jump " + topo.chain(a.jump).name;
    case ActionKind::kDnat:
      s = "dnat to " + nat_target_str(a.nat);
      break;
    case ActionKind::kSnat:
      s = "snat to " + nat_target_str(a.nat);
      break;
    case ActionKind::kRevDnat:
      s = "rev_dnat";
      break;
    case ActionKind::kRevSnat:
      s = "rev_snat";
      break;
  }
  if (a.then == NatThen::kContinue) s += ", then continue";
  if (a.then == NatThen::kReturn) s += ", then return";
  return s;
}

}  // namespace hivesim
