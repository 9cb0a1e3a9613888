#pragma once
// What one flow simulation returns: the verdict, the packets leaving the virtual network (the
// original, possibly rewritten, and any the devices generated), the mask of header fields the
// simulation read, the flow tags naming every object it read, and the hop trace.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/packet/packet.hpp"
#include "topology/model.hpp"

namespace hivesim {

/// Names one topology object a simulation read; a change to that object invalidates the flow.
struct FlowTag {
  enum class Kind : std::uint8_t {
    kPort,
    kBridge,
    kRouter,
    kChain,
    kMacEntry,  // id = bridge; the learned MAC is part of the key in the datapath layer
    kArpEntry,  // id = router
    kLoadBalancer,
    kPool,
  };
  Kind kind = Kind::kPort;
  std::uint32_t id = 0;
  friend bool operator==(FlowTag, FlowTag) = default;
  friend auto operator<=>(FlowTag, FlowTag) = default;
};

/// The device, chain and rule that decided a drop.
struct DropInfo {
  DropReason reason = DropReason::kRule;
  std::string device;                 // device or chain name
  std::optional<std::uint32_t> rule;  // rule index in `device` when a chain decided
};

/// A packet leaving the virtual network at an exterior port.
struct OutPacket {
  PortId port;
  Packet packet;
  bool generated = false;  // an ICMP error, echo reply or ARP reply made by a device
};

/// One device visited, in order. Recorded only when tracing is on.
struct Hop {
  std::string device;
  std::string kind;  // "bridge", "router", "chain", "port"
  std::string in_port;
  std::string out_port;  // empty: the packet did not leave the device this way
  std::string detail;
};

/// A load balancer's decision for the simulated packet: which VIP sent it to which member.
struct LbChoice {
  VipId vip;
  Ipv4 member_ip;
  std::uint16_t member_port = 0;
};

struct SimulationResult {
  Verdict verdict = Verdict::kDropped;
  std::optional<DropInfo> drop;  // set iff verdict == kDropped
  /// Where the rule or route that decided the drop is written in the scenario (line 0: none
  /// did; reports then fall back to where the drop's device is declared).
  SourceLoc drop_source;
  std::vector<OutPacket> out;  // original (rewritten) first, in port order, then generated
  FieldMask mask;
  std::vector<FlowTag> tags;         // sorted, unique
  std::optional<LbChoice> balanced;  // set when a VIP balanced the packet
  std::vector<Hop> hops;             // empty unless tracing

  /// Ports where the original packet leaves (SPEC "to"), in order.
  std::vector<PortId> delivered_ports() const;
};

}  // namespace hivesim
