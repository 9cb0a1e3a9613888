#pragma once
// IP protocol numbers and their names, written down once. Every layer that turns a protocol
// number into a word or back reads this table: the scenario's `proto` and VIPs, the packet
// spec, rule and flow renderings, reach's services and the Neutron importer.
//
// Invariants: numbers are IANA's; names are the lowercase keywords iptables and Neutron use.
// The first three entries are the protocols the model parses (their headers are in a Packet)
// and the only ones with a word in the scenario language and the packet spec; the others are
// names Neutron security-group rules may use, which hivesim writes as numbers. Lookups are a
// linear scan of 12 entries, all constexpr.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hivesim::ipproto {

inline constexpr std::uint8_t kIcmp = 1;
inline constexpr std::uint8_t kTcp = 6;
inline constexpr std::uint8_t kUdp = 17;

struct Entry {
  std::string_view name;
  std::uint8_t number;
};

/// The protocols the model has a word for, in the order messages list them.
inline constexpr std::size_t kModelled = 3;

inline constexpr std::array<Entry, 12> kTable = {{
    {"tcp", kTcp},
    {"udp", kUdp},
    {"icmp", kIcmp},
    {"igmp", 2},
    {"ipip", 4},
    {"dccp", 33},
    {"gre", 47},
    {"esp", 50},
    {"ah", 51},
    {"vrrp", 112},
    {"sctp", 132},
    {"udplite", 136},
}};

/// The model's word for `number` ("tcp", "udp", "icmp"), or "" for any other protocol.
constexpr std::string_view name(std::uint8_t number) {
  for (std::size_t i = 0; i < kModelled; ++i) {
    if (kTable[i].number == number) return kTable[i].name;
  }
  return {};
}

/// The number of a word of the model ("tcp", "udp", "icmp"), or nullopt.
constexpr std::optional<std::uint8_t> from_name(std::string_view word) {
  for (std::size_t i = 0; i < kModelled; ++i) {
    if (kTable[i].name == word) return kTable[i].number;
  }
  return std::nullopt;
}

/// The number of any name of the table ("gre", "sctp", ... too), or nullopt.
constexpr std::optional<std::uint8_t> from_any_name(std::string_view word) {
  for (const Entry& e : kTable) {
    if (e.name == word) return e.number;
  }
  return std::nullopt;
}

/// name(number), or the number in decimal for a protocol the model has no word for.
inline std::string to_string(std::uint8_t number) {
  const std::string_view word = name(number);
  return word.empty() ? std::to_string(number) : std::string(word);
}

static_assert(name(kTcp) == "tcp" && name(kUdp) == "udp" && name(kIcmp) == "icmp");
static_assert(from_name("gre") == std::nullopt && from_any_name("gre") == 47);

}  // namespace hivesim::ipproto
