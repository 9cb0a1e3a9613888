#pragma once
// Reading text files that may be hostile (SPEC section 10): line by line with a bound on the
// line length, refusing NUL bytes (a binary file, or /dev/zero, is not a text file), and with a
// bound on the total size for inputs that are not regular files (a pipe or a device has no
// size to check up front).
//
// Invariants: memory is O(max line) for a regular file, O(max total) otherwise; every problem
// names the file and the line. Cost: one buffered pass per read; `rewind()` re-opens a regular
// file (no copy kept) and replays the spooled copy of anything else.

#include <cstddef>
#include <fstream>
#include <optional>
#include <string>

namespace hivesim {

struct TextLimits {
  std::size_t max_line = 64 * 1024;            // bytes in one line, newline excluded
  std::size_t max_spooled = 64 * 1024 * 1024;  // whole input, when it is not a regular file
};

class LineReader {
 public:
  LineReader(std::string path, TextLimits limits = {});

  /// False (and error() set) when the file cannot be opened.
  bool ok() const { return !error_; }
  /// The next line (without its newline) into `line`; false at the end or on a problem
  /// (error() tells which). Lines are numbered from 1 (line_number()).
  bool next(std::string& line);
  /// Starts again at the first line (for a second pass).
  bool rewind();
  std::size_t line_number() const { return number_; }
  /// "FILE:LINE: error: ..." or "FILE: error: ..."; nullopt while no problem was seen.
  const std::optional<std::string>& error() const { return error_; }

 private:
  bool open();
  bool fail(const std::string& message, bool with_line);

  std::string path_;
  TextLimits limits_;
  bool regular_ = false;
  std::ifstream file_;
  std::string spool_;  // the whole input, when it is not a regular file
  std::size_t spool_pos_ = 0;
  bool spooled_ = false;
  std::size_t number_ = 0;
  std::optional<std::string> error_;
};

}  // namespace hivesim
