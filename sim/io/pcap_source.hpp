#pragma once
// Capture replay (`hivesim replay --pcap FILE`, scenario `traffic: {pcap: ...}`): a TrafficSource
// that reads a pcap or pcapng file with libpcap and yields its Ethernet frames, parsed, on one
// exterior port.
//
// Invariants: yielded times never go backwards (a capture timestamp earlier than the previous
// one is clamped to it and counted in reordered()); every record of the file is yielded exactly
// once, parsed or as `malformed` (truncated capture or parse_frame error), so parsed + malformed
// == packets(); bad input is a Result/error() message naming the file, never a crash.
// Cost: one libpcap handle and one record buffer; one parse_frame per packet, nothing retained.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "sim/twin/traffic.hpp"
#include "topology/ids.hpp"
#include "topology/result.hpp"
#include "topology/units.hpp"

struct pcap;  // libpcap's pcap_t, kept out of this header

namespace hivesim {

struct PcapOptions {
  PortId port;            // the exterior port the frames enter by
  double speed = 1.0;     // replay rate: 2.0 plays twice as fast (halves the gaps); > 0
  bool topspeed = false;  // ignore capture times: back to back in file order (see line_rate_bps)
  SimTime start = 0;      // simulated time of the first packet, ns
  /// With topspeed: the ingress link's rate. Packet i+1 enters when packet i has been
  /// serialised at this rate (its wire length, as a NIC replaying at top speed would send it):
  /// packet i enters at start + ceil(8 * (bytes of packets 0..i-1) * 1e9 / line_rate_bps) ns.
  /// 0: every packet at `start`.
  std::uint64_t line_rate_bps = 0;
  /// Keep the payload bytes of each parsed packet. When false, payload_len is kept and the
  /// payload vector is left empty (serialize() then writes zeros): nothing in the flow core
  /// reads payload bytes, so only an egress capture needs them.
  bool keep_payload = true;
};

/// The link type (DLT_*) of a pcap or pcapng file; fails as PcapSource::open does on a file that
/// is unreadable or not a capture.
Result<std::uint32_t> pcap_link_type(const std::string& path);

class PcapSource final : public TrafficSource {
 public:
  /// Opens a pcap or pcapng file (either byte order, micro- or nanosecond timestamps, read as
  /// ns). Fails with a message naming the file when it cannot be read, is not a capture (with
  /// libpcap's reason), is not Ethernet (DLT_EN10MB; the message names the link type), or when
  /// `options.speed` is not a positive finite number.
  static Result<std::unique_ptr<PcapSource>> open(const std::string& path, PcapOptions options);

  ~PcapSource() override;
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  /// The next record at start + (ts - ts_first) / speed (clamped to the previous time); nullptr
  /// at the end of the file or when it broke part-way (then error() says why).
  SourcePacket* next() override;
  /// Set when the file broke part-way: names the file and the 1-based packet number.
  std::optional<std::string> error() const override { return error_; }

  // Actuals for the replay report.
  std::uint64_t packets() const { return packets_; }      // records yielded
  std::uint64_t malformed() const { return malformed_; }  // of which malformed
  std::uint64_t bytes() const { return bytes_; }          // sum of original (wire) lengths
  std::uint64_t reordered() const { return reordered_; }  // times clamped forward
  /// Capture timestamps (ns since the epoch) of the first packet and the latest one seen;
  /// 0 before the first packet.
  SimTime first_timestamp() const { return first_ts_; }
  SimTime last_timestamp() const { return last_ts_; }
  const std::string& path() const { return path_; }

 private:
  PcapSource(std::string path, PcapOptions options, pcap* handle);

  std::string path_;
  PcapOptions options_;
  pcap* handle_;
  SourcePacket out_;  // the record next() hands out
  std::optional<std::string> error_;
  bool done_ = false;
  std::uint64_t packets_ = 0;
  std::uint64_t malformed_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t reordered_ = 0;
  SimTime first_ts_ = 0;
  SimTime last_ts_ = 0;
  SimTime previous_at_ = 0;
  std::uint64_t line_bits_ = 0;  // topspeed with a line rate: bits sent before this packet
};

}  // namespace hivesim
