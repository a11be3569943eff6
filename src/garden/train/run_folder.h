// The layout of a training run folder (written by train/trainer.h):
//   <run>/config.json, metrics.jsonl, results.json
//   <run>/checkpoints/step_NNNNNNNN/   a model folder (model/model_folder.h) + optimizer state
//   <run>/checkpoints/latest           the name of the newest complete checkpoint
// Commands that read a model accept a run folder too and use its latest checkpoint.
#pragma once

#include <filesystem>
#include <string>

namespace garden::train {

// The newest checkpoint folder of a run folder, or an empty path when it has none.
std::filesystem::path latest_checkpoint(const std::filesystem::path& run);
// The model folder a path names: the path itself when it holds model.safetensors (or is no
// training run), else the run's latest checkpoint. The model loaders report what is missing.
std::filesystem::path model_folder(const std::filesystem::path& path);

// Makes `out` the run folder of `owner` (core/files.h: claim_output_dir), after checking that
// with `resume` it holds a checkpoint to continue from.
void claim_run_folder(const std::filesystem::path& out, const std::string& owner, bool resume);

}  // namespace garden::train
