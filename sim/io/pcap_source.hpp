#pragma once
// Capture replay (`hivesim replay --pcap FILE`, scenario `traffic: {pcap: ...}`): a TrafficSource
// that reads a pcap or pcapng file with libpcap and yields its Ethernet frames, extracted (flow
// key, length) and parsed, on one exterior port. Untagged IPv4 TCP and UDP frames are keyed
// straight from their bytes (frame_flow_key) and come unparsed: SourcePacket::parse() parses such
// a record's packet when something reads it (the twin does on a flow miss, not on a hit). When no
// payload is kept (no egress capture), such a record keeps no bytes either: its key and the few
// header fields beyond it (KeyedRest) are the whole packet, which parse() rebuilds from them.
//
// Invariants: yielded times never go backwards (a capture timestamp earlier than the previous
// one is clamped to it and counted in reordered()); every record of the file is yielded exactly
// once, extracted (and parsed, or parseable) or as `malformed` (truncated capture or parse_frame
// error), so good + malformed == packets(); bad input is a Result/error() message naming the
// file, never a crash. The counters count only the records next() has handed out, whatever was
// read ahead, so they do not depend on thread timing: a consumer that stops early sees those of
// its first k records.
//
// Threads: by default a reader thread reads, extracts and classifies (flow, timing) the records
// ahead of next(), in batches of up to kBatchRecords, handed over under a mutex once per batch. A
// batch holds compact records (time, wire length, extraction) and the bytes of its unparsed frames
// side by side; next() copies a record into the source's one SourcePacket, so the twin reads a
// packet from a hot object and the reader writes 112 bytes per record, plus the frame only when the
// payload is kept. (The memory both threads stream through is what the replay's two threads contend
// for: leaving out the frame makes the 2M-packet replay measurably faster; bench/README.md has
// the figures.) The caller's thread does nothing else, and libpcap and the extraction
// run beside the twin. The thread reads up to kBatches batches (131,072 records) or kPoolBytes of
// frames ahead, whichever comes first, and, once there, sleeps until there is room for kRefill
// batches and half the bytes again (waking it costs more than a batch does). So while the twin is
// slow (at a replay's start every new flow is simulated) the thread goes on reading, and the twin
// later finds those records waiting. Likewise next(), finding no batch ready, sleeps until kWake
// are (or the last, or a full pool; its first batch, at once): woken for every batch, it spent more
// time being woken, and the thread waking it, than reading (a futex call each; a 2M-packet drain
// took twice as long as reading in line). The thread is joined when the file ends or breaks, or
// when the source is destroyed (it stops within a batch). When no thread can be started, next()
// fills each batch itself, with the same results.
//
// Cost: one libpcap handle reading through a stream buffer of 1 MiB (or the file's size, if
// smaller); the batches read ahead (112 bytes a keyed record, 15 MB when full; 180 with a 70-byte
// frame kept, 24 MB; with large frames about kPoolBytes, twice that at worst as batches given back
// keep their buffers, since a batch closes once its frames pass kBatchBytes); one flow per distinct
// flow; per packet one frame_flow_key or one parse_frame, nothing else retained. The reader counts
// the actuals through each batch; the accessors add the records handed out from the batch next() is
// in.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "base/units.hpp"
#include "sim/source/traffic_source.hpp"
#include "topology/ids.hpp"

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
  /// Read and parse on a thread of the source's own (see above). false: on the caller's
  /// thread inside next(), one record at a time; the records and counters are the same.
  bool read_ahead = true;
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

  // Actuals for the replay report, over the records next() has handed out. Each call counts
  // the records handed out from the current batch: O(kBatchRecords), meant for the end.
  std::uint64_t packets() const { return actuals().packets; }      // records yielded
  std::uint64_t malformed() const { return actuals().malformed; }  // of which malformed
  std::uint64_t bytes() const { return actuals().bytes; }          // sum of original (wire) lengths
  std::uint64_t reordered() const { return actuals().reordered; }  // times clamped forward
  /// Distinct flows of the parsed records, as tcpreplay counts them: the IPv4 5-tuple, else
  /// the Ethernet source, destination and type.
  std::uint64_t flows() const { return actuals().flows; }
  /// Simulated time from the first record yielded to the last one, ns; 0 before two records.
  SimTime duration() const {
    const Actuals a = actuals();
    return a.last_at - a.first_at;
  }
  /// Capture timestamps (ns since the epoch) of the first packet and the latest one yielded;
  /// 0 before the first packet.
  SimTime first_timestamp() const { return actuals().first_ts; }
  SimTime last_timestamp() const { return actuals().last_ts; }
  const std::string& path() const { return path_; }

  static constexpr std::size_t kBatches = 512;  // read ahead, at most
  static constexpr std::size_t kBatchRecords = 256;
  static constexpr std::size_t kRefill = kBatches / 2;  // room that wakes the thread
  static constexpr std::size_t kWake = 64;              // batches ready that wake a waiting next()
  /// A batch closes once its unparsed frames hold this many bytes (large frames)...
  static constexpr std::size_t kBatchBytes = std::size_t{256} << 10;
  /// ...and the thread waits once the batches filled and not given back hold this many.
  static constexpr std::size_t kPoolBytes = std::size_t{32} << 20;
  /// Batches given back (their records and frames) before the first of them is filled again:
  /// several times a core's own cache.
  static constexpr std::size_t kCoolingBytes = std::size_t{4} << 20;

 private:
  struct Record;
  struct Batch;
  class Reader;  // the file side: libpcap handle, timing and flow state, the ring, the thread

  /// The accessors' counts, over the records of the file up to one.
  struct Actuals {
    std::uint64_t packets = 0;
    std::uint64_t malformed = 0;
    std::uint64_t bytes = 0;
    std::uint64_t reordered = 0;
    std::uint64_t flows = 0;
    SimTime first_ts = 0;
    SimTime last_ts = 0;
    SimTime first_at = 0;
    SimTime last_at = 0;
    /// Adds `record`, the next in the file.
    void count(const Record& record);
  };

  PcapSource(std::string path, PcapOptions options, std::unique_ptr<Reader> reader);
  /// Gives the batch handed out back and takes the next one with a record; false at the end.
  bool next_batch();
  /// next() for a record the reader parsed, or found malformed.
  SourcePacket* next_slow(std::size_t index);
  /// The actuals over the records handed out so far.
  Actuals actuals() const;

  std::string path_;
  std::unique_ptr<Reader> reader_;
  Batch* batch_ = nullptr;  // the batch next() hands out from (nullptr before and after)
  std::size_t next_record_ = 0;
  bool ended_ = false;
  std::optional<std::string> error_;
  Actuals handed_;       // over the records of the batches given back
  SourcePacket record_;  // the record handed out last
};

}  // namespace hivesim
