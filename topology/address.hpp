#pragma once
// Network addresses as small value types: Ethernet MAC, IPv4 address, IPv4 prefix.
// All are trivially copyable, compare by value and hash cheaply; parsing never throws and
// returns std::nullopt on malformed text. IPv4 values are kept in host byte order.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hivesim {

/// A 48-bit Ethernet address, stored in the low 48 bits of an integer (first octet highest).
struct Mac {
  std::uint64_t bits = 0;

  static constexpr Mac broadcast() { return Mac{0xffffffffffffULL}; }
  static Mac from_bytes(const std::uint8_t* six);
  void to_bytes(std::uint8_t* six) const;

  /// The I/G bit of the first octet: set for broadcast and multicast.
  constexpr bool is_multicast() const { return (bits >> 40) & 1U; }
  constexpr bool is_broadcast() const { return bits == broadcast().bits; }

  /// "aa:bb:cc:dd:ee:ff" (also accepts '-' separators and upper case).
  [[nodiscard]] static std::optional<Mac> parse(std::string_view text);
  std::string str() const;

  friend constexpr bool operator==(Mac, Mac) = default;
  friend constexpr auto operator<=>(Mac, Mac) = default;
};

/// An IPv4 address in host byte order.
struct Ipv4 {
  std::uint32_t bits = 0;

  /// Dotted quad, exactly four decimal octets.
  [[nodiscard]] static std::optional<Ipv4> parse(std::string_view text);
  std::string str() const;

  constexpr bool is_broadcast() const { return bits == 0xffffffffU; }
  constexpr bool is_multicast() const { return (bits >> 28) == 0xe; }

  friend constexpr bool operator==(Ipv4, Ipv4) = default;
  friend constexpr auto operator<=>(Ipv4, Ipv4) = default;
};

/// An IPv4 prefix "a.b.c.d/len"; the address keeps the host bits as written (a router port
/// "10.0.1.1/24" is both the port address and its subnet), `network()` masks them off.
struct Ipv4Prefix {
  Ipv4 addr;
  std::uint8_t len = 0;

  static constexpr std::uint32_t mask_of(std::uint8_t len) {
    return len == 0 ? 0U : ~0U << (32 - len);
  }
  constexpr std::uint32_t mask() const { return mask_of(len); }
  constexpr Ipv4 network() const { return Ipv4{addr.bits & mask()}; }
  constexpr bool contains(Ipv4 ip) const { return ((ip.bits ^ addr.bits) & mask()) == 0; }
  /// Directed broadcast address of the subnet.
  constexpr Ipv4 broadcast() const { return Ipv4{addr.bits | ~mask()}; }

  /// "a.b.c.d/len" or a bare address (then /32).
  [[nodiscard]] static std::optional<Ipv4Prefix> parse(std::string_view text);
  std::string str() const;

  friend constexpr bool operator==(Ipv4Prefix, Ipv4Prefix) = default;
};

/// A classless static route a DHCP reply hands out (option 121): destination and gateway.
struct DhcpRoute {
  Ipv4Prefix dst{Ipv4{0}, 0};
  Ipv4 via;
  friend bool operator==(const DhcpRoute&, const DhcpRoute&) = default;
};

}  // namespace hivesim

template <>
struct std::hash<hivesim::Mac> {
  std::size_t operator()(hivesim::Mac m) const noexcept {
    return std::hash<std::uint64_t>{}(m.bits);
  }
};
template <>
struct std::hash<hivesim::Ipv4> {
  std::size_t operator()(hivesim::Ipv4 a) const noexcept {
    return std::hash<std::uint32_t>{}(a.bits);
  }
};
