#include "sim/io/pcap_source.hpp"

#include <pcap/pcap.h>
#include <stdio_ext.h>
#include <sys/stat.h>

#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <stop_token>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "sim/packet/codec.hpp"

namespace hivesim {

namespace {

constexpr SimTime kMaxTime = std::numeric_limits<SimTime>::max();
constexpr SimTime kMinTime = std::numeric_limits<SimTime>::min();
__extension__ using U128 = unsigned __int128;  // GCC/Clang extension, for exact line-rate times

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using Handle = std::unique_ptr<pcap_t, PcapCloser>;

// Capture timestamps come from the file and may be anything: saturate instead of overflowing.
SimTime saturating_add(SimTime a, SimTime b) {
  SimTime out = 0;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? kMaxTime : kMinTime;
  return out;
}

SimTime saturating_sub(SimTime a, SimTime b) {
  SimTime out = 0;
  if (__builtin_sub_overflow(a, b, &out)) return b < 0 ? kMaxTime : kMinTime;
  return out;
}

/// The record's timestamp in ns; the handle was opened with nanosecond precision, so tv_usec
/// holds nanoseconds whatever the file's resolution.
SimTime timestamp_ns(const timeval& ts) {
  SimTime ns = 0;
  if (__builtin_mul_overflow(static_cast<SimTime>(ts.tv_sec), kSecond, &ns)) {
    return ts.tv_sec < 0 ? kMinTime : kMaxTime;
  }
  return saturating_add(ns, static_cast<SimTime>(ts.tv_usec));
}

/// `offset` ns of capture time as simulated ns at `speed`, rounded to the nearest ns.
SimTime scaled(SimTime offset, double speed) {
  if (speed == 1.0) return offset;
  const double v = static_cast<double>(offset) / speed;
  constexpr double kLimit = 9223372036854775808.0;  // 2^63
  if (v >= kLimit) return kMaxTime;
  if (v < -kLimit) return kMinTime;
  return static_cast<SimTime>(std::llround(v));
}

/// An open capture: libpcap's handle and the buffer of the stream it reads through.
struct Capture {
  std::unique_ptr<char[]> buffer;  // (first: freed after the handle has closed the stream)
  Handle handle;
};

/// Opens `path` for reading with nanosecond timestamps, through a stream buffer of
/// `buffer_size` bytes (0: the C library's, 4 KiB). The file is opened here rather than by
/// pcap_open_offline so that "-" is a file name, not stdin, and so that the message is ours.
Result<Capture> open_capture(const std::string& path, std::size_t buffer_size = 0) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Error{path + ": cannot open capture: is a directory"};
  }
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Error{path + ": cannot open capture: " + std::generic_category().message(errno)};
  }
  // One thread at a time reads the stream (the reader thread, or next() when there is none; the
  // ring's mutex orders the handovers), so stdio need not lock it for every fread.
  __fsetlocking(file, FSETLOCKING_BYCALLER);
  Capture capture;
  // A regular file needs no buffer larger than itself (one more byte, so that the read that
  // meets the end is the same call): a capture of a few packets does not take 1 MiB.
  struct stat st {};
  if (buffer_size != 0 && ::fstat(::fileno(file), &st) == 0 && S_ISREG(st.st_mode)) {
    buffer_size = std::clamp<std::size_t>(static_cast<std::size_t>(st.st_size) + 1,
                                          std::size_t{BUFSIZ}, buffer_size);
  }
  if (buffer_size != 0) {
    // Not zeroed: stdio writes before it reads (zeroing 1 MiB per open was most of the cost of
    // opening a small capture).
    capture.buffer = std::make_unique_for_overwrite<char[]>(buffer_size);
    std::setvbuf(file, capture.buffer.get(), _IOFBF, buffer_size);
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle =
      pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (handle == nullptr) {
    std::fclose(file);  // libpcap leaves the stream to the caller when it fails
    return Error{path + ": not a readable pcap or pcapng file: " + errbuf};
  }
  capture.handle = Handle(handle);
  return capture;
}

std::string link_type_name(int dlt) {
  const char* name = pcap_datalink_val_to_name(dlt);
  const char* description = pcap_datalink_val_to_description(dlt);
  std::string out = name != nullptr ? name : "unknown";
  if (description != nullptr) return out + " (" + description + ", " + std::to_string(dlt) + ")";
  return out + " (" + std::to_string(dlt) + ")";
}

/// A flow as tcpreplay counts them: the IPv4 5-tuple, else the Ethernet pair and type, in two
/// words. Bit 48 of the second is set only for an Ethernet pair (MACs are 48 bits; the 5-tuple
/// takes the second word's low 40), so the two kinds never meet.
using Flow = std::pair<std::uint64_t, std::uint64_t>;

Flow ipv4_flow(Ipv4 src, Ipv4 dst, std::uint16_t sport, std::uint16_t dport, std::uint8_t proto) {
  return {(std::uint64_t{src.bits} << 32) | dst.bits,
          (std::uint64_t{sport} << 24) | (std::uint64_t{dport} << 8) | proto};
}

Flow flow_of(const Packet& p) {
  if (p.is_ipv4()) return ipv4_flow(p.src, p.dst, p.sport, p.dport, p.proto);
  return {p.eth_src.bits | (std::uint64_t{p.ethertype} << 48),
          p.eth_dst.bits | (std::uint64_t{1} << 48)};
}

/// flow_of() for a TCP or UDP packet, from its flow key.
Flow flow_of(const FlowKey& k) {
  return ipv4_flow(k.nw_src, k.nw_dst, k.tp_src, k.tp_dst, k.nw_proto);
}

/// A flow with its hash, computed once for both the prefetch and the insert.
struct HashedFlow {
  Flow flow;
  std::size_t hash = 0;
  explicit HashedFlow(const Flow& f = {}) : flow(f), hash(absl::HashOf(f.first, f.second)) {}
  friend bool operator==(const HashedFlow& a, const HashedFlow& b) { return a.flow == b.flow; }
};
struct HashedFlowHash {
  std::size_t operator()(const HashedFlow& f) const { return f.hash; }
};

/// Sending frames back to back at a line rate, in exact integers: the bits sent so far times
/// 1e9 is sent_ * rate + remainder_. A frame adds its length's quotient and remainder, from a
/// table for lengths up to kTable (a division each otherwise), so a packet costs no division.
class LineClock {
 public:
  explicit LineClock(std::uint64_t rate) : rate_(rate) {}
  /// ceil(bits sent * 1e9 / rate): when the frames so far are out, in ns from the first.
  std::uint64_t sent_ns() const {
    return sent_ + (remainder_ != 0 && sent_ != std::numeric_limits<std::uint64_t>::max());
  }
  /// One more frame of `bytes` on the wire (sent saturates at 2^64 - 1).
  void add(std::uint64_t bytes) {
    if (table_.empty()) [[unlikely]] {
      for (std::uint64_t len = 0; len < kTable; ++len)
        table_.push_back(split(len));
    }
    auto [q, r] = bytes < kTable ? table_[bytes] : split(bytes);
    remainder_ += r;
    if (remainder_ >= rate_) {
      remainder_ -= rate_;
      ++q;
    }
    if (__builtin_add_overflow(sent_, q, &sent_)) sent_ = std::numeric_limits<std::uint64_t>::max();
  }

 private:
  static constexpr std::uint64_t kTable = 2048;
  /// bytes * 8 * 1e9 as a quotient and remainder of the rate (exact: 2^64 holds 2 GB frames).
  std::pair<std::uint64_t, std::uint64_t> split(std::uint64_t bytes) const {
    const U128 numerator = U128{bytes} * 8U * 1'000'000'000U;
    return {static_cast<std::uint64_t>(numerator / rate_),
            static_cast<std::uint64_t>(numerator % rate_)};
  }

  std::uint64_t rate_;
  std::uint64_t sent_ = 0;       // whole ns
  std::uint64_t remainder_ = 0;  // < rate_
  std::vector<std::pair<std::uint64_t, std::uint64_t>> table_;
};

}  // namespace

Result<std::uint32_t> pcap_link_type(const std::string& path) {
  auto capture = open_capture(path);
  if (!capture) return Error{capture.error()};
  return static_cast<std::uint32_t>(pcap_datalink(capture->handle.get()));
}

Result<std::unique_ptr<PcapSource>> PcapSource::open(const std::string& path, PcapOptions options) {
  if (!std::isfinite(options.speed) || options.speed <= 0) {
    return Error{path + ": replay speed must be a positive number, not " +
                 std::to_string(options.speed)};
  }
  // libpcap reads each record through the stream: with 1 MiB of buffer a 170 MB capture is 170
  // read calls, not 41,000 of 4 KiB.
  auto capture = open_capture(path, std::size_t{1} << 20);
  if (!capture) return Error{capture.error()};
  const int dlt = pcap_datalink(capture->handle.get());
  if (dlt != DLT_EN10MB) {
    return Error{path + ": link type " + link_type_name(dlt) +
                 " is not Ethernet (EN10MB); only Ethernet captures can be replayed"};
  }
  return std::unique_ptr<PcapSource>(new PcapSource(
      path, options, std::make_unique<Reader>(path, options, std::move(capture).value())));
}

/// A record as the reader leaves it for next(): compact, as the reader writes one per packet
/// and the caller's core reads it back.
struct PcapSource::Record {
  enum class Kind : std::uint8_t {
    kUnparsed,   // keyed by frame_flow_key: the frame is batch.bytes[frame, frame + caplen)
    kKeyed,      // keyed by frame_flow_key, no payload kept: the packet is `rest` and the key
    kParsed,     // parsed by the reader: the packet is batch.packets[frame]
    kMalformed,  // the detail is batch.messages[frame]
  };
  Extracted extracted;  // unless kMalformed
  SimTime at = 0;
  SimTime ts = 0;  // capture timestamp, ns
  std::uint32_t wire_bytes = 0;
  std::uint32_t frame = 0;  // see Kind
  std::uint32_t caplen = 0;
  KeyedRest rest;  // kKeyed
  Kind kind = Kind::kUnparsed;
  bool new_flow = false;  // not malformed, and the first record of its flow in file order
};

/// Consecutive records of the file. The last batch has `end` set (and `error` when the file
/// broke part-way); the reader has closed the file and returned by the time next() sees it.
/// Only `size` records, `bytes`, and the first packets and messages the records name are the
/// batch's: the rest is capacity kept from earlier fills.
struct PcapSource::Batch {
  std::vector<Record> records;  // kBatchRecords, once filled
  std::size_t size = 0;
  std::vector<std::uint8_t> bytes;
  std::vector<Packet> packets;
  std::size_t packets_used = 0;
  std::vector<std::string> messages;
  bool end = false;
  std::optional<std::string> error;
  Actuals through;            // over the file's records up to this batch's last
  std::size_t footprint = 0;  // the frame bytes it holds (capacity), counted in the pool's

  /// Its records' and frames' memory, about.
  std::size_t memory() const { return records.capacity() * sizeof(Record) + footprint; }
};

/// The file side. The libpcap handle and the timing and flow state belong to whoever fills
/// batches: the thread, or next() inline. A batch belongs to the thread while it is free or
/// being filled, and to next() from the time the thread queues it until next() gives it back;
/// the mutex orders each handover. A batch given back cools first: it is filled again only once
/// kCoolingBytes of batches have been given back after it (unless no other is free), by which
/// time next()'s core no longer holds its lines in its own caches, and the thread's writes need
/// not take them from there (filling the batch given back last made the 2M-packet replay
/// measurably slower; bench/README.md has the figures). Past that,
/// free batches are reused last-freed first, so a capture of large frames, which the byte bound
/// keeps to few batches, keeps few batches' memory.
class PcapSource::Reader {
 public:
  Reader(std::string path, PcapOptions options, Capture capture)
      : path_(std::move(path)),
        options_(options),
        capture_(std::move(capture)),
        previous_at_(options.start),
        line_(options.line_rate_bps),
        batch_records_(options.read_ahead ? kBatchRecords : 1) {
    flows_of_batch_.resize(kBatchRecords);
    if (options.read_ahead) {
      try {
        thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
      } catch (const std::system_error&) {
        // No thread to be had (a process or memory limit): exchange() fills each batch itself,
        // and the records and counters are the same.
      }
    }
    if (!thread_.joinable()) batches_.push_back(std::make_unique<Batch>());
  }

  /// Gives back `done` (the batch handed out so far; nullptr at first) and returns the next
  /// one, waiting for the thread to fill it.
  Batch* exchange(Batch* done) {
    if (!thread_.joinable()) {
      Batch& only = *batches_.front();
      fill(only);
      return &only;
    }
    std::unique_lock lock(mutex_);
    if (done != nullptr) {
      cooling_.push_back(done);
      cooling_bytes_ += done->memory();
      while (cooling_bytes_ > kCoolingBytes) {
        cooling_bytes_ -= cooling_.front()->memory();
        free_.push_back(cooling_.front());
        cooling_.pop_front();
      }
      --ready_;
      ready_bytes_ -= done->footprint;
      // Waking the thread costs more than a batch takes to hand out: it is woken only once
      // there is room for kRefill batches, and then fills them in one go.
      if (reader_waits_ && room_to_refill()) freed_.notify_one();
    }
    if (queue_.empty()) {
      caller_waits_ = true;
      first_wait_ = done == nullptr;
      filled_.wait(lock, [this] { return worth_waking(); });
      caller_waits_ = false;
      first_wait_ = false;
    }
    Batch* next = queue_.front();
    queue_.pop_front();
    return next;
  }

  /// After the end batch: the thread has returned; joining it now makes that visible.
  void finish() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  /// Whether the pool is full: kBatches batches filled and not given back, or kPoolBytes of
  /// frames in them (mutex_).
  bool full() const { return ready_ == kBatches || ready_bytes_ >= kPoolBytes; }
  /// Whether next(), waiting for a batch, should be woken: kWake are queued, or the last one, or
  /// as many as the pool holds, or any for its first batch (mutex_). (The twin's start, a
  /// simulation for each new flow, is its slow part: it need not wait for kWake batches first.)
  bool worth_waking() const {
    return queue_.size() >= kWake ||
           (!queue_.empty() && (first_wait_ || queue_.back()->end || full()));
  }
  /// Whether a full pool has room again: for kRefill batches and half its bytes (mutex_).
  bool room_to_refill() const {
    return ready_ + kRefill <= kBatches && ready_bytes_ <= kPoolBytes / 2;
  }

  void run(std::stop_token stop) {
    for (;;) {
      Batch* batch = nullptr;
      {
        std::unique_lock lock(mutex_);
        if (full()) {
          // Wait for room (see exchange()). The wait returns true on a stop if there is room,
          // hence the second test.
          reader_waits_ = true;
          const bool room = freed_.wait(lock, stop, [this] { return room_to_refill(); });
          reader_waits_ = false;
          if (!room || stop.stop_requested()) return;
        }
        if (stop.stop_requested()) return;
        if (!free_.empty()) {
          batch = free_.back();
          free_.pop_back();
        } else if (!cooling_.empty()) {  // rather than one more batch
          batch = cooling_.front();
          cooling_bytes_ -= batch->memory();
          cooling_.pop_front();
        }
      }
      if (batch == nullptr) {  // none free yet: one more, up to kBatches (the thread's alone)
        batches_.push_back(std::make_unique<Batch>());
        batch = batches_.back().get();
      }
      fill(*batch);
      batch->footprint = batch->bytes.capacity();
      bool wake = false;
      {
        std::lock_guard lock(mutex_);
        queue_.push_back(batch);
        ++ready_;
        ready_bytes_ += batch->footprint;
        wake = caller_waits_ && worth_waking();
      }
      if (wake) filled_.notify_one();
      if (batch->end) return;
    }
  }

  /// Reads records into `batch` until it is full (batch_records_ records, or kBatchBytes of
  /// frames) or the file ends; at the end the file is closed and the batch marked.
  void fill(Batch& batch) {
    if (batch.records.empty()) batch.records.resize(kBatchRecords);
    batch.size = 0;
    batch.bytes.clear();
    batch.packets_used = 0;
    batch.messages.clear();
    filling_ = &batch;
    while (batch.size < batch_records_ && batch.bytes.size() < kBatchBytes) {
      // libpcap calls on_record() for each record, up to 32 at a time, and fewer when the
      // batch's byte bound is near: it then overshoots by a frame at most (the largest seen).
      const std::size_t fit = (kBatchBytes - batch.bytes.size()) / largest_frame_;
      const std::size_t count =
          std::clamp<std::size_t>(fit, 1, std::min<std::size_t>(32, batch_records_ - batch.size));
      const int rc = pcap_dispatch(capture_.handle.get(), static_cast<int>(count),
                                   &Reader::on_record, reinterpret_cast<u_char*>(this));
      if (rc > 0) continue;
      // 0 is the end of the file; an error means it broke part-way (after the records taken).
      if (rc < 0) {
        batch.error = path_ + ": packet " + std::to_string(read_ + 1) + ": " +
                      pcap_geterr(capture_.handle.get());
      }
      batch.end = true;
      capture_.handle.reset();
      break;
    }
    tally(batch);
  }

  /// pcap_dispatch's callback: the next record into the batch being filled.
  static void on_record(u_char* user, const pcap_pkthdr* header, const u_char* data) {
    Reader& reader = *reinterpret_cast<Reader*>(user);
    reader.take(*header, data, *reader.filling_);
  }

  /// The record after the ones read so far: its time, its flow key (and its parse, unless
  /// frame_flow_key keyed it), its tcpreplay flow.
  void take(const pcap_pkthdr& header, const u_char* data, Batch& batch) {
    const std::size_t index = batch.size++;
    Record& r = batch.records[index];
    const SimTime ts = timestamp_ns(header.ts);
    const bool first = read_++ == 0;
    if (first) first_ts_ = ts;
    SimTime at = options_.start;
    if (!options_.topspeed && !first) {
      at = saturating_add(options_.start, scaled(saturating_sub(ts, first_ts_), options_.speed));
    } else if (options_.topspeed && options_.line_rate_bps != 0) {
      // Back to back at line rate: after the bits of every packet before this one.
      const std::uint64_t ns = line_.sent_ns();
      at = ns >= static_cast<std::uint64_t>(kMaxTime)
               ? kMaxTime
               : saturating_add(options_.start, static_cast<SimTime>(ns));
      line_.add(header.len);
    }
    // A timestamp earlier than one before it plays at the previous packet's time, since
    // simulated time never goes back (Actuals::count() sees it as reordered).
    at = std::max(at, previous_at_);
    previous_at_ = at;
    r.at = at;
    r.ts = ts;
    r.wire_bytes = header.len;
    r.new_flow = false;

    const std::span<const std::uint8_t> bytes(data, header.caplen);
    std::size_t length = 0;
    if (header.caplen < header.len) {
      malformed(batch, r,
                "truncated: " + std::to_string(header.caplen) + " of " +
                    std::to_string(header.len) + " bytes captured");
      return;
    }
    if (frame_flow_key(bytes, options_.port, r.extracted.key, length, r.rest)) {
      // Most frames: their key now, their parse only if the twin reads the packet (a flow
      // miss, an egress capture): from the key and the rest when no payload is kept, else from
      // a copy of the bytes.
      r.extracted.length = static_cast<std::uint32_t>(length);
      r.extracted.vlan_count = 0;
      if (options_.keep_payload) {
        r.kind = Record::Kind::kUnparsed;
        r.frame = static_cast<std::uint32_t>(batch.bytes.size());
        r.caplen = header.caplen;
        largest_frame_ = std::max<std::size_t>(largest_frame_, header.caplen);
        batch.bytes.insert(batch.bytes.end(), bytes.begin(), bytes.end());
      } else {
        r.kind = Record::Kind::kKeyed;
      }
      flows_of_batch_[index] = HashedFlow(flow_of(r.extracted.key));
    } else {
      if (batch.packets_used == batch.packets.size()) batch.packets.emplace_back();
      Packet& packet = batch.packets[batch.packets_used];
      if (Status err = parse_frame_into(bytes, packet, ParseOptions{options_.keep_payload});
          !err.ok()) {
        malformed(batch, r, err.error());
        return;
      }
      r.kind = Record::Kind::kParsed;
      r.frame = static_cast<std::uint32_t>(batch.packets_used++);
      r.extracted = extract(packet, options_.port);
      flows_of_batch_[index] = HashedFlow(flow_of(packet));
    }
    // The flow's place in the set, for tally(): with 10,000s of flows the set is no
    // longer in cache, and a miss per packet would cost as much as the parse.
    flows_.prefetch(flows_of_batch_[index]);
  }

  /// Marks `r` (the record being taken) malformed, with `detail`.
  void malformed(Batch& batch, Record& r, const std::string& detail) {
    r.kind = Record::Kind::kMalformed;
    r.frame = static_cast<std::uint32_t>(batch.messages.size());
    batch.messages.push_back("frame " + std::to_string(read_) + ": " + detail);
  }

  /// Marks each parsed record of `batch` whose flow was not seen before, and counts the
  /// actuals through the batch: in file order, so neither depends on the consumer.
  void tally(Batch& batch) {
    for (std::size_t i = 0; i < batch.size; ++i) {
      Record& r = batch.records[i];
      if (r.kind != Record::Kind::kMalformed) r.new_flow = flows_.insert(flows_of_batch_[i]).second;
      running_.count(r);
    }
    batch.through = running_;
  }

  const std::string path_;
  const PcapOptions options_;
  Capture capture_;  // its handle is null once the file has ended
  std::uint64_t read_ = 0;
  SimTime first_ts_ = 0;
  SimTime previous_at_;
  LineClock line_;  // topspeed with a line rate: the time the packets so far take to send
  absl::flat_hash_set<HashedFlow, HashedFlowHash> flows_;
  std::vector<HashedFlow> flows_of_batch_;  // take() to tally(): each record's flow
  Actuals running_;                         // over the records read so far
  Batch* filling_ = nullptr;                // the batch fill() is filling (for on_record)
  std::size_t largest_frame_ = 2048;        // the largest unparsed frame yet (at least 2 KiB)
  // Records per batch: kBatchRecords, or one when next() reads in line (as it reads each
  // record when asked).
  const std::size_t batch_records_;

  // Every batch made so far (by the thread; one, made at the start, when reading in line).
  std::vector<std::unique_ptr<Batch>> batches_;
  std::mutex mutex_;
  std::condition_variable_any filled_;  // a batch was queued
  std::condition_variable_any freed_;   // a batch was given back
  std::deque<Batch*> queue_;            // filled, in file order, for next() (mutex_)
  std::deque<Batch*> cooling_;          // given back last, oldest first (mutex_)
  std::size_t cooling_bytes_ = 0;       // their memory() (mutex_)
  std::vector<Batch*> free_;            // out of cooling_, last on top (mutex_)
  std::size_t ready_ = 0;               // batches queued or held by next() (mutex_)
  std::size_t ready_bytes_ = 0;         // their footprints (mutex_)
  bool reader_waits_ = false;           // the thread waits on freed_ (mutex_)
  bool caller_waits_ = false;           // next() waits on filled_ (mutex_)
  bool first_wait_ = false;             // ...for its first batch (mutex_)
  std::jthread thread_;                 // last: stopped and joined before the members it uses go
};

PcapSource::PcapSource(std::string path, PcapOptions options, std::unique_ptr<Reader> reader)
    : path_(std::move(path)), reader_(std::move(reader)) {
  record_.port = options.port;
  record_.keep_payload = options.keep_payload;
}

// The reader's jthread asks its thread to stop and joins it: within a batch.
PcapSource::~PcapSource() = default;

SourcePacket* PcapSource::next() {
  if (batch_ == nullptr || next_record_ == batch_->size) [[unlikely]] {
    if (!next_batch()) return nullptr;
  }
  const std::size_t index = next_record_++;
  const Record& r = batch_->records[index];
  if (r.kind > Record::Kind::kKeyed || record_.malformed) [[unlikely]]
    return next_slow(index);
  record_.at = r.at;
  record_.wire_bytes = r.wire_bytes;
  record_.extracted = r.extracted;
  if (r.kind == Record::Kind::kKeyed) {
    record_.keyed = r.rest;
  } else {
    record_.unparsed = std::span<const std::uint8_t>(batch_->bytes.data() + r.frame, r.caplen);
  }
  return &record_;
}

SourcePacket* PcapSource::next_slow(std::size_t index) {
  const Record& r = batch_->records[index];
  record_.at = r.at;
  record_.wire_bytes = r.wire_bytes;
  record_.malformed.reset();
  record_.unparsed = {};
  record_.keyed.reset();
  switch (r.kind) {
    case Record::Kind::kUnparsed:
      record_.extracted = r.extracted;
      record_.unparsed = std::span<const std::uint8_t>(batch_->bytes.data() + r.frame, r.caplen);
      break;
    case Record::Kind::kKeyed:
      record_.extracted = r.extracted;
      record_.keyed = r.rest;
      break;
    case Record::Kind::kParsed:
      // The batch takes the packet this one replaces, to parse into later.
      std::swap(record_.packet, batch_->packets[r.frame]);
      record_.extracted = r.extracted;
      break;
    case Record::Kind::kMalformed:
      // Nothing half-parsed, and nothing left from an earlier record, reaches the twin.
      record_.packet = Packet{};
      record_.extracted.reset();
      record_.malformed = batch_->messages[r.frame];
      break;
  }
  return &record_;
}

// Out of line: next() stays short, which a call per packet makes worth it.
[[gnu::noinline]] bool PcapSource::next_batch() {
  while (!ended_ && (batch_ == nullptr || next_record_ == batch_->size)) {
    if (batch_ != nullptr) {  // all handed out: give it back
      handed_ = batch_->through;
      if (batch_->end) {
        error_ = batch_->error;
        reader_->finish();
        batch_ = nullptr;
        ended_ = true;
        break;
      }
    }
    batch_ = reader_->exchange(batch_);
    next_record_ = 0;
  }
  return !ended_;
}

PcapSource::Actuals PcapSource::actuals() const {
  Actuals a = handed_;
  if (batch_ != nullptr) {
    for (std::size_t i = 0; i < next_record_; ++i)
      a.count(batch_->records[i]);
  }
  return a;
}

void PcapSource::Actuals::count(const Record& r) {
  if (packets == 0) {
    first_ts = r.ts;
    last_ts = r.ts;
    first_at = r.at;
  } else if (r.ts < last_ts) {
    ++reordered;  // earlier than a record before it, so clamped forward
  } else {
    last_ts = r.ts;
  }
  ++packets;
  bytes += r.wire_bytes;
  malformed += r.kind == Record::Kind::kMalformed;
  flows += r.new_flow;
  last_at = r.at;
}

}  // namespace hivesim
