#include "base/excerpt.hpp"

namespace hivesim {

namespace {

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

/// Length of the UTF-8 sequence starting at text[i]: 1 for ASCII and for bytes that do not
/// start a well-formed sequence (each shown as it is, counted as one character).
std::size_t sequence_length(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  std::size_t n = 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
  }
  if (i + n > text.size()) return 1;
  for (std::size_t k = 1; k < n; ++k) {
    if (!is_continuation(static_cast<unsigned char>(text[i + k]))) return 1;
  }
  return n;
}

}  // namespace

std::string excerpt(std::string_view text, std::size_t max_chars) {
  const std::size_t line_end = text.find('\n');
  const std::string_view line = text.substr(0, line_end);
  std::size_t bytes = 0;
  std::size_t chars = 0;
  while (bytes < line.size() && chars < max_chars) {
    bytes += sequence_length(line, bytes);
    ++chars;
  }
  std::string out(line.substr(0, bytes));
  if (bytes < text.size()) out += "\u2026";
  return out;
}

std::string quote_excerpt(std::string_view text) {
  std::string out(1, '\'');
  out += excerpt(text);
  out += '\'';
  return out;
}

std::size_t first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80;  // the allowed range of the second byte (RFC 3629 table)
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + n > text.size()) return i;
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < lo || second > hi) return i;
    for (std::size_t k = 2; k < n; ++k) {
      if (!is_continuation(static_cast<unsigned char>(text[i + k]))) return i;
    }
    i += n;
  }
  return std::string_view::npos;
}

}  // namespace hivesim
