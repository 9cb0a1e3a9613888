#include <atomic>

#include "sim/cli/sweep_mpi.hpp"

namespace hivesim::cli {

struct MpiSession::Impl {};

MpiSession::MpiSession(bool) {}
MpiSession::~MpiSession() = default;

std::optional<MpiWorld> MpiSession::world() {
  return std::nullopt;
}

std::vector<std::string> mpi_gather(const std::string& mine) {
  return {mine};
}

// Without MPI there is one process: the queue is a plain counter.
struct MpiVariantQueue::Impl {
  std::uint32_t total = 0;
  std::atomic<std::uint32_t> taken{0};
};

MpiVariantQueue::MpiVariantQueue(const MpiWorld&, std::uint32_t total,
                                 std::function<void(std::size_t)>)
    : impl_(std::make_unique<Impl>()) {
  impl_->total = total;
}

MpiVariantQueue::~MpiVariantQueue() = default;

std::optional<std::uint32_t> MpiVariantQueue::next() {
  const std::uint32_t i = impl_->taken.fetch_add(1);
  if (i >= impl_->total) return std::nullopt;
  return i;
}

void MpiVariantQueue::finished_one() {}

}  // namespace hivesim::cli
