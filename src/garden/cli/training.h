// What the training commands (lm train, embed train) hand to every job besides its own
// settings. Kept apart from cli/common.h because it needs libtorch (the device).
#pragma once

#include "garden/cli/common.h"
#include "garden/core/data_root.h"
#include "garden/core/runtime.h"
#include "garden/train/jobs.h"

namespace garden::cli {

// Sets the threads and returns the job's setup from the run-folder and runtime groups.
inline train::JobSetup job_setup(const RunFolderOptions& run, const RuntimeOptions& runtime) {
  configure_threads(runtime.threads);
  return {run.config, {run.out, run.resume, run.stop_after}, resolve_cache_dir(runtime.cache), resolve_device(runtime.device)};
}

}  // namespace garden::cli
