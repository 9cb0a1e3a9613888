#include "sim/twin/underlay.hpp"

#include <absl/numeric/int128.h>

namespace hivesim {

UnderlayNet::UnderlayNet(const Topology& topo, const Underlay& config, std::uint64_t seed)
    : zones_(topo.tunnel_zones),
      config_(config),
      links_(topo.hosts.size()),
      host_zones_(topo.hosts.size()),
      frame_rng_(seed ^ 0x9e3779b97f4a7c15ULL),
      push_rng_(seed ^ 0x5bd1e9955bd1e995ULL) {
  for (std::uint32_t z = 0; z < zones_.size(); ++z) {
    for (HostId h : zones_[z].hosts)
      host_zones_[h.value].push_back(TunnelZoneId{z});
  }
  for (const std::vector<TunnelZoneId>& zones : host_zones_)
    sole_zone_.push_back(zones.size() == 1 ? zones.front() : TunnelZoneId{});
}

const TunnelZone* UnderlayNet::shared_zone(HostId a, HostId b) const {
  const TunnelZone* zone = nullptr;
  for (TunnelZoneId za : host_zones_[a.value]) {  // the last zone they share
    for (TunnelZoneId zb : host_zones_[b.value]) {
      if (za == zb) zone = &zones_[za.value];
    }
  }
  return zone;
}

void UnderlayNet::set_link(HostId a, HostId b, bool up) {
  if (up) {
    links_down_.erase(pair_key(a, b));
  } else {
    links_down_.insert(pair_key(a, b));
  }
}

SimTime UnderlayNet::transmit_time(std::size_t bytes) const {
  // ceil(bits * 1e9 / bandwidth) in integers: exact for any frame (bits * 1e9 < 2^63).
  const std::uint64_t bandwidth = config_.bandwidth_bps;
  return static_cast<SimTime>((std::uint64_t{bytes} * 8 * 1'000'000'000 + bandwidth - 1) /
                              bandwidth);
}

std::size_t UnderlayNet::bytes_within(SimTime budget) const {
  // ceil(8e9 * bytes / bandwidth) <= budget exactly when 8e9 * bytes <= budget * bandwidth.
  if (budget < 0) return 0;
  const absl::uint128 most =
      absl::uint128(static_cast<std::uint64_t>(budget)) * config_.bandwidth_bps / 8'000'000'000U;
  return most > SIZE_MAX ? SIZE_MAX : static_cast<std::size_t>(most);
}

}  // namespace hivesim
