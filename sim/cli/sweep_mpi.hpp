#pragma once
// The only place hivesim talks MPI (`mpirun -n R hivesim sweep ...`). Built against OpenMPI
// when the CMake option HIVESIM_MPI is on (sweep_mpi.cpp), else as a stub (sweep_mpi_none.cpp)
// that never finds a world, so the rest of the code does not depend on MPI.

#include <optional>
#include <string>
#include <vector>

namespace hivesim::cli {

struct MpiWorld {
  int rank = 0;
  int size = 1;
};

/// When the process was started by mpirun and MPI is built in: initialises MPI and returns
/// this rank's place; else nullopt (a plain run).
std::optional<MpiWorld> mpi_begin();

/// Collective: every rank's `mine`, in rank order, at rank 0; other ranks get nothing.
std::vector<std::string> mpi_gather(const std::string& mine);

/// Finalises MPI if mpi_begin() started it.
void mpi_end();

}  // namespace hivesim::cli
