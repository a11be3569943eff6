#include "garden/train/objectives/lm.h"

#include "garden/core/error.h"

namespace garden::train {

LmLoss lm_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& loss_mask) {
  const int64_t v = logits.size(-1);
  auto flat_logits = logits.reshape({-1, v}).to(torch::kFloat32);                                 // [B*T,V]
  auto nll = torch::nn::functional::cross_entropy(
      flat_logits, targets.reshape({-1}), torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));  // [B*T]
  torch::Tensor mask = loss_mask.defined() ? loss_mask.reshape({-1}).to(nll.scalar_type()) : torch::ones_like(nll);
  LmLoss out;
  out.sum = (nll * mask).sum();
  out.count = mask.sum();
  if (out.count.item<double>() <= 0) throw Error("lm loss: the batch has no counted target tokens (loss mask is all zero)");
  out.loss = out.sum / out.count;
  return out;
}

}  // namespace garden::train
