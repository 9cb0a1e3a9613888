#pragma once
// Simulated time and the unit strings of the scenario language.
// One time type everywhere: 64-bit signed integer nanoseconds of simulated time.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hivesim {

/// Nanoseconds of simulated time (or a duration in ns). Never wall-clock time.
using SimTime = std::int64_t;

inline constexpr SimTime kNanosecond = 1;
inline constexpr SimTime kMicrosecond = 1000;
inline constexpr SimTime kMillisecond = 1000 * kMicrosecond;
inline constexpr SimTime kSecond = 1000 * kMillisecond;
inline constexpr SimTime kMinute = 60 * kSecond;

/// "250ns", "10us", "5ms", "2s", "1m"; a decimal fraction is allowed ("1.5s") as long as the
/// result is a whole number of nanoseconds. Negative or overflowing values are rejected.
[[nodiscard]] std::optional<SimTime> parse_duration(std::string_view text);
/// The shortest exact rendering in the largest unit that divides it ("1500ms", "2s").
std::string format_duration(SimTime ns);
/// A duration for people: three significant digits in the largest unit it reaches ("1.2s",
/// "1.23ms", "123us", "40us"); exact below a microsecond; "0s" for zero or less.
std::string human_duration(SimTime ns);

/// "1000/s", "5/ms", "60/m": events per second, > 0.
[[nodiscard]] std::optional<double> parse_rate(std::string_view text);

/// "10Gbps", "100Mbps", "1500bps", "1.5Gbps": bits per second, > 0 (k, M, G, T prefixes).
[[nodiscard]] std::optional<std::uint64_t> parse_bandwidth(std::string_view text);

}  // namespace hivesim
