// LLM2Vec-Gen's training (arXiv:2603.10913, v2): on unlabeled queries only, the special
// tokens and projections of a GenerativeEmbedder (model/generative_embedder.h) learn to
// compress the frozen backbone's own answer (reconstruction through the frozen LM) and to
// match an unsupervised teacher's embedding of that answer (alignment):
//   L = lambda_rec L_rec + lambda_align L_align   (the paper's weights: 1 and 1),
// run by the shared Trainer (schedule, checkpoints, resume). Batches are a pure function of
// the micro-batch index (the per-epoch permutation of embedder training).
#pragma once

#include <string>
#include <vector>

#include "garden/model/generative_embedder.h"
#include "garden/train/train_config.h"
#include "garden/train/trainer.h"

namespace garden::train {

struct GenerativeExample {
  std::vector<int64_t> query;     // the query's tokens, without special tokens
  std::vector<int64_t> response;  // the backbone's own answer to it, ending with EOS
  std::vector<float> teacher;     // the teacher's embedding of that answer [d_T]
};

struct GenerativeLossWeights {
  double reconstruction = 1.0;  // lambda_rec (0: the align-only ablation)
  double alignment = 1.0;       // lambda_align (0: the reconstruction-only ablation)
  // A usage error for a negative or non-finite weight, or both zero.
  void validate() const;
};

struct GenerativeLosses {
  torch::Tensor total, reconstruction, alignment;  // scalars; a part whose weight is 0 is not computed (undefined)
};
GenerativeLosses generative_batch_losses(model::GenerativeEmbedder& model, const std::vector<const GenerativeExample*>& batch,
                                         const GenerativeLossWeights& weights);

// The Trainer's objective over `train` in batches of config.batch; `held_out` (may be empty)
// gives, at each evaluation, both losses, their weighted total as val_loss, and the mean
// cosine of each embedding with its own teacher vector against that with the next
// example's. Checkpoints are generative embedder folders. The references must outlive training.
Objective generative_embedding_objective(model::GenerativeEmbedder& model, const std::vector<GenerativeExample>& train,
                                         const std::vector<GenerativeExample>& held_out, const GenerativeLossWeights& weights,
                                         const TrainConfig& config, const std::string& tokenizer_spec);

}  // namespace garden::train
