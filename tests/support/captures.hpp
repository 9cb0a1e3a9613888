#pragma once
// The third-party captures committed under tests/data/pcaps (tests/data/pcaps/SOURCES.md names
// where each comes from and its licence), for the tests that go over all of them.

#include <array>
#include <string>
#include <string_view>

namespace hivesim::testing {

/// File names, sorted, so that a test walking them draws its random numbers in a fixed order.
inline constexpr std::array<std::string_view, 12> kThirdPartyCaptures = {
    "arp.pcap",
    "dns_fragmented.pcap",
    "empty.pcap",
    "http.pcap",
    "icmpv6.pcap",
    "malformed.pcap",
    "pcap-invalid-version-1.pcap",
    "smtp.pcap",
    "synscan.pcap",
    "tcp_header_heapoverflow.pcap",
    "vlan11.pcap",
    "vxlan.pcap"};

/// The path of the committed capture `name` (a third-party one or one written for hivesim).
inline std::string capture_path(std::string_view name) {
  return std::string(HIVESIM_TEST_DATA) + "/pcaps/" + std::string(name);
}

}  // namespace hivesim::testing
