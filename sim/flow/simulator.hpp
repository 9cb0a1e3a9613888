#pragma once
// The flow-simulation core: what the agent on the ingress host computes on a datapath miss.
//
// A Simulator is built once per topology version from a sealed Topology; it precomputes the
// lookups devices need (routing tables with the implicit connected and local routes, which
// MACs on a bridge belong to router ports, what IP->MAC bindings each bridge knows). simulate()
// then walks one packet through the virtual topology with MidoNet's semantics (SPEC section 1)
// and returns a SimulationResult.
//
// Invariants and cost:
//  - the Simulator owns a compiled copy of the topology: the scenario's objects plus the chains
//    that security groups compile to ("sg:GROUP:ingress|egress", and per set of groups a port
//    chain for each direction); a topology change builds a new Simulator.
//  - ports with the same security groups (in the same order) share one pair of port chains, so
//    their memory grows with the number of distinct group sets, not of ports. Users still see
//    a port's chain as "sg-ingress:PORT" / "sg-egress:PORT" at the port's declaration: drops
//    and traces name it so (port_chain_name()).
//  - simulate() is a function of (topology, packet, ingress port, state): no I/O, no clock, no
//    globals. It mutates only `state` (MAC learning, ARP learning).
//  - The walk visits at most kMaxDevices devices per packet (then drop `loop`), and each
//    generated packet (ICMP error, echo reply, ARP reply) is walked once more the same way.
//  - Without tracing, a bridge -> router -> bridge walk allocates only the result vectors.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/flow/chain.hpp"
#include "sim/flow/result.hpp"
#include "sim/flow/state.hpp"
#include "sim/packet/packet.hpp"
#include "sim/packet/spec.hpp"
#include "topology/model.hpp"

namespace hivesim {

/// A route as the lookup sees it: written routes plus the implicit connected/local ones.
struct CompiledRoute {
  Route route;
  bool local = false;       // the router's own port address (/32)
  std::int32_t index = -1;  // position in Router::routes, -1 for implicit routes
};

struct SimulateOptions {
  bool trace = false;  // record hops with human-readable details
  SimTime now = 0;     // simulated time, stamped on conntrack and NAT entries
};

/// A floating IP as its router applies it: static DNAT in, static SNAT out.
struct FloatingIpRule {
  Ipv4 floating;
  Ipv4 fixed;
};

class Simulator {
 public:
  /// Devices a packet may traverse before it is dropped with reason `loop` (MidoNet's limit).
  static constexpr int kMaxDevices = 12;

  explicit Simulator(const Topology& topology);
  /// The same, taking the topology over instead of copying it.
  explicit Simulator(Topology&& topology);
  // Compiled conditions point into the owned topology: copying would leave them dangling.
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  /// The compiled topology (the scenario's objects plus generated security-group chains).
  const Topology& topology() const { return topo_; }

  /// Simulates `packet` entering the virtual network at exterior port `in_port`.
  SimulationResult simulate(PortId in_port, const Packet& packet, SimState& state,
                            SimulateOptions options = {}) const;
  /// The same, into `result` (whatever it held is replaced): a caller that simulates again and
  /// again reuses its vectors' memory instead of allocating them for each simulation. `packet`
  /// must not be one of `result`'s own.
  void simulate(PortId in_port, const Packet& packet, SimState& state, SimulateOptions options,
                SimulationResult& result) const;

  /// The defaults a VM behind `port` uses when a packet spec leaves fields out (SPEC 3).
  SpecDefaults spec_defaults(PortId port) const;

  // Lookups the walk uses (public for tests and reports).
  const std::vector<CompiledRoute>& routes(RouterId router) const { return routes_[router.value]; }
  /// The router port whose MAC is `mac`, reachable through an interior port of `bridge`.
  std::optional<PortId> bridge_router_port(BridgeId bridge, Mac mac) const;
  /// What `bridge` knows about `ip` without learning (declared ports, router ports, arp_table).
  std::optional<Mac> bridge_known_mac(BridgeId bridge, Ipv4 ip) const;
  /// The port a declared (pre-seeded) MAC lives on, in `vlan` of `bridge`.
  std::optional<PortId> bridge_declared_port(BridgeId bridge, std::uint16_t vlan, Mac mac) const;
  /// A bridge is VLAN-aware when any of its ports carries a `vlan`.
  bool bridge_vlan_aware(BridgeId bridge) const { return bridge_vlan_aware_[bridge.value]; }
  /// Every rule condition, compiled for matching.
  const CompiledChains& compiled_chains() const { return *compiled_chains_; }
  /// The chains a port's security groups compile to: traffic from the VM (Neutron egress) and
  /// to the VM (Neutron ingress).
  std::optional<ChainId> sg_from_vm(PortId port) const { return sg_from_vm_[port.value]; }
  std::optional<ChainId> sg_to_vm(PortId port) const { return sg_to_vm_[port.value]; }
  /// Whether `chain` is a port's security-group chain (shared by the ports of its group set).
  bool is_port_chain(ChainId chain) const;
  /// The name users see for port `port`'s security-group chain `chain`: "sg-ingress:PORT" (to
  /// the VM) or "sg-egress:PORT" (from it); empty when `chain` is no port chain.
  std::string port_chain_name(ChainId chain, PortId port) const;
  /// The chain users call `name`: one of the topology's, or a port's security-group chain by
  /// the name drops and traces give it ("sg-ingress:PORT", "sg-egress:PORT").
  std::optional<ChainId> find_chain(std::string_view name) const;
  const std::vector<FloatingIpRule>& floating_ips(RouterId router) const {
    return router_fips_[router.value];
  }
  const std::vector<LoadBalancerId>& load_balancers(RouterId router) const {
    return router_lbs_[router.value];
  }
  /// Whether `e` is a member of a pool of one of the router's load balancers.
  bool is_pool_member(RouterId router, NatEndpoint e) const;
  /// The router's pre-seeded ARP entry for `ip`.
  std::optional<Mac> router_seeded_mac(RouterId router, Ipv4 ip) const;

 private:
  friend class Walk;

  void compile_security_groups();
  void add_port_chain(const Port& port, std::string name, const std::vector<ChainId>& group_chains);

  Topology topo_;
  // Points into topo_.chains: built once the security-group chains are appended.
  std::unique_ptr<CompiledChains> compiled_chains_;
  std::vector<std::vector<CompiledRoute>> routes_;  // per router, longest prefix first
  // Per bridge: router-port MAC -> the bridge's interior port that leads there.
  std::vector<std::unordered_map<Mac, PortId>> bridge_router_macs_;
  // Per bridge: IP -> MAC known from the scenario.
  std::vector<std::unordered_map<Ipv4, Mac>> bridge_ip_macs_;
  // Per bridge: (vlan << 48 | mac) of declared ports -> port.
  std::vector<std::unordered_map<std::uint64_t, PortId>> bridge_declared_macs_;
  std::vector<bool> bridge_vlan_aware_;
  std::vector<std::optional<ChainId>> sg_from_vm_;  // per port
  std::vector<std::optional<ChainId>> sg_to_vm_;    // per port
  // Port chains are topo_.chains[first_port_chain_..]: pairs of (to the VM, from the VM).
  std::uint32_t first_port_chain_ = 0;
  std::vector<std::vector<FloatingIpRule>> router_fips_;
  std::vector<std::vector<LoadBalancerId>> router_lbs_;
  std::vector<std::vector<NatEndpoint>> router_members_;  // per router, sorted
  // Per router: pre-seeded ARP.
  std::vector<std::unordered_map<Ipv4, Mac>> router_arp_;
};

}  // namespace hivesim
