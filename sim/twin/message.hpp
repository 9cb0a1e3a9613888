#pragma once
// The hive's boundary: the only ways one host affects another.
//
// What it is: hosts share no state. A host changes another only by a message that crosses the
// underlay (a tunnelled frame, a flow-state push) or the NSDB (a write that becomes a
// notification to the agents that watch the object, an object an agent loads). Each message is
// a Crossing: who sent it, to whom, when, and when it takes effect. The coordinator schedules
// every crossing in one place (Twin::Impl::post, post_frame, land_as_sent: twin_impl.hpp); the
// part that receives it owns what happens then. Failures, traffic sources and the report are
// outside the hosts: they act on one host at a time, at that host's time.
//
// Invariant (the lookahead a conservative parallel run of groups of hosts would use): a
// crossing takes effect at least min_latency() after it is sent, so until `now + lookahead`
// no host can be affected by another's events after `now`.
// Cost: a value of 32 bytes, made only where a message is sent; TwinOptions::on_crossing, when
// set, sees each one (tests).

#include <cstdint>

#include "sim/twin/ids.hpp"
#include "topology/model.hpp"

namespace hivesim {

struct Crossing {
  enum class Kind : std::uint8_t {
    kFrame,      // a tunnelled frame, host to host over the underlay
    kStatePush,  // flow-state keys, host to host over the underlay
    kNsdbWrite,  // a change written to the NSDB, visible (notified to agents) at `lands`
    kNsdbRead,   // objects an agent loads from the NSDB, ready at `lands`
  };
  Kind kind = Kind::kFrame;
  HostId from;  // none for a write the NSDB itself or an operator makes (a failure)
  HostId to;    // none for an NSDB write (every watching agent is notified)
  SimTime sent = 0;
  SimTime lands = 0;
};

/// The least time a crossing of `kind` takes: the underlay's latency for frames and pushes,
/// the NSDB's for writes and reads.
inline SimTime min_latency(Crossing::Kind kind, SimTime underlay, SimTime nsdb) {
  return kind == Crossing::Kind::kFrame || kind == Crossing::Kind::kStatePush ? underlay : nsdb;
}

}  // namespace hivesim
