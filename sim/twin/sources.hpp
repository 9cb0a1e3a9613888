#pragma once
// Sources: the traffic feeding the twin (scenario generators, a replayed capture) and what the
// report says of each.
//
// What it holds: per source, the TrafficSource, whether it answers what reaches it (`reply`)
// and through which ports the answers re-enter (`reply_from`), the packet it yields next, its
// report row and its latencies. The coordinator injects a source's pending packet at its host
// (agent.cpp: inject_pending, inject, inject_answer); traffic.hpp has the sources themselves.
//
// Invariants: a source's packets come in non-decreasing time; `pending` is valid until the
// next pull(); a packet due after the run's end is never pulled.
// Cost: pull() is the source's next(); nothing is queued.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/report/run_report.hpp"
#include "sim/twin/ids.hpp"
#include "sim/twin/percentiles.hpp"
#include "sim/twin/traffic.hpp"

namespace hivesim {

struct Source {
  std::string name;
  std::unique_ptr<TrafficSource> source;
  bool reply = false;
  std::vector<PortId> reply_from;   // where its answers re-enter (empty: where delivered)
  SourcePacket* pending = nullptr;  // the source's record, valid until its next pull
  TrafficRow row;
  LatencyLog latencies;
};

class Sources {
 public:
  SourceId add(Source s) {
    answering_ = answering_ || s.reply;
    sources_.push_back(std::move(s));
    return SourceId{static_cast<std::uint32_t>(sources_.size() - 1)};
  }
  Source& operator[](SourceId s) { return sources_[s.value]; }
  const Source& operator[](SourceId s) const { return sources_[s.value]; }
  std::uint32_t size() const { return static_cast<std::uint32_t>(sources_.size()); }
  auto begin() { return sources_.begin(); }
  auto end() { return sources_.end(); }

  /// Takes the source's next packet into `pending` (none when exhausted or due after `end`).
  void pull(SourceId s, SimTime end) {
    Source& src = sources_[s.value];
    const bool had = src.pending != nullptr;
    src.pending = src.source->next();
    if (src.pending != nullptr && src.pending->at > end) src.pending = nullptr;
    pending_ += (src.pending != nullptr) - had;
  }
  /// Whether a source still has a packet to inject.
  bool any_pending() const { return pending_ > 0; }
  /// Whether a source answers what reaches it.
  bool any_answering() const { return answering_; }

 private:
  std::vector<Source> sources_;
  std::uint32_t pending_ = 0;
  bool answering_ = false;
};

}  // namespace hivesim
