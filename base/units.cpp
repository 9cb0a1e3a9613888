#include "base/units.hpp"

#include <cstdio>

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace hivesim {

namespace {

/// Splits "12.5ms" into a non-negative decimal number and its suffix; nullopt if no number.
struct Quantity {
  std::string_view digits;  // "12.5"
  std::string_view unit;    // "ms"
};

std::optional<Quantity> split_quantity(std::string_view text) {
  std::size_t i = 0;
  bool seen_digit = false;
  bool seen_dot = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      seen_digit = true;
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      break;
    }
  }
  if (!seen_digit) return std::nullopt;
  return Quantity{text.substr(0, i), text.substr(i)};
}

/// Exact decimal scaling: "1.5" * 1'000'000 -> 1'500'000; nullopt if not whole or overflow.
std::optional<std::int64_t> scale_exact(std::string_view digits, std::int64_t scale) {
  const std::size_t dot = digits.find('.');
  const std::string_view whole = digits.substr(0, dot);
  std::string_view frac =
      dot == std::string_view::npos ? std::string_view{} : digits.substr(dot + 1);
  std::int64_t result = 0;
  for (char c : whole) {
    if (__builtin_mul_overflow(result, 10, &result) ||
        __builtin_add_overflow(result, c - '0', &result)) {
      return std::nullopt;
    }
  }
  if (__builtin_mul_overflow(result, scale, &result)) return std::nullopt;
  std::int64_t place = scale;
  for (char c : frac) {
    if (c == '0') {
      place /= 10;
      continue;
    }
    if (place % 10 != 0) return std::nullopt;  // finer than one unit of the base
    place /= 10;
    result += (c - '0') * place;
  }
  return result;
}

}  // namespace

std::optional<SimTime> parse_duration(std::string_view text) {
  auto q = split_quantity(text);
  if (!q) return std::nullopt;
  static constexpr std::array<std::pair<std::string_view, SimTime>, 5> kUnits{{{"ns", kNanosecond},
                                                                               {"us", kMicrosecond},
                                                                               {"ms", kMillisecond},
                                                                               {"s", kSecond},
                                                                               {"m", kMinute}}};
  for (const auto& [name, scale] : kUnits) {
    if (q->unit == name) return scale_exact(q->digits, scale);
  }
  return std::nullopt;
}

std::string format_duration(SimTime ns) {
  static constexpr std::array<std::pair<std::string_view, SimTime>, 4> kUnits{
      {{"s", kSecond}, {"ms", kMillisecond}, {"us", kMicrosecond}, {"ns", kNanosecond}}};
  for (const auto& [name, scale] : kUnits) {
    if (ns != 0 && ns % scale == 0) return std::to_string(ns / scale) + std::string(name);
  }
  return "0s";
}

std::string human_duration(SimTime ns) {
  if (ns <= 0) return "0s";
  static constexpr std::array<std::pair<std::string_view, SimTime>, 3> kUnits{
      {{"s", kSecond}, {"ms", kMillisecond}, {"us", kMicrosecond}}};
  for (const auto& [name, scale] : kUnits) {
    if (ns < scale) continue;
    const double v = static_cast<double>(ns) / static_cast<double>(scale);
    const int decimals = v >= 100 ? 0 : v >= 10 ? 1 : 2;
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    std::string s = buf;
    if (s.find('.') != std::string::npos) {
      while (s.back() == '0')
        s.pop_back();
      if (s.back() == '.') s.pop_back();
    }
    return s + std::string(name);
  }
  return std::to_string(ns) + "ns";
}

std::optional<double> parse_rate(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto count = split_quantity(text.substr(0, slash));
  if (!count || !count->unit.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] =
      std::from_chars(count->digits.data(), count->digits.data() + count->digits.size(), value);
  if (ec != std::errc{} || !(value > 0) || !std::isfinite(value)) return std::nullopt;
  const std::string_view per = text.substr(slash + 1);
  if (per == "s") return value;
  if (per == "ms") return value * 1e3;
  if (per == "us") return value * 1e6;
  if (per == "m") return value / 60.0;
  return std::nullopt;
}

std::optional<std::uint64_t> parse_bandwidth(std::string_view text) {
  auto q = split_quantity(text);
  if (!q) return std::nullopt;
  static constexpr std::array<std::pair<std::string_view, std::int64_t>, 5> kUnits{
      {{"bps", 1},
       {"kbps", 1000},
       {"Mbps", 1000000},
       {"Gbps", 1000000000},
       {"Tbps", 1000000000000}}};
  for (const auto& [name, scale] : kUnits) {
    if (q->unit == name) {
      auto bits = scale_exact(q->digits, scale);
      if (!bits || *bits <= 0) return std::nullopt;
      return static_cast<std::uint64_t>(*bits);
    }
  }
  return std::nullopt;
}

}  // namespace hivesim
