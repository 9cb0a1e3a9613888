#pragma once
// The flow key's fields, written down once: the Field enum a FieldMask is a set of, and the name
// each field has in an OpenFlow-style match ("in_port=vm1,tcp,nw_dst=10.0.2.12,tp_dst=5432").
//
// Every place that must handle each field of the key carries
//     static_assert(kFlowFieldsVersion == N, "...");
// (as Open vSwitch does with FLOW_WC_SEQ). Adding a field means: a line in Field and in
// kFlowFields, its member in FlowKey (sim/packet/packet.hpp), and kFlowFieldsVersion + 1; the
// build then fails at every such place until it handles the field and takes the new number.
// Today those places are flow_key() and masked() (packet.cpp), frame_flow_key() (codec.cpp),
// the flow table's word masks (sim/datapath/flow_table.cpp) and the match rendering
// (sim/report/trace_report.cpp).

#include <array>
#include <cstdint>
#include <string_view>

namespace hivesim {

enum class Field : std::uint8_t {
  kInPort,
  kEthSrc,
  kEthDst,
  kVlan,
  kEthertype,
  kNwSrc,
  kNwDst,
  kNwProto,
  kNwTos,
  kNwTtl,
  kNwFrag,
  kTpSrc,  // tcp/udp source port; ICMP type
  kTpDst,  // tcp/udp destination port; ICMP code
  kIcmpId,
  kTcpFlags,
  kArpOp,
  kArpSpa,
  kArpTpa,
  kArpSha,
  kCount,
};

/// Bumped each time a field is added to or removed from the key (see the top of this file).
inline constexpr int kFlowFieldsVersion = 1;

struct FlowFieldInfo {
  Field field;
  std::string_view name;  // in a match string; ICMP packets show tp_src/tp_dst as type/code
};

/// One entry per Field, in the enum's order.
inline constexpr std::array<FlowFieldInfo, static_cast<std::size_t>(Field::kCount)> kFlowFields = {{
    {Field::kInPort, "in_port"}, {Field::kEthSrc, "dl_src"},     {Field::kEthDst, "dl_dst"},
    {Field::kVlan, "vlan"},      {Field::kEthertype, "dl_type"}, {Field::kNwSrc, "nw_src"},
    {Field::kNwDst, "nw_dst"},   {Field::kNwProto, "nw_proto"},  {Field::kNwTos, "nw_tos"},
    {Field::kNwTtl, "nw_ttl"},   {Field::kNwFrag, "nw_frag"},    {Field::kTpSrc, "tp_src"},
    {Field::kTpDst, "tp_dst"},   {Field::kIcmpId, "icmp_id"},    {Field::kTcpFlags, "tcp_flags"},
    {Field::kArpOp, "arp_op"},   {Field::kArpSpa, "arp_spa"},    {Field::kArpTpa, "arp_tpa"},
    {Field::kArpSha, "arp_sha"},
}};

/// The name of `f` in a match string.
constexpr std::string_view field_name(Field f) {
  return kFlowFields[static_cast<std::size_t>(f)].name;
}

namespace detail {
constexpr bool flow_fields_in_order() {
  for (std::size_t i = 0; i < kFlowFields.size(); ++i) {
    if (static_cast<std::size_t>(kFlowFields[i].field) != i || kFlowFields[i].name.empty()) {
      return false;
    }
  }
  return true;
}
}  // namespace detail

static_assert(detail::flow_fields_in_order(), "kFlowFields: one entry per Field, in order");
static_assert(static_cast<int>(Field::kCount) == 19 && kFlowFieldsVersion == 1,
              "Field changed: update kFlowFields and bump kFlowFieldsVersion");

}  // namespace hivesim
