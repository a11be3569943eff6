#include "garden/eval/attention_stats.h"

#include <gtest/gtest.h>

#include "garden/eval/lm_metrics.h"
#include "garden/text/tokenizer.h"
#include "test_helpers.h"

namespace garden::eval {
namespace {

TEST(FirstTokenAttention, AllMassOnKeyZeroIsOne) {
  auto p = torch::zeros({2, 3, 5, 5});
  p.select(-1, 0).fill_(1.0);
  EXPECT_DOUBLE_EQ(first_token_attention(p), 1.0);
}

TEST(FirstTokenAttention, UniformCausalAttentionGivesTheHarmonicMean) {
  // Query i spreads 1/(i+1) over keys 0..i; excluding query 0, the mean over i = 1..4 is
  // (1/2 + 1/3 + 1/4 + 1/5) / 4.
  const int64_t t = 5;
  auto p = torch::zeros({1, 1, t, t}, torch::kFloat64);
  for (int64_t i = 0; i < t; ++i) p[0][0][i].narrow(0, 0, i + 1).fill_(1.0 / static_cast<double>(i + 1));
  EXPECT_NEAR(first_token_attention(p), (1.0 / 2 + 1.0 / 3 + 1.0 / 4 + 1.0 / 5) / 4, 1e-12);
}

TEST(AttentionStats, ZeroGateWeightsGiveGateMeanOneHalf) {
  auto c = testing::tiny_config(model::AttentionGate::elementwise);
  torch::manual_seed(1);
  model::Transformer m(c);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : m->named_parameters())
      if (item.key().find("gate") != std::string::npos) item.value().zero_();
  }
  train::Batch batch{torch::tensor({{1, 2, 3, 4}}, torch::kLong), {}, {}, {}};
  auto stats = attention_stats(m, {batch});
  EXPECT_NEAR(stats.gate_mean, 0.5, 1e-6);
  EXPECT_EQ(stats.gate_fraction_below_0_1, 0.0);
  ASSERT_EQ(stats.first_token_attention.size(), 2u);
  EXPECT_GT(stats.mean_max_activation, 0.0);
}

TEST(LmMetrics, ZeroModelCostsLogVocabPerToken) {
  // With every weight zero the logits are all zero: each token costs ln V nats exactly,
  // and bits per byte = tokens * ln V / (ln 2 * bytes).
  auto c = testing::tiny_config();
  text::ByteTokenizer tok;
  c.vocab = tok.vocab_size();
  model::Transformer m(c);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : m->parameters()) p.zero_();
  }
  const std::string text = "abcdefghij\nklmnop\n";
  auto metrics = evaluate_text(m, tok, text, 8, 2);
  EXPECT_EQ(metrics.tokens, static_cast<int64_t>(text.size()));  // every byte predicted once
  EXPECT_NEAR(metrics.loss, std::log(259.0), 1e-5);
  EXPECT_NEAR(metrics.bits_per_byte, std::log(259.0) / std::log(2.0), 1e-5);
}

}  // namespace
}  // namespace garden::eval
