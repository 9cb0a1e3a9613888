#include "sim/cli/sweep_mpi.hpp"

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace hivesim::cli {

namespace {
// The queue's messages: a request carries the variants the asking rank finished since its
// last request (int32), the answer the next variant's index or -1 (int64).
constexpr int kAsk = 7301;
constexpr int kAnswer = 7302;
}  // namespace

struct MpiSession::Impl {
  std::thread owner;  // MPI_Init_thread, then MPI_Finalize once the session ends
  std::mutex lock;
  std::condition_variable changed;
  bool ready = false;
  bool ending = false;
  MpiWorld world;

  void run() {
    int provided = MPI_THREAD_SINGLE;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    MpiWorld w;
    MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &w.size);
    w.threads = provided >= MPI_THREAD_SERIALIZED;
    {
      std::unique_lock<std::mutex> guard(lock);
      world = w;
      ready = true;
      changed.notify_all();
      changed.wait(guard, [this] { return ending; });
    }
    MPI_Finalize();
  }
};

MpiSession::MpiSession(bool wanted) {
  // Only under a launcher: a plain `hivesim sweep` must not start an MPI singleton.
  const bool launched =
      std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
  if (!wanted || !launched) return;
  impl_ = std::make_unique<Impl>();
  impl_->owner = std::thread([impl = impl_.get()] { impl->run(); });
}

MpiSession::~MpiSession() {
  if (!impl_) return;
  {
    const std::lock_guard<std::mutex> guard(impl_->lock);
    impl_->ending = true;
  }
  impl_->changed.notify_all();
  impl_->owner.join();
}

std::optional<MpiWorld> MpiSession::world() {
  if (!impl_) return std::nullopt;
  std::unique_lock<std::mutex> guard(impl_->lock);
  impl_->changed.wait(guard, [this] { return impl_->ready; });
  return impl_->world;
}

std::vector<std::string> mpi_gather(const std::string& mine) {
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int length = static_cast<int>(mine.size());
  std::vector<int> lengths(static_cast<std::size_t>(size));
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> offsets(static_cast<std::size_t>(size));
  int total = 0;
  for (int r = 0; r < size; ++r) {
    offsets[static_cast<std::size_t>(r)] = total;
    total += lengths[static_cast<std::size_t>(r)];
  }
  std::string all(rank == 0 ? static_cast<std::size_t>(total) : 0, '\0');
  MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
              0, MPI_COMM_WORLD);
  std::vector<std::string> parts;
  if (rank != 0) return parts;
  for (int r = 0; r < size; ++r) {
    parts.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                               static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
  }
  return parts;
}

struct MpiVariantQueue::Impl {
  MpiWorld world;
  std::uint32_t total = 0;
  std::function<void(std::size_t)> finished_elsewhere;
  // Rank 0: the counter (its workers and the serving thread take from it) and the server.
  std::atomic<std::uint32_t> taken{0};
  std::thread server;
  // Other ranks: one request at a time; once told "none left", nobody asks again.
  std::mutex asking;
  bool exhausted = false;
  std::atomic<std::int32_t> unreported{0};

  std::optional<std::uint32_t> take() {
    const std::uint32_t i = taken.fetch_add(1);
    if (i >= total) return std::nullopt;
    return i;
  }

  // Answers requests until every other rank has been told "none left" (each rank is told once:
  // its requests take turns and it stops asking). The request is polled every millisecond
  // rather than waited for in MPI_Recv, which spins: a spinning server took the core rank 0's
  // worker runs on.
  void serve() {
    for (int waiting = world.size - 1; waiting > 0;) {
      std::int32_t finished = 0;
      MPI_Request request;
      MPI_Status status;
      MPI_Irecv(&finished, 1, MPI_INT32_T, MPI_ANY_SOURCE, kAsk, MPI_COMM_WORLD, &request);
      for (int arrived = 0;;) {
        MPI_Test(&request, &arrived, &status);
        if (arrived) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (finished > 0 && finished_elsewhere)
        finished_elsewhere(static_cast<std::size_t>(finished));
      const std::optional<std::uint32_t> i = take();
      const std::int64_t answer = i ? static_cast<std::int64_t>(*i) : -1;
      if (!i) --waiting;
      MPI_Send(&answer, 1, MPI_INT64_T, status.MPI_SOURCE, kAnswer, MPI_COMM_WORLD);
    }
  }

  std::optional<std::uint32_t> ask() {
    const std::lock_guard<std::mutex> guard(asking);
    if (exhausted) return std::nullopt;
    std::int32_t finished = unreported.exchange(0);
    MPI_Send(&finished, 1, MPI_INT32_T, 0, kAsk, MPI_COMM_WORLD);
    std::int64_t answer = -1;
    MPI_Recv(&answer, 1, MPI_INT64_T, 0, kAnswer, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (answer < 0) {
      exhausted = true;
      return std::nullopt;
    }
    return static_cast<std::uint32_t>(answer);
  }
};

MpiVariantQueue::MpiVariantQueue(const MpiWorld& world, std::uint32_t total,
                                 std::function<void(std::size_t)> finished_elsewhere)
    : impl_(std::make_unique<Impl>()) {
  impl_->world = world;
  impl_->total = total;
  impl_->finished_elsewhere = std::move(finished_elsewhere);
  if (world.rank == 0 && world.size > 1) impl_->server = std::thread([this] { impl_->serve(); });
}

MpiVariantQueue::~MpiVariantQueue() {
  if (impl_->server.joinable()) impl_->server.join();
}

std::optional<std::uint32_t> MpiVariantQueue::next() {
  return impl_->world.rank == 0 ? impl_->take() : impl_->ask();
}

void MpiVariantQueue::finished_one() {
  if (impl_->world.rank != 0) ++impl_->unreported;
}

}  // namespace hivesim::cli
