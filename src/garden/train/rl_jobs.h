// The entry points of `garden tasks generate` and `garden rl train` (rlvr-passk.md): task
// files and RL training on them (`garden eval passk` is eval/passk_job.h).
//
// A task file is JSONL, one problem a line:
//   {"task": "countdown-3", "numbers": [3, 4, 5], "target": 35, "prompt": "3 4 5 to 35:",
//    "completion": " (3+4)*5=7*5=35"}
// "completion" (a solution trace, written with --traces) makes the file pre-training or SFT
// data for `garden lm train --format prompt-completion`; the verifier ignores it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/text/countdown.h"
#include "garden/train/jobs.h"
#include "garden/train/rlvr.h"

namespace garden::train {

struct TaskGeneration {
  std::string task = "countdown-3";
  int64_t count = 1000;
  uint64_t seed = 0;
  // none | noisy (the base's data: a hitting template with probability hit_rate, else one from
  // the prior, never a*(b+c)) | oracle (a hitting template, any of the eight)
  std::string traces = "none";
  double hit_rate = 0.3;
  // held-out: `count` distinct problems, `withheld_only` of them solvable by a*(b+c) alone
  // (CountdownSplit with its seed + `seed`; 200 and 30 with seed 0 are the reproduction's
  // held-out set); training: `count` problems drawn from the prior, none of them in the
  // 200-problem held-out set of the same seed and withheld_only.
  std::string split = "training";
  int64_t withheld_only = 30;
  std::string out;
};
// Writes the file atomically; refuses an --out that is not an earlier task file.
void generate_tasks(const TaskGeneration& job);

// The problems of a task file as a verifiable task; errors name the file and line.
VerifiableTask read_task_file(const std::filesystem::path& path);

struct RlJob {
  std::string model, tasks, held_out;
  RlOptions options;
  Json train_overrides = Json::object();  // TrainConfig fields given as flags
  RunFolderSpec run{"runs/rl", false, 0};
  torch::Device device = torch::kCPU;
};
// The training defaults of `garden rl train` (steps 150, lr 1e-4, constant after warm-up).
Json rl_train_defaults();
RlResult train_rl_job(const RlJob& job);

}  // namespace garden::train
