#pragma once
// A fresh folder under the system temp dir for a test's files, removed with everything in it.
// Shared by the test programs that write files (io, cli).

#include <stdlib.h>  // mkdtemp

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace hivesim::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hivesim-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// The path of NAME in the folder (not created).
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  /// Writes `text` to NAME in the folder and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream out(path_ / name);
    out << text;
    REQUIRE(out.good());
    return file(name);
  }
  /// The names of the entries in the folder, sorted.
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace hivesim::testing
