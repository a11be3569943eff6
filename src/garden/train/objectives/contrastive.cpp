#include "garden/train/objectives/contrastive.h"

#include <fmt/core.h>

#include "garden/core/error.h"

namespace garden::train {

namespace {
torch::Tensor unit(const torch::Tensor& x) {
  return torch::nn::functional::normalize(x, torch::nn::functional::NormalizeFuncOptions().dim(-1));
}
}  // namespace

torch::Tensor info_nce(const torch::Tensor& queries, const torch::Tensor& positives, const torch::Tensor& hard_negatives,
                       const ContrastiveOptions& o) {
  if (queries.dim() != 2 || !queries.sizes().equals(positives.sizes()))
    throw Error(fmt::format("InfoNCE: queries and positives must both be [B,C] of one shape ({}-d vs {}-d)", queries.dim(),
                            positives.dim()));
  if (o.temperature <= 0) usage_error(fmt::format("temperature must be > 0, not {}", o.temperature));
  const bool have_hard = hard_negatives.defined() && hard_negatives.numel() > 0;
  if (have_hard && (hard_negatives.dim() != 3 || hard_negatives.size(0) != queries.size(0) ||
                    hard_negatives.size(2) != queries.size(1)))
    throw Error("InfoNCE: hard negatives must be [B,K,C] with the queries' B and C");
  if (!o.in_batch && !have_hard) throw Error("InfoNCE: with in-batch negatives off, hard negatives are required");
  const auto q = o.cosine ? unit(queries) : queries, p = o.cosine ? unit(positives) : positives;
  const int64_t b = q.size(0);
  const auto positive = (q * p).sum(-1, true);  // [B,1]
  std::vector<torch::Tensor> columns = {positive};
  std::vector<torch::Tensor> keep;  // which negative columns count
  if (o.in_batch) {
    const auto all = q.matmul(p.t());  // [B,B], the diagonal is the positive
    columns.push_back(all);
    keep.push_back(~torch::eye(b, torch::TensorOptions().dtype(torch::kBool).device(q.device())));
  }
  if (have_hard) {
    const auto hard = torch::einsum("bc,bkc->bk", {q, o.cosine ? unit(hard_negatives) : hard_negatives});
    columns.push_back(hard);
    keep.push_back(torch::ones_like(hard, torch::kBool));
  }
  auto scores = torch::cat(columns, 1);
  auto mask = torch::cat({torch::ones({b, 1}, torch::TensorOptions().dtype(torch::kBool).device(q.device())), torch::cat(keep, 1)}, 1);
  if (o.filter_margin > 0) {
    const auto negatives = scores.narrow(1, 1, scores.size(1) - 1).detach();
    const auto likely_positive = negatives >= o.filter_margin * positive.detach();
    mask.narrow(1, 1, mask.size(1) - 1).logical_and_(likely_positive.logical_not());
  }
  const auto logits = (scores / o.temperature).masked_fill(mask.logical_not(), -std::numeric_limits<double>::infinity());
  return (torch::logsumexp(logits, 1) - logits.select(1, 0)).mean();
}

torch::Tensor pairwise_nll(const torch::Tensor& queries, const torch::Tensor& positives, const torch::Tensor& negatives) {
  if (queries.dim() != 2 || !queries.sizes().equals(positives.sizes()) || !queries.sizes().equals(negatives.sizes()))
    throw Error("pairwise NLL: queries, positives and negatives must be [B,C] of one shape");
  return torch::nn::functional::softplus((queries * negatives).sum(-1) - (queries * positives).sum(-1));
}

torch::Tensor hardest_in_batch(const torch::Tensor& queries, const torch::Tensor& positives, const torch::Tensor& excluded) {
  const int64_t b = queries.size(0);
  if (queries.dim() != 2 || !queries.sizes().equals(positives.sizes()) || !excluded.sizes().equals(torch::IntArrayRef{b, b}))
    throw Error("hardest in-batch negatives: queries and positives must be [B,C] and the exclusions [B,B]");
  torch::NoGradGuard no_grad;
  const auto skip = excluded.to(torch::kBool).logical_or(torch::eye(b, torch::TensorOptions().dtype(torch::kBool).device(queries.device())));
  const auto scores = queries.matmul(positives.t()).masked_fill(skip, -std::numeric_limits<double>::infinity());
  const auto [best, index] = scores.max(1);
  return torch::where(torch::isinf(best), torch::full_like(index, -1), index);
}

torch::Tensor matryoshka_info_nce(const torch::Tensor& queries, const torch::Tensor& positives,
                                  const torch::Tensor& hard_negatives, const std::vector<int64_t>& widths,
                                  const std::vector<double>& weights, const ContrastiveOptions& o) {
  if (widths.empty()) throw Error("Matryoshka loss: no widths given");
  if (!weights.empty() && weights.size() != widths.size())
    throw Error(fmt::format("Matryoshka loss: {} weights for {} widths", weights.size(), widths.size()));
  const int64_t c = queries.size(-1);
  torch::Tensor total;
  for (size_t i = 0; i < widths.size(); ++i) {
    const int64_t m = widths[i];
    if (m < 1 || m > c || (i > 0 && m <= widths[i - 1]))
      throw Error(fmt::format("Matryoshka widths must increase within 1..{}; got {} after {}", c, m, i ? widths[i - 1] : 0));
    const auto hard = hard_negatives.defined() && hard_negatives.numel() > 0 ? hard_negatives.narrow(-1, 0, m) : torch::Tensor();
    const auto term = info_nce(queries.narrow(-1, 0, m), positives.narrow(-1, 0, m), hard, o) * (weights.empty() ? 1.0 : weights[i]);
    total = total.defined() ? total + term : term;
  }
  return total;
}

}  // namespace garden::train
