#pragma once
// The only place hivesim talks MPI (`mpirun -n R hivesim sweep ...`). Built against OpenMPI
// when the CMake option HIVESIM_MPI is on (sweep_mpi.cpp), else as a stub (sweep_mpi_none.cpp)
// that never finds a world, so the rest of the code does not depend on MPI.
//
// How ranks share a sweep: as local workers do. Rank 0 keeps the counter of variants handed
// out; its own workers take from it directly and a thread of its own answers the other ranks,
// one request per variant. A rank that finishes early takes the next variant instead of
// waiting for a fixed share (the static i mod R split left one rank idle for up to a third of
// the sweep: the halves' work differed by up to 1.5x). Each rank then sends rank 0 its results
// with their indices (mpi_gather), and rank 0 puts them in variant order.
// Threads: MPI is initialised at MPI_THREAD_SERIALIZED; on rank 0 only the serving thread
// calls MPI while variants run, on other ranks the workers' requests take turns under a lock.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hivesim::cli {

struct MpiWorld {
  int rank = 0;
  int size = 1;
  bool threads = true;  // the MPI library allows MPI_THREAD_SERIALIZED
};

/// MPI for one sweep. When the process was started by mpirun and MPI is built in, MPI_Init
/// runs on a thread of its own from construction, so that it overlaps what every rank does
/// before it needs MPI (loading the scenario, the baseline run): MPI_Init waits for the other
/// ranks and mpirun, ~0.3 s of the 0.5 s MPI added to a sweep here (bench/README.md, "Sweep").
/// The same thread finalises MPI when the session ends, as MPI asks of the thread that
/// initialised it.
class MpiSession {
 public:
  /// `wanted`: false for a plain run even under mpirun (`--shard`).
  explicit MpiSession(bool wanted);
  /// Finalises MPI if it was started (after every other MPI call of this rank).
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  /// Waits for MPI_Init: this rank's place, or nullopt for a plain run.
  std::optional<MpiWorld> world();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Collective: every rank's `mine`, in rank order, at rank 0; other ranks get nothing.
std::vector<std::string> mpi_gather(const std::string& mine);

/// The variants 0..total-1 handed out over every rank, one at a time. Every rank makes one
/// (a collective in effect: rank 0 serves until every other rank has been told "none left").
class MpiVariantQueue {
 public:
  /// `finished_elsewhere(n)`: on rank 0, from the serving thread, n more variants finished on
  /// other ranks (for the progress line).
  MpiVariantQueue(const MpiWorld& world, std::uint32_t total,
                  std::function<void(std::size_t)> finished_elsewhere);
  /// Rank 0: waits until every other rank has been told there is nothing left.
  ~MpiVariantQueue();
  MpiVariantQueue(const MpiVariantQueue&) = delete;
  MpiVariantQueue& operator=(const MpiVariantQueue&) = delete;

  /// The next variant for one of this rank's workers, or nullopt. Thread-safe.
  std::optional<std::uint32_t> next();
  /// One of this rank's variants finished (told to rank 0 with the next request).
  void finished_one();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hivesim::cli
