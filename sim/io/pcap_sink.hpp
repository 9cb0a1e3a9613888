#pragma once
// `--pcap-out DIR`: one pcap per exterior port that packets left by (DIR/PORT.pcap), with
// simulated timestamps, readable by tcpdump and Wireshark.
//
// Invariants: files are nanosecond-resolution pcap, link type Ethernet (DLT_EN10MB), snaplen
// 262144; frames are serialize(packet) (no FCS, no padding); within a file, records are in the
// order they were recorded. Nothing is written until write(), which is all-or-nothing: each file
// goes through a temp file renamed into place, and on any failure everything it wrote is removed.
// Cost: every recorded frame is kept in memory until write(), as bytes (one buffer per port plus
// an end offset and a time per frame), not as Packet objects.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/units.hpp"
#include "sim/packet/packet.hpp"

namespace hivesim {

/// The file name (without folder or ".pcap") used for a port: characters unsafe in a file name
/// ('/', '\\', control characters) become '_', and "", "." and ".." get a leading '_'.
std::string pcap_file_stem(std::string_view port_name);

class PcapSink {
 public:
  /// Files go to `dir`, created by write() if needed.
  explicit PcapSink(std::string dir);

  /// Records `packet` leaving at `port_name` at simulated time `at` (ns, >= 0).
  void record(const std::string& port_name, const Packet& packet, SimTime at);

  /// Writes DIR/STEM.pcap for every port recorded (STEM = pcap_file_stem(port); should two ports
  /// map to the same stem, later ones in name order get "~2", "~3", ...). Fails, having removed
  /// every file and folder it created, with a message naming the file or folder.
  Status write();

  std::size_t ports() const { return ports_.size(); }
  std::uint64_t packets() const { return packets_; }
  const std::string& dir() const { return dir_; }

 private:
  struct Frames {
    std::vector<std::uint8_t> bytes;  // frames back to back
    std::vector<std::size_t> ends;    // end offset of each frame in `bytes`
    std::vector<SimTime> times;
  };

  std::string dir_;
  std::map<std::string, Frames, std::less<>> ports_;  // ordered: files are written by name
  std::uint64_t packets_ = 0;
};

}  // namespace hivesim
