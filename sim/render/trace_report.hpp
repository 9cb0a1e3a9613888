#pragma once
// Rendering a flow simulation (a TraceRecord, sim/report/trace_record.hpp) for people and
// programs: the `trace` report of SPEC section 5 as JSON (nlohmann::json) or as text, plus the
// OVS-style strings for the wildcarded flow a datapath would install (match built from the mask
// of fields read, actions from the rewrites).

#include <string>

#include <nlohmann/json.hpp>

#include "sim/report/trace_record.hpp"
#include "topology/model.hpp"

namespace hivesim {

/// Where the scenario writes what decided `drop`: the rule or route the walk recorded
/// (`recorded`), else the declaration of the drop's device (chain, port, bridge, router, VIP,
/// pool, host). Line 0 when neither is known.
SourceLoc drop_source(const Topology& topo, const DropInfo& drop, SourceLoc recorded);

/// "FILE:LINE", or "" when the line is unknown (0).
std::string source_ref(const std::string& file, SourceLoc loc);

/// "in_port=vm1,tcp,nw_src=10.0.1.10,nw_dst=10.0.2.12,tp_dst=5432": the fields in `mask`.
std::string flow_match_string(const Topology& topo, const FlowKey& key, FieldMask mask);

/// "set(eth_src=..,eth_dst=..,ttl=63),tunnel(hv2,vxlan,key=7)"; "drop" when nothing leaves.
std::string flow_actions_string(const Topology& topo, const TraceRecord& record);

/// The SPEC section 5 trace document.
nlohmann::json trace_json(const Topology& topo, const TraceRecord& record);

/// A human-readable trace, ovn-trace style, ending with a newline.
std::string trace_text(const Topology& topo, const TraceRecord& record);

}  // namespace hivesim
