// libFuzzer target: `trace --batch FILE` (SPEC section 2) on the demo topology. The input is a
// batch file: every line is checked, then the packets are simulated in order. Whatever the
// input, the command exits 0 or 2 (never 3) and prints a message for every 2.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "sim/cli/commands.hpp"

namespace {

const char* kScenario = R"(name: fuzz
hosts:
  - {name: hv1, ip: 192.168.0.1}
  - {name: hv2, ip: 192.168.0.2}
tunnel_zones:
  - {name: tz, type: vxlan, hosts: [hv1, hv2]}
chains:
  - name: green-in
    rules:
      - {match: {proto: tcp, dport: 22}, action: accept}
      - {match: {proto: icmp}, action: accept}
      - {action: drop}
bridges:
  - name: blue
    ports:
      - {name: vm1, host: hv1, mac: "02:00:00:00:01:0a", ip: 10.0.1.10}
      - {name: vm2, host: hv2, mac: "02:00:00:00:01:14", ip: 10.0.1.20}
      - {name: blue-r1, peer: r1-blue}
  - name: green
    ports:
      - {name: vm3, host: hv2, mac: "02:00:00:00:02:1e", ip: 10.0.2.30, outbound_chain: green-in}
      - {name: green-r1, peer: r1-green}
routers:
  - name: r1
    ports:
      - {name: r1-blue, ip: 10.0.1.1/24, mac: "02:00:00:00:01:01"}
      - {name: r1-green, ip: 10.0.2.1/24, mac: "02:00:00:00:02:01"}
)";

std::string write_temp(const std::string& suffix, const void* data, std::size_t size) {
  const char* dir = std::getenv("TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/hivesim-fuzz-" +
                           std::to_string(::getpid()) + suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size != 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string scenario =
      write_temp(".yaml", kScenario, std::char_traits<char>::length(kScenario));
  const std::string batch = write_temp(".batch", data, size);
  std::ostringstream out;
  std::ostringstream err;
  const std::vector<std::string> args = {scenario, "--batch", batch, "--format",
                                         size % 2 == 0 ? "json" : "text"};
  const int code = hivesim::cli::trace_command(args, out, err);
  if (code != 0 && code != 2) std::abort();
  if (code == 2 && err.str().empty()) std::abort();
  std::remove(batch.c_str());
  return 0;
}
