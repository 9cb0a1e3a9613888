#pragma once
// The one file a fuzz target writes its input to, for readers that open a path (the pcap
// reader, the batch reader): in /dev/shm when there is one (no disk), else in TMPDIR or /tmp,
// named after the process so parallel fuzzers do not share it. Decided once per process.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace hivesim::fuzz {

inline std::string scratch_file(std::string_view name) {
  std::error_code ec;
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm"
                          : tmp != nullptr                              ? tmp
                                                                        : "/tmp";
  return dir + "/hivesim-" + std::string(name) + "-" + std::to_string(::getpid());
}

}  // namespace hivesim::fuzz
