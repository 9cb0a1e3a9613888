// excerpt() / quote_excerpt(): values echoed in messages are short, one line, and valid UTF-8
// (SPEC section 10: a 1 MB value must not come back whole in a message).

#include <catch2/catch.hpp>

#include <string>

#include "base/excerpt.hpp"

using namespace hivesim;

namespace {

/// True when `s` is well-formed UTF-8 (no split or stray sequence).
bool valid_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

const std::string kEllipsis = "\u2026";

}  // namespace

TEST_CASE("excerpt: short text is unchanged") {
  CHECK(excerpt("") == "");
  CHECK(excerpt("vm1") == "vm1");
  CHECK(excerpt(std::string(60, 'a')) == std::string(60, 'a'));
  CHECK(quote_excerpt("web") == "'web'");
}

TEST_CASE("excerpt: long text keeps 60 characters and an ellipsis") {
  CHECK(excerpt(std::string(61, 'a')) == std::string(60, 'a') + kEllipsis);
  const std::string mega(1 << 20, '7');
  CHECK(excerpt(mega) == std::string(60, '7') + kEllipsis);
  CHECK(quote_excerpt(mega) == "'" + std::string(60, '7') + kEllipsis + "'");
  CHECK(excerpt("abcdef", 3) == "abc" + kEllipsis);
}

TEST_CASE("excerpt: characters, not bytes, and never half a UTF-8 sequence") {
  // 100 two-byte and 100 four-byte characters: 60 whole ones are kept.
  std::string e_acute;
  std::string emoji;
  for (int i = 0; i < 100; ++i) {
    e_acute += "\u00e9";
    emoji += "\U0001F41D";
  }
  CHECK(excerpt(e_acute).size() == 60 * 2 + kEllipsis.size());
  CHECK(excerpt(emoji).size() == 60 * 4 + kEllipsis.size());
  // Every offset of a mixed string, every limit: the result is valid UTF-8.
  const std::string mixed = "a\u00e9\u20ac\U0001F41Db" + e_acute;
  for (std::size_t limit = 0; limit < 10; ++limit) {
    INFO("limit " << limit);
    CHECK(valid_utf8(excerpt(mixed, limit)));
  }
  // Bytes that are not UTF-8 count one each and are kept as they are.
  CHECK(excerpt("\xff\xfe\x80", 2) == "\xff\xfe" + kEllipsis);
  // A sequence cut short by the end of the text is not read past the end.
  CHECK(excerpt("ab\xe2\x82") == "ab\xe2\x82");
}

TEST_CASE("excerpt: only the first line") {
  CHECK(excerpt("first\nsecond") == "first" + kEllipsis);
  CHECK(excerpt("\nsecond") == kEllipsis);
}

TEST_CASE("first_invalid_utf8: well-formed UTF-8 only") {
  CHECK(first_invalid_utf8("") == std::string_view::npos);
  CHECK(first_invalid_utf8("plain \u00e9\u20ac\U0001F41D text") == std::string_view::npos);
  CHECK(first_invalid_utf8("\xef\xbb\xbfname: x") == std::string_view::npos);  // a BOM
  CHECK(first_invalid_utf8("ab\xa7") == 2);                                    // stray continuation
  CHECK(first_invalid_utf8("a\xc3") == 1);                                     // cut short
  CHECK(first_invalid_utf8("a\xc3(") == 1);                                    // not a continuation
  CHECK(first_invalid_utf8("\xc0\xaf") == 0);                                  // overlong '/'
  CHECK(first_invalid_utf8("\xe0\x80\xaf") == 0);                              // overlong
  CHECK(first_invalid_utf8("\xed\xa0\x80") == 0);                              // a surrogate
  CHECK(first_invalid_utf8("\xf4\x90\x80\x80") == 0);                          // above U+10FFFF
  CHECK(first_invalid_utf8("\xff") == 0);
}
