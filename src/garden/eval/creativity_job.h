// `garden creative eval`: a model of garden creative train answers every test prompt of its
// task once (greedy or at a temperature), and its answers are scored (eval/creativity.h).
#pragma once

#include <torch/torch.h>

#include <string>

#include "garden/eval/creativity.h"
#include "garden/train/creative.h"

namespace garden::eval {

struct CreativityJob {
  std::string model;
  std::string task;  // a task folder; empty = the task the model was trained on (regenerated)
  train::CreativeSampling sampling;
  int64_t train_prompts = 0;  // > 0: also the train_memorization_score over this many examples
  std::string out;            // every answer with its verdicts (JSONL), optional
  torch::Device device = torch::kCPU;
};

struct CreativityReport {
  CreativityScores scores;
  double train_memorization = -1;  // < 0 when not measured
};

CreativityReport run_creativity(const CreativityJob& job);

}  // namespace garden::eval
