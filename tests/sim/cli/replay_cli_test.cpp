// The `replay` subcommand (SPEC section 2) on the real third-party captures of tests/data/pcaps:
// each one replays with counts that add up, or is refused with exit 2 and nothing written.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/cli/commands.hpp"

namespace fs = std::filesystem;
using hivesim::cli::replay_command;

namespace {

const std::string kScenario = HIVESIM_SOURCE_DIR "/scenarios/replay.yaml";
const std::string kPcaps = HIVESIM_TEST_DATA "/pcaps/";

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

Outcome replay(std::vector<std::string> args) {
  std::ostringstream out, err;
  Outcome o;
  o.code = replay_command(args, out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

fs::path temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "hivesim-replay-test-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

/// The SPEC identity every report keeps.
void check_counts_add_up(const nlohmann::json& doc) {
  const auto& p = doc.at("packets");
  CHECK(p.at("injected").get<std::uint64_t>() ==
        p.at("delivered").get<std::uint64_t>() + p.at("dropped").get<std::uint64_t>() +
            p.at("consumed").get<std::uint64_t>() + p.at("in_flight").get<std::uint64_t>());
  CHECK(p.at("in_flight") == 0);  // replay runs until every packet has landed
  CHECK(p.at("injected") == doc.at("replay").at("packets"));
}

}  // namespace

TEST_CASE("Replay CLI: every third-party capture replays with counts that add up, or is refused") {
  struct Case {
    const char* file;
    bool refused;
    std::uint64_t packets;  // when replayed
  };
  // Packet counts as capinfos reports them.
  const std::vector<Case> cases = {
      {"http.pcap", false, 43},           {"vlan11.pcap", false, 133},
      {"vxlan.pcap", false, 10},          {"synscan.pcap", false, 2011},
      {"dns_fragmented.pcap", false, 66}, {"smtp.pcap", false, 60},
      {"icmpv6.pcap", false, 5},          {"tcp_header_heapoverflow.pcap", false, 1},
      {"empty.pcap", false, 0},           {"arp.pcap", true, 0},
      {"malformed.pcap", true, 0},        {"pcap-invalid-version-1.pcap", true, 0},
  };
  for (const Case& c : cases) {
    INFO(c.file);
    const fs::path dir = temp_dir();
    const Outcome o =
        replay({kScenario, "--pcap", kPcaps + c.file, "--port", "tap", "--format", "json", "--out",
                (dir / "out").string(), "--pcap-out", (dir / "pcaps").string()});
    if (c.refused) {
      CHECK(o.code == 2);
      CHECK(o.out.empty());
      CHECK(o.err.find(c.file) != std::string::npos);  // the message names the file
      CHECK_FALSE(fs::exists(dir / "out"));            // nothing half-written
      CHECK_FALSE(fs::exists(dir / "pcaps"));
    } else {
      REQUIRE(o.code == 0);
      const auto doc = nlohmann::json::parse(o.out);
      check_counts_add_up(doc);
      CHECK(doc.at("replay").at("packets") == c.packets);
      CHECK(fs::exists(dir / "out" / "report.json"));
    }
    fs::remove_all(dir);
  }
}

TEST_CASE("Replay CLI: malformed frames are dropped as malformed at the capture port") {
  const Outcome o = replay({kScenario, "--pcap", kPcaps + "tcp_header_heapoverflow.pcap", "--port",
                            "tap", "--format", "json"});
  REQUIRE(o.code == 0);
  const auto doc = nlohmann::json::parse(o.out);
  REQUIRE(doc.at("drops").size() == 1);
  CHECK(doc["drops"][0]["reason"] == "malformed");
  CHECK(doc["drops"][0]["device"] == "tap");
  CHECK(doc["drops"][0]["count"] == 1);
}

TEST_CASE("Replay CLI: a capture broken part-way keeps what was replayed and exits 2") {
  const fs::path dir = temp_dir();
  // Cut http.pcap in the middle of a record.
  std::ifstream in(kPcaps + "http.pcap", std::ios::binary);
  std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  bytes.resize(bytes.size() / 2);
  const fs::path cut = dir / "cut.pcap";
  std::ofstream(cut, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  const Outcome o =
      replay({kScenario, "--pcap", cut.string(), "--port", "tap", "--format", "json"});
  CHECK(o.code == 2);
  const auto doc = nlohmann::json::parse(o.out);
  check_counts_add_up(doc);
  CHECK(doc["replay"]["packets"].get<int>() > 0);
  CHECK(doc["replay"]["packets"].get<int>() < 43);
  CHECK(doc["replay"].contains("error"));
  CHECK(o.err.find("cut.pcap") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("Replay CLI: routed replay of a pcap_gen-style capture, rewritten frames in --pcap-out") {
  // Two packets the replay scenario routes: client 10.0.1.10 -> server 10.0.2.10 (tcp/5432).
  const fs::path dir = temp_dir();
  const fs::path pcap = dir / "two.pcap";
  {
    // Classic little-endian microsecond pcap with two identical 54-byte TCP frames.
    std::vector<unsigned char> f = {0xd4, 0xc3, 0xb2, 0xa1, 2,    0,    4, 0, 0, 0, 0, 0,
                                    0,    0,    0,    0,    0xff, 0xff, 0, 0, 1, 0, 0, 0};
    const unsigned char frame[54] = {2,    0,    0,    0,    1,    1,    2,  0, 0,  0,
                                     1,    10,   0x08, 0x00,  // ethernet
                                     0x45, 0,    0,    40,   0,    0,    0,  0, 64, 6,
                                     0,    0,    10,   0,    1,    10,   10, 0, 2,  10,  // ipv4
                                     0x9c, 0x40, 0x15, 0x38, 0,    0,    0,  0, 0,  0,
                                     0,    0,    0x50, 0x02, 0xff, 0xff, 0,  0, 0,  0};
    for (int i = 0; i < 2; ++i) {
      const unsigned char hdr[16] = {
          static_cast<unsigned char>(i), 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 54, 0, 0, 0};
      f.insert(f.end(), hdr, hdr + 16);
      f.insert(f.end(), frame, frame + 54);
    }
    std::ofstream(pcap, std::ios::binary)
        .write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
  }
  const Outcome o = replay({kScenario, "--pcap", pcap.string(), "--port", "tap", "--format", "json",
                            "--pcap-out", (dir / "caps").string()});
  REQUIRE(o.code == 0);
  const auto doc = nlohmann::json::parse(o.out);
  CHECK(doc["packets"]["delivered"] == 2);
  CHECK(doc["replay"]["flows"] == 1);
  CHECK(doc["replay"]["duration_ns"] == 1000000000);  // one second apart in the capture
  // The routed frames leave at srv0, TTL decremented, MACs rewritten by the router.
  REQUIRE(fs::exists(dir / "caps" / "srv0.pcap"));
  std::ifstream got(dir / "caps" / "srv0.pcap", std::ios::binary);
  std::vector<unsigned char> g{std::istreambuf_iterator<char>(got),
                               std::istreambuf_iterator<char>()};
  REQUIRE(g.size() == 24 + 2 * (16 + 54));
  const unsigned char* first = g.data() + 24 + 16;
  CHECK(first[14 + 8] == 63);                            // ttl
  CHECK(std::vector<unsigned char>(first, first + 6) ==  // eth_dst: srv0's MAC
        std::vector<unsigned char>{2, 0, 0, 0, 2, 0x10});
  if (std::system("command -v tshark >/dev/null 2>&1") == 0) {
    const std::string cmd =
        "tshark -r '" + (dir / "caps" / "srv0.pcap").string() + "' >/dev/null 2>&1";
    CHECK(std::system(cmd.c_str()) == 0);
  } else {
    WARN("tshark is not installed: the Wireshark read check was skipped");
  }
  fs::remove_all(dir);
}

TEST_CASE("Replay CLI: bad arguments exit 2") {
  CHECK(replay({kScenario, "--port", "tap"}).code == 2);                 // no --pcap
  CHECK(replay({kScenario, "--pcap", kPcaps + "http.pcap"}).code == 2);  // no --port
  CHECK(replay({kScenario, "--pcap", kPcaps + "http.pcap", "--port", "nope"}).code == 2);
  CHECK(replay({kScenario, "--pcap", kPcaps + "http.pcap", "--port", "tap", "--speed", "0"}).code ==
        2);
  CHECK(replay({kScenario, "--pcap", kPcaps + "http.pcap", "--port", "tap", "--speed", "2",
                "--topspeed"})
            .code == 2);
  CHECK(replay({kScenario, "--pcap", "/nonexistent.pcap", "--port", "tap"}).code == 2);
}

TEST_CASE("Replay CLI: the README example delivers the bundled capture to the eight servers") {
  const fs::path dir = temp_dir();
  const Outcome o = replay({kScenario, "--pcap", HIVESIM_SOURCE_DIR "/pcaps/clients.pcap", "--port",
                            "tap", "--format", "json", "--pcap-out", (dir / "out").string()});
  REQUIRE(o.code == 0);
  const auto doc = nlohmann::json::parse(o.out);
  check_counts_add_up(doc);
  CHECK(doc["packets"]["delivered"] == 2000);
  CHECK(doc["replay"]["flows"] == 100);
  // Flows outnumber simulations: later packets of a flow hit what the first installed.
  CHECK(doc["flows"]["cache_hits"].get<int>() > 0);
  for (int i = 0; i < 8; ++i)
    CHECK(fs::exists(dir / "out" / ("srv" + std::to_string(i) + ".pcap")));
  fs::remove_all(dir);
}

// A frame nobody looks at, which nothing can stop on its way (no failure before it lands), is
// counted when it is sent; under --pcap-out every frame is watched and counted on arrival. The
// two must give the same report:
// - on the replay scenario as it is;
// - on a slow link with a long latency, where the 110-byte frames of the capture are sent and
//   land within a sweep interval (1 s) and the 122-byte ones do not, so both kinds share it;
// - on a link so slow that the 110-byte frames take most of a second each and the 122-byte ones
//   more (they are not counted when sent, nor are the frames behind them on the link): the
//   sweeps skip ahead to the next frame landing when it is more than a second away;
// - on a slow link that all frames are counted on when sent, landing for 20 s after the capture
//   ends (sweeps run meanwhile, and the run ends at the last one), with a failure due later
//   (the sweeps must not skip ahead to it);
// - with hv2 down for part of the capture while 2 ms worth of frames are on their way.
// Each at the capture's own pace and at top speed.
TEST_CASE("Replay CLI: the report is the same with and without --pcap-out") {
  std::ifstream in(kScenario);
  const std::string base{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  REQUIRE(base.find("\nhosts:") != std::string::npos);
  const std::vector<std::pair<std::string, std::string>> variants = {
      {"as is", ""},
      {"slow link", "underlay: {latency: 988500us, bandwidth: 80kbps}\n"},
      {"very slow link", "underlay: {latency: 0us, bandwidth: 900bps}\n"},
      {"slow link, late failure",
       "underlay: {latency: 500ms, bandwidth: 80kbps}\nfailures:\n  - {at: 60s, host_down: hv3}\n"},
      {"hv2 down",
       "underlay: {latency: 2ms}\nfailures:\n  - {at: 5ms, host_down: hv2}\n"
       "  - {at: 12ms, host_up: hv2}\n"},
  };
  for (const auto& [name, extra] : variants) {
    const fs::path dir = temp_dir();
    const fs::path scenario = dir / "scenario.yaml";
    std::ofstream(scenario) << base << "\n" << extra;
    for (const bool topspeed : {false, true}) {
      INFO(name << (topspeed ? ", top speed" : ", capture pace"));
      std::vector<std::string> args = {
          scenario.string(), "--pcap", HIVESIM_SOURCE_DIR "/pcaps/clients.pcap", "--port", "tap",
          "--format",        "json"};
      if (topspeed) args.push_back("--topspeed");
      const Outcome quiet = replay(args);
      args.insert(args.end(), {"--pcap-out", (dir / "out").string()});
      const Outcome watched = replay(args);
      REQUIRE(quiet.code == 0);
      REQUIRE(watched.code == 0);
      CHECK(quiet.out == watched.out);
      check_counts_add_up(nlohmann::json::parse(quiet.out));
      fs::remove_all(dir / "out");
    }
    fs::remove_all(dir);
  }
}
