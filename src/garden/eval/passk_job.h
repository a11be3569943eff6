// The entry point of `garden eval passk` (rlvr-passk.md): n seeded samples of every problem
// of a task file (train/rl_jobs.h), verified exactly, and the pass@k curve, coverage and
// accuracy histogram from the per-problem correct counts.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/train/rlvr.h"

namespace garden::eval {

struct PassAtKJob {
  std::string model, tasks;
  int64_t n = 128;
  std::vector<int64_t> ks;  // empty: 1, 2, 4, ..., n
  train::SamplingOptions sampling;
  uint64_t seed = 0;
  std::string out;          // per-problem JSONL ({"problem", "prompt", "correct", "n"}), optional
  // Every sample as JSONL ({"problem", "prompt", "completion", "correct"}), optional: with
  // --n 1 a teacher's answers, which `garden lm train --format prompt-completion` distils.
  std::string samples_out;
  torch::Device device = torch::kCPU;
};
struct PassAtKReport {
  std::vector<int64_t> ks;
  std::vector<double> pass_at_k;
  double coverage = 0;
  std::vector<int64_t> accuracy_histogram;
  int64_t problems = 0, samples = 0;
  double seconds = 0;
  Json to_json() const;
};
PassAtKReport run_pass_at_k(const PassAtKJob& job);

}  // namespace garden::eval
