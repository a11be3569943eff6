// Per-token KL along responses (eval/token_kl.h): the KL of two hand-made distributions, zero
// for a model against itself, and per-position means against a slow per-row loop.
#include "garden/eval/token_kl.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_helpers.h"

namespace garden::eval {
namespace {

TEST(TokenKl, TwoHandMadeDistributions) {
  const auto p = torch::log(torch::tensor({0.5, 0.5}, torch::kDouble)), q = torch::log(torch::tensor({0.25, 0.75}, torch::kDouble));
  EXPECT_NEAR(kl_of_logits(p, q).item<double>(), 0.5 * std::log(2.0) + 0.5 * std::log(0.5 / 0.75), 1e-12);
  EXPECT_NEAR(kl_of_logits(q, q).item<double>(), 0.0, 1e-12);
}

model::Transformer tiny(int64_t seed) {
  torch::manual_seed(seed);
  return model::Transformer(testing::tiny_config());
}

TEST(TokenKl, ZeroAgainstItselfAndAMeanPerResponsePosition) {
  auto a = tiny(1), b = tiny(2);
  const auto input = torch::randint(0, 11, {3, 6}, torch::kLong);
  // Responses of 3, 2 and 4 tokens: position 1 has three examples, 4 only one.
  const auto mask = torch::tensor({0.F, 0.F, 1.F, 1.F, 1.F, 0.F, 0.F, 0.F, 0.F, 1.F, 1.F, 0.F, 0.F, 0.F, 1.F, 1.F, 1.F, 1.F}).reshape({3, 6});
  const testing::FixedBatch data(train::Batch{input, input, mask, {}});
  const auto self = per_token_kl(a, a, data, 5);
  for (int64_t t = 0; t < 4; ++t) EXPECT_NEAR(self.kl[static_cast<size_t>(t)], 0.0, 1e-6);
  EXPECT_EQ(self.examples, (std::vector<int64_t>{3, 3, 2, 1, 0}));
  EXPECT_TRUE(std::isnan(self.kl[4]));
  const auto two = per_token_kl(a, b, data, 4);
  // Slow reference: each row alone, each position by hand.
  std::vector<double> sum(4, 0.0);
  for (int64_t r = 0; r < 3; ++r) {
    torch::NoGradGuard no_grad;
    const auto pa = torch::log_softmax(a->forward(input[r].unsqueeze(0)).logits[0], -1);
    const auto pb = torch::log_softmax(b->forward(input[r].unsqueeze(0)).logits[0], -1);
    int64_t t = 0;
    for (int64_t j = 0; j < 6; ++j) {
      if (mask[r][j].item<float>() == 0) continue;
      sum[static_cast<size_t>(t++)] += (pa[j].exp() * (pa[j] - pb[j])).sum().item<double>();
    }
  }
  const std::vector<double> counts{3, 3, 2, 1};
  for (size_t t = 0; t < 4; ++t) EXPECT_NEAR(two.kl[t], sum[t] / counts[t], 1e-5);
  EXPECT_GT(two.kl[0], 0);
  // The mean over every response token, whatever the positions reported.
  const double all = (sum[0] + sum[1] + sum[2] + sum[3]) / 9;
  EXPECT_EQ(two.tokens, 9);
  EXPECT_NEAR(two.mean, all, 1e-5);
  EXPECT_NEAR(per_token_kl(a, b, data, 2).mean, all, 1e-5);
  EXPECT_NEAR(self.mean, 0.0, 1e-6);
}

}  // namespace
}  // namespace garden::eval
