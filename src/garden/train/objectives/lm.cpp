#include "garden/train/objectives/lm.h"

#include <tuple>
#include <utility>

#include "garden/core/error.h"

namespace garden::train {

namespace {

// The summed negative log-likelihood of the counted targets, and their count.
std::pair<torch::Tensor, torch::Tensor> masked_nll(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& loss_mask) {
  const int64_t v = logits.size(-1);
  auto flat_logits = logits.reshape({-1, v}).to(torch::kFloat32);                                 // [B*T,V]
  auto nll = torch::nn::functional::cross_entropy(
      flat_logits, targets.reshape({-1}), torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));  // [B*T]
  torch::Tensor mask = loss_mask.defined() ? loss_mask.reshape({-1}).to(nll.scalar_type()) : torch::ones_like(nll);
  return {(nll * mask).sum(), mask.sum()};
}

}  // namespace

LmLoss lm_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& loss_mask) {
  LmLoss out;
  std::tie(out.sum, out.count) = masked_nll(logits, targets, loss_mask);
  if (out.count.item<double>() <= 0) throw Error("lm loss: the batch has no counted target tokens (loss mask is all zero)");
  out.loss = out.sum / out.count;
  return out;
}

torch::Tensor lm_loss_sum(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& loss_mask) {
  return masked_nll(logits, targets, loss_mask).first;
}

}  // namespace garden::train
