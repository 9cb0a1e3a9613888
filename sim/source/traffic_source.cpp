#include "sim/source/traffic_source.hpp"

#include "base/check.hpp"

namespace hivesim {

Extracted extract(const Packet& packet, PortId port) {
  return Extracted{flow_key(packet, port), static_cast<std::uint32_t>(wire_length(packet)),
                   packet.vlan_count};
}

void SourcePacket::parse() {
  if (keyed) {
    packet_from_keyed(extracted->key, extracted->length, *keyed, packet);
    keyed.reset();
    return;
  }
  if (unparsed.empty()) return;
  const Status err = parse_frame_into(unparsed, packet, ParseOptions{keep_payload});
  HIVESIM_CHECK(err.ok(), "a frame its source extracted without parsing did not parse");
  unparsed = {};
}

}  // namespace hivesim
