// Contrastive training of an embedding model on (query, positive, hard negatives) pairs:
// InfoNCE over cosines with in-batch and/or hard negatives, positive-aware filtering,
// optional Matryoshka widths, run by the shared Trainer (schedule, accumulation,
// checkpoints, resume). Batches are a pure function of the micro-batch index: example order
// is a seeded permutation per epoch, so a resumed run sees the same batches.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "garden/model/embedder.h"
#include "garden/text/pairs.h"
#include "garden/text/tokenizer.h"
#include "garden/train/objectives/contrastive.h"
#include "garden/train/trainer.h"

namespace garden::train {

struct EmbedObjectiveConfig {
  ContrastiveOptions contrastive;
  int64_t hard_negatives = 0;           // per query, taken from each pair's list (best first)
  std::vector<int64_t> mrl_widths;      // empty: plain loss; else nested prefixes (last = full width)
  std::string query_instruction;        // prefixed to queries, excluded from pooling
  Json to_json() const;
  static EmbedObjectiveConfig from_json(const Json& json, const std::string& where);
};

// The micro-batch of `index`: `batch` examples from the seeded per-epoch permutation.
std::vector<int64_t> pair_batch_indices(int64_t examples, int64_t batch, int64_t index, uint64_t seed);

// The loss of one batch of pairs (a scalar with gradients through the embedder) and the
// tokens it embedded. With a process group of several ranks, `pairs` is this rank's share of
// the global batch (the same size on every rank) and the loss is that of the global batch:
// queries, positives and hard negatives are gathered from every rank (in-batch negatives
// span the global batch), gradients flow through this rank's own embeddings, and the
// backward scale is the world size (trainer.h: MicroStep).
MicroStep contrastive_batch_loss(model::Embedder& embedder, const text::Tokenizer& tokenizer,
                                 const std::vector<const text::TextPair*>& pairs, const EmbedObjectiveConfig& config,
                                 ProcessGroup* group = nullptr);

// Builds the Trainer objective; `eval_pairs` (may be empty) give val_loss, computed in
// batches of `batch` without gradients. The references must outlive the training. With a
// process group of several ranks, train.batch is each rank's share: the global batch of a
// step is batch x world size pairs, the batch one process would draw with that size.
Objective contrastive_objective(model::Embedder& embedder, const text::Tokenizer& tokenizer,
                                const std::vector<text::TextPair>& train_pairs,
                                const std::vector<text::TextPair>& eval_pairs, const EmbedObjectiveConfig& config,
                                const TrainConfig& train, const std::string& tokenizer_spec, ProcessGroup* group = nullptr);

// One stage of a multi-stage recipe (NV-Embed: retrieval pairs with in-batch and hard
// negatives, then a blend of tasks with in-batch negatives off).
struct TrainingStage {
  std::string name;
  std::vector<text::TextPair> pairs;  // blended: the per-epoch permutation mixes the sources
  EmbedObjectiveConfig objective;
  TrainConfig train;
};

// Runs the stages in order on one embedder, stage i in out/stage<i>-<name>, each with a fresh
// optimizer and schedule (the paper restarts the optimizer between stages). A stage whose run
// already finished is loaded instead of trained again; with `resume` an interrupted stage
// continues from its checkpoint. Stops after a stage that was interrupted (its result says so).
std::vector<TrainResult> train_stages(model::Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<TrainingStage>& stages,
                                      const std::filesystem::path& out, bool resume, const std::string& tokenizer_spec, bool quiet,
                                      ProcessGroup* group = nullptr);

}  // namespace garden::train
