#include "sim/io/bounded_input.hpp"

#include <sys/stat.h>

namespace hivesim {

namespace {

std::string human(std::size_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

bool is_regular(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

LineReader::LineReader(std::string path, TextLimits limits)
    : path_(std::move(path)), limits_(limits) {
  open();
}

bool LineReader::open() {
  number_ = 0;
  if (is_directory(path_)) return fail("is a folder, not a file", false);
  regular_ = is_regular(path_);
  if (!regular_ && spooled_) {
    spool_pos_ = 0;
    return true;
  }
  file_.close();
  file_.clear();
  file_.open(path_, std::ios::binary);
  if (!file_) return fail("cannot read the file", false);
  return true;
}

bool LineReader::rewind() {
  if (error_) return false;
  return open();
}

bool LineReader::fail(const std::string& message, bool with_line) {
  if (!error_) {
    error_ =
        path_ + (with_line ? ":" + std::to_string(number_) : std::string()) + ": error: " + message;
  }
  return false;
}

bool LineReader::next(std::string& line) {
  if (error_) return false;
  line.clear();
  const bool from_spool = !regular_ && spooled_;
  bool any = false;
  for (;;) {
    int c;
    if (from_spool) {
      if (spool_pos_ >= spool_.size()) break;
      c = static_cast<unsigned char>(spool_[spool_pos_++]);
    } else {
      c = file_.get();
      if (c == std::char_traits<char>::eof()) {
        if (file_.bad()) return fail("read error", false);
        break;
      }
      if (!regular_) {
        if (spool_.size() >= limits_.max_spooled) {
          ++number_;
          return fail("the input is larger than " + human(limits_.max_spooled) +
                          " (a file that is not a regular file is read into memory)",
                      false);
        }
        spool_.push_back(static_cast<char>(c));
      }
    }
    if (!any) {
      any = true;
      ++number_;
    }
    if (c == '\n') return true;
    if (c == '\0') return fail("a NUL byte: this is not a text file", true);
    if (line.size() >= limits_.max_line) {
      return fail("the line is longer than " + human(limits_.max_line), true);
    }
    line.push_back(static_cast<char>(c));
  }
  if (!from_spool && !regular_) spooled_ = true;
  return any;
}

}  // namespace hivesim
