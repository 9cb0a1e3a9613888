// libFuzzer target: the Ethernet frame parser (sim/packet/codec). Any bytes: parse_frame either
// fails with a message or yields a packet; frame_flow_key agrees with it; a parsed packet
// serialises and parses back to the same flow key.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "sim/packet/codec.hpp"
#include "sim/packet/packet.hpp"

using namespace hivesim;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> frame(data, size);
  auto packet = parse_frame(frame);
  FlowKey key;
  std::size_t length = 0;
  KeyedRest rest;
  const bool keyed = frame_flow_key(frame, PortId{1}, key, length, rest);
  if (keyed) {
    // The fast path accepts only frames that parse, with the same key and length.
    if (!packet) std::abort();
    if (!(flow_key(*packet, PortId{1}) == key) || wire_length(*packet) != length) std::abort();
  }
  if (packet) {
    const auto bytes = serialize(*packet);
    auto again = parse_frame(bytes);
    if (!again) std::abort();
    if (!(flow_key(*again, PortId{1}) == flow_key(*packet, PortId{1}))) std::abort();
  }
  return 0;
}
