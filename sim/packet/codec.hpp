#pragma once
// Wire format: Packet <-> Ethernet frame bytes.
//
// serialize() writes Ethernet, 802.1Q/QinQ tags, ARP or IPv4 (with options and fragment
// fields), ICMP (echo; errors with the quoted header), TCP and UDP, computing every checksum.
// parse_frame() reads the same set; other ethertypes (IPv6, ...) are kept as an opaque payload
// so that bridges can forward them unchanged. A frame that is truncated or inconsistent is not
// an error of the program but a packet the datapath drops as `malformed`: parse_frame() then
// returns an error whose message says what was wrong ("ipv4 header truncated: 14 of 20 bytes").

#include <cstdint>
#include <span>
#include <vector>

#include "sim/packet/packet.hpp"
#include "topology/result.hpp"

namespace hivesim {

/// The frame as it would be on the wire (no FCS). Checksums are computed.
std::vector<std::uint8_t> serialize(const Packet& p);

/// Parses a captured Ethernet frame. Never reads past `frame`.
Result<Packet> parse_frame(std::span<const std::uint8_t> frame);

/// RFC 1071 Internet checksum over `data` (folded, complemented).
std::uint16_t internet_checksum(std::span<const std::uint8_t> data, std::uint32_t initial = 0);

}  // namespace hivesim
