#include "garden/eval/attention_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

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

TEST(AttentionStats, MaxActivationAndGateStatisticsMatchAHandCount) {
  // Two batches of different shapes; the reference walks every element of the model's own
  // hidden states and gate scores one by one.
  auto c = testing::tiny_config(model::AttentionGate::headwise);
  torch::manual_seed(6);
  model::Transformer m(c);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : m->named_parameters())
      if (item.key().find("gate") != std::string::npos) item.value().normal_(0, 3);  // scores spread over (0, 1)
  }
  const std::vector<train::Batch> batches = {{torch::tensor({{1, 2, 3, 4}, {5, 6, 7, 8}}, torch::kLong), {}, {}, {}},
                                             {torch::tensor({{9, 3, 1, 4, 1, 5}}, torch::kLong), {}, {}, {}}};
  const auto stats = attention_stats(m, batches);

  std::vector<double> max_activation(static_cast<size_t>(c.n_layers), 0.0);
  std::vector<int64_t> histogram(10, 0);
  double sum = 0, count = 0, low = 0;
  for (const auto& batch : batches) {
    model::ForwardOptions options;
    options.return_hidden_states = true;
    options.return_gates = true;
    const auto out = m->forward(batch.input, options);
    for (int64_t l = 0; l < c.n_layers; ++l) {
      const auto h = out.hidden_states[static_cast<size_t>(l + 1)].flatten().to(torch::kDouble);
      for (int64_t i = 0; i < h.numel(); ++i) max_activation[static_cast<size_t>(l)] = std::max(max_activation[static_cast<size_t>(l)], std::abs(h[i].item<double>()));
    }
    for (const auto& gate : out.gates) {
      const auto g = gate.flatten().to(torch::kDouble);
      for (int64_t i = 0; i < g.numel(); ++i) {
        const double v = g[i].item<double>();
        sum += v;
        count += 1;
        low += v < 0.1;
        ++histogram[static_cast<size_t>(std::min(9, static_cast<int>(v * 10)))];
      }
    }
  }
  for (size_t l = 0; l < max_activation.size(); ++l) EXPECT_NEAR(stats.max_activation[l], max_activation[l], 1e-6) << l;
  EXPECT_NEAR(stats.mean_max_activation, (max_activation[0] + max_activation[1]) / 2, 1e-6);
  EXPECT_NEAR(stats.gate_mean, sum / count, 1e-9);
  EXPECT_NEAR(stats.gate_fraction_below_0_1, low / count, 1e-12);
  EXPECT_GT(low, 0);  // the drawn gate weights put some scores below 0.1 and some above
  EXPECT_LT(low, count);
  EXPECT_EQ(stats.gate_histogram, histogram);
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
