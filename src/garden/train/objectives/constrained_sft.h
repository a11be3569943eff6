// The token-wise constrained fine-tuning objective of "Safety Alignment Should Be Made More
// Than Just a Few Tokens Deep" (Qi et al., ICLR 2025, arXiv:2406.05946, Sec. 4; spec:
// ../papers/shallow-alignment.md): for each response token t with
// Delta_t = log pi_theta(y_t | .) - log pi_ref(y_t | .) under a frozen reference,
//   L = mean_t  -(2 / beta_t) log sigmoid(beta_t Delta_t),
// whose gradient is the cross-entropy gradient of token t scaled by w_t = 2 sigmoid(-beta_t
// Delta_t). As the official trainer, the loss is computed as -mean_t(w_t log pi_theta(y_t)) with
// w_t detached and clamped at >= 1e-3 (the same gradient wherever the clamp is idle).
#pragma once

#include <torch/torch.h>

#include "garden/core/json.h"
#include "garden/model/transformer.h"
#include "garden/train/batches.h"
#include "garden/train/distributed.h"
#include "garden/train/trainer.h"

namespace garden::train {

// beta_1 = beta x first_token_bias, beta_t = beta x bias for 2 <= t <= bias_length, beta
// afterwards: the official flags beta 0.1, first_token_bias_factor 5, bias_factor 20,
// bias_length 5 give 0.5, 2, 2, 2, 2, 0.1, ...
struct BetaSchedule {
  double beta = 0.1, first_token_bias = 5, bias = 20;
  int64_t bias_length = 5;
  double at(int64_t t) const;  // t >= 1, the response token's position
  void validate() const;       // usage errors naming the flag
  Json to_json() const;
};

// [B,T] the 1-based position of each counted target within its row's response (0 where the
// loss mask is 0); an undefined mask counts every position.
torch::Tensor response_positions(const torch::Tensor& loss_mask, int64_t rows, int64_t columns);
// w = clamp(2 sigmoid(-beta x delta), min 1e-3), detached.
torch::Tensor constrained_weights(const torch::Tensor& delta, const torch::Tensor& betas);
// -sum(mask x w x log_probs) / sum(mask): log_probs [B,T] of the targets under the policy
// (with gradient), reference_log_probs the same under the reference.
torch::Tensor constrained_sft_loss(const torch::Tensor& log_probs, const torch::Tensor& reference_log_probs, const torch::Tensor& betas,
                                   const torch::Tensor& mask);

// Fine-tuning `model` on prompt-completion batches with the loss above against `reference`
// (frozen, in eval mode). Data-parallel, each rank trains on its share of the batch's rows.
Objective constrained_sft_objective(model::Transformer& model, model::Transformer& reference, const BatchSource& data,
                                    const BetaSchedule& schedule, const std::string& tokenizer_spec, ProcessGroup* group);

}  // namespace garden::train
