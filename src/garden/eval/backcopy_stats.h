// The extreme-token statistics of "Active-Dormant Attention Heads" (Guo et al.,
// arXiv:2410.13835) on held-out Bigram-Backcopy sequences, per head and per layer:
//   attention sink  - the attention probability on BOS (key 0), split by the query's token:
//                     a trigger (the head must copy: "active") or any other ("dormant");
//   value drain     - the norm of BOS's value state against the mean over the other tokens;
//   residual peak   - the residual-stream norm at BOS after each block against the others';
//   copy accuracy   - at trigger positions, whether the argmax prediction is the copied token.
// Queries start at position 1: query 0 (BOS) can only attend to itself.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "garden/model/transformer.h"
#include "garden/text/bigram_backcopy.h"
#include "garden/train/batches.h"

namespace garden::eval {

// probabilities [B,H,T,S], triggers [B,T] bool (query t's token is a trigger) ->
// {share on key 0 over trigger queries, share on key 0 over the other queries}, each [H]
// float64, averaged over the queries of each kind at positions 1..T-1 of every row.
struct BosShares {
  torch::Tensor at_triggers, elsewhere;
};
BosShares bos_attention_shares(const torch::Tensor& probabilities, const torch::Tensor& triggers);

// states [B,...,T,D] -> |state at position 0| / mean over positions 1..T-1 of |state|, with
// the norms averaged over the batch; one ratio per index of the middle dimensions (per head
// for value states [B,H,T,D], a scalar tensor for residual states [B,T,C]). float64.
torch::Tensor first_position_norm_ratio(const torch::Tensor& states);

struct BackcopyStats {
  std::vector<std::vector<double>> bos_share_at_triggers;  // [layer][head]
  std::vector<std::vector<double>> bos_share_elsewhere;    // [layer][head]
  std::vector<std::vector<double>> value_norm_ratio;       // [layer][head]
  std::vector<double> residual_norm_ratio;                 // [layer], after each block
  double max_bos_share_elsewhere = 0;  // the largest over every layer and head: the sink
  // The residual peak: the largest ratio over the blocks whose output a later attention layer
  // reads (all but the last; NaN with one layer). The last block's output at BOS only feeds
  // the prediction of the first token, a position with a distribution of its own.
  double max_residual_norm_ratio = 0;
  double copy_accuracy = 0;            // over every trigger position
  double loss = 0;                     // mean cross-entropy over every position (nats/token)
};

BackcopyStats backcopy_stats(model::Transformer& model, const std::vector<train::Batch>& batches,
                             const text::BigramBackcopy& task);

}  // namespace garden::eval
