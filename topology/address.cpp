#include "topology/address.hpp"

#include <charconv>
#include <cstdio>

namespace hivesim {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Parses a decimal number in [0, max] that fills `text` entirely; no sign, no leading '+'.
std::optional<unsigned> parse_decimal(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

}  // namespace

Mac Mac::from_bytes(const std::uint8_t* six) {
  std::uint64_t bits = 0;
  for (int i = 0; i < 6; ++i)
    bits = (bits << 8) | six[i];
  return Mac{bits};
}

void Mac::to_bytes(std::uint8_t* six) const {
  for (int i = 0; i < 6; ++i)
    six[i] = static_cast<std::uint8_t>(bits >> (8 * (5 - i)));
}

std::optional<Mac> Mac::parse(std::string_view text) {
  // Exactly six groups of two hex digits separated by ':' or '-'.
  if (text.size() != 17) return std::nullopt;
  std::uint64_t bits = 0;
  for (std::size_t group = 0; group < 6; ++group) {
    const std::size_t at = group * 3;
    const int hi = hex_digit(text[at]);
    const int lo = hex_digit(text[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (group < 5 && text[at + 2] != ':' && text[at + 2] != '-') return std::nullopt;
    bits = (bits << 8) | static_cast<std::uint64_t>(hi * 16 + lo);
  }
  return Mac{bits};
}

std::string Mac::str() const {
  std::uint8_t b[6];
  to_bytes(b);
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                b[5]);
  return buf;
}

std::optional<Ipv4> Ipv4::parse(std::string_view text) {
  std::uint32_t bits = 0;
  for (int octet = 0; octet < 4; ++octet) {
    const std::size_t dot = octet < 3 ? text.find('.') : text.size();
    if (dot == std::string_view::npos) return std::nullopt;
    const std::string_view part = text.substr(0, dot);
    if (part.size() > 3) return std::nullopt;
    auto value = parse_decimal(part, 255);
    if (!value) return std::nullopt;
    bits = (bits << 8) | *value;
    text.remove_prefix(octet < 3 ? dot + 1 : dot);
  }
  if (!text.empty()) return std::nullopt;
  return Ipv4{bits};
}

std::string Ipv4::str() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", bits >> 24, (bits >> 16) & 0xff, (bits >> 8) & 0xff,
                bits & 0xff);
  return buf;
}

std::optional<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  auto addr = Ipv4::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  if (slash == std::string_view::npos) return Ipv4Prefix{*addr, 32};
  auto len = parse_decimal(text.substr(slash + 1), 32);
  if (!len) return std::nullopt;
  return Ipv4Prefix{*addr, static_cast<std::uint8_t>(*len)};
}

std::string Ipv4Prefix::str() const {
  return addr.str() + "/" + std::to_string(len);
}

}  // namespace hivesim
