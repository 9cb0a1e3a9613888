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

#include "base/result.hpp"
#include "sim/packet/packet.hpp"

namespace hivesim {

/// The frame as it would be on the wire (no FCS, no padding to 60 bytes). Every checksum is
/// computed. Canonical forms for what Packet does not keep: no TCP options, urgent pointer 0,
/// UDP length = 8 + payload, the quoted header of an ICMP error without options and with
/// zero flags, TCP sequence, UDP checksum, ICMP checksum and sequence. Precondition: an IPv4
/// packet fits its 16-bit total length (true of whatever parse_frame or build_packet made).
std::vector<std::uint8_t> serialize(const Packet& p);

/// serialize(p).size(), without building the frame (bandwidth accounting).
std::size_t wire_length(const Packet& p);

struct ParseOptions {
  /// Copy the payload bytes into Packet::payload. When false, only payload_len is set and the
  /// payload stays empty (it then stands for zeros): no allocation at all.
  bool keep_payload = true;
};

/// Parses a captured Ethernet frame. Never reads past `frame`. Checksums are not verified
/// (captures often carry offloaded ones); bytes past the IPv4 total length (or the 28 bytes of
/// ARP) are padding and ignored; TCP options are skipped. Only unfragmented UDP must have a
/// consistent length. An ICMP error (types 3, 4, 5, 11, 12) must quote an IPv4 header plus 8
/// bytes. Allocates only the payload vector (and not that with keep_payload = false).
Result<Packet> parse_frame(std::span<const std::uint8_t> frame, ParseOptions options = {});

/// parse_frame() into `out`, which it overwrites whole (its payload buffer is reused, so a reader
/// parsing into one Packet allocates nothing). On an error `out` holds whatever was parsed before
/// it.
Status parse_frame_into(std::span<const std::uint8_t> frame, Packet& out,
                        ParseOptions options = {});

/// What a packet parsed without its payload holds beyond its flow key and length, for a frame
/// frame_flow_key() accepts: 13 bytes instead of the frame's.
struct KeyedRest {
  std::uint32_t tcp_seq = 0;
  std::uint32_t tcp_ack = 0;
  std::uint16_t ip_id = 0;
  std::uint16_t tcp_window = 0;
  bool dont_fragment = false;
  friend bool operator==(const KeyedRest&, const KeyedRest&) = default;
};

/// flow_key() and wire_length() of `frame` parsed, read straight from its bytes, for the frames
/// most traffic is made of: untagged Ethernet, IPv4 without options and not fragmented, TCP or
/// UDP, all of it as parse_frame() accepts, with the frame's KeyedRest (which with the key and
/// length is the whole packet when its payload is not kept: packet_from_keyed). False, leaving
/// `key`, `length` and `rest` unspecified, for every other frame: parse it then. A frame this
/// accepts parses (with the same key and length), so a reader may take its key now and parse it
/// later, or never.
[[nodiscard]] bool frame_flow_key(std::span<const std::uint8_t> frame, PortId in_port, FlowKey& key,
                                  std::size_t& length, KeyedRest& rest);

/// Overwrites `out` (its payload buffer kept) with what parse_frame_into(frame, out,
/// {.keep_payload = false}) makes of a frame that frame_flow_key(frame, ..., key, length, rest)
/// accepted: a reader that keeps no payload need not keep the frame either.
void packet_from_keyed(const FlowKey& key, std::size_t length, const KeyedRest& rest, Packet& out);

/// RFC 1071 Internet checksum over `data` (folded, complemented).
std::uint16_t internet_checksum(std::span<const std::uint8_t> data, std::uint32_t initial = 0);

}  // namespace hivesim
