#include "garden/eval/backcopy_stats.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_helpers.h"

namespace garden::eval {
namespace {

TEST(BosAttentionShares, SplitByTheQueryTokenAsCountedByHand) {
  // One row of 4 positions, 2 heads. Queries 1..3: query 2 holds a trigger.
  auto p = torch::zeros({1, 2, 4, 4}, torch::kFloat64);
  // head 0: queries 1, 2, 3 put 0.9, 0.1, 0.7 on BOS; head 1: 0.2, 0.6, 0.4.
  const double head0[] = {0.9, 0.1, 0.7}, head1[] = {0.2, 0.6, 0.4};
  for (int q = 1; q <= 3; ++q) {
    p[0][0][q][0] = head0[q - 1];
    p[0][0][q][q] = 1 - head0[q - 1];
    p[0][1][q][0] = head1[q - 1];
    p[0][1][q][q] = 1 - head1[q - 1];
  }
  p[0][0][0][0] = p[0][1][0][0] = 1.0;  // query 0 sees only BOS: never counted
  auto triggers = torch::tensor({{false, false, true, false}});
  const auto shares = bos_attention_shares(p, triggers);
  EXPECT_NEAR(shares.at_triggers[0].item<double>(), 0.1, 1e-12);
  EXPECT_NEAR(shares.at_triggers[1].item<double>(), 0.6, 1e-12);
  EXPECT_NEAR(shares.elsewhere[0].item<double>(), (0.9 + 0.7) / 2, 1e-12);
  EXPECT_NEAR(shares.elsewhere[1].item<double>(), (0.2 + 0.4) / 2, 1e-12);
  // Position 0 marked as a trigger changes nothing: query 0 is excluded.
  triggers[0][0] = true;
  EXPECT_NEAR(bos_attention_shares(p, triggers).at_triggers[0].item<double>(), 0.1, 1e-12);
  EXPECT_THROW(bos_attention_shares(p, torch::zeros({1, 3}, torch::kBool)), Error);
}

TEST(FirstPositionNormRatio, PerHeadAndForResidualStates) {
  // Values [B=2,H=1,T=3,D=2]: BOS norms 6 and 2 (mean 4); others 1, 3 and 1, 1 (mean 1.5).
  auto v = torch::zeros({2, 1, 3, 2}, torch::kFloat64);
  v[0][0][0][0] = 6;
  v[0][0][1][1] = 1;
  v[0][0][2][0] = 3;
  v[1][0][0][1] = 2;
  v[1][0][1][0] = 1;
  v[1][0][2][1] = -1;
  const auto ratio = first_position_norm_ratio(v);
  ASSERT_EQ(ratio.numel(), 1);
  EXPECT_NEAR(ratio.item<double>(), 4.0 / 1.5, 1e-12);
  // Residual states [B,T,C]: the same numbers without the head dimension.
  EXPECT_NEAR(first_position_norm_ratio(v.squeeze(1)).item<double>(), 4.0 / 1.5, 1e-12);
  EXPECT_THROW(first_position_norm_ratio(torch::zeros({2, 1, 2})), Error);
}

TEST(BackcopyStats, CopyAccuracyAndLossMatchTheModelsOwnLogits) {
  auto c = testing::tiny_config();
  c.n_heads = 1;
  c.vocab = 4;  // tokens a, b, T and BOS
  torch::manual_seed(3);
  model::Transformer m(c);
  const text::BigramBackcopy task({{0.5, 0.0, 0.5}, {0.0, 0.0, 1.0}, {1.0 / 3, 1.0 / 3, 1.0 / 3}}, {0.5, 0.5, 0.0}, {2});
  const train::BigramBackcopyBatches data(task, 8, 4, 8, 0);
  const auto batches = data.eval_batches();
  const auto stats = backcopy_stats(m, batches, task);
  // The reference: the model's logits read one position at a time.
  double nll = 0, n = 0, copies = 0, right = 0;
  torch::NoGradGuard no_grad;
  m->eval();
  for (const auto& b : batches) {
    const auto logp = torch::log_softmax(m->forward(b.input).logits.to(torch::kFloat64), -1);
    for (int64_t r = 0; r < b.input.size(0); ++r)
      for (int64_t t = 0; t < b.input.size(1); ++t) {
        const int64_t target = b.target[r][t].item<int64_t>();
        nll -= logp[r][t][target].item<double>();
        ++n;
        if (b.input[r][t].item<int64_t>() == 2) {
          ++copies;
          right += logp[r][t].argmax().item<int64_t>() == target ? 1 : 0;
        }
      }
  }
  EXPECT_NEAR(stats.loss, nll / n, 1e-6);
  ASSERT_GT(copies, 0);
  EXPECT_NEAR(stats.copy_accuracy, right / copies, 1e-12);
  ASSERT_EQ(stats.bos_share_elsewhere.size(), 2u);
  ASSERT_EQ(stats.bos_share_elsewhere[0].size(), 1u);
  EXPECT_GT(stats.bos_share_elsewhere[0][0], 0.0);
  EXPECT_LT(stats.bos_share_elsewhere[0][0], 1.0);
  // Two layers: the residual peak reads the first block's output only.
  EXPECT_DOUBLE_EQ(stats.max_residual_norm_ratio, stats.residual_norm_ratio[0]);
}

}  // namespace
}  // namespace garden::eval
