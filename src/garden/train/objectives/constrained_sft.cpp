#include "garden/train/objectives/constrained_sft.h"

#include <fmt/core.h>

#include "garden/core/error.h"
#include "garden/model/model_folder.h"

namespace garden::train {

double BetaSchedule::at(int64_t t) const {
  if (t <= 1) return beta * first_token_bias;
  if (t <= bias_length) return beta * bias;
  return beta;
}

void BetaSchedule::validate() const {
  if (!(beta > 0)) usage_error(fmt::format("--beta {} must be > 0", beta));
  if (!(first_token_bias > 0)) usage_error(fmt::format("--first-token-bias {} must be > 0", first_token_bias));
  if (!(bias > 0)) usage_error(fmt::format("--bias-factor {} must be > 0", bias));
  if (bias_length < 1) usage_error(fmt::format("--bias-length {} must be >= 1", bias_length));
}

Json BetaSchedule::to_json() const {
  return {{"beta", beta}, {"first_token_bias_factor", first_token_bias}, {"bias_factor", bias}, {"bias_length", bias_length}};
}

torch::Tensor response_positions(const torch::Tensor& loss_mask, int64_t rows, int64_t columns) {
  const auto mask = loss_mask.defined() ? loss_mask.to(torch::kFloat) : torch::ones({rows, columns});
  return mask.cumsum(1) * mask;
}

torch::Tensor constrained_weights(const torch::Tensor& delta, const torch::Tensor& betas) {
  return (2 * torch::sigmoid(-betas * delta.detach())).clamp_min(1e-3).detach();
}

torch::Tensor constrained_sft_loss(const torch::Tensor& log_probs, const torch::Tensor& reference_log_probs, const torch::Tensor& betas,
                                   const torch::Tensor& mask) {
  const auto weights = constrained_weights(log_probs - reference_log_probs, betas);
  return -(mask * weights * log_probs).sum() / mask.sum().clamp_min(1);
}

namespace {

// log p(target) at every position [B,T] under `model`.
torch::Tensor target_log_probs(model::Transformer& model, const Batch& batch) {
  model::ForwardOptions fo;
  if (batch.attention_mask.defined()) fo.attention_mask = batch.attention_mask;
  const auto logits = model->forward(batch.input, fo).logits.to(torch::kFloat);
  return torch::log_softmax(logits, -1).gather(2, batch.target.unsqueeze(-1)).squeeze(-1);
}

torch::Tensor batch_loss(model::Transformer& model, model::Transformer& reference, const Batch& batch, const BetaSchedule& schedule) {
  const auto device = model->parameters().front().device();
  Batch b{batch.input.to(device), batch.target.to(device), batch.loss_mask.defined() ? batch.loss_mask.to(device) : batch.loss_mask,
          batch.attention_mask.defined() ? batch.attention_mask.to(device) : batch.attention_mask};
  const auto rows = b.input.size(0), columns = b.input.size(1);
  const auto positions = response_positions(b.loss_mask, rows, columns).to(torch::kCPU);
  auto betas = torch::empty({rows, columns});
  auto p = positions.accessor<float, 2>();
  auto bt = betas.accessor<float, 2>();
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < columns; ++j) bt[i][j] = static_cast<float>(schedule.at(static_cast<int64_t>(p[i][j])));
  torch::Tensor reference_log_probs;
  {
    torch::NoGradGuard no_grad;
    reference_log_probs = target_log_probs(reference, b);
  }
  const auto mask = b.loss_mask.defined() ? b.loss_mask.to(torch::kFloat) : torch::ones({rows, columns}, torch::TensorOptions().device(device));
  return constrained_sft_loss(target_log_probs(model, b), reference_log_probs, betas.to(device), mask);
}

}  // namespace

Objective constrained_sft_objective(model::Transformer& model, model::Transformer& reference, const BatchSource& data,
                                    const BetaSchedule& schedule, const std::string& tokenizer_spec, ProcessGroup* group) {
  schedule.validate();
  reference->eval();
  for (auto& p : reference->parameters()) p.set_requires_grad(false);
  Objective objective;
  objective.micro_step = [&model, &reference, &data, schedule, group](int64_t index) {
    Batch batch = data.train_batch(index);
    if (group != nullptr && group->size() > 1) {
      const auto [begin, end] = rank_share(batch.input.size(0), group->rank(), group->size());
      batch = batch.rows(begin, end);
    }
    return MicroStep{batch_loss(model, reference, batch, schedule), batch.tokens()};
  };
  objective.save = [&model, tokenizer_spec](const std::filesystem::path& dir) { model::save_model(dir, model, tokenizer_spec); };
  objective.evaluate = [&model, &reference, &data, schedule](int64_t, Json& metrics) {
    torch::NoGradGuard no_grad;
    const bool was_training = model->is_training();
    model->eval();
    double sum = 0;
    int64_t batches = 0;
    for (const auto& batch : data.eval_batches()) {
      sum += batch_loss(model, reference, batch, schedule).item<double>();
      ++batches;
    }
    model->train(was_training);
    if (batches > 0) metrics["val_loss"] = sum / static_cast<double>(batches);
  };
  objective.description = Json{{"model", model->config().to_json()},
                               {"objective", {{"kind", "constrained-sft"}, {"schedule", schedule.to_json()}}},
                               {"tokenizer", tokenizer_spec},
                               {"data", data.describe()}};
  return objective;
}

}  // namespace garden::train
