// The real captures of tests/data/pcaps through parse_frame, read with a tiny pcap walker
// (the product's pcap reader lives in the io layer; this test does not depend on it).

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/packet/codec.hpp"
#include "sim/packet/spec.hpp"

namespace hivesim {
namespace {

struct Capture {
  std::uint32_t linktype = 0;
  std::vector<std::vector<std::uint8_t>> frames;
};

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Classic pcap (either byte order, micro- or nanosecond magic). A record running past the end
/// of the file ends the walk.
Capture read_pcap(const std::string& name) {
  const auto bytes = read_file(std::string(HIVESIM_TEST_DATA) + "/pcaps/" + name);
  REQUIRE(bytes.size() >= 24);
  auto u32 = [&](std::size_t at, bool swap) {
    const std::uint32_t le = bytes[at] | bytes[at + 1] << 8 | bytes[at + 2] << 16 |
                             static_cast<std::uint32_t>(bytes[at + 3]) << 24;
    return swap ? __builtin_bswap32(le) : le;
  };
  const std::uint32_t magic = u32(0, false);
  const bool swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
  REQUIRE((swap || magic == 0xa1b2c3d4 || magic == 0xa1b23c4d));
  Capture capture;
  capture.linktype = u32(20, swap);
  std::size_t at = 24;
  while (at + 16 <= bytes.size()) {
    const std::uint32_t caplen = u32(at + 8, swap);
    at += 16;
    if (caplen > bytes.size() - at) break;
    capture.frames.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                                bytes.begin() + static_cast<std::ptrdiff_t>(at + caplen));
    at += caplen;
  }
  return capture;
}

struct Tally {
  std::size_t ok = 0;
  std::vector<std::string> errors;
  std::map<std::uint16_t, std::size_t> ethertypes;
  std::size_t tagged = 0;
  std::size_t first_fragments = 0;
  std::size_t later_fragments = 0;
  std::size_t icmp = 0;
  std::size_t arp = 0;
};

/// Parses every frame from an exact-size copy (so ASan sees any over-read) and checks that
/// whatever parses re-serializes to a frame that parses to the same packet.
Tally parse_all(const Capture& capture) {
  Tally t;
  for (const auto& frame : capture.frames) {
    auto copy = std::make_unique<std::uint8_t[]>(frame.size() + 1);
    std::copy(frame.begin(), frame.end(), copy.get());
    auto parsed = parse_frame(std::span<const std::uint8_t>(copy.get(), frame.size()));
    if (!parsed.ok()) {
      t.errors.push_back(parsed.error());
      continue;
    }
    ++t.ok;
    const Packet& p = *parsed;
    ++t.ethertypes[p.ethertype];
    t.tagged += p.vlan_count > 0;
    t.first_fragments += p.frag == FragKind::kFirst;
    t.later_fragments += p.frag == FragKind::kLater;
    t.icmp += p.is_ipv4() && p.proto == ipproto::kIcmp;
    t.arp += p.is_arp();
    auto again = parse_frame(serialize(p));
    REQUIRE(again.ok());
    CHECK(*again == p);
    CHECK_FALSE(format_packet(p).empty());
    // Opaque frames are kept byte for byte.
    if (!p.is_ipv4() && !p.is_arp()) CHECK(serialize(p) == frame);
  }
  return t;
}

TEST_CASE("Codec: real Ethernet captures parse frame by frame") {
  struct Expect {
    const char* file;
    std::size_t frames;
  };
  for (const Expect& e :
       {Expect{"http.pcap", 43}, Expect{"smtp.pcap", 60}, Expect{"synscan.pcap", 2011},
        Expect{"vxlan.pcap", 10}, Expect{"icmpv6.pcap", 5}, Expect{"dns_fragmented.pcap", 66},
        Expect{"vlan11.pcap", 133}}) {
    INFO(e.file);
    const Capture capture = read_pcap(e.file);
    CHECK(capture.linktype == 1);
    REQUIRE(capture.frames.size() == e.frames);
    const Tally t = parse_all(capture);
    INFO((t.errors.empty() ? std::string() : t.errors.front()));
    CHECK(t.ok == e.frames);
  }
}

TEST_CASE("Codec: captures show the header kinds they are known for") {
  const Tally vlan = parse_all(read_pcap("vlan11.pcap"));
  CHECK(vlan.tagged == vlan.ok);
  CHECK(vlan.icmp > 0);
  CHECK(vlan.arp > 0);
  const Capture vlan_capture = read_pcap("vlan11.pcap");
  auto first = parse_frame(vlan_capture.frames.front());
  REQUIRE(first.ok());
  CHECK(first->vlan_count == 1);
  CHECK(first->vlans[0] == 11);

  const Tally frags = parse_all(read_pcap("dns_fragmented.pcap"));
  CHECK(frags.first_fragments > 0);
  CHECK(frags.later_fragments > 0);
  CHECK(frags.ethertypes.count(ethertype::kIpv6) == 1);  // IPv6 kept opaque

  const Tally v6 = parse_all(read_pcap("icmpv6.pcap"));
  CHECK(v6.ethertypes.at(ethertype::kIpv6) == 5);
}

TEST_CASE("Codec: the tcp header overflow capture is an error, not a crash") {
  const Capture capture = read_pcap("tcp_header_heapoverflow.pcap");
  REQUIRE(capture.frames.size() == 1);
  const Tally t = parse_all(capture);
  CHECK(t.ok == 0);
  REQUIRE(t.errors.size() == 1);
  CHECK_THAT(t.errors[0], Catch::Contains("truncated"));
}

TEST_CASE("Codec: frames of other link types and empty captures do not crash the parser") {
  // arp.pcap is Frame Relay: its bytes are not an Ethernet frame; any answer but a crash will do.
  const Capture frame_relay = read_pcap("arp.pcap");
  CHECK(frame_relay.linktype == 107);
  REQUIRE(frame_relay.frames.size() == 1);
  (void)parse_all(frame_relay);
  CHECK(read_pcap("empty.pcap").frames.empty());
}

}  // namespace
}  // namespace hivesim
