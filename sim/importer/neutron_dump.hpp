#pragma once
// The records of a Neutron dump, checked (internal to the importer; see neutron_import.hpp).
// Every reference between records is an index, resolved while reading; optional fields that
// the API may leave null are std::optional.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "topology/address.hpp"

namespace hivesim::neutron {

inline constexpr std::size_t kNone = static_cast<std::size_t>(-1);

struct FixedIp {
  std::optional<Ipv4> ip;  // absent: an IPv6 address (kept out of the model)
  std::string text;
  std::size_t subnet = kNone;
};

struct AddressPairIn {
  std::string ip;  // as written (may be IPv6)
  std::optional<Ipv4Prefix> prefix;
  std::optional<Mac> mac;
};

struct NetworkIn {
  std::string id, name;
  bool external = false;
  bool admin_up = true;
  std::vector<std::size_t> subnets;
};

struct HostRouteIn {
  std::string destination, nexthop;
};

struct SubnetIn {
  std::string id, name;
  std::size_t network = kNone;
  int ip_version = 4;
  std::string cidr_text;
  std::optional<Ipv4Prefix> cidr;
  std::optional<Ipv4> gateway;
  bool dhcp = true;
  std::vector<std::string> dns;
  std::vector<HostRouteIn> host_routes;
};

struct PortIn {
  std::string id, name;
  std::size_t network = kNone;
  std::optional<Mac> mac;
  std::vector<FixedIp> fixed_ips;
  std::string device_owner, device_id, host;
  std::vector<std::size_t> security_groups;
  bool port_security = true;
  bool admin_up = true;
  std::vector<AddressPairIn> pairs;
};

/// A load balancer's VIP port: Octavia names its owner "Octavia", Neutron LBaaS v2
/// "neutron:LOADBALANCERV2".
inline bool is_load_balancer_port(const PortIn& p) {
  return p.device_owner == "Octavia" ||
         std::string_view(p.device_owner).starts_with("neutron:LOADBALANCER");
}

struct RouteIn {
  std::string destination, nexthop;
};

struct RouterIn {
  std::string id, name;
  bool admin_up = true;
  std::size_t gateway_network = kNone;
  bool enable_snat = true;
  std::vector<RouteIn> routes;
};

struct FloatingIpIn {
  std::string id;
  std::optional<Ipv4> ip;
  std::string ip_text;
  std::size_t network = kNone;
  std::size_t port = kNone;  // kNone: not associated
  std::optional<Ipv4> fixed;
  std::size_t router = kNone;
};

struct SgRuleIn {
  std::string id;
  bool ingress = true;
  bool ipv4 = true;
  std::string protocol;  // as written; empty: any
  std::optional<std::uint32_t> port_min, port_max;
  std::string remote_prefix;
  std::size_t remote_group = kNone;
};

struct SecurityGroupIn {
  std::string id, name;
  std::vector<SgRuleIn> rules;
};

struct LoadBalancerIn {
  std::string id, name;
  std::optional<Ipv4> vip;
  std::size_t vip_port = kNone;
  std::size_t vip_subnet = kNone;
  bool admin_up = true;
};

struct ListenerIn {
  std::string id, name, protocol;
  std::uint32_t port = 0;
  std::size_t default_pool = kNone;
  std::size_t lb = kNone;
  bool admin_up = true;
};

struct MemberIn {
  std::string id;
  std::optional<Ipv4> ip;
  std::string ip_text;
  std::uint32_t port = 0;
  std::uint32_t weight = 1;
  bool admin_up = true;
};

struct PoolIn {
  std::string id, name, protocol, algorithm, persistence;
  std::size_t lb = kNone;
  std::size_t healthmonitor = kNone;
  bool admin_up = true;
  std::vector<MemberIn> members;
};

struct HealthMonitorIn {
  std::string id;
  std::uint32_t delay = 5, timeout = 5, retries = 3;
};

struct HypervisorIn {
  std::string name;
  std::optional<Ipv4> ip;
};

struct Dump {
  std::vector<NetworkIn> networks;
  std::vector<SubnetIn> subnets;
  std::vector<PortIn> ports;
  std::vector<RouterIn> routers;
  std::vector<FloatingIpIn> floating_ips;
  std::vector<SecurityGroupIn> security_groups;
  std::vector<LoadBalancerIn> load_balancers;
  std::vector<ListenerIn> listeners;
  std::vector<PoolIn> pools;
  std::vector<HealthMonitorIn> health_monitors;
  std::vector<HypervisorIn> hypervisors;
};

/// Reads and checks the dump (and the hypervisor list, when not empty).
Result<Dump> read_dump(std::string_view json, std::string_view hypervisors_json);

}  // namespace hivesim::neutron
