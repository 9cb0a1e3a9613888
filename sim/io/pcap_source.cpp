#include "sim/io/pcap_source.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <system_error>
#include <utility>

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

/// Opens `path` for reading with nanosecond timestamps. The file is opened here rather than by
/// pcap_open_offline so that "-" is a file name, not stdin, and so that the message is ours.
Result<Handle> open_capture(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Error{path + ": cannot open capture: is a directory"};
  }
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Error{path + ": cannot open capture: " + std::generic_category().message(errno)};
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle =
      pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (handle == nullptr) {
    std::fclose(file);  // libpcap leaves the stream to the caller when it fails
    return Error{path + ": not a readable pcap or pcapng file: " + errbuf};
  }
  return Handle(handle);
}

std::string link_type_name(int dlt) {
  const char* name = pcap_datalink_val_to_name(dlt);
  const char* description = pcap_datalink_val_to_description(dlt);
  std::string out = name != nullptr ? name : "unknown";
  if (description != nullptr) return out + " (" + description + ", " + std::to_string(dlt) + ")";
  return out + " (" + std::to_string(dlt) + ")";
}

}  // namespace

Result<std::uint32_t> pcap_link_type(const std::string& path) {
  auto handle = open_capture(path);
  if (!handle) return Error{handle.error()};
  return static_cast<std::uint32_t>(pcap_datalink(handle->get()));
}

Result<std::unique_ptr<PcapSource>> PcapSource::open(const std::string& path, PcapOptions options) {
  if (!std::isfinite(options.speed) || options.speed <= 0) {
    return Error{path + ": replay speed must be a positive number, not " +
                 std::to_string(options.speed)};
  }
  auto handle = open_capture(path);
  if (!handle) return Error{handle.error()};
  const int dlt = pcap_datalink(handle->get());
  if (dlt != DLT_EN10MB) {
    return Error{path + ": link type " + link_type_name(dlt) +
                 " is not Ethernet (EN10MB); only Ethernet captures can be replayed"};
  }
  return std::unique_ptr<PcapSource>(
      new PcapSource(path, options, std::move(handle).value().release()));
}

PcapSource::PcapSource(std::string path, PcapOptions options, pcap* handle)
    : path_(std::move(path)), options_(options), handle_(handle), previous_at_(options.start) {}

PcapSource::~PcapSource() {
  if (handle_ != nullptr) pcap_close(handle_);
}

SourcePacket* PcapSource::next() {
  if (done_) return nullptr;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(handle_, &header, &data);
  if (rc != 1) {
    // PCAP_ERROR_BREAK is the end of the file; anything else means it broke part-way.
    if (rc != PCAP_ERROR_BREAK) {
      error_ = path_ + ": packet " + std::to_string(packets_ + 1) + ": " + pcap_geterr(handle_);
    }
    done_ = true;
    pcap_close(handle_);
    handle_ = nullptr;
    return nullptr;
  }

  const SimTime ts = timestamp_ns(header->ts);
  const bool first = packets_ == 0;
  ++packets_;
  bytes_ += header->len;
  SimTime at = options_.start;
  if (first) {
    first_ts_ = ts;
    last_ts_ = ts;
  } else if (ts < last_ts_) {
    // Earlier than a record before it: the clamp below plays it at the previous packet's time,
    // since simulated time never goes back.
    ++reordered_;
  } else {
    last_ts_ = ts;
  }
  if (!options_.topspeed && !first) {
    at = saturating_add(options_.start, scaled(saturating_sub(ts, first_ts_), options_.speed));
  } else if (options_.topspeed && options_.line_rate_bps != 0) {
    // Back to back at line rate: after the bits of every packet before this one.
    const U128 ns =
        (U128{line_bits_} * 1'000'000'000U + options_.line_rate_bps - 1) / options_.line_rate_bps;
    at = ns >= static_cast<U128>(kMaxTime)
             ? kMaxTime
             : saturating_add(options_.start, static_cast<SimTime>(ns));
    if (__builtin_add_overflow(line_bits_, std::uint64_t{header->len} * 8U, &line_bits_)) {
      line_bits_ = std::numeric_limits<std::uint64_t>::max();
    }
  }
  at = std::max(at, previous_at_);
  previous_at_ = at;

  SourcePacket& out = out_;
  out.malformed.reset();
  out.at = at;
  out.port = options_.port;
  out.wire_bytes = header->len;
  auto frame = [this] { return "frame " + std::to_string(packets_) + ": "; };
  if (header->caplen < header->len) {
    out.malformed = frame() + "truncated: " + std::to_string(header->caplen) + " of " +
                    std::to_string(header->len) + " bytes captured";
  } else {
    if (Status err = parse_frame_into(std::span<const std::uint8_t>(data, header->caplen),
                                      out.packet, ParseOptions{options_.keep_payload})) {
      out.malformed = frame() + err->message;
      out.packet = Packet{};  // nothing half-parsed reaches the twin
    }
  }
  if (out.malformed) ++malformed_;
  return &out;
}

}  // namespace hivesim
