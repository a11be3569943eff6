#include "garden/eval/attention_stats.h"

namespace garden::eval {

double first_token_attention(const torch::Tensor& probabilities) {
  const int64_t t = probabilities.size(2);
  if (t < 2) return 0.0;
  return probabilities.select(-1, 0).narrow(2, 1, t - 1).to(torch::kFloat64).mean().item<double>();  // [B,H,T-1]
}

AttentionStats attention_stats(model::Transformer& model, const std::vector<train::Batch>& batches) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  auto device = model->token_embedding->weight.device();
  const auto layers = static_cast<size_t>(model->config().n_layers);
  AttentionStats stats;
  stats.first_token_attention.assign(layers, 0.0);
  stats.max_activation.assign(layers, 0.0);
  stats.gate_histogram.assign(10, 0);
  double gate_sum = 0, gate_count = 0, gate_low = 0;
  double weight_total = 0;
  for (const auto& batch : batches) {
    model::ForwardOptions options;
    options.return_attentions = true;
    options.return_hidden_states = true;
    options.return_gates = true;
    options.compute_logits = false;
    auto out = model->forward(batch.input.to(device), options);
    const double weight = static_cast<double>(batch.input.size(0));
    weight_total += weight;
    for (size_t l = 0; l < layers; ++l) {
      stats.first_token_attention[l] += weight * first_token_attention(out.attentions[l]);
      stats.max_activation[l] = std::max(stats.max_activation[l], out.hidden_states[l + 1].abs().max().item<double>());
    }
    for (const auto& gate : out.gates) {
      auto g = gate.to(torch::kFloat64).flatten().to(torch::kCPU);
      gate_sum += g.sum().item<double>();
      gate_count += static_cast<double>(g.numel());
      gate_low += (g < 0.1).sum().item<double>();
      auto bins = torch::histc(g, 10, 0.0, 1.0);
      for (int64_t i = 0; i < 10; ++i) stats.gate_histogram[static_cast<size_t>(i)] += static_cast<int64_t>(bins[i].item<double>());
    }
  }
  for (auto& f : stats.first_token_attention) f /= weight_total;
  for (size_t l = 0; l < layers; ++l) {
    stats.mean_first_token_attention += stats.first_token_attention[l] / static_cast<double>(layers);
    stats.mean_max_activation += stats.max_activation[l] / static_cast<double>(layers);
  }
  if (gate_count > 0) {
    stats.gate_mean = gate_sum / gate_count;
    stats.gate_fraction_below_0_1 = gate_low / gate_count;
  }
  model->train(was_training);
  return stats;
}

}  // namespace garden::eval
