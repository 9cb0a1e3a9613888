// libFuzzer target: the packet spec (sim/packet/spec, SPEC section 3). Any text: either a
// message, or a packet that formats back to a spec which parses again.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sim/packet/codec.hpp"
#include "sim/packet/spec.hpp"

using namespace hivesim;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto spec = parse_packet_spec(line);
  if (!spec) return 0;
  SpecDefaults defaults;
  defaults.eth_src = Mac{0x02000000010aULL};
  defaults.src = Ipv4{0x0a00010a};
  defaults.eth_dst_for = [](Ipv4) { return Mac{0x020000000101ULL}; };
  auto packet = build_packet(*spec, defaults);
  if (!packet) return 0;
  (void)serialize(*packet);
  const std::string text = format_packet(*packet);
  if (!parse_packet_spec(text)) std::abort();  // what we print, we read back
  return 0;
}
