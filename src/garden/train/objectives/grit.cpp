#include "garden/train/objectives/grit.h"

#include <fmt/core.h>

#include "garden/core/error.h"

namespace garden::train {

namespace F = torch::nn::functional;

torch::Tensor grit_representation_loss(const torch::Tensor& queries, const torch::Tensor& passages, int64_t group_size,
                                       double temperature) {
  if (group_size < 1) usage_error(fmt::format("the passage group size must be at least 1, not {}", group_size));
  if (!(temperature > 0)) usage_error(fmt::format("the temperature must be > 0, not {}", temperature));
  if (queries.dim() != 2 || passages.dim() != 2 || passages.size(0) != queries.size(0) * group_size || passages.size(1) != queries.size(1))
    throw Error(fmt::format("representation loss: {} queries need {} x {} passages of the same width, got queries {} and passages {}",
                            queries.size(0), queries.size(0), group_size, c10::str(queries.sizes()), c10::str(passages.sizes())));
  const auto q = F::normalize(queries.to(torch::kFloat32), F::NormalizeFuncOptions().dim(-1));
  const auto p = F::normalize(passages.to(torch::kFloat32), F::NormalizeFuncOptions().dim(-1));
  const auto scores = q.matmul(p.t()) / temperature;  // [B, B*g]
  const auto targets = torch::arange(queries.size(0), torch::TensorOptions().dtype(torch::kLong).device(queries.device())) * group_size;
  return F::cross_entropy(scores, targets);
}

GenLossAggregation parse_gen_loss_aggregation(const std::string& name) {
  if (name == "token") return GenLossAggregation::token;
  if (name == "sample") return GenLossAggregation::sample;
  if (name == "mixed") return GenLossAggregation::mixed;
  if (name == "sum_per_sample") return GenLossAggregation::sum_per_sample;
  usage_error(fmt::format("--gen-loss must be token, sample, mixed or sum_per_sample, not '{}'", name));
}

std::string to_string(GenLossAggregation aggregation) {
  switch (aggregation) {
    case GenLossAggregation::token: return "token";
    case GenLossAggregation::sample: return "sample";
    case GenLossAggregation::mixed: return "mixed";
    case GenLossAggregation::sum_per_sample: return "sum_per_sample";
  }
  return "?";
}

torch::Tensor aggregate_generative_loss(const torch::Tensor& token_losses, const torch::Tensor& counted, GenLossAggregation aggregation,
                                        int64_t sub_batch) {
  if (token_losses.dim() != 2 || token_losses.sizes() != counted.sizes())
    throw Error(fmt::format("generative loss: losses {} and mask {} must both be [B,T]", c10::str(token_losses.sizes()), c10::str(counted.sizes())));
  const auto mask = counted.to(token_losses.dtype());
  const auto sums = (token_losses * mask).sum(1);  // [B]
  const auto counts = mask.sum(1);                 // [B]
  if (counts.min().item<double>() <= 0) throw Error("generative loss: a sample has no response token to predict");
  const int64_t b = token_losses.size(0);
  switch (aggregation) {
    case GenLossAggregation::token: return sums.sum() / counts.sum();
    case GenLossAggregation::sample: return (sums / counts).mean();
    case GenLossAggregation::sum_per_sample: return sums.sum() / static_cast<double>(b);
    case GenLossAggregation::mixed: {
      if (sub_batch < 1) usage_error(fmt::format("--gen-sub-batch must be at least 1, not {}", sub_batch));
      std::vector<torch::Tensor> parts;
      for (int64_t start = 0; start < b; start += sub_batch) {
        const int64_t n = std::min(sub_batch, b - start);
        parts.push_back(sums.narrow(0, start, n).sum() / counts.narrow(0, start, n).sum());
      }
      return torch::stack(parts).mean();
    }
  }
  return {};
}

TokenLosses next_token_losses(const torch::Tensor& logits, const torch::Tensor& tokens, const torch::Tensor& counted) {
  const int64_t t = tokens.size(1);
  if (t < 2) throw Error("generative loss: rows need at least two tokens");
  const auto predicted = logits.narrow(1, 0, t - 1).to(torch::kFloat32);  // [B,T-1,V]
  const auto targets = tokens.narrow(1, 1, t - 1);                        // [B,T-1]
  const auto losses = F::cross_entropy(predicted.reshape({-1, predicted.size(-1)}), targets.reshape({-1}),
                                       F::CrossEntropyFuncOptions().reduction(torch::kNone))
                          .view(targets.sizes());
  return {losses, counted.narrow(1, 1, t - 1)};
}

}  // namespace garden::train
