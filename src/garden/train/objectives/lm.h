// Next-token objective: mean cross-entropy over the target positions whose loss mask is 1
// (a mask of zeros on prompt tokens trains on completions only).
#pragma once

#include <torch/torch.h>

namespace garden::train {

struct LmLoss {
  torch::Tensor loss;     // scalar, mean nats per counted token
  torch::Tensor sum;      // scalar, total nats (for exact averaging over many batches)
  torch::Tensor count;    // scalar, counted tokens
};

// logits [B,T,V], targets [B,T] int64, loss_mask [B,T] (1 = counted) or undefined (all).
// Cross-entropy is computed in float32 even under bf16 autocast.
LmLoss lm_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& loss_mask = {});

// lm_loss's sum alone, which may count no target (a share of a batch's rows whose targets are
// all masked).
torch::Tensor lm_loss_sum(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& loss_mask = {});

}  // namespace garden::train
