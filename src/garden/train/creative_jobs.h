// The commands of `garden creative` below the CLI: generating a task folder and training a
// model on it (the evaluation job is eval/creativity_job.h).
#pragma once

#include <string>

#include "garden/core/json.h"
#include "garden/text/creative_tasks.h"
#include "garden/train/creative.h"
#include "garden/train/jobs.h"

namespace garden::train {

// Writes the task folder (task.json, train.jsonl, test.jsonl) into `out`, which may hold only
// this command's earlier output.
void generate_creative_task(const text::creative::TaskOptions& options, const std::string& out);

struct CreativeTrainJob {
  std::string task;  // a task folder
  CreativeOptions options;
  Json train_overrides = Json::object();  // TrainConfig fields given as flags
  RunFolderSpec run{"runs/creative", false, 0};
  torch::Device device = torch::kCPU;
};
// The spec's quick settings: 3,000 steps, batch 64, AdamW lr 1e-3, warm-up 150 then cosine,
// no weight decay; a checkpoint every 500 steps.
Json creative_train_defaults();
TrainResult train_creative_job(const CreativeTrainJob& job);

}  // namespace garden::train
