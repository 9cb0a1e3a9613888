#pragma once
// The scenario model: the virtual and physical topology (hosts, tunnel zones, bridges, routers,
// ports, chains, security groups, NAT, load balancers) plus what a run does with it (traffic,
// failures, expectations).
//
// Invariants once a Scenario has been returned by the loader (topology/load/loader.hpp):
//  - every name is unique within its kind, and every reference is resolved to a valid id;
//  - objects live in dense vectors and an id is the index into its vector;
//  - router ports carry an address with prefix length and a MAC; their connected and local
//    routes are *not* listed in `Router::routes` (the flow core derives them);
//  - a `peer` link is symmetric: ports[p].peer == q  <=>  ports[q].peer == p.
// Objects are plain values: a topology change (a `set` failure, port down) copies and edits.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "base/units.hpp"
#include "topology/address.hpp"
#include "topology/ids.hpp"

namespace hivesim {

/// Where an object was written in the scenario file (1-based; 0 = not from a file).
struct SourceLoc {
  std::uint32_t line = 0;
  std::uint32_t col = 0;
};

// ---------------------------------------------------------------------------------------------
// Verdicts and drop reasons: the vocabulary shared by expectations, the flow core and reports.

enum class Verdict : std::uint8_t { kDelivered, kDropped, kConsumed };

enum class DropReason : std::uint8_t {
  kRule,
  kNoRoute,
  kBlackhole,
  kReject,
  kAdminDown,
  kNoBackend,
  kLoop,
  kTtl,
  kArpUnresolved,
  kHostDown,
  kTunnelDown,
  kNoBinding,
  kNotForRouter,
  kMalformed,
  kUnsupported,
};

std::string_view to_string(Verdict v);
std::string_view to_string(DropReason r);
std::optional<Verdict> parse_verdict(std::string_view text);
std::optional<DropReason> parse_drop_reason(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Physical world.

struct AgentConfig {
  SimTime sim_latency = 40 * kMicrosecond;  // modelled cost of one flow simulation
  std::uint32_t max_flows = 100000;         // datapath flow-table capacity
  SimTime flow_idle = 60 * kSecond;         // idle expiry of an installed flow
};

struct Host {
  std::string name;
  Ipv4 ip;
  AgentConfig agent;
  SourceLoc loc;
};

enum class TunnelType : std::uint8_t { kVxlan, kGre };

struct TunnelZone {
  std::string name;
  TunnelType type = TunnelType::kVxlan;
  std::vector<HostId> hosts;
  SourceLoc loc;
};

struct Underlay {
  SimTime latency = 50 * kMicrosecond;
  double loss = 0.0;                                // probability in [0, 1]
  std::uint64_t bandwidth_bps = 10'000'000'000ULL;  // per host link
  /// MTU of the hosts' underlay interfaces; a DHCP reply offers at most mtu - 50 (VXLAN).
  std::uint32_t mtu = 1500;
};

struct NsdbConfig {
  std::uint32_t replicas = 3;
  SimTime latency = 2 * kMillisecond;  // write -> watch notification delay
  /// hivesim extension: how long after a host dies its NSDB session expires and its ports
  /// become inactive. Default: MidoNet's ZooKeeper session timeout.
  SimTime session_timeout = 30 * kSecond;
};

// ---------------------------------------------------------------------------------------------
// Rules and chains (MidoNet's Condition / Rule / Chain).

struct PortRange {
  std::uint16_t lo = 0;
  std::uint16_t hi = 0;
  constexpr bool contains(std::uint16_t p) const { return p >= lo && p <= hi; }
  friend constexpr bool operator==(PortRange, PortRange) = default;
};

/// Which fragments a condition applies to (MidoNet's FragmentPolicy).
enum class FragmentPolicy : std::uint8_t { kAny, kHeader, kNonheader, kUnfragmented };

/// A reference to a set of ports: an explicit `port_groups` entry or a security group.
struct PortGroupRef {
  enum class Kind : std::uint8_t { kPortGroup, kSecurityGroup } kind = Kind::kPortGroup;
  std::uint32_t index = 0;
  friend bool operator==(PortGroupRef, PortGroupRef) = default;
};

/// All fields are optional; an absent field matches everything. `invert` negates the whole
/// condition after the per-field negations (`!` on src/dst) have been applied.
struct Condition {
  std::vector<PortId> in_ports;   // any of these (empty: no constraint)
  std::vector<PortId> out_ports;  // any of these
  std::optional<PortGroupRef> port_group;
  std::optional<Ipv4Prefix> src;
  bool src_negated = false;
  std::optional<Ipv4Prefix> dst;
  bool dst_negated = false;
  std::optional<std::uint8_t> proto;
  std::optional<PortRange> sport;
  std::optional<PortRange> dport;
  std::optional<Mac> eth_src;
  std::optional<Mac> eth_dst;
  std::optional<std::uint16_t> ethertype;
  std::optional<std::uint16_t> vlan;
  std::optional<std::uint8_t> tos;
  /// Explicit policy; when absent MidoNet's default applies: kHeader if the condition reads L4
  /// fields (sport/dport), else kAny.
  std::optional<FragmentPolicy> frag;
  /// forward_flow: true and return_flow: false both mean "forward only".
  std::optional<bool> forward_flow;
  /// hivesim extension (MidoNet's nw_dst_rewritten): true matches packets whose destination
  /// address differs from the one they entered the virtual network with (a DNAT happened).
  std::optional<bool> dst_rewritten;
  bool invert = false;
};

/// A NAT target pool: addresses [ip_lo, ip_hi] and ports [port_lo, port_hi]. Ports 0/0 mean
/// "keep the port" (static NAT when also ip_lo == ip_hi).
struct NatTarget {
  Ipv4 ip_lo;
  Ipv4 ip_hi;
  std::uint16_t port_lo = 0;
  std::uint16_t port_hi = 0;
  bool is_static() const { return ip_lo == ip_hi && port_lo == 0 && port_hi == 0; }
};

enum class ActionKind : std::uint8_t {
  kAccept,
  kDrop,
  kReject,
  kContinue,
  kReturn,
  kJump,
  kDnat,
  kSnat,
  kRevDnat,
  kRevSnat,
};

/// What a NAT rule does after translating (`then:`); default accept.
enum class NatThen : std::uint8_t { kAccept, kContinue, kReturn };

struct Action {
  ActionKind kind = ActionKind::kAccept;
  ChainId jump;                     // kJump
  NatTarget nat;                    // kDnat, kSnat
  NatThen then = NatThen::kAccept;  // the four NAT kinds
};

struct Rule {
  Condition match;
  Action action;
  SourceLoc loc;
};

struct Chain {
  std::string name;
  std::vector<Rule> rules;
  SourceLoc loc;
};

// ---------------------------------------------------------------------------------------------
// Security groups and port groups (Neutron-style; compiled into port chains by the flow core).

enum class SgDirection : std::uint8_t { kIngress, kEgress };

struct SecurityGroupRule {
  SgDirection direction = SgDirection::kIngress;
  std::optional<std::uint8_t> proto;  // absent: any protocol
  std::optional<PortRange> port;      // destination port range (tcp/udp)
  Ipv4Prefix remote{Ipv4{0}, 0};      // the other end: source for ingress, destination for egress
  /// Neutron remote_group_id: the other end is any fixed IP of a port in this group (then
  /// `remote` is 0.0.0.0/0).
  std::optional<SecurityGroupId> remote_group;
  SourceLoc loc;
};

struct SecurityGroup {
  std::string name;
  std::vector<SecurityGroupRule> rules;
  std::vector<PortId> ports;  // filled by the loader: the ports that list this group
  SourceLoc loc;
};

/// hivesim extension: an explicit named set of ports for `port_group` conditions.
struct PortGroup {
  std::string name;
  std::vector<PortId> ports;
  /// Flow state a simulation creates for a flow entering or leaving by one of these ports is
  /// pushed to the hosts of all of them (SPEC section 6), e.g. a router's uplinks.
  bool stateful = false;
  SourceLoc loc;
};

// ---------------------------------------------------------------------------------------------
// Virtual devices.

enum class DeviceKind : std::uint8_t { kBridge, kRouter };

/// Neutron allowed_address_pairs entry: the VM behind the port may also source `ip` (a CIDR)
/// from `mac` (absent: the port's MAC).
struct AddressPair {
  Ipv4Prefix ip{Ipv4{0}, 32};
  std::optional<Mac> mac;
};

struct Port {
  std::string name;
  DeviceKind device_kind = DeviceKind::kBridge;
  std::uint32_t device = 0;      // BridgeId or RouterId value, per device_kind
  std::optional<HostId> host;    // set: exterior port bound to that host
  std::optional<PortId> peer;    // set: interior port linked to that port
  std::optional<Mac> mac;        // router ports always have one after loading
  std::optional<Ipv4> ip;        // bridge port: the VM's address; router port: the port address
  std::uint8_t prefix_len = 32;  // router port: subnet length
  std::optional<ChainId> inbound_chain;   // applied as a packet enters the port
  std::optional<ChainId> outbound_chain;  // applied as a packet leaves through the port
  std::vector<SecurityGroupId> security_groups;
  bool admin_up = true;
  /// Liveness as the NSDB records it (not from the scenario): an exterior port is active while
  /// its host's agent holds an NSDB session. Routes through an inactive router port are
  /// withdrawn; a packet sent to an inactive exterior port is dropped `host_down`.
  bool active = true;
  /// hivesim extension: on a bridge, the access VLAN of this port (VLAN-aware bridge): frames
  /// entering get this tag pushed, frames leaving get it popped, only this VLAN leaves here.
  std::optional<std::uint16_t> vlan;
  /// Bridge ports: the anti-spoof check on what the VM sends (SPEC section 8).
  bool port_security = false;
  std::vector<AddressPair> allowed_address_pairs;
  SourceLoc loc;

  bool exterior() const { return host.has_value(); }
  bool on_bridge() const { return device_kind == DeviceKind::kBridge; }
  bool on_router() const { return device_kind == DeviceKind::kRouter; }
  /// Router port subnet (address with host bits as written).
  Ipv4Prefix subnet() const { return Ipv4Prefix{ip.value_or(Ipv4{}), prefix_len}; }
};

struct ArpEntry {
  Ipv4 ip;
  Mac mac;
};

/// A subnet of a bridge and its DHCP service (SPEC section 8).
struct Subnet {
  Ipv4Prefix cidr{Ipv4{0}, 0};
  std::optional<Ipv4> gateway;
  bool dhcp = true;
  std::optional<Ipv4> server;  // absent: the gateway
  std::vector<Ipv4> dns;
  std::vector<DhcpRoute> routes;
  std::optional<std::uint32_t> mtu;
  SourceLoc loc;
};

struct Bridge {
  std::string name;
  std::vector<PortId> ports;
  std::vector<Subnet> subnets;
  std::optional<ChainId> inbound_chain;
  std::optional<ChainId> outbound_chain;
  std::vector<ArpEntry> arp_table;  // pre-seeded IP -> MAC
  bool admin_up = true;
  SourceLoc loc;
};

enum class RouteType : std::uint8_t { kPort, kBlackhole, kReject };

struct Route {
  Ipv4Prefix dst{Ipv4{0}, 0};
  Ipv4Prefix src{Ipv4{0}, 0};
  std::optional<Ipv4> via;     // next-hop gateway; absent: the destination itself
  std::optional<PortId> port;  // required for kPort
  RouteType type = RouteType::kPort;
  std::uint32_t weight = 100;  // lower wins among routes of the same prefix
  SourceLoc loc;
};

struct Router {
  std::string name;
  std::vector<PortId> ports;
  std::vector<Route> routes;  // as written; implicit connected/local routes are derived
  std::vector<ArpEntry> arp_table;
  std::optional<ChainId> inbound_chain;
  std::optional<ChainId> outbound_chain;
  bool admin_up = true;
  SourceLoc loc;
};

struct FloatingIp {
  Ipv4 ip;
  PortId port;
  RouterId router;
  SourceLoc loc;
};

// ---------------------------------------------------------------------------------------------
// L4 load balancing (MidoNet's LoadBalancer / Vip / Pool / PoolMember).

struct PoolMember {
  Ipv4 ip;
  std::uint16_t port = 0;
  std::uint32_t weight = 1;
  bool admin_up = true;
  /// What the pool's health monitor last concluded (not from the scenario; the twin sets it).
  bool healthy = true;
  SourceLoc loc;
};

struct HealthMonitor {
  SimTime interval = kSecond;
  SimTime timeout = 500 * kMillisecond;
  std::uint32_t retries = 3;
};

struct Pool {
  std::string name;
  LoadBalancerId lb;
  std::vector<PoolMember> members;
  std::optional<HealthMonitor> health_monitor;
  bool admin_up = true;
  SourceLoc loc;
};

enum class Persistence : std::uint8_t { kNone, kSourceIp };

struct Vip {
  std::string name;
  LoadBalancerId lb;
  Ipv4 ip;
  std::uint16_t port = 0;
  std::uint8_t proto = 6;
  PoolId pool;
  Persistence persistence = Persistence::kNone;
  bool admin_up = true;
  SourceLoc loc;
};

struct LoadBalancer {
  std::string name;
  RouterId router;
  std::vector<VipId> vips;
  std::vector<PoolId> pools;
  bool admin_up = true;
  SourceLoc loc;
};

// ---------------------------------------------------------------------------------------------
// The topology: every object in dense vectors, with name lookups.

struct Topology {
  std::vector<Host> hosts;
  std::vector<TunnelZone> tunnel_zones;
  std::vector<Chain> chains;
  std::vector<Bridge> bridges;
  std::vector<Router> routers;
  std::vector<Port> ports;
  std::vector<SecurityGroup> security_groups;
  std::vector<PortGroup> port_groups;
  std::vector<FloatingIp> floating_ips;
  std::vector<LoadBalancer> load_balancers;
  std::vector<Pool> pools;
  std::vector<Vip> vips;
  /// The underlay MTU (Scenario::underlay.mtu, copied here for the DHCP server).
  std::uint32_t underlay_mtu = 1500;
  /// Bumped by every change after loading; flows remember the version they were built on.
  std::uint64_t version = 0;

  const Port& port(PortId id) const { return ports[id.value]; }
  const Bridge& bridge(BridgeId id) const { return bridges[id.value]; }
  const Router& router(RouterId id) const { return routers[id.value]; }
  const Chain& chain(ChainId id) const { return chains[id.value]; }
  const Host& host(HostId id) const { return hosts[id.value]; }

  std::optional<PortId> find_port(std::string_view name) const;
  std::optional<HostId> find_host(std::string_view name) const;
  std::optional<BridgeId> find_bridge(std::string_view name) const;
  std::optional<RouterId> find_router(std::string_view name) const;
  std::optional<ChainId> find_chain(std::string_view name) const;
  std::optional<SecurityGroupId> find_security_group(std::string_view name) const;
  std::optional<PoolId> find_pool(std::string_view name) const;
  std::optional<VipId> find_vip(std::string_view name) const;
  std::optional<LoadBalancerId> find_load_balancer(std::string_view name) const;

  /// Name of the device a port belongs to.
  const std::string& device_name(const Port& p) const {
    return p.on_bridge() ? bridges[p.device].name : routers[p.device].name;
  }
};

/// "drop", "jump other", "dnat to 10.0.0.5:80, then continue": for traces and labels.
std::string describe(const Topology& topo, const Action& a);

// ---------------------------------------------------------------------------------------------
// What a run does: traffic, failures, expectations.

struct SyntheticTraffic {
  PortId from;
  std::string packet;  // packet spec (sim/packet/spec.hpp), checked by `hivesim check`
  SourceLoc packet_loc;
  std::uint64_t flows = 1;
  std::uint64_t packets_per_flow = 1;
  double rate = 1.0;  // flows started per second of simulated time
  SimTime start = 0;
  bool reply = false;  // the destination answers each packet
  /// The ports the answers re-enter by, picked per flow by a stable hash (an upstream's ECMP
  /// returning through another gateway); empty: the port the packet was delivered to.
  std::vector<PortId> reply_from;
};

struct PcapTraffic {
  std::string path;  // resolved against the scenario's folder
  PortId port;
  double speed = 1.0;
};

struct Traffic {
  std::string name;
  std::variant<SyntheticTraffic, PcapTraffic> source;
  SourceLoc loc;
};

enum class FailureKind : std::uint8_t {
  kHostDown,
  kHostUp,
  kAgentRestart,
  kNsdbDown,
  kNsdbUp,
  kLinkDown,
  kLinkUp,
  kMemberDown,
  kMemberUp,
  kPortDown,
  kPortUp,
  kSet,
};

/// `set: {chain: C, rule: N, action: A}`: replace the action of rule N of chain C.
struct RuleChange {
  ChainId chain;
  std::uint32_t rule = 0;
  Action action;
};

struct Failure {
  SimTime at = 0;
  FailureKind kind = FailureKind::kHostDown;
  HostId host;                               // host_down/up, agent_restart, link_*: first end
  HostId peer_host;                          // link_*: second end
  std::uint32_t replica = 0;                 // nsdb_down/up
  PoolId pool;                               // member_*
  Ipv4 member_ip;                            // member_*
  std::optional<std::uint16_t> member_port;  // member_*: optional disambiguation
  PortId port;                               // port_down/up
  RuleChange change;                         // set
  std::string label;                         // "host_down hv2", as reports print it
  SourceLoc loc;
};

struct ExpectTrace {
  PortId from;
  std::string packet;
  SourceLoc packet_loc;
  std::optional<Verdict> verdict;
  std::vector<PortId> to;  // delivered to any of these
  std::optional<DropReason> reason;
};

struct ExpectLb {
  VipId vip;
  double max_skew = 0.0;
};

struct ExpectTraffic {
  TrafficId traffic;
  double min_delivered = 1.0;  // fraction of sent packets
};

struct ExpectDrops {
  std::uint64_t max = 0;
  std::optional<DropReason> reason;
  std::optional<std::string> device;
};

struct Expectation {
  std::string name;  // given, or derived from the expectation's text
  std::variant<ExpectTrace, ExpectLb, ExpectTraffic, ExpectDrops> what;
  SourceLoc loc;
};

/// `limits` (SPEC section 10): `run` stops with exit 2 once one is passed. 0 = no limit.
/// max_in_flight bounds the packets the twin holds at once (waiting for a simulation or on
/// the underlay): traffic faster than the agents can simulate would otherwise grow without
/// bound, so it has a default.
struct Limits {
  std::uint64_t max_events = 0;
  std::uint64_t max_flows = 0;
  std::uint64_t max_in_flight = 1'000'000;
};

struct Scenario {
  std::string file;  // as given on the command line; used in messages
  std::string dir;   // folder that relative paths resolve against
  std::string name;
  std::uint64_t seed = 1;
  SimTime duration = 10 * kSecond;
  Underlay underlay;
  NsdbConfig nsdb;
  Topology topology;
  std::vector<Traffic> traffic;
  std::vector<Failure> failures;
  std::vector<Expectation> expectations;
  Limits limits;
};

}  // namespace hivesim
