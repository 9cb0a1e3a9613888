#pragma once
// The `dhcp` word of the packet spec (internal to sim/packet; spec.hpp is the interface): its
// value parsers, the packet it builds, and the keys a DHCP message prints as.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/packet/dhcp.hpp"
#include "sim/packet/spec.hpp"

namespace hivesim::spec_dhcp {

/// Value parsers: success when stored, else an error carrying the allowed form for the message.
Status parse_type(std::string_view v, PacketSpec& s);
Status parse_dns(std::string_view v, PacketSpec& s);
Status parse_routes(std::string_view v, PacketSpec& s);

/// Completes `p` (whose eth_src and VLAN tags are set) as the DHCP message `spec` describes.
void build(const PacketSpec& spec, Packet& p);

/// The keys after `tos` of a packet carrying `m`, in print order.
std::vector<std::pair<std::string, std::string>> fields(const dhcp::Message& m);

}  // namespace hivesim::spec_dhcp
