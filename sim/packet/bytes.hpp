#pragma once
// Big-endian byte reading and writing for the wire codecs (frames here, pcap files in io).
//
// ByteReader never reads past its span: every read checks its length and aborts when the
// bytes are missing. Parsers are expected to check a header's length first and report bad
// input as an error, so a failed check here is a bug (an internal invariant), not bad input.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "topology/address.hpp"

namespace hivesim {

// Big-endian loads from bytes the caller has checked are there (a header it took whole).
inline std::uint16_t load_u16(const std::uint8_t* b) {
  return static_cast<std::uint16_t>((b[0] << 8) | b[1]);
}
inline std::uint32_t load_u32(const std::uint8_t* b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         b[3];
}
/// Mac::from_bytes: the six bytes big-endian in the low 48 bits, put together in registers.
/// (Copying six bytes into a zeroed word on the stack and loading it back stalls the load until
/// the two narrower stores retire: it was most of frame_flow_key's time.)
inline Mac load_mac(const std::uint8_t* b) {
  return Mac{(std::uint64_t{load_u32(b)} << 16) | load_u16(b + 4)};
}

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::size_t remaining() const { return bytes_.size() - pos_; }
  std::size_t position() const { return pos_; }

  std::uint8_t peek_u8() const {
    require(1);
    return bytes_[pos_];
  }
  std::uint8_t u8() { return *advance(1); }
  std::uint16_t u16() { return load_u16(advance(2)); }
  std::uint32_t u32() { return load_u32(advance(4)); }
  Mac mac() { return load_mac(advance(6)); }
  Ipv4 ipv4() { return Ipv4{u32()}; }
  void skip(std::size_t n) { advance(n); }
  /// The next `n` bytes, consumed.
  std::span<const std::uint8_t> take(std::size_t n) {
    const std::uint8_t* b = advance(n);
    return {b, n};
  }
  /// Everything not yet read, consumed.
  std::span<const std::uint8_t> rest() { return take(remaining()); }

 private:
  void require(std::size_t n) const {
    if (n > remaining()) [[unlikely]]
      std::abort();
  }
  const std::uint8_t* advance(std::size_t n) {
    require(n);
    const std::uint8_t* b = bytes_.data() + pos_;
    pos_ += n;
    return b;
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

/// Big-endian writes into a buffer sized beforehand. Like ByteReader, it aborts rather than
/// write past the buffer: the caller computes the size, so running out is a bug.
class ByteWriter {
 public:
  explicit ByteWriter(std::span<std::uint8_t> out) : out_(out) {}

  /// Bytes written so far.
  std::size_t size() const { return pos_; }
  std::size_t remaining() const { return out_.size() - pos_; }

  void u8(std::uint8_t v) { *advance(1) = v; }
  void u16(std::uint16_t v) {
    std::uint8_t* b = advance(2);
    b[0] = static_cast<std::uint8_t>(v >> 8);
    b[1] = static_cast<std::uint8_t>(v);
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void mac(Mac m) { m.to_bytes(advance(6)); }
  void ipv4(Ipv4 a) { u32(a.bits); }
  void bytes(std::span<const std::uint8_t> b) {
    if (!b.empty()) std::memcpy(advance(b.size()), b.data(), b.size());
  }
  void zeros(std::size_t n) {
    if (n != 0) std::memset(advance(n), 0, n);
  }

  /// Overwrites two bytes already written at offset `at` (a checksum or length field).
  void patch_u16(std::size_t at, std::uint16_t v) {
    if (at > pos_ || pos_ - at < 2) [[unlikely]]
      std::abort();
    out_[at] = static_cast<std::uint8_t>(v >> 8);
    out_[at + 1] = static_cast<std::uint8_t>(v);
  }
  /// The bytes written from offset `from` on.
  std::span<const std::uint8_t> since(std::size_t from) const {
    if (from > pos_) [[unlikely]]
      std::abort();
    return out_.subspan(from, pos_ - from);
  }

 private:
  std::uint8_t* advance(std::size_t n) {
    if (n > remaining()) [[unlikely]]
      std::abort();
    std::uint8_t* b = out_.data() + pos_;
    pos_ += n;
    return b;
  }

  std::span<std::uint8_t> out_;
  std::size_t pos_ = 0;
};

}  // namespace hivesim
