#pragma once
// `--pcap-out DIR`: one pcap per exterior port that packets left by (DIR/PORT.pcap), with
// simulated timestamps, readable by tcpdump and Wireshark.
//
// Invariants: files are nanosecond-resolution pcap, link type Ethernet (DLT_EN10MB), snaplen
// 262144; frames are serialize(packet) (no FCS, no padding); within a file, records are in the
// order they were recorded. Frames stream to one hidden temp file per port in DIR as they are
// recorded (".hivesim-pcap-PID-N.tmp"); write() flushes them to disk and renames them to their
// final names, all or nothing: on any failure, or when the sink is destroyed without a
// successful write(), every file and folder it created is removed. A failure while recording
// (folder, disk full) is kept and reported by write().
// Cost: memory does not grow with the frames (one stdio buffer per open file); at most
// kMaxOpenFiles temp files are open at once, others are closed and reopened for appending.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/units.hpp"
#include "sim/packet/packet.hpp"

// libpcap's handles (pcap_t, pcap_dumper_t), declared so that users need not include pcap.h.
struct pcap;
struct pcap_dumper;

namespace hivesim {

/// The file name (without folder or ".pcap") used for a port: characters unsafe in a file name
/// ('/', '\\', control characters) become '_', and "", "." and ".." get a leading '_'.
std::string pcap_file_stem(std::string_view port_name);

class PcapSink {
 public:
  static constexpr std::size_t kMaxOpenFiles = 64;

  /// Files go to `dir`, created at the first record() (or by write()) if needed.
  explicit PcapSink(std::string dir);
  /// Without a successful write(): removes every file and folder the sink created.
  ~PcapSink();
  PcapSink(const PcapSink&) = delete;
  PcapSink& operator=(const PcapSink&) = delete;

  /// Records `packet` leaving at `port_name` at simulated time `at` (ns, >= 0): appended to
  /// the port's temp file. After a failure, further records are counted but not written.
  void record(const std::string& port_name, const Packet& packet, SimTime at);

  /// Gives every port recorded its file DIR/STEM.pcap (STEM = pcap_file_stem(port); should two
  /// ports map to the same stem, later ones in name order get "~2", "~3", ...). Fails, having
  /// removed every file and folder it created, with a message naming the file or folder.
  Status write();

  std::size_t ports() const { return ports_.size(); }
  std::uint64_t packets() const { return packets_; }
  const std::string& dir() const { return dir_; }

 private:
  struct Port {
    std::string label;              // DIR/STEM.pcap, for messages
    std::string temp;               // the temp file's path
    pcap_dumper* dumper = nullptr;  // open, or closed to stay under kMaxOpenFiles
    bool created = false;           // the temp file exists
  };

  Status ensure_folder();
  Status open(Port& port);
  Status close(Port& port);
  void discard();  // closes and removes everything created (idempotent)

  std::string dir_;
  std::map<std::string, Port, std::less<>> ports_;  // ordered: files are named in name order
  std::deque<Port*> open_;                          // open temp files, oldest first
  pcap* writer_ = nullptr;                          // libpcap's "dead" handle for dumpers
  std::vector<std::string> folders_;                // created by the sink, outermost first
  bool folder_ready_ = false;
  bool committed_ = false;
  Status failed_;  // the first failure while recording
  std::uint64_t packets_ = 0;
};

}  // namespace hivesim
