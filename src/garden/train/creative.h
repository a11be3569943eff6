// Training and sampling for the open-ended tasks of "Roll the dice" (arXiv:2504.15266; spec:
// ../papers/roll-the-dice.md) on a small transformer over the task's own token vocabulary
// (text/creative_tasks.h). Three objectives:
//   ntp          teacher-forced cross-entropy on the answer and </a> only (the hash and the
//                marker are read, never scored);
//   teacherless  the official hybrid: a row is, with probability teacherless_share, a
//                teacherless copy whose answer inputs are all the dummy token "$", so every
//                answer token is predicted from the prefix alone; the other rows are NTP
//                (1 NTP : 3 teacherless by default, the circle and line setting; 1 = pure
//                teacherless). A triangle task's edge facts are always NTP rows;
//   diffusion    masked (absorbing-state) discrete diffusion in MDLM's form, a deviation from
//                the paper's SEDD: t ~ U(0, 1], each answer position (and </a>) replaced by
//                <mask> with probability t, the loss (1/t) x the cross-entropy of the masked
//                positions, averaged over answer positions; attention both ways; sampled by
//                iterative unmasking.
// Prefixes: `hash` (the example's hash characters before the marker; test prompts carry fresh
// hashes) or `null` (the marker alone).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "garden/model/transformer.h"
#include "garden/text/creative_tasks.h"
#include "garden/train/train_config.h"
#include "garden/train/trainer.h"

namespace garden::train {

enum class CreativeObjective { ntp, teacherless, diffusion };
CreativeObjective parse_creative_objective(const std::string& name);
std::string to_string(CreativeObjective objective);
enum class PrefixKind { null, hash };
PrefixKind parse_prefix_kind(const std::string& name);
std::string to_string(PrefixKind prefix);

struct CreativeOptions {
  CreativeObjective objective = CreativeObjective::ntp;
  PrefixKind prefix = PrefixKind::hash;
  double teacherless_share = 0.75;
  int64_t d_model = 128, layers = 4, heads = 4;  // the spec's quick decoder (~0.8M parameters)
  void validate() const;
  Json to_json() const;
};

// A prompt: the hash's characters (hash prefix only) then the marker.
std::vector<int64_t> creative_prompt(const text::creative::Vocab& vocab, const std::string& hash, int64_t marker, PrefixKind prefix);

// One training batch. inputs [B,T] (the model reads), targets [B,T] and weights [B,T]: the loss
// is sum(weights x cross-entropy(logits, targets)) / denominator. NTP and teacherless rows
// are shifted (position i predicts token i + 1) under the causal mask; diffusion rows are
// aligned (position i predicts its own clean token) under the bidirectional mask.
struct CreativeBatch {
  torch::Tensor inputs, targets, weights;
  torch::Tensor attention_mask;  // diffusion rows of different lengths: 1 real, 0 padding
  double denominator = 1;
  model::MaskMode mask = model::MaskMode::causal;
};
// Rows `examples` of the training set; teacherless[i] turns row i into a teacherless copy.
CreativeBatch next_token_batch(const text::creative::TaskData& data, const std::vector<const text::creative::Example*>& examples,
                               PrefixKind prefix, const std::vector<bool>& teacherless);
// times[i] in (0, 1]: row i's answer positions are masked where uniforms[i][j] < times[i]
// (at least one position is always masked: the one with the smallest uniform).
CreativeBatch diffusion_batch(const text::creative::TaskData& data, const std::vector<const text::creative::Example*>& examples,
                              PrefixKind prefix, const std::vector<double>& times, const std::vector<std::vector<double>>& uniforms);
// Training batch `index` of a run: `size` rows drawn with replacement from the training set,
// each a teacherless copy with probability teacherless_share (teacherless) or masked at a
// time drawn from U(0, 1] (diffusion); a pure function of (seed, index).
CreativeBatch training_batch(const text::creative::TaskData& data, const CreativeOptions& options, int64_t size, uint64_t seed, int64_t index);
torch::Tensor creative_loss(model::Transformer& model, const CreativeBatch& batch);

// A fresh model over the task's vocabulary, initial weights from libtorch's global generator.
model::Transformer new_creative_model(const text::creative::TaskData& data, const CreativeOptions& options);

// Trains `model` (new_creative_model's) on the task; the run folder is `out` (checkpoints,
// metrics.jsonl, resume); its latest checkpoint is the trained model.
TrainResult train_creative(model::Transformer& model, const text::creative::TaskData& data, const CreativeOptions& options, const TrainConfig& config,
                           const std::filesystem::path& out, bool resume, bool quiet);

struct CreativeModel {
  model::Transformer model{nullptr};
  CreativeOptions options;
  text::creative::TaskOptions task;
};
void save_creative_model(const std::filesystem::path& dir, model::Transformer& model, const CreativeOptions& options,
                         const text::creative::TaskOptions& task);
CreativeModel load_creative_model(const std::filesystem::path& dir);

struct CreativeSampling {
  double temperature = 0;      // 0 = greedy
  uint64_t seed = 0;           // prompt i samples with its own generator seeded seed + i
  int64_t diffusion_steps = 0;  // unmasking steps; 0 = one position a step
  int64_t batch = 256;          // prompts decoded at once
};
// One answer to each prompt (hash, marker), decoded with the kv-cache (ntp, teacherless) or
// by iterative unmasking (diffusion: the answer's positions start as <mask>; each step
// unmasks a share of them, the most confident ones with their argmax when greedy, random ones
// sampled at the temperature otherwise; each position is unmasked exactly once).
std::vector<text::creative::Output> sample_creative(model::Transformer& model, const text::creative::TaskData& data,
                                                  const CreativeOptions& options,
                                                  const std::vector<std::pair<std::string, int64_t>>& prompts,
                                                  const CreativeSampling& sampling);
// The test prompts: every test hash with the task's test marker.
std::vector<std::pair<std::string, int64_t>> test_prompts(const text::creative::TaskData& data);

}  // namespace garden::train
