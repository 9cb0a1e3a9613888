#pragma once
// Strong, dense index types naming topology objects across library boundaries.
// An id is the object's position in its Topology vector; ids are stable for the lifetime of a
// Topology (objects are never removed, only changed), so they double as report and SQLite keys.

#include <compare>
#include <cstdint>
#include <functional>
#include <limits>

namespace hivesim {

template <class Tag>
struct Id {
  static constexpr std::uint32_t kInvalid = std::numeric_limits<std::uint32_t>::max();
  std::uint32_t value = kInvalid;

  constexpr Id() = default;
  constexpr explicit Id(std::uint32_t v) : value(v) {}
  constexpr bool valid() const { return value != kInvalid; }
  constexpr explicit operator bool() const { return valid(); }
  friend constexpr bool operator==(Id, Id) = default;
  friend constexpr auto operator<=>(Id, Id) = default;
};

using HostId = Id<struct HostTag>;
using TunnelZoneId = Id<struct TunnelZoneTag>;
using PortId = Id<struct PortTag>;
using BridgeId = Id<struct BridgeTag>;
using RouterId = Id<struct RouterTag>;
using ChainId = Id<struct ChainTag>;
using SecurityGroupId = Id<struct SecurityGroupTag>;
using PortGroupId = Id<struct PortGroupTag>;
using LoadBalancerId = Id<struct LoadBalancerTag>;
using PoolId = Id<struct PoolTag>;
using VipId = Id<struct VipTag>;
using TrafficId = Id<struct TrafficTag>;

}  // namespace hivesim

template <class Tag>
struct std::hash<hivesim::Id<Tag>> {
  std::size_t operator()(hivesim::Id<Tag> id) const noexcept {
    return std::hash<std::uint32_t>{}(id.value);
  }
};
