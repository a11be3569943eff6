// Statistics of the gated-attention paper (arXiv:2505.06708, Table 4 / Fig. 2):
//   F-Attn: attention probability on the first key, averaged over heads and over query
//           positions 1..T-1 (query 0 sees only key 0 and is excluded), per layer;
//   M-Act:  the largest |value| in each layer's output hidden states;
//   gate:   mean gate score and the fraction of scores below 0.1.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "garden/model/transformer.h"
#include "garden/train/batches.h"

namespace garden::eval {

// probabilities [B,H,T,S] -> mean attention on key 0 over B, H and queries 1..T-1.
double first_token_attention(const torch::Tensor& probabilities);

struct AttentionStats {
  std::vector<double> first_token_attention;  // per layer (F-Attn)
  std::vector<double> max_activation;         // per layer (M-Act)
  double mean_first_token_attention = 0;
  double mean_max_activation = 0;
  double gate_mean = -1;            // -1 when the model has no gate
  double gate_fraction_below_0_1 = -1;
  std::vector<int64_t> gate_histogram;  // 10 bins over [0,1]
};

AttentionStats attention_stats(model::Transformer& model, const std::vector<train::Batch>& batches);

}  // namespace garden::eval
