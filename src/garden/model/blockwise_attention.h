// Attention without the [B,H,T,S] probability matrix: softmax(QK^T * scale + mask) V
// computed tile by tile with an online softmax (running maximum and sum per query, as in
// FlashAttention, Dao et al. 2022), and a backward pass that recomputes each tile's
// probabilities from the saved log-sum-exp instead of keeping them. Memory for the
// attention of one layer falls from O(T*S) to O(T*D + tile); tiles that the mask rules out
// entirely (above the causal diagonal) are skipped in both passes.
//
// Products run in autocast's dtype when it is on (bf16, as the explicit path's matmuls
// would), else in the inputs'; the softmax statistics and gradient accumulators stay float32.
#pragma once

#include <torch/torch.h>

namespace garden::model {

struct AttentionTiles {
  // 256 x 256 measured faster than 128 x 128 from T = 512 (garden_bench_lm attention --tile)
  int64_t queries = 256;  // query rows per tile
  int64_t keys = 256;     // key columns per tile
};

// q [B,H,T,D], k and v [B,H,S,D] (same H: grouped-query keys repeated by the caller);
// allowed [B or 1,1,T,S] bool, true = may attend, or undefined when every query may attend
// to every key. Every query must be allowed at least one key (as in the explicit path, where
// a fully masked row would be NaN). Returns [B,H,T,D] with gradients for q, k and v.
torch::Tensor blockwise_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                  const torch::Tensor& allowed, double scale, AttentionTiles tiles = {});

}  // namespace garden::model
