#pragma once
// One simulation in progress: the packet's walk through ports and devices. Internal to the
// flow core (sim/flow); users call Simulator::simulate().
//
// A walk follows one "branch" at a time: the original packet, each flooded copy, and each
// packet a device generates are branches. Branches of the original fill the verdict; generated
// branches only add to `out`. A generated branch never generates further packets.

#include <cstdint>
#include <optional>
#include <string>

#include "sim/flow/chain.hpp"
#include "sim/flow/result.hpp"
#include "sim/flow/simulator.hpp"
#include "sim/flow/state.hpp"

namespace hivesim {

class Walk final : public ChainEnv {
 public:
  Walk(const Simulator& sim, SimState& state, SimulationResult& result,
       const SimulateOptions& options);

  /// Walks `packet` in at exterior port `in_port` and finalises the result.
  void run(PortId in_port, const Packet& packet);

  // ChainEnv
  bool is_return_flow() override;
  bool apply_nat(const Action& action, Packet& packet) override;
  void note(std::string line) override;
  bool tracing() const override { return trace_; }

 private:
  struct Branch {
    Packet pkt;
    int devices = 0;         // devices entered so far
    bool generated = false;  // made by a device, not the original
  };

  /// How a chain's REJECT/DROP is answered: from which router port an ICMP error leaves
  /// (none on bridges), and whether a dropped first fragment gets ICMP 3/4 (router inbound).
  struct ChainSite {
    std::optional<PortId> icmp_port;
    bool frag_needed_on_drop = false;
  };
  /// Outcome of next-hop MAC resolution on a router.
  struct NextHop {
    enum class Status : std::uint8_t { kResolved, kUnreachable, kArpMiss } status;
    Mac mac;
  };

  // Ports.
  void port_ingress(Branch& b, PortId port);
  /// `device_in` is the port the packet entered the current device by. When that device is a
  /// router, `router_in_port` is set and `received` is the packet as the router received it
  /// (ICMP errors leave from that port and quote that packet).
  void port_egress(Branch& b, PortId port, PortId device_in,
                   std::optional<PortId> router_in_port = std::nullopt,
                   const Packet* received = nullptr);
  // The edge of the network (walk_edge.cpp): what the agent does with a VM's packet before the
  // port's chains.
  /// The agent's DHCP server (SPEC section 8); true when it answered the packet.
  bool dhcp_answer(Branch& b, PortId in_port);
  /// Port security's anti-spoof check on a packet from the VM behind `port`; true to go on.
  bool anti_spoof(Branch& b, PortId port);
  // Bridges.
  void bridge(Branch& b, PortId in_port);
  void bridge_forward(Branch& b, const Bridge& br, PortId in_port, PortId out_port,
                      bool apply_chains, bool flooded);
  void bridge_flood(Branch& b, const Bridge& br, PortId in_port, bool apply_chains);
  bool bridge_answer_arp(Branch& b, BridgeId id, PortId in_port);
  // Routers.
  void router(Branch& b, PortId in_port);
  void router_arp(Branch& b, RouterId id, PortId in_port);
  void router_echo_reply(const Branch& b, RouterId id, PortId in_port);
  const CompiledRoute* lookup_route(RouterId id, const Packet& pkt);
  /// L4 load balancing of a packet to a VIP (MidoNet: before the router's inbound chains).
  enum class LbOutcome : std::uint8_t { kNoVip, kBalanced, kDropped };
  LbOutcome load_balance(Branch& b, RouterId id);
  /// Restores the VIP as source of a backend's reply; true when it did.
  bool reverse_load_balance(RouterId id, Packet& pkt);
  void floating_ip_dnat(RouterId id, Packet& pkt);
  void floating_ip_snat(RouterId id, Packet& pkt, PortId out_port);
  /// The conntrack/NAT key of `pkt` at `device` (nullopt: not a trackable packet).
  std::optional<ConnKey> conn_key(const Packet& pkt, std::uint32_t device) const;
  std::uint32_t device_code(PortId port) const;
  NextHop resolve_next_hop(RouterId id, PortId egress, Ipv4 next_hop);
  Packet arp_request(const Port& egress, Ipv4 target) const;

  /// Runs `chain` in the context (in_port, out_port); true when the packet may go on.
  /// `owner`: the port a port security-group chain runs for (drops and traces name it).
  /// Most of a walk's chain slots are empty (a routed walk meets ten, two hold a chain): an
  /// empty one returns here, inline, without building a context or calling evaluate() (its
  /// register saves and restores were 2% of the twin's instructions on the scale scenario).
  bool run_chain(Branch& b, std::optional<ChainId> chain, PortId in_port,
                 std::optional<PortId> out_port, const ChainSite& site, const Packet& as_received,
                 PortId owner = {}) {
    return !chain || walk_chain(b, *chain, context(in_port, out_port), site, as_received, owner);
  }
  bool walk_chain(Branch& b, ChainId chain, const MatchContext& ctx, const ChainSite& site,
                  const Packet& as_received, PortId owner);
  MatchContext context(PortId in_port, std::optional<PortId> out_port) const;

  // Outcomes.
  void deliver(Branch& b, PortId port);
  void drop(Branch& b, DropReason reason, const std::string& device,
            std::optional<std::uint32_t> rule = std::nullopt, const std::string& why = {},
            SourceLoc source = {});
  void consume(Branch& b, const std::string& why);
  /// Generates an ICMP error about `original` from router port `port` and walks it out.
  void icmp_error(const Branch& b, const Packet& original, PortId port, std::uint8_t type,
                  std::uint8_t code);
  /// Walks a generated packet out of `port` (from the device that owns it).
  void emit(const Branch& from, Packet pkt, PortId port);

  /// While alive, the walk is on a generated packet: what it reads does not widen the flow's
  /// mask or tags (the generated packet is the agent's output, not part of the flow).
  class GeneratedScope {
   public:
    explicit GeneratedScope(Walk& w);
    ~GeneratedScope();
    GeneratedScope(const GeneratedScope&) = delete;
    GeneratedScope& operator=(const GeneratedScope&) = delete;

   private:
    Walk& w_;
    FieldMask mask_;
    std::size_t tags_;
    std::size_t hop_;
  };

  // Trace and tags.
  void begin_hop(const std::string& device, const char* kind, PortId in_port);
  void set_out_port(PortId port);
  void tag(FlowTag::Kind kind, std::uint32_t id);

  const Simulator& sim_;
  const Topology& topo_;
  SimState& state_;
  SimulationResult& result_;
  const bool trace_;
  const SimTime now_;
  PortId origin_;                  // where the original packet entered
  Packet original_;                // as it entered (conntrack keys are built from it)
  std::optional<bool> is_return_;  // conntrack verdict, computed on first use
  std::uint32_t nat_device_ = 0;   // device whose chain is being evaluated

  bool consumed_ = false;
  std::optional<DropInfo> first_drop_;
  SourceLoc first_drop_source_;
  std::size_t hop_ = 0;  // index of the current hop in result_.hops
  bool in_generated_ = false;
  // Scratch for chain evaluation: the thread's, reused by its walks (a vector of a walk's own was
  // 1.5 allocations a simulation).
  std::vector<ChainId>& visited_;
};

}  // namespace hivesim
