#include "garden/train/objectives/mrl.h"

#include <fmt/core.h>

#include <cmath>

#include "garden/core/error.h"

namespace garden::train {

void MrlHeadConfig::validate() const {
  if (widths.empty()) usage_error("Matryoshka head: give at least one width");
  if (classes < 2) usage_error(fmt::format("Matryoshka head: need at least 2 classes, got {}", classes));
  for (size_t i = 0; i < widths.size(); ++i)
    if (widths[i] < 1 || widths[i] > dims || (i > 0 && widths[i] <= widths[i - 1]))
      usage_error(fmt::format("Matryoshka widths must increase within 1..{} (the representation size); got {}", dims, widths[i]));
}

MrlClassifierImpl::MrlClassifierImpl(const MrlHeadConfig& config) : config_(config) {
  config_.validate();
  if (config_.efficient) {
    // nn::Linear's default initialisation (uniform in +-1/sqrt(fan_in)) for the one shared matrix.
    const double bound = 1.0 / std::sqrt(static_cast<double>(config_.dims));
    weight_ = register_parameter("weight", torch::empty({config_.classes, config_.dims}).uniform_(-bound, bound));
    bias_ = register_parameter("bias", torch::empty({config_.classes}).uniform_(-bound, bound));
    return;
  }
  for (int64_t m : config_.widths)
    heads_.push_back(register_module(fmt::format("head_{}", m), torch::nn::Linear(m, config_.classes)));
}

std::vector<torch::Tensor> MrlClassifierImpl::forward(const torch::Tensor& z) {
  if (z.dim() != 2 || z.size(1) != config_.dims)
    throw Error(fmt::format("Matryoshka head: expected [B,{}] features, got {}-d with {} columns", config_.dims, z.dim(),
                            z.dim() == 2 ? z.size(1) : -1));
  std::vector<torch::Tensor> logits;
  for (size_t i = 0; i < config_.widths.size(); ++i) {
    const int64_t m = config_.widths[i];
    const auto prefix = z.narrow(1, 0, m);
    logits.push_back(config_.efficient ? torch::nn::functional::linear(prefix, weight_.narrow(1, 0, m), bias_) : heads_[i](prefix));
  }
  return logits;
}

MrlAggregation parse_mrl_aggregation(const std::string& name) {
  if (name == "sum") return MrlAggregation::sum;
  if (name == "mean") return MrlAggregation::mean;
  usage_error("Matryoshka aggregation must be sum or mean, not '" + name + "'");
}

torch::Tensor mrl_cross_entropy(const std::vector<torch::Tensor>& logits, const torch::Tensor& labels,
                                const std::vector<double>& weights, MrlAggregation aggregation) {
  if (logits.empty()) throw Error("Matryoshka loss: no logits");
  if (!weights.empty() && weights.size() != logits.size())
    throw Error(fmt::format("Matryoshka loss: {} weights for {} widths", weights.size(), logits.size()));
  torch::Tensor total;
  for (size_t i = 0; i < logits.size(); ++i) {
    const auto term = torch::nn::functional::cross_entropy(logits[i], labels) * (weights.empty() ? 1.0 : weights[i]);
    total = total.defined() ? total + term : term;
  }
  return aggregation == MrlAggregation::mean ? total / static_cast<double>(logits.size()) : total;
}

}  // namespace garden::train
