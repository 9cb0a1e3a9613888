#include "sim/packet/codec.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "sim/packet/spec.hpp"
#include "tests/sim/packet/packet_gen.hpp"

namespace hivesim {
namespace {

using test::from_hex;
using test::ones_sum;
using test::with_payload_bytes;

Packet tcp_packet() {
  Packet p;
  p.eth_src = *Mac::parse("02:00:00:00:00:01");
  p.eth_dst = *Mac::parse("02:00:00:00:00:02");
  p.src = *Ipv4::parse("10.0.0.1");
  p.dst = *Ipv4::parse("10.0.0.2");
  p.proto = ipproto::kTcp;
  p.sport = 40000;
  p.dport = 80;
  p.tcp_flags = tcpflag::kSyn;
  return p;
}

Packet udp_packet() {
  Packet p = tcp_packet();
  p.proto = ipproto::kUdp;
  p.dport = 53;
  p.tcp_flags = 0;
  return p;
}

Packet echo_packet() {
  Packet p = tcp_packet();
  p.proto = ipproto::kIcmp;
  p.sport = p.dport = 0;
  p.tcp_flags = 0;
  p.icmp_type = icmptype::kEchoRequest;
  p.icmp_id = 1;
  p.icmp_seq = 1;
  return p;
}

Packet icmp_error(std::uint8_t quoted_proto) {
  Packet p = echo_packet();
  p.icmp_type = icmptype::kUnreachable;
  p.icmp_code = icmpcode::kFilterProhibited;
  p.icmp_id = p.icmp_seq = 0;
  QuotedHeader q;
  q.src = p.dst;
  q.dst = *Ipv4::parse("10.0.9.9");
  q.proto = quoted_proto;
  q.ttl = 63;
  q.total_len = 60;
  q.ip_id = 77;
  if (quoted_proto == ipproto::kIcmp) {
    q.icmp_type = icmptype::kEchoRequest;
    q.icmp_id = 4242;
  } else if (quoted_proto == ipproto::kTcp || quoted_proto == ipproto::kUdp) {
    q.sport = 40000;
    q.dport = 22;
  }
  p.quoted = q;
  return p;
}

Packet arp_packet(std::uint16_t op) {
  Packet p;
  p.ethertype = ethertype::kArp;
  p.eth_src = *Mac::parse("02:00:00:00:00:01");
  p.eth_dst = op == arpop::kRequest ? Mac::broadcast() : *Mac::parse("02:00:00:00:00:02");
  p.arp_op = op;
  p.arp_sha = p.eth_src;
  p.arp_tha = op == arpop::kRequest ? Mac{} : p.eth_dst;
  p.arp_spa = *Ipv4::parse("10.0.0.1");
  p.arp_tpa = *Ipv4::parse("10.0.0.2");
  return p;
}

Packet with_payload(Packet p, std::size_t n) {
  p.payload_len = static_cast<std::uint32_t>(n);
  p.payload.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    p.payload[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return p;
}

/// parse(serialize(p)) == p, and serializing again gives the same bytes.
void check_round_trip(const Packet& p) {
  const auto bytes = serialize(p);
  auto parsed = parse_frame(bytes);
  INFO(format_packet(p));
  REQUIRE(parsed.ok());
  CHECK(*parsed == with_payload_bytes(p));
  CHECK(serialize(*parsed) == bytes);
  CHECK(wire_length(p) == bytes.size());
}

/// Parses `frame` from an allocation of exactly its size, so that ASan sees any over-read.
Result<Packet> parse_exact(std::span<const std::uint8_t> frame) {
  auto copy = std::make_unique<std::uint8_t[]>(frame.size() + 1);  // +1: never zero-sized
  std::copy(frame.begin(), frame.end(), copy.get());
  return parse_frame(std::span<const std::uint8_t>(copy.get(), frame.size()));
}

std::size_t l2_size(const Packet& p) {
  return 14 + 4U * p.vlan_count;
}

/// Every checksum in a serialized IPv4 frame verifies with the independent reference sum.
void check_checksums(const Packet& p) {
  const auto frame = serialize(p);
  const std::span<const std::uint8_t> ip = std::span(frame).subspan(l2_size(p));
  const std::size_t ihl = (ip[0] & 0xfU) * 4U;
  INFO(format_packet(p));
  CHECK(ones_sum(ip.first(ihl)) == 0xffff);
  if (!p.has_l4()) return;
  const auto l4 = ip.subspan(ihl);
  // Pseudo header: source, destination, zero + protocol, L4 length.
  std::vector<std::uint8_t> pseudo(ip.begin() + 12, ip.begin() + 20);
  pseudo.insert(pseudo.end(), {0, p.proto, static_cast<std::uint8_t>(l4.size() >> 8),
                               static_cast<std::uint8_t>(l4.size())});
  switch (p.proto) {
    case ipproto::kTcp:
    case ipproto::kUdp:
      CHECK(ones_sum(l4, ones_sum(pseudo)) == 0xffff);
      break;
    case ipproto::kIcmp:
      CHECK(ones_sum(l4) == 0xffff);
      if (p.quoted) CHECK(ones_sum(l4.subspan(8, 20)) == 0xffff);
      break;
    default:
      break;
  }
}

TEST_CASE("Codec: internet_checksum matches RFC 1071 and known IPv4 header vectors") {
  // RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2, so the checksum is 220d.
  CHECK(internet_checksum(from_hex("0001 f203 f4f5 f6f7")) == 0x220d);
  // A textbook IPv4 header (checksum field zeroed); the known checksum is b861.
  CHECK(internet_checksum(from_hex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7")) == 0xb861);
  // Verifying a header that carries its checksum gives zero.
  CHECK(internet_checksum(from_hex("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7")) == 0);
  // Odd length: the last byte is padded with zero.
  CHECK(internet_checksum(from_hex("01")) == 0xfeff);
  CHECK(internet_checksum(from_hex("")) == 0xffff);
  // The initial value is added before folding (a pseudo-header sum).
  CHECK(internet_checksum(from_hex("0001"), 0x0001) == 0xfffd);
}

TEST_CASE("Codec: serialize writes known-good frames byte for byte") {
  // Hand-computed frames: Ethernet 02:..:01 -> 02:..:02, 10.0.0.1 -> 10.0.0.2, ttl 64.
  SECTION("icmp echo request id 1 seq 1") {
    CHECK(serialize(echo_packet()) == from_hex("020000000002 020000000001 0800"
                                               "4500 001c 0000 0000 4001 66df 0a000001 0a000002"
                                               "0800 f7fd 0001 0001"));
  }
  SECTION("udp 40000 -> 53, empty") {
    CHECK(serialize(udp_packet()) == from_hex("020000000002 020000000001 0800"
                                              "4500 001c 0000 0000 4011 66cf 0a000001 0a000002"
                                              "9c40 0035 0008 4f66"));
  }
  SECTION("tcp syn 40000 -> 80") {
    CHECK(serialize(tcp_packet()) == from_hex("020000000002 020000000001 0800"
                                              "4500 0028 0000 0000 4006 66ce 0a000001 0a000002"
                                              "9c40 0050 00000000 00000000 5002 ffff ff4f 0000"));
  }
  SECTION("arp request") {
    CHECK(serialize(arp_packet(arpop::kRequest)) ==
          from_hex("ffffffffffff 020000000001 0806"
                   "0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002"));
  }
}

TEST_CASE("Codec: every packet kind round trips through serialize and parse") {
  check_round_trip(tcp_packet());
  check_round_trip(with_payload(tcp_packet(), 100));
  check_round_trip(udp_packet());
  check_round_trip(with_payload(udp_packet(), 33));
  check_round_trip(echo_packet());
  check_round_trip(with_payload(echo_packet(), 56));
  check_round_trip(icmp_error(ipproto::kTcp));
  check_round_trip(icmp_error(ipproto::kUdp));
  check_round_trip(with_payload(icmp_error(ipproto::kIcmp), 12));
  check_round_trip(icmp_error(47));
  check_round_trip(arp_packet(arpop::kRequest));
  check_round_trip(arp_packet(arpop::kReply));

  SECTION("802.1Q and QinQ") {
    Packet p = tcp_packet();
    p.vlan_count = 1;
    p.vlans = {10, 0};
    p.vlan_pcp = {5, 0};
    check_round_trip(p);
    p.vlan_count = 2;
    p.vlans = {100, 10};
    p.vlan_pcp = {3, 6};
    p.outer_tpid = ethertype::kQinQ;
    check_round_trip(p);
    p.outer_tpid = ethertype::kVlan;  // double 802.1Q, as some switches send
    check_round_trip(p);
    const auto bytes = serialize(p);
    CHECK(bytes[12] == 0x81);
    CHECK(bytes[16] == 0x81);
  }
  SECTION("ip options") {
    Packet p = udp_packet();
    p.ip_options_len = 8;
    p.ip_options[0] = 0x94;  // router alert
    p.ip_options[1] = 4;
    check_round_trip(p);
    CHECK(serialize(p)[14] == 0x47);
  }
  SECTION("fragments") {
    Packet first = with_payload(udp_packet(), 64);
    first.frag = FragKind::kFirst;
    first.ip_id = 999;
    check_round_trip(first);
    Packet middle = with_payload(tcp_packet(), 64);
    middle.frag = FragKind::kLater;
    middle.frag_offset = 9;
    middle.more_fragments = true;
    middle.sport = middle.dport = 0;
    middle.tcp_flags = 0;
    check_round_trip(middle);
    Packet last = middle;
    last.more_fragments = false;
    last.dont_fragment = false;
    check_round_trip(last);
    // A later fragment has no L4 header: its bytes are all payload.
    CHECK(serialize(last).size() == 14 + 20 + 64);
  }
  SECTION("opaque ip protocol and ethertype") {
    Packet gre = with_payload(tcp_packet(), 40);
    gre.proto = 47;
    gre.sport = gre.dport = 0;
    gre.tcp_flags = 0;
    check_round_trip(gre);
    Packet v6 = with_payload(Packet{}, 60);
    v6.ethertype = ethertype::kIpv6;
    check_round_trip(v6);
  }
}

TEST_CASE("Codec: parse_frame_into a reused packet equals a fresh parse, whatever it held") {
  // parse_frame_into rewrites the common fields and resets the rarer ones (ARP addresses, IP
  // options, a quoted header) only when they were set: every kind after every kind.
  Packet options = udp_packet();
  options.ip_options_len = 8;
  options.ip_options[0] = 0x94;
  options.ip_options[1] = 4;
  std::vector<Packet> kinds = {tcp_packet(),
                               with_payload(udp_packet(), 33),
                               icmp_error(ipproto::kTcp),
                               arp_packet(arpop::kReply),
                               options,
                               with_payload(echo_packet(), 56)};
  kinds.back().vlan_count = 1;
  kinds.back().vlans = {7, 0};
  for (const Packet& before : kinds) {
    for (const Packet& after : kinds) {
      Packet reused = before;
      REQUIRE(parse_frame_into(serialize(after), reused).ok());
      const auto fresh = parse_frame(serialize(after));
      REQUIRE(fresh);
      CHECK(reused == *fresh);
    }
  }
}

TEST_CASE("Codec: generated packets round trip and carry correct checksums") {
  test::PacketGen gen(20240611);
  for (int i = 0; i < 3000; ++i) {
    const Packet p = gen.wire_packet();
    check_round_trip(p);
    if (p.is_ipv4()) check_checksums(p);
  }
}

TEST_CASE("Codec: an empty payload stands for zeros") {
  Packet p = tcp_packet();
  p.payload_len = 5;
  const auto bytes = serialize(p);
  REQUIRE(bytes.size() == 14 + 20 + 20 + 5);
  CHECK(std::all_of(bytes.end() - 5, bytes.end(), [](std::uint8_t b) { return b == 0; }));
}

TEST_CASE("Codec: serialize does not pad and parse ignores Ethernet padding") {
  const auto arp = serialize(arp_packet(arpop::kRequest));
  CHECK(arp.size() == 42);
  auto padded = arp;
  padded.resize(60, 0);
  auto parsed = parse_frame(padded);
  REQUIRE(parsed.ok());
  CHECK(*parsed == arp_packet(arpop::kRequest));

  const Packet udp = with_payload(udp_packet(), 4);
  auto frame = serialize(udp);
  CHECK(frame.size() == 46);
  frame.resize(60, 0xee);
  parsed = parse_frame(frame);
  REQUIRE(parsed.ok());
  CHECK(*parsed == udp);
}

TEST_CASE("Codec: parse keeps tcp header options out of the payload") {
  // A SYN with a 4-byte MSS option (data offset 6) and 3 payload bytes.
  auto frame = from_hex(
      "020000000002 020000000001 0800"
      "4500 002f 0000 0000 4006 0000 0a000001 0a000002"
      "9c40 0050 00000001 00000000 6012 1000 0000 0000 020405b4 616263");
  auto parsed = parse_frame(frame);
  REQUIRE(parsed.ok());
  CHECK(parsed->tcp_flags == (tcpflag::kSyn | tcpflag::kAck));
  CHECK(parsed->tcp_seq == 1);
  CHECK(parsed->tcp_window == 0x1000);
  CHECK(parsed->payload == std::vector<std::uint8_t>{'a', 'b', 'c'});
}

TEST_CASE("Codec: bad checksums are not rejected") {
  auto frame = serialize(with_payload(udp_packet(), 10));
  frame[24] ^= 0xff;           // ip checksum
  frame[14 + 20 + 6] ^= 0xff;  // udp checksum
  CHECK(parse_frame(frame).ok());
}

struct MalformedCase {
  const char* what;
  std::vector<std::uint8_t> frame;
  const char* message;
};

TEST_CASE("Codec: malformed frames are errors that say what is wrong") {
  const auto tcp = serialize(with_payload(tcp_packet(), 8));
  const auto udp = serialize(with_payload(udp_packet(), 8));
  const auto icmp = serialize(icmp_error(ipproto::kTcp));
  const auto arp = serialize(arp_packet(arpop::kRequest));
  auto edit = [](std::vector<std::uint8_t> f, std::size_t at, std::uint8_t v) {
    f[at] = v;
    return f;
  };
  auto cut = [](std::vector<std::uint8_t> f, std::size_t n) {
    f.resize(n);
    return f;
  };
  // Offsets: ip header at 14, l4 at 34.
  const std::vector<MalformedCase> cases = {
      {"short ethernet", cut(tcp, 10), "ethernet header truncated: 10 of 14 bytes"},
      {"empty frame", {}, "ethernet header truncated: 0 of 14 bytes"},
      {"vlan tag cut", from_hex("020000000002 020000000001 8100 000a"),
       "vlan tag truncated: 2 of 4 bytes"},
      {"qinq inner tag cut", from_hex("020000000002 020000000001 88a8 0064 8100 00"),
       "vlan tag truncated: 1 of 4 bytes"},
      {"arp cut", cut(arp, 30), "arp truncated: 16 of 28 bytes"},
      {"arp not ethernet/ipv4", edit(arp, 15, 6), "arp for hardware type 6"},
      {"ipv4 header cut", cut(tcp, 30), "ipv4 header truncated: 16 of 20 bytes"},
      {"ip version 6 in ipv4", edit(tcp, 14, 0x65), "ip version 6"},
      {"ihl below 5", edit(tcp, 14, 0x44), "ipv4 ihl 4 is below 5"},
      {"ihl beyond frame", edit(cut(tcp, 40), 14, 0x4f), "ipv4 header truncated: 26 of 60 bytes"},
      {"total length below header", edit(edit(tcp, 16, 0), 17, 19),
       "ipv4 total length 19 is less than its header length 20"},
      {"total length beyond capture", edit(tcp, 16, 0x10),
       "ipv4 packet truncated: total length 4144, 48 bytes captured"},
      {"tcp header cut", edit(cut(tcp, 44), 17, 30), "tcp header truncated: 10 of 20 bytes"},
      {"tcp data offset below 5", edit(tcp, 34 + 12, 0x40), "tcp data offset 4 is below 5"},
      {"tcp data offset beyond packet", edit(tcp, 34 + 12, 0xf0),
       "tcp header truncated: data offset 60 bytes, 28 in the packet"},
      {"udp header cut", edit(cut(udp, 38), 17, 24), "udp header truncated: 4 of 8 bytes"},
      {"udp length below 8", edit(udp, 34 + 5, 4), "udp length 4 is below 8"},
      {"udp length beyond ip", edit(udp, 34 + 5, 40),
       "udp datagram truncated: length 40, 16 bytes in the ip packet"},
      {"icmp header cut", edit(cut(icmp, 40), 17, 26), "icmp header truncated: 6 of 8 bytes"},
      {"icmp error quote cut", edit(cut(icmp, 60), 17, 46),
       "icmp error quote truncated: 18 of 28 bytes"},
      {"icmp error quotes ipv6", edit(icmp, 42, 0x60), "icmp error quotes an ip version 6 header"},
      {"icmp error quote ihl", edit(icmp, 42, 0x42), "ihl 2 (below 5)"},
      {"icmp error quote options cut", edit(icmp, 42, 0x46),
       "icmp error quote truncated: 28 of 32 bytes"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto parsed = parse_exact(c.frame);
    REQUIRE_FALSE(parsed.ok());
    CHECK_THAT(parsed.error(), Catch::Contains(c.message));
  }
}

TEST_CASE("Codec: every prefix and every single-byte corruption parses or fails cleanly") {
  // Each run reads from an exact-size allocation: ASan reports any read past the frame.
  test::PacketGen gen(7);
  std::vector<std::vector<std::uint8_t>> frames = {serialize(with_payload(tcp_packet(), 20)),
                                                   serialize(icmp_error(ipproto::kIcmp)),
                                                   serialize(arp_packet(arpop::kReply))};
  for (int i = 0; i < 40; ++i)
    frames.push_back(serialize(gen.wire_packet()));
  std::size_t errors = 0;
  for (const auto& frame : frames) {
    for (std::size_t n = 0; n <= frame.size(); ++n) {
      auto parsed = parse_exact(std::span(frame).first(n));
      if (!parsed.ok()) {
        ++errors;
        CHECK_FALSE(parsed.error().empty());
      }
    }
    for (std::size_t at = 0; at < std::min<std::size_t>(frame.size(), 80); ++at) {
      for (std::uint8_t v : {0x00, 0x01, 0x45, 0x4f, 0x80, 0xff}) {
        auto copy = frame;
        copy[at] = v;
        auto parsed = parse_exact(copy);
        if (parsed.ok()) (void)serialize(*parsed);  // whatever parsed must serialize
      }
    }
  }
  CHECK(errors > 0);
}

}  // namespace

namespace {

/// A packet with every field, rare ones included, set to something a parse must overwrite.
Packet stale_packet() {
  Packet p;
  p.eth_src = Mac{0x0a0b0c0d0e0f};
  p.vlan_count = 2;
  p.vlans = {7, 9};
  p.ethertype = ethertype::kArp;
  p.arp_op = 1;
  p.ttl = 3;
  p.frag = FragKind::kLater;
  p.frag_offset = 5;
  p.more_fragments = true;
  p.ip_options_len = 4;
  p.ip_options[0] = 0x94;
  p.icmp_type = 3;
  p.icmp_seq = 77;
  p.tcp_seq = 1234;
  p.tcp_window = 1;
  p.payload = {1, 2, 3};
  p.payload_len = 3;
  p.arp_sha = Mac{0x020000000001};
  p.arp_tpa = Ipv4{0x01020304};
  p.quoted.emplace();
  return p;
}

/// When frame_flow_key() takes `frame`, parse_frame() takes it too, with the same key and
/// length, and packet_from_keyed() makes of the key, length and rest what parse_frame() makes
/// of the frame without its payload. Returns whether frame_flow_key() took it.
bool check_flow_key_agrees(std::span<const std::uint8_t> frame) {
  const PortId port{3};
  FlowKey key;
  std::size_t length = 0;
  KeyedRest rest;
  const auto copy = std::make_unique<std::uint8_t[]>(frame.size() + 1);  // exact size, for ASan
  std::copy(frame.begin(), frame.end(), copy.get());
  const std::span<const std::uint8_t> exact(copy.get(), frame.size());
  if (!frame_flow_key(exact, port, key, length, rest)) return false;
  const auto parsed = parse_frame(frame);
  REQUIRE(parsed);
  CHECK(key == flow_key(*parsed, port));
  CHECK(length == wire_length(*parsed));

  const auto without_payload = parse_frame(frame, ParseOptions{false});
  REQUIRE(without_payload);
  Packet rebuilt = stale_packet();
  packet_from_keyed(key, length, rest, rebuilt);
  CHECK(rebuilt == *without_payload);
  return true;
}

}  // namespace

TEST_CASE("Codec: frame_flow_key reads what a parse would, or declines") {
  // Generated packets of every kind, each whole, cut short at every length, and with each of
  // its first 64 bytes set to values that break or change a header field.
  test::PacketGen gen(20261121);
  std::size_t taken = 0;
  std::size_t common = 0;  // untagged, option-less, unfragmented IPv4 TCP and UDP
  for (int i = 0; i < 1500; ++i) {
    const Packet p = gen.wire_packet();
    const std::vector<std::uint8_t> frame = serialize(p);
    const bool is_common = p.is_ipv4() && p.vlan_count == 0 && p.ip_options_len == 0 &&
                           p.frag == FragKind::kNone &&
                           (p.proto == ipproto::kTcp || p.proto == ipproto::kUdp);
    INFO(format_packet(p));
    const bool took = check_flow_key_agrees(frame);
    CHECK(took == is_common);  // and it declines nothing common
    common += is_common;
    taken += took;
    for (std::size_t cut = 0; cut < frame.size(); ++cut)
      check_flow_key_agrees(std::span(frame).first(cut));
    for (std::size_t at = 0; at < std::min<std::size_t>(frame.size(), 64); ++at) {
      for (const std::uint8_t value :
           {0x00, 0x01, 0x05, 0x08, 0x11, 0x20, 0x45, 0x46, 0x81, 0xff}) {
        std::vector<std::uint8_t> changed = frame;
        changed[at] = value;
        check_flow_key_agrees(changed);
      }
    }
  }
  CHECK(common > 30);
  CHECK(taken == common);
}

}  // namespace hivesim
