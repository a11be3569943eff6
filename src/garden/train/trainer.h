// The training loop shared by every objective that trains a transformer on token batches:
// AdamW (decoupled weight decay on matrices only), warmup + cosine, gradient clipping and
// accumulation, optional bf16 autocast on CPU, periodic evaluation, checkpoints every N
// steps and on SIGINT, bit-for-bit resume, metrics.jsonl, a progress bar, loss-spike
// counting, and a clean stop (keeping the last good checkpoint) on a non-finite loss.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <string>

#include "garden/core/json.h"
#include "garden/model/transformer.h"
#include "garden/train/batches.h"
#include "garden/train/distributed.h"
#include "garden/train/train_config.h"

namespace garden::train {

struct TrainResult {
  int64_t steps_done = 0;
  bool interrupted = false;   // stopped by SIGINT or stop_after, with a checkpoint to resume
  double final_train_loss = 0;
  double val_loss = 0;
  int64_t loss_spikes = 0;
  double tokens_per_second = 0;
  double seconds = 0;
  std::vector<double> step_losses;  // loss of every step done in this process
  // Wall seconds of each of those steps, from setting its learning rate to the optimizer's
  // update (forward, loss, backward, clipping, AdamW); logging, evaluation and checkpoints
  // are outside. Benchmarks time the real step with it.
  std::vector<double> step_seconds;
  // Threads each micro-batch's rows were split between (Objective::micro_step_shares); 1 where
  // they trained as one batch.
  int64_t row_shares = 1;
  // Data-parallel: seconds this rank spent waiting in collectives (the loss sums, and the part
  // of the gradient all-reduce that backward did not hide, including waiting for slower ranks).
  double collective_seconds = 0;
};

// Evaluated every eval_every steps and at the end; add named scalars to `metrics`.
using EvalHook = std::function<void(model::Transformer& model, int64_t step, Json& metrics)>;

// One micro-batch: its loss (a scalar to minimise) and the tokens it covered (throughput).
// Data-parallel, the loss reported is the mean over ranks of each rank's `loss`, and
// backward runs on loss x backward_scale: an objective whose loss every rank computes over
// the whole global batch, with gradients through its own rows only, sets the world size
// there, so that averaging gradients over ranks gives the gradient of that loss.
struct MicroStep {
  torch::Tensor loss;
  int64_t tokens = 0;
  double backward_scale = 1;
};

// What the loop trains, for objectives other than next-token prediction (contrastive
// embedders, masked next-token prediction, SimCSE).
struct Objective {
  // Forward and loss of micro-batch `index` = (step - 1) x grad_accum + micro. It must be a
  // pure function of the index (and the module's weights and the global RNG), so a resumed
  // run sees the same batches.
  std::function<MicroStep(int64_t index)> micro_step;
  // Optional: micro-batch `index` as `parts` shares of its rows, each a function that runs the
  // share's forward and returns its loss, scaled so that the shares' losses add up to
  // micro_step's. The loop then runs the shares at once, one per thread, each followed by its
  // backward (on the CPU, in one process, with at least two threads): the shares must change
  // nothing shared but the gradients their backward accumulates. micro_step's own arithmetic
  // is kept otherwise; the split changes only the rounding of the sums.
  std::function<std::vector<std::function<MicroStep()>>(int64_t index, int64_t parts)> micro_step_shares;
  // Writes the model into a folder; its weights must go to dir/model.safetensors as
  // module_tensors(module), which is what a resume loads back.
  std::function<void(const std::filesystem::path& dir)> save;
  // Held-out metrics every eval_every steps and at the end (optional); a "val_loss" entry
  // becomes TrainResult::val_loss.
  std::function<void(int64_t step, Json& metrics)> evaluate;
  Json description;  // written to <out>/config.json beside the train section
};

class Trainer {
 public:
  // `out` is the run folder: config.json, metrics.jsonl, checkpoints/.
  Trainer(TrainConfig config, std::filesystem::path out);
  // Next-token prediction on `data`. Data-parallel, `data` gives the global batch of a step
  // and each rank trains on its rank_share of the rows; the loss is the global mean per
  // counted token, as one process training on the whole batch computes it.
  TrainResult fit(model::Transformer& model, const BatchSource& data, bool resume, const EvalHook& hook = {});
  // Any objective over `module`'s parameters.
  TrainResult fit(torch::nn::Module& module, const Objective& objective, bool resume);
  // Mean held-out loss (nats per counted token).
  static double evaluate(model::Transformer& model, const BatchSource& data, bool bf16);
  bool quiet = false;             // no progress bar (tests, nested runs)
  // Data-parallel training (distributed.h): every rank runs fit() with its own objective
  // share; gradients are averaged, rank 0 alone writes the run folder (a resume reads it on
  // every rank, so ranks on several machines need it on shared storage). Without a group, or
  // with a group of one, training is the single-process loop.
  ProcessGroup* group = nullptr;
  std::string tokenizer_spec;     // saved beside checkpoints so they load with their tokenizer
  // Steps whose model is also kept as <out>/model-step-N (slices of a run; a resumed run
  // keeps those after its start, the earlier ones being there already).
  std::vector<int64_t> keep_models_at;

 private:
  TrainResult run(torch::nn::Module& module, const Objective& objective, bool resume);
  TrainConfig config_;
  std::filesystem::path out_;
};

// True when the run folder's latest checkpoint is that of step `steps` (the run finished).
bool run_complete(const std::filesystem::path& run, int64_t steps);

// Installs a SIGINT handler that asks running trainers to checkpoint and stop.
void install_interrupt_handler();
// True once that handler has caught a SIGINT: the command was interrupted, even though its
// trainer stopped cleanly with a checkpoint, and must not report success.
bool interrupted_by_signal();

}  // namespace garden::train
