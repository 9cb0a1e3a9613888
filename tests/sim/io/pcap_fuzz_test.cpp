// PcapSource on damaged input: every third-party capture of tests/data/pcaps (and the committed
// pcapng), each cut at 20 random offsets and with random bytes changed, in copies under a temporary
// folder. Whatever the damage, open() fails with a message naming the file or next() runs to the
// end, keeping the source's invariants, and the reader thread yields what the inline path does,
// error included. Fixed seed: the same copies on every run.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "sim/io/pcap_source.hpp"
#include "tests/support/captures.hpp"
#include "tests/support/temp_dir.hpp"

using namespace hivesim;
namespace fs = std::filesystem;

namespace {

using hivesim::testing::TempDir;

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

struct Outcome {
  bool opened = false;
  std::uint64_t packets = 0;
  std::vector<SourcePacket> records;
  std::optional<std::string> error;
  std::vector<std::uint64_t> counters;  // malformed, bytes, reordered, flows, duration
};

/// Opens and drains `path`, checking the source's contract on whatever it yields.
Outcome replay(const std::string& path, bool topspeed, bool read_ahead) {
  Outcome outcome;
  PcapOptions options{PortId{1}, 1.5, topspeed, 1000};
  options.read_ahead = read_ahead;
  auto source = PcapSource::open(path, options);
  if (!source) {
    CHECK_THAT(source.error(), Catch::Contains(path));
    outcome.error = source.error();
    return outcome;
  }
  outcome.opened = true;
  PcapSource& s = **source;
  SimTime previous = 1000;
  std::uint64_t n = 0;
  std::uint64_t malformed = 0;
  std::uint64_t bytes = 0;
  // A damaged length could at worst make a record tiny; no capture here holds more than this.
  constexpr std::uint64_t kLimit = 1'000'000;
  while (auto p = s.next()) {
    ++n;
    REQUIRE(n < kLimit);
    CHECK(p->at >= previous);
    previous = p->at;
    CHECK(p->port == PortId{1});
    malformed += p->malformed.has_value();
    bytes += p->wire_bytes;
    p->parse();
    outcome.records.push_back(std::move(*p));
  }
  CHECK_FALSE(s.next());
  CHECK(n == s.packets());
  CHECK(malformed == s.malformed());
  CHECK(bytes == s.bytes());
  if (s.error()) CHECK_THAT(*s.error(), Catch::Contains(path));
  outcome.packets = n;
  outcome.error = s.error();
  outcome.counters = {s.malformed(), s.bytes(), s.reordered(), s.flows(),
                      static_cast<std::uint64_t>(s.duration())};
  return outcome;
}

/// Replays `path` with the reader thread and inline: the same outcome, record by record.
Outcome replay_both(const std::string& path, bool topspeed) {
  Outcome ahead = replay(path, topspeed, true);
  const Outcome in_line = replay(path, topspeed, false);
  CHECK(ahead.opened == in_line.opened);
  CHECK(ahead.error == in_line.error);
  CHECK(ahead.counters == in_line.counters);
  REQUIRE(ahead.records.size() == in_line.records.size());
  for (std::size_t i = 0; i < ahead.records.size(); ++i) {
    const SourcePacket& a = ahead.records[i];
    const SourcePacket& b = in_line.records[i];
    CHECK(a.at == b.at);
    CHECK(a.malformed == b.malformed);
    CHECK(a.wire_bytes == b.wire_bytes);
    CHECK(a.packet == b.packet);
  }
  return ahead;
}

}  // namespace

TEST_CASE("PcapSource: damaged copies of every capture fail cleanly or read to the end") {
  std::vector<std::string> inputs;
  for (std::string_view name : hivesim::testing::kThirdPartyCaptures)
    inputs.push_back(hivesim::testing::capture_path(name));
  inputs.push_back(hivesim::testing::capture_path("three-frames.pcapng"));

  TempDir dir;
  std::mt19937_64 rng(20240611);
  std::uint64_t opened = 0;
  std::uint64_t refused = 0;
  for (const std::string& input : inputs) {
    INFO(input);
    const std::vector<std::uint8_t> original = read_bytes(input);
    replay_both(input, false);
    const std::string name = fs::path(input).filename().string();
    auto offset = [&](std::size_t limit) {
      return std::uniform_int_distribution<std::size_t>(0, limit - 1)(rng);
    };
    auto byte = [&] { return static_cast<std::uint8_t>(rng()); };

    std::vector<std::vector<std::uint8_t>> copies;
    for (int i = 0; i < 20 && !original.empty(); ++i) {  // cut short
      copies.emplace_back(original.begin(),
                          original.begin() + static_cast<std::ptrdiff_t>(offset(original.size())));
    }
    for (int i = 0; i < 20 && !original.empty(); ++i) {  // one byte changed anywhere
      auto copy = original;
      copy[offset(copy.size())] ^= static_cast<std::uint8_t>(byte() | 1);
      copies.push_back(std::move(copy));
    }
    for (int i = 0; i < 20 && !original.empty(); ++i) {  // 20 bytes changed anywhere
      auto copy = original;
      for (int k = 0; k < 20; ++k)
        copy[offset(copy.size())] = byte();
      copies.push_back(std::move(copy));
    }
    for (int i = 0; i < 20 && original.size() >= 64; ++i) {  // file and first record headers
      auto copy = original;
      copy[offset(64)] ^= static_cast<std::uint8_t>(byte() | 1);
      copies.push_back(std::move(copy));
    }
    for (std::size_t i = 0; i < copies.size(); ++i) {
      const std::string path = dir.file(name + "." + std::to_string(i));
      write_bytes(path, copies[i]);
      const Outcome outcome = replay_both(path, i % 2 == 1);
      (outcome.opened ? opened : refused) += 1;
    }
  }
  // Both paths were taken: damage is not all caught at open, nor all let through.
  CHECK(opened > 100);
  CHECK(refused > 10);
}
