#include "sim/twin/nsdb.hpp"

#include <algorithm>

namespace hivesim {

bool Nsdb::quorum() const {
  const auto up = static_cast<std::size_t>(std::count(up_.begin(), up_.end(), true));
  return up * 2 > up_.size();
}

bool Nsdb::set_replica(std::uint32_t index, bool up) {
  const bool had = quorum();
  up_[index] = up;
  return !had && quorum();
}

std::optional<SimTime> Nsdb::write(Change change, SimTime now) {
  if (!quorum()) {
    stalled_.push_back(std::move(change));
    return std::nullopt;
  }
  return commit(std::move(change), now);
}

SimTime Nsdb::commit(Change change, SimTime now) {
  ++writes_;
  const SimTime visible = now + latency_;
  committed_.emplace_back(visible, std::move(change));
  return visible;
}

std::vector<Change> Nsdb::take_stalled() {
  std::vector<Change> out = std::move(stalled_);
  stalled_.clear();
  return out;
}

std::vector<Change> Nsdb::take_visible(SimTime now) {
  std::vector<Change> out;
  while (!committed_.empty() && committed_.front().first <= now) {
    out.push_back(std::move(committed_.front().second));
    committed_.pop_front();
  }
  return out;
}

void Nsdb::changed(const std::vector<FlowTag>& tags) {
  ++seq_;
  for (FlowTag t : tags)
    tag_changed_[tag_key(t)] = seq_;
}

bool Nsdb::stale(const std::vector<FlowTag>& tags, std::uint64_t since) const {
  if (since == seq_) return false;  // nothing changed since: no look at the tags
  return std::any_of(tags.begin(), tags.end(), [&](FlowTag t) {
    const auto it = tag_changed_.find(tag_key(t));
    return it != tag_changed_.end() && it->second > since;
  });
}

}  // namespace hivesim
