// PcapSink (`--pcap-out DIR`): files read back with libpcap and PcapSource, file naming, and
// all-or-nothing writes. When tshark is installed, it must read the files too.

#include <catch2/catch.hpp>

#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "sim/io/pcap_sink.hpp"
#include "sim/io/pcap_source.hpp"
#include "sim/packet/codec.hpp"
#include "tests/support/temp_dir.hpp"

using namespace hivesim;
namespace fs = std::filesystem;

namespace {

using hivesim::testing::TempDir;

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir))
    out.insert(entry.path().filename());
  return out;
}

Packet packet(std::uint16_t sport, std::uint16_t vlan = 0) {
  Packet p;
  p.eth_src = Mac{0x020000000001ULL};
  p.eth_dst = Mac{0x020000000002ULL};
  if (vlan != 0) {
    p.vlan_count = 1;
    p.vlans[0] = vlan;
  }
  p.src = Ipv4{0x0a000001U};
  p.dst = Ipv4{0x0a000002U};
  p.proto = ipproto::kTcp;
  p.tcp_flags = tcpflag::kSyn;
  p.sport = sport;
  p.dport = 80;
  return p;
}

struct ReadBack {
  std::vector<std::vector<std::uint8_t>> frames;
  std::vector<SimTime> times;
  int linktype = 0;
  int snaplen = 0;
  int precision = 0;
};

ReadBack read_back(const std::string& path) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  INFO(errbuf);
  REQUIRE(p != nullptr);
  ReadBack out;
  out.linktype = pcap_datalink(p);
  out.snaplen = pcap_snapshot(p);
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(p, &header, &data) == 1) {
    CHECK(header->caplen == header->len);
    out.frames.emplace_back(data, data + header->caplen);
    out.times.push_back(static_cast<SimTime>(header->ts.tv_sec) * kSecond + header->ts.tv_usec);
  }
  pcap_close(p);
  std::ifstream in(path, std::ios::binary);
  std::uint32_t magic = 0;
  in.read(reinterpret_cast<char*>(&magic), 4);
  out.precision = magic == 0xa1b23c4d ? 9 : 6;
  return out;
}

bool have_tshark() {
  return std::system("command -v tshark >/dev/null 2>&1") == 0;
}

}  // namespace

TEST_CASE("PcapSink: files read back with the same frames and nanosecond times, one per port") {
  TempDir dir;
  const fs::path out = dir.path() / "out" / "nested";  // created by the first record()
  PcapSink sink(out.string());
  sink.record("vm1", packet(1000), 1 * kSecond + 1);
  sink.record("vm2", packet(2000, 11), 2 * kSecond + 999);
  sink.record("vm1", packet(1001), 3 * kSecond + 123456789);
  sink.record("uplink/0", packet(3000), 7);
  CHECK(sink.ports() == 3);
  CHECK(sink.packets() == 4);
  // Before write(), only hidden temp files: no final name exists yet.
  for (const auto& name : listing(out))
    CHECK(name.front() == '.');
  CHECK(listing(out).size() == 3);
  REQUIRE(sink.write().ok());
  CHECK(listing(out) == std::set<std::string>{"vm1.pcap", "vm2.pcap", "uplink_0.pcap"});

  const ReadBack vm1 = read_back((out / "vm1.pcap").string());
  CHECK(vm1.linktype == DLT_EN10MB);
  CHECK(vm1.snaplen == 262144);
  CHECK(vm1.precision == 9);
  REQUIRE(vm1.frames.size() == 2);
  CHECK(vm1.frames[0] == serialize(packet(1000)));
  CHECK(vm1.frames[1] == serialize(packet(1001)));
  CHECK(vm1.times == std::vector<SimTime>{1 * kSecond + 1, 3 * kSecond + 123456789});
  const ReadBack vm2 = read_back((out / "vm2.pcap").string());
  REQUIRE(vm2.frames.size() == 1);
  CHECK(vm2.frames[0] == serialize(packet(2000, 11)));
  CHECK(vm2.times == std::vector<SimTime>{2 * kSecond + 999});
  const ReadBack uplink = read_back((out / "uplink_0.pcap").string());
  CHECK(uplink.times == std::vector<SimTime>{7});
}

TEST_CASE("PcapSink: written files replay through PcapSource") {
  TempDir dir;
  PcapSink sink(dir.path().string());
  for (std::uint16_t i = 0; i < 50; ++i)
    sink.record("ext", packet(i, i % 3 == 0 ? 5 : 0), i * 10);
  REQUIRE(sink.write().ok());
  auto source = PcapSource::open(dir.file("ext.pcap"), PcapOptions{PortId{4}, 1.0, false, 0});
  REQUIRE(source.ok());
  for (std::uint16_t i = 0; i < 50; ++i) {
    auto p = (*source)->next();
    REQUIRE(p);
    p->parse();
    CHECK_FALSE(p->malformed);
    CHECK(p->at == i * 10);
    CHECK(p->packet == packet(i, i % 3 == 0 ? 5 : 0));
  }
  CHECK_FALSE((*source)->next());
  CHECK((*source)->first_timestamp() == 0);
}

TEST_CASE("PcapSink: port names become safe, distinct file names") {
  CHECK(pcap_file_stem("vm1") == "vm1");
  CHECK(pcap_file_stem("a/b\\c") == "a_b_c");
  CHECK(pcap_file_stem(std::string("x\ny", 3)) == "x_y");
  CHECK(pcap_file_stem("") == "_");
  CHECK(pcap_file_stem(".") == "_.");
  CHECK(pcap_file_stem("..") == "_..");
  TempDir dir;
  PcapSink sink(dir.path().string());
  sink.record("a/b", packet(1), 0);
  sink.record("a_b", packet(2), 0);
  sink.record("..", packet(3), 0);
  REQUIRE(sink.write().ok());
  CHECK(listing(dir.path()) == std::set<std::string>{"a_b.pcap", "a_b~2.pcap", "_...pcap"});
  CHECK(read_back(dir.file("a_b~2.pcap")).frames.at(0) == serialize(packet(2)));
}

TEST_CASE("PcapSink: nothing recorded writes no file") {
  TempDir dir;
  PcapSink sink(dir.file("out"));
  REQUIRE(sink.write().ok());
  CHECK(fs::is_directory(dir.file("out")));
  CHECK(listing(dir.file("out")).empty());
}

TEST_CASE("PcapSink: a folder that cannot be made fails cleanly and leaves nothing") {
  TempDir dir;
  std::ofstream(dir.file("plain-file")) << "x";
  PcapSink sink(dir.file("plain-file") + "/out");
  sink.record("vm1", packet(1), 0);
  const Status status = sink.write();
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error(), Catch::Contains(dir.file("plain-file")));
  CHECK(listing(dir.path()) == std::set<std::string>{"plain-file"});
}

TEST_CASE("PcapSink: a failure part-way removes every file and folder it wrote") {
  TempDir dir;
  SECTION("the final name is taken by a folder") {
    fs::create_directories(dir.path() / "vm1.pcap" / "keep");
    PcapSink sink(dir.path().string());
    sink.record("a", packet(1), 0);  // written and renamed first ("a" < "vm1")...
    sink.record("vm1", packet(2), 0);
    const Status status = sink.write();
    REQUIRE_FALSE(status.ok());
    CHECK_THAT(status.error(), Catch::Contains(dir.file("vm1.pcap")));
    CHECK(listing(dir.path()) == std::set<std::string>{"vm1.pcap"});  // ... then removed
    CHECK(fs::is_directory(dir.path() / "vm1.pcap" / "keep"));
  }
  SECTION("a file name too long for the file system, in folders write() created") {
    PcapSink sink(dir.file("fresh") + "/sub");
    sink.record("a", packet(1), 0);
    sink.record(std::string(300, 'x'), packet(2), 0);
    const Status status = sink.write();
    REQUIRE_FALSE(status.ok());
    CHECK_THAT(status.error(), Catch::Contains(std::string(300, 'x') + ".pcap"));
    CHECK(listing(dir.path()).empty());
  }
}

TEST_CASE("PcapSink: tshark reads the written files") {
  if (!have_tshark()) {
    WARN("tshark not installed: skipping the Wireshark compatibility check");
    return;
  }
  TempDir dir;
  PcapSink sink(dir.path().string());
  for (std::uint16_t i = 0; i < 5; ++i)
    sink.record("vm1", packet(i, i == 2 ? 7 : 0), i * 1500);
  REQUIRE(sink.write().ok());
  const std::string file = dir.file("vm1.pcap");
  CHECK(std::system(("tshark -r '" + file + "' >/dev/null 2>&1").c_str()) == 0);
  // One summary line per frame; the third is 1.5 us after the second, as nanoseconds show.
  std::FILE* pipe = ::popen(
      ("tshark -r '" + file + "' -T fields -e frame.time_relative 2>/dev/null").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::vector<std::string> lines;
  char line[256];
  while (std::fgets(line, sizeof line, pipe) != nullptr)
    lines.emplace_back(line);
  CHECK(::pclose(pipe) == 0);
  REQUIRE(lines.size() == 5);
  CHECK_THAT(lines[2], Catch::StartsWith("0.000003000"));
}

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;  // its quarantine keeps freed memory resident
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

/// This process's resident memory now, in bytes (/proc/self/statm).
std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total = 0;
  std::size_t resident = 0;
  statm >> total >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::set<std::string> hidden_files(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& name : listing(dir))
    if (name.front() == '.') out.insert(name);
  return out;
}

}  // namespace

TEST_CASE("PcapSink: frames stream to disk; memory does not grow with them") {
  TempDir dir;
  PcapSink sink(dir.path().string());
  Packet big = packet(1);
  big.payload_len = 1400;
  const std::size_t frame_size = serialize(big).size();
  constexpr int kFrames = 100'000;  // ~145 MB of frames
  const std::size_t before = resident_bytes();
  for (int i = 0; i < kFrames; ++i)
    sink.record(i % 2 == 0 ? "vm1" : "vm2", big, i);
  const std::size_t growth = resident_bytes() - std::min(before, resident_bytes());
  INFO("resident growth " << growth / 1024 << " KiB for " << kFrames * frame_size / 1024
                          << " KiB of frames");
  // Kept in memory, the frames would take all of it; streamed, stdio buffers.
  if (!kAddressSanitizer) CHECK(growth < kFrames * frame_size / 8);
  // Before write(), the data is in hidden temp files, not under the final names.
  CHECK(hidden_files(dir.path()).size() == 2);
  CHECK_FALSE(fs::exists(dir.file("vm1.pcap")));
  REQUIRE(sink.write().ok());
  CHECK(listing(dir.path()) == std::set<std::string>{"vm1.pcap", "vm2.pcap"});
  CHECK(fs::file_size(dir.file("vm1.pcap")) == 24 + kFrames / 2 * (16 + frame_size));
}

TEST_CASE("PcapSink: more ports than open files, each file complete and in order") {
  TempDir dir;
  const int ports = static_cast<int>(PcapSink::kMaxOpenFiles) * 3 + 5;
  {
    PcapSink sink(dir.path().string());
    // Round-robin over every port, three times: each file is closed and reopened in between.
    for (int round = 0; round < 3; ++round)
      for (int p = 0; p < ports; ++p)
        sink.record("p" + std::to_string(p), packet(static_cast<std::uint16_t>(round)),
                    round * 1000 + p);
    REQUIRE(sink.write().ok());
  }
  CHECK(listing(dir.path()).size() == static_cast<std::size_t>(ports));
  for (int p : {0, 1, ports - 1}) {
    const ReadBack back = read_back(dir.file("p" + std::to_string(p) + ".pcap"));
    REQUIRE(back.frames.size() == 3);
    for (int round = 0; round < 3; ++round) {
      CHECK(back.frames[round] == serialize(packet(static_cast<std::uint16_t>(round))));
      CHECK(back.times[round] == round * 1000 + p);
    }
    CHECK(back.precision == 9);
  }
}

TEST_CASE("PcapSink: destroyed without write() (a failed run) leaves nothing") {
  TempDir dir;
  {
    PcapSink sink(dir.file("new") + "/sub");
    sink.record("vm1", packet(1), 0);
    sink.record("vm2", packet(2), 0);
    CHECK(hidden_files(dir.file("new/sub")).size() == 2);
  }
  CHECK(listing(dir.path()).empty());
  {
    PcapSink sink(dir.path().string());
    sink.record("vm1", packet(1), 0);
  }
  CHECK(listing(dir.path()).empty());
}

TEST_CASE("PcapSink: a failure while recording is reported by write(), and cleaned up") {
  TempDir dir;
  PcapSink sink(dir.file("out"));
  sink.record("vm1", packet(1), 0);
  // The folder goes away under the sink: the next port's temp file cannot be created.
  fs::remove_all(dir.file("out"));
  sink.record("vm2", packet(2), 0);
  sink.record("vm1", packet(3), 0);
  CHECK(sink.packets() == 3);
  const Status status = sink.write();
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error(), Catch::Contains(dir.file("out/vm2.pcap")));
  CHECK(listing(dir.path()).empty());
}
