#include "garden/eval/backcopy_stats.h"

#include <fmt/core.h>

#include <algorithm>
#include <limits>

#include "garden/core/error.h"

namespace garden::eval {

namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// [B,T] bool: the input token at each position is a trigger.
torch::Tensor trigger_positions(const torch::Tensor& input, const text::BigramBackcopy& task) {
  auto flags = torch::zeros(input.sizes(), torch::kBool);
  for (int32_t t : task.triggers()) flags.logical_or_(input.to(torch::kCPU) == t);
  return flags;
}

}  // namespace

BosShares bos_attention_shares(const torch::Tensor& probabilities, const torch::Tensor& triggers) {
  if (probabilities.dim() != 4 || triggers.dim() != 2 || probabilities.size(0) != triggers.size(0) ||
      probabilities.size(2) != triggers.size(1))
    throw Error(fmt::format("bos_attention_shares: probabilities need [B,H,T,S] and triggers [B,T] with the same B and T "
                            "(got {} and {} dimensions)", probabilities.dim(), triggers.dim()));
  const int64_t t = probabilities.size(2);
  auto on_bos = probabilities.select(-1, 0).narrow(2, 1, t - 1).to(torch::kCPU, torch::kFloat64);  // [B,H,T-1]
  auto at = triggers.narrow(1, 1, t - 1).to(torch::kCPU, torch::kFloat64).unsqueeze(1);       // [B,1,T-1]
  auto other = 1.0 - at;
  const auto mean_over = [&](const torch::Tensor& weight) {
    const auto count = weight.sum();
    return (on_bos * weight).sum(std::vector<int64_t>{0, 2}) / count.clamp_min(1.0);  // [H]; zero when no query of the kind
  };
  return {mean_over(at), mean_over(other)};
}

torch::Tensor first_position_norm_ratio(const torch::Tensor& states) {
  if (states.dim() < 3 || states.size(-2) < 2) throw Error("first_position_norm_ratio: states need [B,...,T,D] with T >= 2");
  const int64_t t = states.size(-2);
  auto norms = states.to(torch::kCPU, torch::kFloat64).norm(2, -1);  // [B,...,T]
  auto first = norms.select(-1, 0).mean(0);
  auto rest = norms.narrow(-1, 1, t - 1).mean(-1).mean(0);
  return first / rest;
}

BackcopyStats backcopy_stats(model::Transformer& model, const std::vector<train::Batch>& batches,
                             const text::BigramBackcopy& task) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  const auto device = model->token_embedding->weight.device();
  const auto layers = static_cast<size_t>(model->config().n_layers);
  std::vector<torch::Tensor> at_triggers(layers), elsewhere(layers), value_ratio(layers), residual_ratio(layers);
  double weight_total = 0, loss_sum = 0, tokens = 0, copies = 0, copies_right = 0;
  for (const auto& batch : batches) {
    model::ForwardOptions options;
    options.return_attentions = options.return_hidden_states = options.return_values = true;
    auto out = model->forward(batch.input.to(device), options);
    const auto triggers = trigger_positions(batch.input, task);
    const double weight = static_cast<double>(batch.input.size(0));
    weight_total += weight;
    // Sums over batches, weighted by their rows.
    const auto add = [weight](torch::Tensor& sum, const torch::Tensor& x) { sum = sum.defined() ? sum + x * weight : x * weight; };
    for (size_t l = 0; l < layers; ++l) {
      const auto shares = bos_attention_shares(out.attentions[l], triggers);
      add(at_triggers[l], shares.at_triggers);
      add(elsewhere[l], shares.elsewhere);
      add(value_ratio[l], first_position_norm_ratio(out.values[l]));
      add(residual_ratio[l], first_position_norm_ratio(out.hidden_states[l + 1]));
    }
    const auto logits = out.logits.to(torch::kCPU, torch::kFloat64);
    const auto target = batch.target.to(torch::kCPU);
    loss_sum += torch::nn::functional::cross_entropy(logits.flatten(0, 1), target.flatten(),
                                                     torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    tokens += static_cast<double>(target.numel());
    const auto right = logits.argmax(-1) == target;
    copies += triggers.sum().item<double>();
    copies_right += (right & triggers).sum().item<double>();
  }
  if (weight_total == 0) throw Error("backcopy_stats: no batches");
  BackcopyStats stats;
  for (size_t l = 0; l < layers; ++l) {
    stats.bos_share_at_triggers.push_back(to_vector(at_triggers[l] / weight_total));
    stats.bos_share_elsewhere.push_back(to_vector(elsewhere[l] / weight_total));
    stats.value_norm_ratio.push_back(to_vector(value_ratio[l] / weight_total));
    stats.residual_norm_ratio.push_back((residual_ratio[l] / weight_total).item<double>());
    for (double s : stats.bos_share_elsewhere.back()) stats.max_bos_share_elsewhere = std::max(stats.max_bos_share_elsewhere, s);
    if (l + 1 < layers) stats.max_residual_norm_ratio = std::max(stats.max_residual_norm_ratio, stats.residual_norm_ratio.back());
  }
  if (layers < 2) stats.max_residual_norm_ratio = std::numeric_limits<double>::quiet_NaN();
  stats.copy_accuracy = copies > 0 ? copies_right / copies : 0.0;
  stats.loss = loss_sum / tokens;
  model->train(was_training);
  return stats;
}

}  // namespace garden::eval
