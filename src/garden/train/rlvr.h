// Reinforcement learning with verifiable rewards (rlvr-passk.md): many seeded completions of
// each prompt decoded as one batch, exact verification, per-token log-probabilities of
// completions, perplexities of one model's samples under another, SFT on prompt/completion
// pairs (pre-training on traces, a teacher, distillation), and the RL trainer: GRPO, RLOO or
// Reinforce++ advantages from 0/1 rewards, the clipped surrogate (DAPO's asymmetric clip,
// dynamic sampling, token- or sequence-mean loss), an optional KL to the start model. It runs
// on the shared Trainer, so checkpoints, resume, metrics and Ctrl-C work as in every job.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/model/transformer.h"
#include "garden/text/tokenizer.h"
#include "garden/train/objectives/policy_gradient.h"
#include "garden/train/trainer.h"

namespace garden::train {

// Prompts with an exact verifier: verify(i, completion) says whether `completion` solves
// problem i.
struct VerifiableTask {
  std::vector<std::string> prompts;
  std::function<bool(size_t problem, const std::string& completion)> verify;
};

struct SamplingOptions {
  double temperature = 0.6, top_p = 0.95;  // the paper's evaluation sampling
  int64_t max_new_tokens = 32;
  int64_t batch_rows = 512;  // completions decoded together (several prompts x n)
  void validate() const;
};

// BOS + the prompt's tokens: what a model reads before completing it.
std::vector<int64_t> prompt_tokens(const text::Tokenizer& tokenizer, const std::string& prompt);

// n completions of each prompt, decoded as one batch across prompts (a RoPE model: left
// padding is exact; a model with learned positions decodes prompt by prompt). Completion j of
// prompt i samples from a generator seeded seed + i * n + j, so the texts do not depend on
// batch_rows. Each ends at the tokenizer's end of text (not part of the text) or after
// max_new_tokens. `progress` (optional) is called with the prompts done so far.
std::vector<std::vector<std::string>> sample_completions(model::Transformer& model, const text::Tokenizer& tokenizer,
                                                         const std::vector<std::string>& prompts, int64_t n,
                                                         const SamplingOptions& options, uint64_t seed,
                                                         const std::function<void(int64_t)>& progress = {});

// Correct completions per problem.
std::vector<int64_t> count_correct(const VerifiableTask& task, const std::vector<std::vector<std::string>>& completions);

// Prompt + completion + end of text, right-padded: target t is the token after input t, and
// mask marks the targets that are completion tokens or the end of text.
struct CompletionRows {
  torch::Tensor input, target, mask, attention;  // [B,T]: int64, int64, float, int64
  int64_t counted() const;
};
CompletionRows completion_rows(const text::Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                               const std::vector<std::string>& completions);
// log p(target | input so far) [B,T] (float32; zero where the mask is 0); with gradient when
// autograd is on. `logits_out` (optional) receives the logits [B,T,V].
torch::Tensor completion_log_probs(model::Transformer& model, const CompletionRows& rows, torch::Tensor* logits_out = nullptr);
// exp(-mean log-probability) of each completion and its end of text under `model`.
std::vector<double> completion_perplexities(model::Transformer& model, const text::Tokenizer& tokenizer,
                                            const std::vector<std::string>& prompts, const std::vector<std::string>& completions,
                                            int64_t batch = 256);

// BOS + prompt (not counted) + completion + end of text (counted), one row per pair.
std::vector<TokenRow> completion_token_rows(const text::Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                                            const std::vector<std::string>& completions);

// BOS (not counted) + each line's tokens + end of text (counted), one row per line; a line
// longer than `max_tokens` tokens (when > 0) is cut there.
std::vector<TokenRow> line_token_rows(const text::Tokenizer& tokenizer, const std::vector<std::string>& lines, int64_t max_tokens = 0);

// Supervised fine-tuning on token rows (loss on their counted tokens), into the run folder
// `out`; the trained model is model_folder(out). `hook` runs at every evaluation (every
// config.eval_every steps and at the end).
TrainResult sft_on_rows(model::Transformer& model, const std::string& tokenizer_spec, std::vector<TokenRow> rows,
                        const TrainConfig& config, const std::filesystem::path& out, bool resume, bool quiet,
                        const EvalHook& hook = {});
// A short fine-tune of the model folder `from` on `rows` into the run folder `out` (the model is
// model_folder(out)): epochs x rows / batch steps (at least one) of constant-rate AdamW without
// weight decay (inner_run_config). Returns the mean training loss over its steps.
struct FineTuneSettings {
  int64_t epochs = 3, batch = 16;
  double lr = 1e-4;
  uint64_t seed = 0;
};
double fine_tune_folder(const std::filesystem::path& from, const std::vector<TokenRow>& rows, const FineTuneSettings& settings,
                        const std::filesystem::path& out);
// The same on prompt -> completion pairs (loss on the completion and its end of text).
TrainResult sft_on_completions(model::Transformer& model, const std::string& tokenizer_spec,
                               const std::vector<std::string>& prompts, const std::vector<std::string>& completions,
                               const TrainConfig& config, const std::filesystem::path& out, bool resume, bool quiet);

struct RlOptions {
  AdvantageKind advantage = AdvantageKind::grpo;
  int64_t group = 8;        // G responses per prompt
  int64_t prompts = 32;     // prompts per step
  double temperature = 1.0, top_p = 1.0;  // rollout sampling
  int64_t max_new_tokens = 32;
  double clip_low = 0.2, clip_high = 0.2;  // DAPO raises clip_high (0.28)
  LossAggregation aggregation = LossAggregation::token;
  double kl = 0.0;          // coefficient of the k3 KL to the start model; 0 = none (the paper's default)
  bool dynamic_sampling = false;  // DAPO: resample prompts whose group rewards are all equal (up to 4 rounds)
  int64_t eval_samples = 4;       // held-out pass@1 from this many samples per problem at T 0.6, top-p 0.95
  int64_t eval_problems = 100;    // held-out problems read at each evaluation (the first ones)
  std::vector<int64_t> save_at;   // steps whose model is also kept as <out>/model-step-N
  void validate() const;
  Json to_json() const;
};

struct RlResult {
  TrainResult train;
  std::vector<std::filesystem::path> saved;  // the models of options.save_at, in order
  int64_t trained_tokens = 0;  // completion tokens the policy gradient counted in this process
};

// RL of `model` on `task` (its prompts drawn uniformly each step from (seed, step)); held-out
// pass@1 and the mean rollout reward and entropy since the last evaluation go to
// metrics.jsonl every config.eval_every steps. The trained model is model_folder(out).
RlResult train_rl(model::Transformer& model, const std::string& tokenizer_spec, const VerifiableTask& task,
                  const VerifiableTask& held_out, const RlOptions& options, const TrainConfig& config,
                  const std::filesystem::path& out, bool resume, bool quiet);

}  // namespace garden::train
