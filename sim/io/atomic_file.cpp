#include "sim/io/atomic_file.hpp"

#include <fcntl.h>
#include <stdlib.h>  // mkstemp
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace hivesim {

Status write_file_atomically(const std::string& path, std::string_view content) {
  const std::filesystem::path final_path(path);
  const std::filesystem::path dir =
      final_path.has_parent_path() ? final_path.parent_path() : std::filesystem::path(".");
  std::string temp = (dir / ("." + final_path.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  auto failed = [&path](const char* what, int error) {
    return Error{path + ": error: cannot write the file (" + what + ": " + std::strerror(error) +
                 ")"};
  };
  if (fd < 0) return failed("create", errno);
  // mkstemp makes 0600; an output file gets the usual mode.
  ::fchmod(fd, 0644);
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      return failed("write", error);
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    return failed("sync", error);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    return failed("rename", error);
  }
  return {};
}

}  // namespace hivesim
