#pragma once
// The mutable state a flow simulation reads and writes: learned MAC tables, learned ARP
// entries, connection tracking and NAT bindings. The caller owns it (the `trace --batch` driver
// keeps one for the whole batch, the engine one per host agent); nothing here is global.

#include <cstdint>
#include <unordered_map>

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
  };
  struct MacKeyHash {
    std::size_t operator()(const MacKey& k) const noexcept {
      return std::hash<std::uint64_t>{}(k.mac.bits ^ (std::uint64_t{k.bridge} << 48) ^
                                        (std::uint64_t{k.vlan} << 36));
    }
  };
  struct ArpKey {
    std::uint32_t router = 0;
    Ipv4 ip;
    friend bool operator==(const ArpKey&, const ArpKey&) = default;
  };
  struct ArpKeyHash {
    std::size_t operator()(const ArpKey& k) const noexcept {
      return std::hash<std::uint64_t>{}((std::uint64_t{k.router} << 32) | k.ip.bits);
    }
  };

  /// Bridge MAC tables per VLAN: where a MAC was last seen.
  std::unordered_map<MacKey, PortId, MacKeyHash> macs;
  /// Router ARP caches: what routers learned from ARP requests and replies they received.
  std::unordered_map<ArpKey, Mac, ArpKeyHash> arp;
  ConnTrack conntrack;
  NatTable nat;
};

}  // namespace hivesim
