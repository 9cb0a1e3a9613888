// PcapSource: the real captures of tests/data/pcaps, hand-written pcap and pcapng files (both
// byte orders, micro- and nanosecond resolution), replay timing, flow counting, refusals, and
// the reader thread: it yields what the inline path yields, its counters cover only what was
// handed out, and it stops when the source goes. Generated files go to a temporary folder per
// test.

#include <catch2/catch.hpp>

#include <pcap/pcap.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "sim/io/pcap_source.hpp"
#include "sim/packet/codec.hpp"
#include "tests/support/captures.hpp"
#include "tests/support/temp_dir.hpp"

using namespace hivesim;
namespace fs = std::filesystem;

namespace {

using hivesim::testing::TempDir;

std::string shared_pcap(const std::string& name) {
  return hivesim::testing::capture_path(name);
}

std::string test_pcap(const std::string& name) {
  return hivesim::testing::capture_path(name);
}

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

/// Little- or big-endian integers appended to a byte buffer.
class Writer {
 public:
  explicit Writer(bool big_endian) : big_(big_endian) {}
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void bytes(const std::vector<std::uint8_t>& b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void pad4() {
    while (out_.size() % 4 != 0)
      out_.push_back(0);
  }
  std::vector<std::uint8_t>& out() { return out_; }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
      const int shift = big_ ? (n - 1 - i) * 8 : i * 8;
      out_.push_back(static_cast<std::uint8_t>(v >> shift));
    }
  }
  bool big_;
  std::vector<std::uint8_t> out_;
};

struct Record {
  std::uint32_t sec = 0;
  std::uint32_t frac = 0;  // micro- or nanoseconds, as the file says
  std::vector<std::uint8_t> frame;
  std::uint32_t orig_len = 0;  // 0: the frame's size
};

/// A classic pcap file, written by hand (not by libpcap) so that byte order and magic are ours.
std::vector<std::uint8_t> classic_pcap(bool big_endian, bool nano, std::uint32_t linktype,
                                       const std::vector<Record>& records) {
  Writer w(big_endian);
  w.u32(nano ? 0xa1b23c4d : 0xa1b2c3d4);
  w.u16(2);
  w.u16(4);
  w.u32(0);  // thiszone
  w.u32(0);  // sigfigs
  w.u32(262144);
  w.u32(linktype);
  for (const Record& r : records) {
    w.u32(r.sec);
    w.u32(r.frac);
    w.u32(static_cast<std::uint32_t>(r.frame.size()));
    w.u32(r.orig_len != 0 ? r.orig_len : static_cast<std::uint32_t>(r.frame.size()));
    w.bytes(r.frame);
  }
  return std::move(w.out());
}

/// A minimal pcapng file: section header, one Ethernet interface (with if_tsresol = 9 when
/// `nano`, else the default microseconds) and one enhanced packet block per frame, `ticks`
/// being the timestamp in the interface's units.
std::vector<std::uint8_t> pcapng(bool nano, const std::vector<std::uint64_t>& ticks,
                                 const std::vector<std::vector<std::uint8_t>>& frames) {
  Writer w(false);
  w.u32(0x0A0D0D0A);  // section header block
  w.u32(28);
  w.u32(0x1A2B3C4D);
  w.u16(1);
  w.u16(0);
  w.u64(~0ULL);  // section length unknown
  w.u32(28);
  const std::uint32_t idb_len = nano ? 32 : 20;
  w.u32(1);  // interface description block
  w.u32(idb_len);
  w.u16(DLT_EN10MB);
  w.u16(0);
  w.u32(262144);
  if (nano) {
    w.u16(9);  // if_tsresol
    w.u16(1);
    w.bytes({9, 0, 0, 0});
    w.u16(0);  // opt_endofopt
    w.u16(0);
  }
  w.u32(idb_len);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const std::uint32_t padded = static_cast<std::uint32_t>((frames[i].size() + 3) / 4 * 4);
    const std::uint32_t len = 32 + padded;
    w.u32(6);  // enhanced packet block
    w.u32(len);
    w.u32(0);  // interface id
    w.u32(static_cast<std::uint32_t>(ticks[i] >> 32));
    w.u32(static_cast<std::uint32_t>(ticks[i]));
    w.u32(static_cast<std::uint32_t>(frames[i].size()));
    w.u32(static_cast<std::uint32_t>(frames[i].size()));
    w.bytes(frames[i]);
    w.pad4();
    w.u32(len);
  }
  return std::move(w.out());
}

Packet udp_packet(std::uint16_t sport) {
  Packet p;
  p.eth_src = Mac{0x020000000001ULL};
  p.eth_dst = Mac{0x020000000002ULL};
  p.src = Ipv4{0x0a000001U};
  p.dst = Ipv4{0x0a000002U};
  p.proto = ipproto::kUdp;
  p.sport = sport;
  p.dport = 9999;
  p.payload = {'h', 'e', 'l', 'l', 'o'};
  p.payload_len = 5;
  return p;
}

std::vector<std::uint8_t> udp_frame(std::uint16_t sport) {
  return serialize(udp_packet(sport));
}

std::unique_ptr<PcapSource> open_ok(const std::string& path, PcapOptions options = {}) {
  auto source = PcapSource::open(path, options);
  INFO(path << ": " << (source ? "" : source.error()));
  REQUIRE(source.ok());
  return std::move(source).value();
}

/// Every record, parsed (as the twin parses a record it reads the packet of).
std::vector<SourcePacket> drain(PcapSource& source) {
  std::vector<SourcePacket> out;
  while (auto p = source.next()) {
    p->parse();
    out.push_back(std::move(*p));
  }
  return out;
}

/// Everything a source reports about what it handed out.
struct Counters {
  std::uint64_t packets = 0;
  std::uint64_t malformed = 0;
  std::uint64_t bytes = 0;
  std::uint64_t reordered = 0;
  std::uint64_t flows = 0;
  SimTime duration = 0;
  SimTime first_ts = 0;
  SimTime last_ts = 0;
  std::optional<std::string> error;
  bool operator==(const Counters&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Counters& c) {
  return os << "{packets " << c.packets << ", malformed " << c.malformed << ", bytes " << c.bytes
            << ", reordered " << c.reordered << ", flows " << c.flows << ", duration " << c.duration
            << ", timestamps " << c.first_ts << ".." << c.last_ts << ", error "
            << c.error.value_or("none") << "}";
}

Counters counters(const PcapSource& s) {
  return {s.packets(),  s.malformed(),       s.bytes(),          s.reordered(), s.flows(),
          s.duration(), s.first_timestamp(), s.last_timestamp(), s.error()};
}

/// The same record: time, port, parse result, extraction and wire length; and the extraction is
/// the packet's (none for a malformed record).
void check_same(const SourcePacket& a, const SourcePacket& b) {
  CHECK(a.at == b.at);
  CHECK(a.port == b.port);
  CHECK(a.malformed == b.malformed);
  CHECK(a.wire_bytes == b.wire_bytes);
  CHECK(a.packet == b.packet);
  CHECK(a.extracted == b.extracted);
  if (a.malformed) {
    CHECK_FALSE(a.extracted);
  } else {
    REQUIRE(a.extracted);
    CHECK(*a.extracted == extract(a.packet, a.port));
  }
}

/// Distinct flows among parsed records, counted here independently of the source: the IPv4
/// 5-tuple, else the Ethernet pair and type.
std::uint64_t reference_flows(const std::vector<SourcePacket>& records, std::size_t k) {
  std::set<std::tuple<int, std::uint64_t, std::uint64_t, std::uint64_t>> flows;
  for (std::size_t i = 0; i < k; ++i) {
    const SourcePacket& r = records[i];
    if (r.malformed) continue;
    const Packet& p = r.packet;
    if (p.is_ipv4()) {
      flows.emplace(4, p.src.bits, p.dst.bits,
                    (std::uint64_t{p.sport} << 24) | (std::uint64_t{p.dport} << 8) | p.proto);
    } else {
      flows.emplace(2, p.eth_src.bits, p.eth_dst.bits, p.ethertype);
    }
  }
  return flows.size();
}

/// An ARP request from `mac`'s last byte, for flows that are not IPv4.
std::vector<std::uint8_t> arp_frame(std::uint8_t host) {
  Packet p;
  p.eth_src = Mac{0x020000000100ULL + host};
  p.eth_dst = Mac{0xffffffffffffULL};
  p.ethertype = ethertype::kArp;
  p.arp_op = 1;
  p.arp_sha = p.eth_src;
  p.arp_spa = Ipv4{0x0a000100U + host};
  p.arp_tpa = Ipv4{0x0a000001U};
  return serialize(p);
}

/// `n` records over many read-ahead batches: 37 UDP flows plus 3 ARP senders, frames of varied
/// sizes, every 13th timestamp 2 s back, every 97th record truncated and every 89th one cut
/// inside its IPv4 header (both malformed).
std::vector<Record> mixed_records(std::size_t n) {
  std::vector<Record> records;
  for (std::size_t i = 0; i < n; ++i) {
    Record r;
    const std::uint64_t ms = 1000 * 1000 + i;
    r.sec = static_cast<std::uint32_t>(ms / 1000 - (i % 13 == 12 ? 2 : 0));
    r.frac = static_cast<std::uint32_t>(ms % 1000 * 1000);
    if (i % 11 == 5) {
      r.frame = arp_frame(static_cast<std::uint8_t>(i % 3));
    } else {
      Packet p = udp_packet(static_cast<std::uint16_t>(1000 + (i * 7919) % 37));
      p.payload.assign(i % 300, static_cast<std::uint8_t>(i));
      p.payload_len = static_cast<std::uint32_t>(p.payload.size());
      r.frame = serialize(p);
    }
    if (i % 97 == 3) {
      r.orig_len = static_cast<std::uint32_t>(r.frame.size());
      r.frame.resize(20);
    } else if (i % 89 == 7) {
      r.frame.resize(14 + 10);
    }
    records.push_back(std::move(r));
  }
  return records;
}

// Read-ahead sizes, for captures that cross batch and ring boundaries.
constexpr std::size_t kBatch = PcapSource::kBatchRecords;
constexpr std::size_t kRing = PcapSource::kBatches * kBatch;
// A capture of this many records wraps the reader's ring twice.
constexpr std::size_t kMixed = 2 * kRing + 904;
// Records of a capture cut inside its last one: the reader breaks in its fourth batch.
constexpr std::size_t kCut = 3 * kBatch + 265;

/// `n` mixed records as a capture whose last record is cut short, 7 bytes before its end.
std::vector<std::uint8_t> cut_capture(std::size_t n) {
  auto bytes = classic_pcap(false, false, DLT_EN10MB, mixed_records(n));
  bytes.resize(bytes.size() - 7);
  return bytes;
}

/// The number of file descriptors this process has open.
std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

/// The number of records libpcap itself reads from `path` (up to the end or an error).
std::uint64_t libpcap_count(const std::string& path) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  REQUIRE(p != nullptr);
  std::uint64_t n = 0;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(p, &header, &data) == 1)
    ++n;
  pcap_close(p);
  return n;
}

}  // namespace

TEST_CASE("PcapSource: every third-party capture opens with its packet count or is refused") {
  struct Expect {
    const char* name;
    std::uint64_t packets;  // expected count when it opens
    const char* refusal;    // a word of the message when it is refused, else nullptr
  };
  for (const Expect& e : {
           Expect{"http.pcap", 43, nullptr},
           Expect{"vlan11.pcap", 133, nullptr},
           Expect{"vxlan.pcap", 10, nullptr},
           Expect{"synscan.pcap", 2011, nullptr},
           Expect{"dns_fragmented.pcap", 66, nullptr},
           Expect{"smtp.pcap", 60, nullptr},
           Expect{"icmpv6.pcap", 5, nullptr},
           Expect{"tcp_header_heapoverflow.pcap", 1, nullptr},
           Expect{"empty.pcap", 0, nullptr},
           Expect{"arp.pcap", 0, "FRELAY"},  // Frame Relay, not Ethernet
           Expect{"malformed.pcap", 0, "not a readable pcap or pcapng file"},
           Expect{"pcap-invalid-version-1.pcap", 0, "not a readable pcap or pcapng file"},
       }) {
    const std::string path = shared_pcap(e.name);
    INFO(path);
    auto source = PcapSource::open(path, PcapOptions{PortId{3}});
    if (e.refusal != nullptr) {
      REQUIRE_FALSE(source.ok());
      CHECK_THAT(source.error(), Catch::Contains(path));
      CHECK_THAT(source.error(), Catch::Contains(e.refusal));
      continue;
    }
    REQUIRE(source.ok());
    const auto packets = drain(**source);
    CHECK_FALSE((*source)->error());
    CHECK(packets.size() == e.packets);
    CHECK((*source)->packets() == e.packets);
    CHECK((*source)->packets() == libpcap_count(path));
    std::uint64_t parsed = 0;
    std::uint64_t malformed = 0;
    std::uint64_t bytes = 0;
    SimTime previous = 0;
    for (const SourcePacket& p : packets) {
      (p.malformed ? malformed : parsed) += 1;
      bytes += p.wire_bytes;
      CHECK(p.port == PortId{3});
      CHECK(p.at >= previous);
      previous = p.at;
    }
    CHECK(parsed + malformed == (*source)->packets());
    CHECK(malformed == (*source)->malformed());
    CHECK(bytes == (*source)->bytes());
  }
}

TEST_CASE("PcapSource: an empty capture yields nothing") {
  auto source = open_ok(shared_pcap("empty.pcap"));
  CHECK_FALSE(source->next());
  CHECK_FALSE(source->next());
  CHECK_FALSE(source->error());
  CHECK(source->packets() == 0);
  CHECK(source->bytes() == 0);
}

TEST_CASE("PcapSource: TCP and UDP frames come extracted, and parsed only when asked") {
  // A flow-table hit reads only the extraction; the packet is parsed from the record's copy of
  // the frame when something reads it, and is then what parse_frame makes of those bytes.
  for (const bool read_ahead : {true, false}) {
    PcapOptions options{PortId{2}};
    options.read_ahead = read_ahead;
    auto source = open_ok(shared_pcap("http.pcap"), options);
    std::size_t unparsed = 0;
    while (SourcePacket* p = source->next()) {
      REQUIRE_FALSE(p->malformed);
      REQUIRE(p->extracted);
      if (p->unparsed.empty()) continue;
      ++unparsed;
      const auto reference = parse_frame(p->unparsed);
      REQUIRE(reference);
      p->parse();
      CHECK(p->unparsed.empty());
      CHECK(p->packet == *reference);
      CHECK(*p->extracted == extract(p->packet, PortId{2}));
    }
    CHECK(unparsed == 43);  // every frame of http.pcap is IPv4 TCP
  }
}

TEST_CASE("PcapSource: keeping no payload, TCP and UDP frames come keyed, without their bytes") {
  // The same capture read twice in step: keeping the payload (the frame's bytes come with each
  // record) and not (the key and KeyedRest do); the packet parse() rebuilds from the latter is
  // what parse_frame makes of the former's bytes without their payload.
  for (const bool read_ahead : {true, false}) {
    PcapOptions with_bytes{PortId{2}};
    PcapOptions keyed = with_bytes;
    keyed.keep_payload = false;
    keyed.read_ahead = read_ahead;
    auto reference = open_ok(shared_pcap("http.pcap"), with_bytes);
    auto source = open_ok(shared_pcap("http.pcap"), keyed);
    std::size_t rebuilt = 0;
    while (SourcePacket* p = source->next()) {
      SourcePacket* r = reference->next();
      REQUIRE(r);
      REQUIRE(p->extracted);
      CHECK(*p->extracted == *r->extracted);
      CHECK(p->unparsed.empty());
      REQUIRE(p->keyed);
      REQUIRE_FALSE(r->unparsed.empty());
      const auto expected = parse_frame(r->unparsed, ParseOptions{false});
      REQUIRE(expected);
      p->parse();
      CHECK_FALSE(p->keyed);
      CHECK(p->packet == *expected);
      ++rebuilt;
    }
    CHECK_FALSE(reference->next());
    CHECK(rebuilt == 43);
    CHECK(source->packets() == 43);
  }
}

TEST_CASE("PcapSource: a TCP header past the captured length is malformed, not a crash") {
  auto source = open_ok(shared_pcap("tcp_header_heapoverflow.pcap"));
  const auto packets = drain(*source);
  REQUIRE(packets.size() == 1);
  REQUIRE(packets[0].malformed);
  CHECK_THAT(*packets[0].malformed, Catch::StartsWith("frame 1: "));
  CHECK(packets[0].packet == Packet{});
  CHECK(source->malformed() == 1);
}

TEST_CASE("PcapSource: VLAN 11 frames keep their tag") {
  auto source = open_ok(shared_pcap("vlan11.pcap"));
  std::size_t parsed = 0;
  for (const SourcePacket& p : drain(*source)) {
    if (p.malformed) continue;
    ++parsed;
    CHECK(p.packet.vlan_count == 1);
    CHECK(p.packet.vlans[0] == 11);
  }
  CHECK(parsed > 100);
}

TEST_CASE("PcapSource: speed scales the gaps and topspeed plays everything at start") {
  const std::string path = shared_pcap("http.pcap");
  const SimTime start = 5 * kSecond;
  auto normal = open_ok(path, PcapOptions{PortId{1}, 1.0, false, start});
  auto fast = open_ok(path, PcapOptions{PortId{1}, 2.0, false, start});
  auto slow = open_ok(path, PcapOptions{PortId{1}, 0.5, false, start});
  auto top = open_ok(path, PcapOptions{PortId{1}, 1.0, true, start});
  const auto a = drain(*normal);
  const auto b = drain(*fast);
  const auto c = drain(*slow);
  const auto d = drain(*top);
  REQUIRE(a.size() == 43);
  REQUIRE(b.size() == a.size());
  REQUIRE(c.size() == a.size());
  REQUIRE(d.size() == a.size());
  CHECK(normal->reordered() == 0);
  CHECK(a.front().at == start);
  CHECK(a.back().at - start == normal->last_timestamp() - normal->first_timestamp());
  CHECK(a.back().at > start);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const SimTime offset = a[i].at - start;
    CHECK(b[i].at - start == std::llround(static_cast<double>(offset) / 2.0));
    CHECK(c[i].at - start == 2 * offset);
    CHECK(d[i].at == start);
    CHECK(b[i].packet == a[i].packet);
    CHECK(d[i].packet == a[i].packet);
  }
  CHECK(top->first_timestamp() == normal->first_timestamp());
  CHECK(top->last_timestamp() == normal->last_timestamp());
}

TEST_CASE("PcapSource: topspeed at a line rate sends each packet when the one before is out") {
  const std::string path = shared_pcap("http.pcap");
  const SimTime start = 3 * kSecond;
  PcapOptions options{PortId{1}, 1.0, true, start};
  options.line_rate_bps = 1'000'000'000;  // 1 Gbps: 8 ns a byte
  auto top = open_ok(path, options);
  const auto got = drain(*top);
  REQUIRE(got.size() == 43);
  std::uint64_t bytes_before = 0;
  for (const SourcePacket& p : got) {
    INFO("after " << bytes_before << " bytes");
    // ceil(8 * bytes * 1e9 / 1e9) = 8 ns per byte, exactly.
    CHECK(p.at == start + static_cast<SimTime>(8 * bytes_before));
    REQUIRE(p.wire_bytes > 0);
    bytes_before += p.wire_bytes;
  }
  CHECK(bytes_before == top->bytes());
}

TEST_CASE("PcapSource: without keep_payload the payload length stays and the bytes go") {
  const std::string path = shared_pcap("http.pcap");
  auto with = open_ok(path, PcapOptions{PortId{1}, 1.0, false, 0});
  PcapOptions lean_options{PortId{1}, 1.0, false, 0};
  lean_options.keep_payload = false;
  auto lean = open_ok(path, lean_options);
  const auto a = drain(*with);
  const auto b = drain(*lean);
  REQUIRE(a.size() == b.size());
  std::size_t with_bytes = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(b[i].packet.payload.empty());
    CHECK(b[i].packet.payload_len == a[i].packet.payload_len);
    CHECK(b[i].at == a[i].at);
    with_bytes += a[i].packet.payload.size();
    // Everything but the payload bytes is the same.
    Packet stripped = a[i].packet;
    stripped.payload.clear();
    CHECK(stripped == b[i].packet);
  }
  CHECK(with_bytes > 0);  // http.pcap carries payload, so the comparison means something
}

TEST_CASE("PcapSource: timestamps going backwards are clamped to the previous packet's time") {
  TempDir dir;
  const std::string path = dir.file("backwards.pcap");
  write_file(path, classic_pcap(false, true, DLT_EN10MB,
                                {{100, 0, udp_frame(1), 0},
                                 {103, 0, udp_frame(2), 0},
                                 {102, 0, udp_frame(3), 0},
                                 {99, 0, udp_frame(4), 0},
                                 {104, 0, udp_frame(5), 0}}));
  auto source = open_ok(path, PcapOptions{PortId{0}, 1.0, false, 7});
  const auto packets = drain(*source);
  REQUIRE(packets.size() == 5);
  CHECK(packets[0].at == 7);
  CHECK(packets[1].at == 7 + 3 * kSecond);
  CHECK(packets[2].at == 7 + 3 * kSecond);
  CHECK(packets[3].at == 7 + 3 * kSecond);
  CHECK(packets[4].at == 7 + 4 * kSecond);
  CHECK(packets[2].packet.sport == 3);  // file order is kept
  CHECK(source->reordered() == 2);
  CHECK(source->first_timestamp() == 100 * kSecond);
  CHECK(source->last_timestamp() == 104 * kSecond);
}

TEST_CASE("PcapSource: microsecond and nanosecond pcaps both give nanosecond times") {
  TempDir dir;
  const bool nano = GENERATE(false, true);
  const bool big_endian = GENERATE(false, true);
  INFO("nano " << nano << ", big endian " << big_endian);
  const std::string path = dir.file("times.pcap");
  // 1700000000.250000 then 1000 ns later (1 us, or 1000 ns); then 1 s + 7 units later.
  const std::uint32_t base = nano ? 250000000 : 250000;
  const std::uint32_t step = nano ? 1000 : 1;
  write_file(path, classic_pcap(big_endian, nano, DLT_EN10MB,
                                {{1700000000, base, udp_frame(1), 0},
                                 {1700000000, base + step, udp_frame(2), 0},
                                 {1700000001, base + step + 7, udp_frame(3), 0}}));
  auto source = open_ok(path);
  const auto packets = drain(*source);
  REQUIRE(packets.size() == 3);
  CHECK(source->first_timestamp() == 1700000000LL * kSecond + 250000000);
  CHECK(packets[0].at == 0);
  CHECK(packets[1].at == 1000);
  CHECK(packets[2].at == kSecond + 1000 + (nano ? 7 : 7000));
  CHECK(source->last_timestamp() == source->first_timestamp() + packets[2].at);
  for (std::size_t i = 0; i < packets.size(); ++i) {
    CHECK_FALSE(packets[i].malformed);
    CHECK(packets[i].packet == udp_packet(static_cast<std::uint16_t>(i + 1)));
    CHECK(packets[i].wire_bytes == udp_frame(1).size());
  }
}

TEST_CASE("PcapSource: pcapng files are read, with their timestamp resolution") {
  TempDir dir;
  const bool nano = GENERATE(false, true);
  INFO("nano " << nano);
  const std::string path = dir.file("two.pcapng");
  const std::uint64_t t0 = nano ? 1700000000123456789ULL : 1700000000123456ULL;
  write_file(path, pcapng(nano, {t0, t0 + 3}, {udp_frame(1), udp_frame(2)}));
  auto source = open_ok(path);
  const auto packets = drain(*source);
  CHECK_FALSE(source->error());
  REQUIRE(packets.size() == 2);
  CHECK(source->first_timestamp() == (nano ? 1700000000123456789LL : 1700000000123456000LL));
  CHECK(packets[1].at - packets[0].at == (nano ? 3 : 3000));
  CHECK(packets[0].packet == udp_packet(1));
  CHECK(packets[1].packet == udp_packet(2));
}

TEST_CASE("PcapSource: a pcapng written by editcap is read") {
  auto source = open_ok(test_pcap("three-frames.pcapng"));
  const auto packets = drain(*source);
  CHECK_FALSE(source->error());
  REQUIRE(packets.size() == 3);
  CHECK(source->first_timestamp() == 1700000000123456789LL);
  CHECK(packets[1].at == 1000);
  CHECK(packets[2].at == 876543216);
  CHECK(packets[0].packet.sport == 40000);
  CHECK(packets[0].packet.dport == 9999);
  CHECK(packets[1].packet.is_arp());
  CHECK(packets[2].packet.vlan_count == 1);
  CHECK(packets[2].packet.vlans[0] == 11);
  CHECK(packets[2].packet.icmp_type == icmptype::kEchoRequest);
}

TEST_CASE("PcapSource: a non-Ethernet capture is refused, naming the link type") {
  SECTION("DLT_RAW, committed") {
    const std::string path = test_pcap("raw-ip.pcap");
    auto source = PcapSource::open(path, {});
    REQUIRE_FALSE(source.ok());
    CHECK_THAT(source.error(), Catch::Contains(path));
    CHECK_THAT(source.error(), Catch::Contains("RAW"));
    CHECK_THAT(source.error(), Catch::Contains("not Ethernet"));
    auto type = pcap_link_type(path);
    REQUIRE(type.ok());
    CHECK(*type == DLT_RAW);
  }
  SECTION("DLT_LINUX_SLL, written by libpcap") {
    TempDir dir;
    const std::string path = dir.file("sll.pcap");
    pcap_t* dead = pcap_open_dead(DLT_LINUX_SLL, 65535);
    REQUIRE(dead != nullptr);
    pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
    REQUIRE(dumper != nullptr);
    std::vector<std::uint8_t> frame(16 + 20, 0);
    pcap_pkthdr header{};
    header.caplen = header.len = static_cast<bpf_u_int32>(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frame.data());
    pcap_dump_close(dumper);
    pcap_close(dead);
    auto source = PcapSource::open(path, {});
    REQUIRE_FALSE(source.ok());
    CHECK_THAT(source.error(), Catch::Contains(path));
    CHECK_THAT(source.error(), Catch::Contains("LINUX_SLL"));
  }
  CHECK(*pcap_link_type(shared_pcap("http.pcap")) == DLT_EN10MB);
}

TEST_CASE("PcapSource: a truncated record reports its size and the original length") {
  TempDir dir;
  const std::string path = dir.file("snap.pcap");
  std::vector<std::uint8_t> head = udp_frame(1);
  head.resize(60, 0);
  write_file(path,
             classic_pcap(false, false, DLT_EN10MB, {{1, 0, head, 1514}, {1, 5, udp_frame(2), 0}}));
  auto source = open_ok(path, PcapOptions{PortId{9}});
  const auto packets = drain(*source);
  REQUIRE(packets.size() == 2);
  REQUIRE(packets[0].malformed);
  CHECK(*packets[0].malformed == "frame 1: truncated: 60 of 1514 bytes captured");
  CHECK(packets[0].wire_bytes == 1514);
  CHECK(packets[0].port == PortId{9});
  CHECK_FALSE(packets[1].malformed);
  CHECK(source->bytes() == 1514 + udp_frame(2).size());
  CHECK(source->malformed() == 1);
}

TEST_CASE("PcapSource: a frame parse_frame rejects is malformed with its message") {
  TempDir dir;
  const std::string path = dir.file("bad.pcap");
  std::vector<std::uint8_t> frame = udp_frame(1);
  frame.resize(14 + 10);  // an IPv4 header cut short, captured as such (caplen == len)
  write_file(path, classic_pcap(false, false, DLT_EN10MB, {{1, 0, frame, 0}}));
  auto source = open_ok(path);
  const auto p = source->next();
  REQUIRE(p);
  REQUIRE(p->malformed);
  CHECK_THAT(*p->malformed, Catch::StartsWith("frame 1: "));
  CHECK(p->malformed->size() > 9);
  CHECK(p->wire_bytes == 24);
  CHECK_FALSE(source->next());
}

TEST_CASE("PcapSource: a capture cut part-way stops with an error naming file and packet") {
  TempDir dir;
  const std::string original = shared_pcap("http.pcap");
  const std::string path = dir.file("cut.pcap");
  std::ifstream in(original, std::ios::binary);
  std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>()};
  bytes.resize(bytes.size() - 10);
  write_file(path, bytes);
  auto source = open_ok(path);
  const auto packets = drain(*source);
  CHECK(packets.size() == 42);
  REQUIRE(source->error());
  CHECK_THAT(*source->error(), Catch::Contains(path));
  CHECK_THAT(*source->error(), Catch::Contains("packet 43"));
  CHECK_FALSE(source->next());
}

TEST_CASE("PcapSource: unreadable paths and bad speeds are refused naming the file") {
  TempDir dir;
  for (const std::string& path : {dir.file("missing.pcap"), dir.file("")}) {
    auto source = PcapSource::open(path, {});
    REQUIRE_FALSE(source.ok());
    CHECK_THAT(source.error(), Catch::Contains(path));
  }
  const std::string empty = dir.file("zero-bytes.pcap");
  write_file(empty, {});
  auto zero = PcapSource::open(empty, {});
  REQUIRE_FALSE(zero.ok());
  CHECK_THAT(zero.error(), Catch::Contains(empty));
  for (double speed : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    auto source = PcapSource::open(shared_pcap("http.pcap"), PcapOptions{PortId{}, speed});
    REQUIRE_FALSE(source.ok());
    CHECK_THAT(source.error(), Catch::Contains("speed"));
  }
}

TEST_CASE("PcapSource: read-ahead and inline yield the same records and counters") {
  TempDir dir;
  std::vector<std::string> paths;
  for (std::string_view name : hivesim::testing::kThirdPartyCaptures)
    paths.push_back(shared_pcap(std::string(name)));
  paths.push_back(test_pcap("three-frames.pcapng"));
  paths.push_back(dir.file("mixed.pcap"));
  write_file(paths.back(), classic_pcap(false, false, DLT_EN10MB, mixed_records(kMixed)));
  paths.push_back(dir.file("mixed-cut.pcap"));
  write_file(paths.back(), cut_capture(kCut));

  PcapOptions normal{PortId{2}, 1.0, false, 11};
  PcapOptions fast{PortId{2}, 3.0, false, 0};
  PcapOptions top{PortId{2}, 1.0, true, 5};
  top.line_rate_bps = 3'000'000'000;
  top.keep_payload = false;
  std::uint64_t opened = 0;
  for (const std::string& path : paths) {
    for (const PcapOptions& base : {normal, fast, top}) {
      INFO(path << ", speed " << base.speed << ", topspeed " << base.topspeed);
      PcapOptions ahead_options = base;
      PcapOptions inline_options = base;
      ahead_options.read_ahead = true;
      inline_options.read_ahead = false;
      auto ahead = PcapSource::open(path, ahead_options);
      auto in_line = PcapSource::open(path, inline_options);
      REQUIRE(ahead.ok() == in_line.ok());
      if (!ahead.ok()) {
        CHECK(ahead.error() == in_line.error());
        continue;
      }
      ++opened;
      const auto a = drain(**ahead);
      const auto b = drain(**in_line);
      REQUIRE(a.size() == b.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        INFO("record " << i + 1);
        check_same(a[i], b[i]);
      }
      CHECK(counters(**ahead) == counters(**in_line));
      CHECK((*ahead)->flows() == reference_flows(a, a.size()));
    }
  }
  CHECK(opened == 3 * 12);
}

/// Payload sizes of large_records(), in turn.
constexpr std::size_t kLargeSizes[] = {60'000, 9'000, 1'500, 100, 60'000, 60'000};

/// 400 UDP records over 7 flows, mostly large: 60,000-byte frames fill a batch's kBatchBytes in
/// 5 records. Record i's payload is kLargeSizes[i % 6] bytes of value i.
std::vector<Record> large_records() {
  std::vector<Record> records;
  for (std::size_t i = 0; i < 400; ++i) {
    Packet p = udp_packet(static_cast<std::uint16_t>(1000 + i % 7));
    p.payload.assign(kLargeSizes[i % std::size(kLargeSizes)], static_cast<std::uint8_t>(i));
    p.payload_len = static_cast<std::uint32_t>(p.payload.size());
    records.push_back(Record{1000, static_cast<std::uint32_t>(i), serialize(p), 0});
  }
  return records;
}

TEST_CASE("PcapSource: large frames, read ahead and in line, agree record by record") {
  // The reader closes its batches early (on bytes, not records) and dispatches a record at a
  // time once it has seen one; nothing outside shows where a batch closed, only the records.
  static_assert(PcapSource::kBatchBytes < 10 * 60'000);
  TempDir dir;
  const std::string path = dir.file("large.pcap");
  const std::vector<Record> records = large_records();
  write_file(path, classic_pcap(false, false, DLT_EN10MB, records));
  PcapOptions options{PortId{3}};
  options.read_ahead = true;
  auto ahead = open_ok(path, options);
  options.read_ahead = false;
  auto in_line = open_ok(path, options);
  const auto a = drain(*ahead);
  const auto b = drain(*in_line);
  REQUIRE(a.size() == records.size());
  REQUIRE(b.size() == records.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("record " << i + 1);
    check_same(a[i], b[i]);
    CHECK(a[i].packet.payload.size() == kLargeSizes[i % std::size(kLargeSizes)]);
    CHECK(a[i].packet.payload.front() == static_cast<std::uint8_t>(i));
  }
  CHECK(counters(*ahead) == counters(*in_line));
  CHECK(ahead->flows() == 7);
}

TEST_CASE("PcapSource: the cut capture breaks after its last good record, both ways") {
  TempDir dir;
  const std::string path = dir.file("cut.pcap");
  write_file(path, cut_capture(kCut));
  const bool read_ahead = GENERATE(true, false);
  INFO("read_ahead " << read_ahead);
  PcapOptions options{PortId{1}};
  options.read_ahead = read_ahead;
  auto source = open_ok(path, options);
  std::size_t n = 0;
  while (source->next() != nullptr) {
    ++n;
    REQUIRE_FALSE(source->error());  // not before the last good record is handed out
  }
  CHECK(n == kCut - 1);
  CHECK(source->packets() == kCut - 1);
  REQUIRE(source->error());
  // libpcap's own message for the record it could not read, after the file and the number.
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  REQUIRE(p != nullptr);
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  for (std::size_t i = 0; i + 1 < kCut; ++i)
    REQUIRE(pcap_next_ex(p, &header, &data) == 1);
  REQUIRE(pcap_next_ex(p, &header, &data) == PCAP_ERROR);
  CHECK(*source->error() ==
        path + ": packet " + std::to_string(kCut) + ": " + std::string(pcap_geterr(p)));
  CHECK_THAT(*source->error(), Catch::Contains("truncated dump file"));
  pcap_close(p);
  for (int i = 0; i < 3; ++i)
    CHECK(source->next() == nullptr);
  CHECK(source->packets() == kCut - 1);
}

TEST_CASE("PcapSource: stopping early reports the records handed out, not those read ahead") {
  TempDir dir;
  const std::string path = dir.file("mixed.pcap");
  write_file(path, classic_pcap(false, false, DLT_EN10MB, mixed_records(kMixed)));
  PcapOptions options{PortId{1}, 1.0, false, 100};
  options.read_ahead = false;
  auto all_source = open_ok(path, options);
  const auto all = drain(*all_source);
  REQUIRE(all.size() == kMixed);
  for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{13}, kBatch - 1,
                        kBatch, kBatch + 1, 2 * kBatch, kRing - 1, kRing, kRing + 1, kMixed - 1}) {
    INFO("stopped after " << k);
    options.read_ahead = true;
    auto ahead = open_ok(path, options);
    options.read_ahead = false;
    auto in_line = open_ok(path, options);
    std::uint64_t bytes = 0;
    std::uint64_t malformed = 0;
    for (std::size_t i = 0; i < k; ++i) {
      SourcePacket* a = ahead->next();
      SourcePacket* b = in_line->next();
      REQUIRE(a != nullptr);
      REQUIRE(b != nullptr);
      a->parse();
      b->parse();
      check_same(*a, all[i]);
      check_same(*b, all[i]);
      bytes += all[i].wire_bytes;
      malformed += all[i].malformed.has_value();
    }
    // The inline source has read exactly k records: its counters are those of the first k.
    CHECK(counters(*ahead) == counters(*in_line));
    CHECK(ahead->packets() == k);
    CHECK(ahead->bytes() == bytes);
    CHECK(ahead->malformed() == malformed);
    CHECK(ahead->flows() == reference_flows(all, k));
    CHECK(ahead->duration() == (k < 2 ? 0 : all[k - 1].at - all[0].at));
    CHECK(ahead->reordered() == (k + 1) / 13);  // every 13th record (index 12, 25, ...)
  }
}

TEST_CASE("PcapSource: flows counts distinct 5-tuples and Ethernet pairs of parsed records") {
  TempDir dir;
  const std::string path = dir.file("flows.pcap");
  std::vector<Record> records;
  auto add = [&](std::vector<std::uint8_t> frame, std::uint32_t orig_len = 0) {
    records.push_back({1, static_cast<std::uint32_t>(records.size()), std::move(frame), orig_len});
  };
  for (int round = 0; round < 3; ++round) {
    for (std::uint16_t sport = 1; sport <= 5; ++sport)
      add(udp_frame(sport));  // 5 UDP flows
    add(arp_frame(1));        // 2 ARP senders
    add(arp_frame(2));
  }
  Packet tcp = udp_packet(1);
  tcp.proto = ipproto::kTcp;
  add(serialize(tcp));  // same ports as a UDP flow, another protocol
  Packet reverse = udp_packet(9999);
  reverse.dport = 1;
  std::swap(reverse.src, reverse.dst);
  add(serialize(reverse));  // the reply direction is its own flow
  add(udp_frame(6), 1514);  // truncated: malformed, so not a flow
  add(arp_frame(3), 1514);
  records.push_back({1, 99, udp_frame(7), 0});
  records.back().frame.resize(14 + 10);  // cut IPv4 header: malformed too
  write_file(path, classic_pcap(false, true, DLT_EN10MB, records));

  const bool read_ahead = GENERATE(true, false);
  INFO("read_ahead " << read_ahead);
  PcapOptions options{PortId{1}};
  options.read_ahead = read_ahead;
  auto source = open_ok(path, options);
  CHECK(source->flows() == 0);
  const auto packets = drain(*source);
  REQUIRE(packets.size() == records.size());
  CHECK(source->malformed() == 3);
  CHECK(source->flows() == 5 + 2 + 1 + 1);
}

TEST_CASE("PcapSource: destroying a source mid-file stops its reader") {
  TempDir dir;
  const std::string path = dir.file("big.pcap");
  write_file(path, classic_pcap(false, false, DLT_EN10MB, mixed_records(4 * kMixed)));
  const std::size_t fds = open_fds();
  for (std::size_t taken : {std::size_t{0}, std::size_t{1}, kBatch + 88, kRing + kBatch}) {
    INFO("after " << taken << " records");
    auto source = open_ok(path);
    CHECK(open_fds() == fds + 1);
    for (std::size_t i = 0; i < taken; ++i)
      REQUIRE(source->next() != nullptr);
    source.reset();  // joins the reader, which may be waiting for a free batch or reading
    CHECK(open_fds() == fds);
  }
}

TEST_CASE("PcapSource: the file is closed when it ends, before the source goes") {
  const std::size_t fds = open_fds();
  const bool read_ahead = GENERATE(true, false);
  INFO("read_ahead " << read_ahead);
  PcapOptions options{PortId{1}};
  options.read_ahead = read_ahead;
  auto source = open_ok(shared_pcap("synscan.pcap"), options);
  CHECK(open_fds() == fds + 1);
  CHECK(drain(*source).size() == 2011);
  CHECK(open_fds() == fds);
  CHECK(source->flows() > 1000);  // a SYN scan: nearly a flow per packet
}

TEST_CASE("PcapSource: at a line rate packet i enters after the bits of packets before it") {
  TempDir dir;
  const std::string path = dir.file("sizes.pcap");
  // Frames of every size under 300 bytes, or mostly large ones (past the reader's table of
  // per-length times, 2,048 bytes).
  const bool large = GENERATE(false, true);
  const std::vector<Record> records = large ? large_records() : mixed_records(1200);
  write_file(path, classic_pcap(false, false, DLT_EN10MB, records));
  const SimTime start = 7;
  const bool read_ahead = GENERATE(true, false);
  // 3 Gbit/s: 8/3 ns a byte, so the ceiling matters; 1 bit/s: seconds per byte.
  const std::uint64_t rate = GENERATE(3'000'000'000ULL, 1ULL);
  INFO((large ? "large frames" : "mixed frames")
       << ", read_ahead " << read_ahead << ", rate " << rate);
  PcapOptions options{PortId{1}, 1.0, true, start};
  options.line_rate_bps = rate;
  options.read_ahead = read_ahead;
  auto source = open_ok(path, options);
  const auto got = drain(*source);
  REQUIRE(got.size() == records.size());
  std::uint64_t bytes_before = 0;
  bool rounded = false;
  for (const SourcePacket& p : got) {
    INFO("after " << bytes_before << " bytes");
    const std::uint64_t bits_ns = 8 * bytes_before * 1'000'000'000ULL;
    CHECK(p.at == start + static_cast<SimTime>((bits_ns + rate - 1) / rate));
    rounded = rounded || bits_ns % rate != 0;
    bytes_before += p.wire_bytes;  // truncated records count their original length
  }
  CHECK(rounded == (rate != 1));
  CHECK(bytes_before == source->bytes());
  // Counted, though topspeed ignores timestamps.
  CHECK(source->reordered() == (large ? 0 : 1200 / 13));
}

TEST_CASE("PcapSource: keep_payload=false keeps payload_len and drops the bytes, both ways") {
  TempDir dir;
  const std::string path = dir.file("payloads.pcap");
  const auto records = mixed_records(700);
  write_file(path, classic_pcap(false, false, DLT_EN10MB, records));
  const bool read_ahead = GENERATE(true, false);
  INFO("read_ahead " << read_ahead);
  PcapOptions options{PortId{1}};
  options.read_ahead = read_ahead;
  options.keep_payload = false;
  auto source = open_ok(path, options);
  const auto got = drain(*source);
  REQUIRE(got.size() == records.size());
  std::size_t with_payload = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("record " << i + 1);
    CHECK(got[i].packet.payload.empty());
    if (got[i].malformed) continue;
    auto full = parse_frame(records[i].frame);
    REQUIRE(full.ok());
    CHECK(got[i].packet.payload_len == full->payload.size());
    with_payload += !full->payload.empty();
    Packet stripped = *full;
    stripped.payload.clear();
    CHECK(got[i].packet == stripped);
  }
  CHECK(with_payload > 500);
}
