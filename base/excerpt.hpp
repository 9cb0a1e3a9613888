#pragma once
// Values echoed in error messages. Input may be hostile (SPEC section 10): a 1 MB packet-spec
// value or scenario name must not come back as a 1 MB message. Every message that repeats what
// the user wrote goes through excerpt() / quote_excerpt().
//
// Invariants: the result holds at most kExcerptChars characters of `text` (UTF-8 code points;
// a byte that is not valid UTF-8 counts as one), followed by "…" when anything was left out;
// only the first line is shown; a UTF-8 sequence is never split. Cost: linear in what is shown.

#include <cstddef>
#include <string>
#include <string_view>

namespace hivesim {

inline constexpr std::size_t kExcerptChars = 60;

/// `text` shortened for a message (see above).
std::string excerpt(std::string_view text, std::size_t max_chars = kExcerptChars);

/// "'" + excerpt(text) + "'".
std::string quote_excerpt(std::string_view text);

/// The offset of the first byte of `text` that is not part of well-formed UTF-8 (no overlong
/// forms, no surrogates, nothing above U+10FFFF), or std::string_view::npos when it is all
/// UTF-8. Used to refuse a scenario that is not text before any YAML parsing.
std::size_t first_invalid_utf8(std::string_view text);

}  // namespace hivesim
