// GritLM's two losses (arXiv:2402.09906, gritlm/training/model.py).
// Representation: each query has a group of g passages [d+, d-_1, ..., d-_{g-1}] laid out one
// group after another; the softmax of query i runs over every passage of the batch (other
// queries' positives and negatives are its in-batch negatives; queries are never negatives)
// and its target is passage i*g. Scores are cosines divided by the temperature.
// Generative: cross-entropy over response tokens only, aggregated one of four ways:
//   token          - every counted token weighs the same (the paper's token level);
//   sample         - each sample's token mean, then the mean over samples (sample level);
//   mixed          - the token mean inside consecutive sub-batches of sub_batch samples, then
//                    the mean over sub-batches (the paper's "Mix"; the code's "mixed": the
//                    loss of each device micro-batch, averaged);
//   sum_per_sample - the sum over every counted token divided by the number of samples (the
//                    code's loss_gen_type="token", which the 8x7B script scales by 0.003).
#pragma once

#include <torch/torch.h>

#include <string>

namespace garden::train {

// queries [B,C], passages [B*g,C] (any lengths: scores are cosines) -> the mean loss.
torch::Tensor grit_representation_loss(const torch::Tensor& queries, const torch::Tensor& passages, int64_t group_size,
                                       double temperature);

enum class GenLossAggregation { token, sample, mixed, sum_per_sample };
GenLossAggregation parse_gen_loss_aggregation(const std::string& name);
std::string to_string(GenLossAggregation aggregation);

// token_losses [B,T] (nats at each target position), counted [B,T] (1 = a response token)
// -> the aggregated loss (a scalar). Every sample needs at least one counted token.
torch::Tensor aggregate_generative_loss(const torch::Tensor& token_losses, const torch::Tensor& counted, GenLossAggregation aggregation,
                                        int64_t sub_batch);

// logits [B,T,V] of a causal forward over rows whose loss mask `counted` [B,T] marks the
// tokens to predict (row t's logits predict token t+1): the per-position cross-entropy
// [B,T-1] in float32 and its mask [B,T-1], aligned so that position t scores token t+1.
struct TokenLosses {
  torch::Tensor losses, counted;
};
TokenLosses next_token_losses(const torch::Tensor& logits, const torch::Tensor& tokens, const torch::Tensor& counted);

}  // namespace garden::train
