#pragma once
// Strong ids of the twin's own things: a packet's journey, a traffic source, a simulation in
// flight, a scheduled completion, a parked packet, a kept packet, a drop row, a failure of the
// scenario, a member of a pool. Each is a dense index (most into the slab that holds it,
// slab.hpp); hosts, ports, pools and VIPs use the topology's ids. An invalid id (Id::kInvalid,
// the default) means "none"; the types keep a journey index from being passed where a host or a
// drop row is meant.

#include "topology/ids.hpp"

namespace hivesim {

using JourneyId = Id<struct JourneyTag>;
using SourceId = Id<struct SourceTag>;
using FlightId = Id<struct FlightTag>;
using CompletionId = Id<struct CompletionTag>;
using ParkedId = Id<struct ParkedTag>;
using PacketSlot = Id<struct PacketSlotTag>;
/// A row of the report's drop table (interned by reason, device and rule; accounting.hpp).
using DropId = Id<struct DropTag>;
/// A failure of the scenario: its index in Scenario::failures.
using FailureId = Id<struct FailureTag>;
/// A member of a pool: its index in Pool::members.
using MemberIndex = Id<struct MemberIndexTag>;

}  // namespace hivesim
