#pragma once
// Strong ids of the twin's own things: a packet's journey, a traffic source, a simulation in
// flight, a scheduled completion. Each is a dense index into the slab that holds it (slab.hpp);
// hosts and ports use the topology's HostId and PortId. An invalid id (Id::kInvalid) means
// "none"; the types keep a journey index from being passed where a host is meant.

#include "topology/ids.hpp"

namespace hivesim {

using JourneyId = Id<struct JourneyTag>;
using SourceId = Id<struct SourceTag>;
using FlightId = Id<struct FlightTag>;
using CompletionId = Id<struct CompletionTag>;
using ParkedId = Id<struct ParkedTag>;
using PacketSlot = Id<struct PacketSlotTag>;

}  // namespace hivesim
