#pragma once
// The value a `trace` reports: one packet's flow simulation, as asked and as answered. Rendered
// by sim/render/trace_report.hpp (JSON, text, the OVS-style flow strings).

#include <string>

#include "sim/flow/result.hpp"
#include "sim/packet/packet.hpp"
#include "topology/ids.hpp"

namespace hivesim {

/// One traced packet: what was asked and what the core answered.
struct TraceRecord {
  PortId from;
  std::string spec;  // the packet spec as the user wrote it
  Packet packet;     // the packet built from it
  SimulationResult result;
  /// The scenario file as given; when set, a drop also names where its deciding rule or route
  /// is written ("source": "FILE:LINE").
  std::string scenario_file = {};
};

}  // namespace hivesim
