// libFuzzer target: the pcap / pcapng reader (sim/io/pcap_source). The input is written to a
// temporary file (libpcap reads files) and replayed to the end on the caller's thread; open()
// fails with a message, or next() runs to the end, the times never going backwards.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sim/io/pcap_source.hpp"

using namespace hivesim;

namespace {

std::string temp_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr ? dir : "/tmp") + "/hivesim-fuzz-pcap-" +
           std::to_string(::getpid()) + ".pcap";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = temp_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size != 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  PcapOptions options;
  options.port = PortId{1};
  options.read_ahead = false;
  auto source = PcapSource::open(path, options);
  if (!source) return 0;
  SimTime last = 0;
  while (SourcePacket* p = (*source)->next()) {
    if (p->at < last) std::abort();
    last = p->at;
    p->parse();
  }
  std::remove(path.c_str());
  return 0;
}
