// garden launch: starts the local ranks of a data-parallel job, as torchrun does, and
// supervises them. Each rank is this garden binary run with the given arguments and the
// variables torchrun sets (WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT), and OMP_NUM_THREADS = its share of the cores unless that is set already.
// When a rank fails, the others get `grace_seconds` to stop on their own (a collective with a
// dead peer fails at once), then SIGTERM, then SIGKILL: a job never hangs on a lost rank.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace garden {

struct LaunchOptions {
  int64_t nproc = 1;       // ranks on this machine
  int64_t nnodes = 1;      // machines, each running one launch
  int64_t node_rank = 0;   // this machine's place among them: its ranks are node_rank x nproc + 0..nproc-1
  std::string master;      // HOST:PORT of global rank 0; empty: 127.0.0.1 and a free port (one machine only)
  int64_t grace_seconds = 30;
  void validate() const;
};

// Runs the ranks to completion. Returns 0 when every rank succeeded, else the exit status of
// the first rank that failed (128 + the signal for a rank killed by one), after saying on
// stderr which rank it was and how it ended.
int launch_local_ranks(const LaunchOptions& options, const std::vector<std::string>& garden_arguments);

}  // namespace garden
