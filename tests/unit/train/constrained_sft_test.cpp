// The token-wise constrained fine-tuning objective (train/objectives/constrained_sft.h): the
// official beta schedule, response positions, the weights' value and clamp, the gradient of the
// detached-weight loss against finite differences of the exact objective, and the objective on
// a model that is its own reference giving plain response cross-entropy.
#include "garden/train/objectives/constrained_sft.h"

#include <gtest/gtest.h>

#include <cmath>

#include "garden/core/error.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

TEST(ConstrainedSft, TheOfficialScheduleAndResponsePositions) {
  const BetaSchedule s;  // beta 0.1, first token x5, tokens 2..5 x20
  EXPECT_DOUBLE_EQ(s.at(1), 0.5);
  for (int64_t t = 2; t <= 5; ++t) EXPECT_DOUBLE_EQ(s.at(t), 2.0);
  EXPECT_DOUBLE_EQ(s.at(6), 0.1);
  EXPECT_DOUBLE_EQ(s.at(100), 0.1);
  BetaSchedule bad;
  bad.beta = 0;
  EXPECT_THROW(bad.validate(), Error);
  const auto mask = torch::tensor({0.F, 0.F, 1.F, 1.F, 1.F, 0.F, 1.F, 1.F, 0.F, 0.F}).reshape({2, 5});
  const auto positions = response_positions(mask, 2, 5);
  EXPECT_TRUE(positions.equal(torch::tensor({0.F, 0.F, 1.F, 2.F, 3.F, 0.F, 1.F, 2.F, 0.F, 0.F}).reshape({2, 5})));
}

TEST(ConstrainedSft, WeightsAreOneAtTheReferenceAndClampedBelow) {
  const auto betas = torch::full({3}, 2.0, torch::kDouble);
  const auto w = constrained_weights(torch::tensor({0.0, 10.0, -1.0}, torch::kDouble), betas);
  EXPECT_DOUBLE_EQ(w[0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(w[1].item<double>(), 1e-3);  // 2 sigmoid(-20) is about 4e-9: clamped
  EXPECT_NEAR(w[2].item<double>(), 2.0 / (1.0 + std::exp(-2.0)), 1e-12);
}

TEST(ConstrainedSft, GradientMatchesFiniteDifferencesOfTheExactObjective) {
  // A policy over 4 tokens at 6 response positions, logits = theta; the reference's logits fixed.
  torch::manual_seed(0);
  auto theta = torch::randn({6, 4}, torch::kDouble).requires_grad_(true);
  const auto reference_logits = torch::randn({6, 4}, torch::kDouble);
  const auto targets = torch::tensor({0, 3, 1, 2, 2, 0}, torch::kLong);
  const BetaSchedule schedule;
  auto betas = torch::empty({6}, torch::kDouble);
  for (int64_t t = 0; t < 6; ++t) betas[t] = schedule.at(t + 1);
  const auto mask = torch::ones({6}, torch::kDouble);
  const auto ref_lp = torch::log_softmax(reference_logits, -1).gather(1, targets.unsqueeze(1)).squeeze(1);
  const auto log_probs = [&](const torch::Tensor& logits) { return torch::log_softmax(logits, -1).gather(1, targets.unsqueeze(1)).squeeze(1); };
  // The exact objective: mean_t -(2 / beta_t) log sigmoid(beta_t Delta_t).
  const auto exact = [&](const torch::Tensor& logits) {
    const auto delta = log_probs(logits) - ref_lp;
    return (-(2.0 / betas) * torch::log_sigmoid(betas * delta)).mean().item<double>();
  };
  constrained_sft_loss(log_probs(theta), ref_lp, betas, mask).backward();
  const auto grad = theta.grad();
  const double h = 1e-6;
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      auto plus = theta.detach().clone(), minus = theta.detach().clone();
      plus[i][j] += h;
      minus[i][j] -= h;
      EXPECT_NEAR(grad[i][j].item<double>(), (exact(plus) - exact(minus)) / (2 * h), 1e-7) << i << "," << j;
    }
}

TEST(ConstrainedSft, AModelThatIsItsOwnReferenceTrainsOnPlainCrossEntropy) {
  torch::manual_seed(1);
  const auto config = testing::tiny_config();  // vocab 11
  model::Transformer model(config), reference(config);
  {
    torch::NoGradGuard no_grad;
    auto source = model->named_parameters();
    for (auto& p : reference->named_parameters()) p.value().copy_(source[p.key()]);
  }
  const auto input = torch::randint(0, 11, {2, 6}, torch::kLong), target = torch::randint(0, 11, {2, 6}, torch::kLong);
  const auto mask = torch::tensor({0.F, 0.F, 1.F, 1.F, 1.F, 1.F, 0.F, 1.F, 1.F, 1.F, 0.F, 0.F}).reshape({2, 6});
  const testing::FixedBatch data(Batch{input, target, mask, {}});
  const auto objective = constrained_sft_objective(model, reference, data, BetaSchedule{}, "bytes", nullptr);
  const double loss = objective.micro_step(0).loss.item<double>();
  const auto logits = model->forward(input).logits;
  const auto ce = torch::nn::functional::cross_entropy(logits.reshape({-1, 11}), target.reshape({-1}),
                                                       torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  EXPECT_NEAR(loss, (ce * mask.reshape({-1})).sum().item<double>() / mask.sum().item<double>(), 1e-5);
  EXPECT_FALSE(reference->parameters().front().requires_grad());  // frozen
}

}  // namespace
}  // namespace garden::train
