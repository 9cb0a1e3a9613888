#pragma once
// The mutable state a flow simulation reads and writes: learned MAC tables, learned ARP
// entries, connection tracking and NAT bindings. The caller owns it; nothing here is global. The
// `trace --batch` driver keeps one for the whole batch. The twin keeps one for the run (the
// NSDB-wide MAC and ARP tables and the random stream) and swaps each host's own conntrack and NAT
// bindings into it while it simulates a packet on that host (sim/twin/flow_state.hpp).
//
// checkpoint() / rollback() journal every change the walk makes (MAC and ARP learning,
// conntrack, NAT and its random stream) and undo them, in time proportional to the changes:
// `reach` starts each connection from the same state without copying it.

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

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

  /// Starts journaling every change to the tables above (the walk calls note_mac/note_arp
  /// before it changes an entry).
  void checkpoint() {
    mac_undo_.clear();
    arp_undo_.clear();
    journaling_ = true;
    conntrack.checkpoint();
    nat.checkpoint();
  }
  /// Restores every table as it was at checkpoint() and stops journaling.
  void rollback() {
    for (auto it = mac_undo_.rbegin(); it != mac_undo_.rend(); ++it) {
      if (it->second) {
        macs[it->first] = *it->second;
      } else {
        macs.erase(it->first);
      }
    }
    for (auto it = arp_undo_.rbegin(); it != arp_undo_.rend(); ++it) {
      if (it->second) {
        arp[it->first] = *it->second;
      } else {
        arp.erase(it->first);
      }
    }
    mac_undo_.clear();
    arp_undo_.clear();
    journaling_ = false;
    conntrack.rollback();
    nat.rollback();
  }
  /// Journals the MAC entry at `key` before it is inserted or changed (no-op unless journaling).
  void note_mac(const MacKey& key) {
    if (!journaling_) return;
    auto it = macs.find(key);
    mac_undo_.emplace_back(key, it == macs.end() ? std::nullopt : std::optional(it->second));
  }
  /// Journals the ARP entry at `key` before it is inserted or changed.
  void note_arp(const ArpKey& key) {
    if (!journaling_) return;
    auto it = arp.find(key);
    arp_undo_.emplace_back(key, it == arp.end() ? std::nullopt : std::optional(it->second));
  }

 private:
  std::vector<std::pair<MacKey, std::optional<PortId>>> mac_undo_;
  std::vector<std::pair<ArpKey, std::optional<Mac>>> arp_undo_;
  bool journaling_ = false;
};

}  // namespace hivesim
