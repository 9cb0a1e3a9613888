#pragma once
// DHCP messages (RFC 2131 on BOOTP, RFC 2132 options, RFC 3442 classless routes) as the UDP
// payload of a Packet: the agent's DHCP server (SPEC section 8) reads client messages and
// writes replies, the packet spec builds and prints them, and the frame codec carries them as
// payload bytes (so pcap captures hold real DHCP).
//
// Only what the model uses is kept: the fixed BOOTP fields a server fills and the options of
// SPEC section 8. decode() accepts any byte string without reading past it; it fails on a
// payload that is not a BOOTP message with the DHCP magic cookie and a message type.
// Cost: one pass over the payload; encode() allocates the payload once.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "sim/packet/packet.hpp"
#include "topology/model.hpp"

namespace hivesim::dhcp {

inline constexpr std::uint16_t kServerPort = 67;
inline constexpr std::uint16_t kClientPort = 68;

enum class MessageType : std::uint8_t {
  kDiscover = 1,
  kOffer = 2,
  kRequest = 3,
  kDecline = 4,
  kAck = 5,
  kNak = 6,
  kRelease = 7,
  kInform = 8,
};

std::string_view to_string(MessageType t);
[[nodiscard]] std::optional<MessageType> parse_message_type(std::string_view word);

struct Message {
  bool reply = false;  // BOOTP op: 1 request, 2 reply
  std::uint32_t xid = 0;
  Mac chaddr;
  Ipv4 ciaddr;
  Ipv4 yiaddr;
  Ipv4 siaddr;
  MessageType type = MessageType::kDiscover;  // option 53
  std::optional<Ipv4> requested_ip;           // option 50
  std::optional<Ipv4> server_id;              // option 54
  std::optional<Ipv4> mask;                   // option 1
  std::optional<Ipv4> router;                 // option 3 (the first router)
  std::vector<Ipv4> dns;                      // option 6
  std::optional<std::uint32_t> lease;         // option 51, seconds
  std::optional<std::uint16_t> mtu;           // option 26
  std::optional<Ipv4> broadcast;              // option 28
  std::vector<DhcpRoute> routes;              // option 121
  friend bool operator==(const Message&, const Message&) = default;
};

/// The BOOTP payload of `m` (at least 300 bytes, as clients pad).
std::vector<std::uint8_t> encode(const Message& m);
/// The message in `payload`; nullopt when it is not a DHCP message.
[[nodiscard]] std::optional<Message> decode(std::span<const std::uint8_t> payload);
/// The message a packet carries: IPv4 UDP between ports 67 and 68 with a DHCP payload.
[[nodiscard]] std::optional<Message> of_packet(const Packet& p);
/// Puts `m` into `p` as its UDP payload (client -> server ports for requests, else reverse).
void set_payload(Packet& p, const Message& m);

}  // namespace hivesim::dhcp
