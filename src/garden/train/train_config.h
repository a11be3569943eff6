// The training loop's settings (train/trainer.h runs them), torch-free: read from a config
// file's "train" section, merged over an objective's defaults and flags (train/jobs.h).
#pragma once

#include <cstdint>
#include <string>

#include "garden/core/json.h"

namespace garden::train {

struct TrainConfig {
  int64_t steps = 1000;            // optimizer steps
  int64_t batch = 32;              // sequences per micro-batch
  int64_t seq = 128;               // tokens per sequence
  int64_t grad_accum = 1;          // micro-batches per optimizer step
  double lr = 3e-3;                // peak learning rate
  double min_lr_ratio = 0.1;       // cosine floor as a fraction of lr
  int64_t warmup = 100;            // linear warmup steps
  double weight_decay = 0.1;       // AdamW decoupled decay (Loshchilov & Hutter), matrices only
  double beta1 = 0.9, beta2 = 0.95;  // GPT-3 / LLaMA betas
  double adam_eps = 1e-8;
  double grad_clip = 1.0;          // max global gradient norm; 0 = off
  bool bf16 = false;               // bf16 autocast for forward/backward (CPU or CUDA)
  int64_t eval_every = 200;        // 0 = only at the end
  int64_t eval_windows = 200;      // held-out windows per evaluation
  int64_t checkpoint_every = 500;  // 0 = only at the end / on interrupt
  int64_t keep_checkpoints = 2;
  int64_t log_every = 10;
  double spike_factor = 1.5;       // a step loss > factor * EMA(loss) after warmup is a spike
  uint64_t seed = 0;
  int64_t stop_after = 0;          // stop (with a checkpoint) after this many steps; 0 = run to `steps`

  // Errors start with `where` (the config file and section, or "train config").
  void validate(const std::string& where = "train config") const;
  Json to_json() const;
  static TrainConfig from_json(const Json& json, const std::string& where);
};

// The settings of a training run inside a larger job (an artifact, an arm of a reproduction):
// `steps` steps of `batch`, peak `lr` after a warm-up of a twentieth of the steps, no weight
// decay, no evaluation or checkpoint before the end, one checkpoint kept.
TrainConfig inner_run_config(int64_t steps, int64_t batch, double lr, uint64_t seed);

}  // namespace garden::train
