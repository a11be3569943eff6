// What the training commands (lm train, embed train) hand to every job besides its own
// settings. Kept apart from cli/common.h because it needs libtorch (the device).
#pragma once

#include "garden/cli/common.h"
#include "garden/core/data_root.h"
#include "garden/core/runtime.h"
#include "garden/train/jobs.h"

namespace garden::cli {

// The data-parallel group of the training commands. Unset flags fall back to torchrun's
// variables (WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT), which garden launch sets.
struct DistributedOptions {
  int64_t world_size = 0, rank = -1;  // 0 / -1: from the environment (default 1 / 0)
  std::string master;                 // HOST:PORT; empty: from the environment (default 127.0.0.1:29500)
  int64_t timeout = 300;
};

inline void add_distributed_options(CLI::App& app, DistributedOptions& options) {
  const std::string group = "Data-parallel (or WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT; garden launch sets them)";
  app.add_option("--world-size", options.world_size, "ranks training together; --batch is each rank's share")->group(group);
  app.add_option("--rank", options.rank, "this process's rank, 0..world-size-1 (rank 0 writes the run folder)")->group(group);
  app.add_option("--master", options.master, "HOST:PORT of rank 0's rendezvous store")->group(group);
  app.add_option("--dist-timeout", options.timeout, "seconds to wait for the other ranks, at the start and in every collective")
      ->capture_default_str()
      ->group(group);
}

inline train::DistributedSpec distributed_spec(const DistributedOptions& options) {
  auto spec = train::DistributedSpec::from_environment();
  if (options.world_size != 0) spec.world_size = options.world_size;
  if (options.rank != -1) spec.rank = options.rank;
  if (!options.master.empty()) spec.set_master(options.master, "--master");
  spec.timeout_seconds = options.timeout;
  spec.validate();
  return spec;
}

// --out, --resume and --stop-after of a training command without a config file (rl train,
// creative train).
inline void add_run_folder_spec_options(CLI::App& app, train::RunFolderSpec& run) {
  app.add_option("--out", run.out, "run folder")->capture_default_str();
  app.add_flag("--resume", run.resume, "continue from the run folder's latest checkpoint");
  app.add_option("--stop-after", run.stop_after, "stop with a checkpoint after this many steps (resume later)");
}

// Sets the threads and returns the job's setup from the run-folder, runtime and data-parallel groups.
inline train::JobSetup job_setup(const RunFolderOptions& run, const RuntimeOptions& runtime, const DistributedOptions& distributed) {
  configure_threads(runtime.threads);
  return {run.config, {run.out, run.resume, run.stop_after}, resolve_cache_dir(runtime.cache), resolve_device(runtime.device),
          distributed_spec(distributed)};
}

}  // namespace garden::cli
