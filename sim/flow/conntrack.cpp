#include "sim/flow/conntrack.hpp"

namespace hivesim {

void ConnTrack::expire(SimTime now, SimTime idle) {
  if (now - oldest_ <= idle) return;  // nothing is idle yet
  SimTime oldest = std::numeric_limits<SimTime>::max();
  absl::erase_if(entries_, [&](const auto& entry) {
    if (now - entry.second > idle) return true;
    oldest = std::min(oldest, entry.second);
    return false;
  });
  oldest_ = oldest;
}

std::optional<NatEndpoint> NatTable::forward(NatKind kind, const ConnKey& key) const {
  auto it = forward_.find(tagged(kind, key));
  if (it == forward_.end()) return std::nullopt;
  return it->second.to;
}

void ConnTrack::journal(const ConnKey& key) {
  auto it = entries_.find(key);
  undo_.emplace_back(key, it == entries_.end() ? std::nullopt : std::optional(it->second));
}

void ConnTrack::checkpoint() {
  undo_.clear();
  journaling_ = true;
}

void ConnTrack::rollback() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    if (it->second) {
      entries_[it->first] = *it->second;
      oldest_ = std::min(oldest_, *it->second);
    } else {
      entries_.erase(it->first);
    }
  }
  undo_.clear();
  journaling_ = false;
}

void NatTable::journal(bool reverse, const ConnKey& key) {
  const auto& map = reverse ? reverse_ : forward_;
  auto it = map.find(key);
  undo_.push_back(Undo{reverse, key, it == map.end() ? std::nullopt : std::optional(it->second)});
}

void NatTable::checkpoint() {
  undo_.clear();
  lease_undo_.clear();
  rng_saved_.reset();
  journaling_ = true;
}

void NatTable::rollback() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    auto& map = it->reverse ? reverse_ : forward_;
    if (it->before) {
      map[it->key] = *it->before;
      oldest_binding_ = std::min(oldest_binding_, it->before->last);
    } else {
      map.erase(it->key);
    }
  }
  undo_.clear();
  for (auto it = lease_undo_.rbegin(); it != lease_undo_.rend(); ++it) {
    if (it->second) {
      leases_[it->first] = *it->second;
      oldest_lease_ = std::min(oldest_lease_, *it->second);
    } else {
      leases_.erase(it->first);
    }
  }
  lease_undo_.clear();
  if (rng_saved_) rng_ = *rng_saved_;
  rng_saved_.reset();
  journaling_ = false;
}

void NatTable::bind(NatKind kind, const ConnKey& key, NatEndpoint to, SimTime now) {
  if (journaling_) journal(false, tagged(kind, key));
  forward_[tagged(kind, key)] = Binding{to, now};
  oldest_binding_ = std::min(oldest_binding_, now);
  if (journal_ != nullptr) {
    journal_->push_back(
        StateWrite{kind == NatKind::kSnat ? StateWrite::Kind::kSnat : StateWrite::Kind::kDnat, key,
                   to.ip, to.port});
  }
  // The reply arrives with the translated endpoint in place of the original one.
  ConnKey reply = key.reversed();
  NatEndpoint original;
  if (kind == NatKind::kSnat) {
    reply.dst = to.ip;
    reply.dport = to.port;
    original = NatEndpoint{key.src, key.sport};
  } else {
    reply.src = to.ip;
    reply.sport = to.port;
    original = NatEndpoint{key.dst, key.dport};
  }
  if (journaling_) journal(true, tagged(kind, reply));
  reverse_[tagged(kind, reply)] = Binding{original, now};
  if (kind == NatKind::kSnat) {
    if (journaling_) {
      auto it = leases_.find(tagged(kind, reply));
      lease_undo_.emplace_back(tagged(kind, reply),
                               it == leases_.end() ? std::nullopt : std::optional(it->second));
    }
    leases_[tagged(kind, reply)] = now;
    oldest_lease_ = std::min(oldest_lease_, now);
  }
}

std::optional<NatEndpoint> NatTable::reverse(NatKind kind, const ConnKey& key) const {
  auto it = reverse_.find(tagged(kind, key));
  if (it == reverse_.end()) return std::nullopt;
  return it->second.to;
}

std::uint32_t NatTable::draw(std::uint32_t lo, std::uint32_t hi) {
  if (hi <= lo) return lo;
  if (journaling_ && !rng_saved_) rng_saved_ = rng_;
  return lo + static_cast<std::uint32_t>(rng_() % (std::uint64_t{hi} - lo + 1));
}

std::optional<NatEndpoint> NatTable::allocate_snat(const ConnKey& key, Ipv4 ip_lo, Ipv4 ip_hi,
                                                   std::uint16_t port_lo, std::uint16_t port_hi) {
  if (port_lo == 0 && port_hi == 0) {
    port_lo = 1024;  // a dynamic SNAT with no port range uses the unprivileged ports
    port_hi = 65535;
  }
  const std::uint32_t span = std::uint32_t{port_hi} - port_lo + 1;
  // Addresses in ascending order (MidoNet fills the first address first); ports round-robin
  // from a random offset. An endpoint is free when no reply key for it exists, i.e. no live
  // binding maps (ip, port) towards the same remote endpoint.
  for (std::uint64_t ip = ip_lo.bits; ip <= ip_hi.bits; ++ip) {
    const std::uint32_t offset = draw(0, span - 1);
    for (std::uint32_t i = 0; i < span; ++i) {
      const auto port = static_cast<std::uint16_t>(port_lo + (offset + i) % span);
      ConnKey reply = key.reversed();
      reply.dst = Ipv4{static_cast<std::uint32_t>(ip)};
      reply.dport = port;
      if (leases_.count(tagged(NatKind::kSnat, reply)) == 0) {
        return NatEndpoint{Ipv4{static_cast<std::uint32_t>(ip)}, port};
      }
    }
  }
  return std::nullopt;
}

void NatTable::expire(SimTime now, SimTime idle) {
  if (now - oldest_binding_ > idle) {
    SimTime oldest = std::numeric_limits<SimTime>::max();
    for (auto* map : {&forward_, &reverse_}) {
      absl::erase_if(*map, [&](const auto& entry) {
        if (now - entry.second.last > idle) return true;
        oldest = std::min(oldest, entry.second.last);
        return false;
      });
    }
    oldest_binding_ = oldest;
  }
  if (now - oldest_lease_ > idle) {
    SimTime oldest = std::numeric_limits<SimTime>::max();
    absl::erase_if(leases_, [&](const auto& entry) {
      if (now - entry.second > idle) return true;
      oldest = std::min(oldest, entry.second);
      return false;
    });
    oldest_lease_ = oldest;
  }
}

}  // namespace hivesim
