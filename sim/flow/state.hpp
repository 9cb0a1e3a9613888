#pragma once
// The mutable state a flow simulation reads and writes: learned MAC tables, learned ARP
// entries, connection tracking and NAT bindings. The caller owns it (the `trace --batch` driver
// keeps one for the whole batch, the engine one per host agent); nothing here is global.

#include <cstdint>
#include <utility>

#include <absl/container/flat_hash_map.h>

#include "sim/flow/conntrack.hpp"
#include "topology/address.hpp"
#include "topology/ids.hpp"

namespace hivesim {

struct SimState {
  /// `seed` drives every random choice (NAT ports, DNAT targets): same seed, same choices.
  explicit SimState(std::uint64_t seed = 1) : nat(seed) {}

  struct MacKey {
    std::uint32_t bridge = 0;
    std::uint16_t vlan = 0;
    Mac mac;
    friend bool operator==(const MacKey&, const MacKey&) = default;
    template <class H>
    friend H AbslHashValue(H h, const MacKey& k) {
      return H::combine(std::move(h), k.bridge, k.vlan, k.mac.bits);
    }
  };
  struct ArpKey {
    std::uint32_t router = 0;
    Ipv4 ip;
    friend bool operator==(const ArpKey&, const ArpKey&) = default;
    template <class H>
    friend H AbslHashValue(H h, const ArpKey& k) {
      return H::combine(std::move(h), k.router, k.ip.bits);
    }
  };

  /// Bridge MAC tables per VLAN: where a MAC was last seen.
  absl::flat_hash_map<MacKey, PortId> macs;
  /// Router ARP caches: what routers learned from ARP requests and replies they received.
  absl::flat_hash_map<ArpKey, Mac> arp;
  ConnTrack conntrack;
  NatTable nat;
};

}  // namespace hivesim
