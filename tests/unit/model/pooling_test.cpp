#include "garden/model/pooling.h"

#include <gtest/gtest.h>

#include <cmath>

#include "garden/core/error.h"

namespace garden::model {
namespace {

torch::Tensor unit_rows(const torch::Tensor& x) { return x / x.norm(2, -1, true); }

TEST(Pooling, HandComputedMeanWeightedFirstAndLast) {
  // One sequence of 4 tokens in 2 dims; the mask drops token 0 (an instruction) and token 3 (padding).
  const auto h = torch::tensor({1.0, 0.0, 3.0, 1.0, 1.0, 3.0, 9.0, 9.0}, torch::kFloat64).view({1, 4, 2});
  const auto m = torch::tensor({0, 1, 1, 0}, torch::kLong).view({1, 4});
  EXPECT_TRUE(torch::allclose(pool(h, m, Pooling::mean), unit_rows(torch::tensor({{2.0, 2.0}}, torch::kFloat64))));
  // Weights 1 and 2 (the pooled tokens counted from 1; the instruction before them shifts
  // nothing): (1*(3,1) + 2*(1,3)) / 3 = (5/3, 7/3).
  EXPECT_TRUE(torch::allclose(pool(h, m, Pooling::weighted_mean), unit_rows(torch::tensor({{5.0 / 3, 7.0 / 3}}, torch::kFloat64))));
  EXPECT_TRUE(torch::allclose(pool(h, m, Pooling::first_token), unit_rows(torch::tensor({{3.0, 1.0}}, torch::kFloat64))));
  EXPECT_TRUE(torch::allclose(pool(h, m, Pooling::last_token), unit_rows(torch::tensor({{1.0, 3.0}}, torch::kFloat64))));
}

TEST(Pooling, EmptyMaskAndMissingPoolerAreErrors) {
  const auto h = torch::randn({2, 3, 4});
  const auto m = torch::tensor({1, 1, 0, 0, 0, 0}, torch::kLong).view({2, 3});
  EXPECT_THROW(pool(h, m, Pooling::mean), Error);
  EXPECT_THROW(pool(h, m, Pooling::last_token), Error);
  EXPECT_THROW(pool(h, torch::ones({2, 3}), Pooling::latent_attention), Error);
  EXPECT_THROW(parse_pooling("max"), Error);
}

// Padding and instruction tokens never contribute, whatever their states are.
TEST(Pooling, MaskedTokensNeverContributeForAnyPooler) {
  torch::manual_seed(0);
  LatentAttentionConfig config;
  config.latents = 8;
  config.heads = 2;
  config.head_dim = 6;
  LatentAttentionPooler latent(16, config);
  const auto h = torch::randn({3, 7, 16});
  auto m = torch::ones({3, 7}, torch::kLong);
  m.index_put_({0, torch::indexing::Slice(0, 2)}, 0);  // an instruction prefix
  m.index_put_({1, torch::indexing::Slice(5, 7)}, 0);  // padding
  auto changed = h.clone();
  changed.index_put_({0, torch::indexing::Slice(0, 2)}, 100.0);
  changed.index_put_({1, torch::indexing::Slice(5, 7)}, -50.0);
  for (Pooling p : {Pooling::mean, Pooling::weighted_mean, Pooling::first_token, Pooling::last_token, Pooling::latent_attention}) {
    const auto a = pool(h, m, p, latent), b = pool(changed, m, p, latent);
    ASSERT_EQ(a.sizes(), (std::vector<int64_t>{3, 16}));
    EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-6)) << to_string(p);
    EXPECT_TRUE(torch::allclose(a.norm(2, -1), torch::ones({3}), 1e-5, 1e-5)) << to_string(p);
  }
  // ...while an unmasked token does change the latent pooler's output.
  auto counted = h.clone();
  counted.index_put_({2, 3}, 5.0);
  EXPECT_FALSE(torch::allclose(pool(h, m, Pooling::latent_attention, latent)[2],
                               pool(counted, m, Pooling::latent_attention, latent)[2], 1e-4, 1e-5));
}

// NV-Embed's latent-attention layer written out by hand in float64, one token and one head
// at a time: LayerNorm, scaled dot-product attention over the latents, output projection and
// residual, then a GEGLU feed-forward (a * gelu(g), gelu by erf) with its residual.
TEST(Pooling, LatentAttentionTransformMatchesAnExplicitReference) {
  torch::manual_seed(4);
  LatentAttentionConfig config;
  config.latents = 3;
  config.heads = 2;
  config.ff_mult = 2;
  const int64_t d = 4, t = 3;
  LatentAttentionPooler latent(d, config);
  auto p = latent->named_parameters();
  for (auto& item : p) item.value().data().copy_(torch::randn(item.value().sizes()) * 0.5);  // non-trivial norms and biases
  const auto hidden = torch::randn({1, t, d});
  const auto got = latent->transform(hidden).detach().to(torch::kDouble);

  const auto P = [&](const std::string& name) { return p[name].detach().to(torch::kDouble); };
  const auto layer_norm = [](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    const double mean = x.mean().item<double>(), var = (x - mean).pow(2).mean().item<double>();
    return (x - mean) / std::sqrt(var + 1e-5) * w + b;
  };
  const auto gelu = [](const torch::Tensor& x) { return 0.5 * x * (1 + torch::erf(x / std::sqrt(2.0))); };
  const auto L = P("latents");
  std::vector<torch::Tensor> keys, values;
  for (int64_t j = 0; j < config.latents; ++j) {
    const auto kv = P("to_kv.weight").matmul(layer_norm(L[j], P("norm_latents.weight"), P("norm_latents.bias")));
    keys.push_back(kv.slice(0, 0, 2 * d));
    values.push_back(kv.slice(0, 2 * d, 4 * d));
  }
  for (int64_t i = 0; i < t; ++i) {
    const auto x = hidden[0][i].to(torch::kDouble);
    const auto q = P("to_q.weight").matmul(layer_norm(x, P("norm_queries.weight"), P("norm_queries.bias")));
    auto attended = torch::zeros({2 * d}, torch::kDouble);
    for (int64_t h = 0; h < config.heads; ++h) {
      std::vector<double> scores;
      double total = 0;
      for (int64_t j = 0; j < config.latents; ++j) {
        scores.push_back(std::exp(q.slice(0, h * d, (h + 1) * d).dot(keys[j].slice(0, h * d, (h + 1) * d)).item<double>() / std::sqrt(d)));
        total += scores.back();
      }
      for (int64_t j = 0; j < config.latents; ++j)
        attended.slice(0, h * d, (h + 1) * d) += scores[j] / total * values[j].slice(0, h * d, (h + 1) * d);
    }
    const auto h1 = x + P("to_out.weight").matmul(attended);
    const auto ff = P("ff_in.weight").matmul(layer_norm(h1, P("norm_ff.weight"), P("norm_ff.bias"))) + P("ff_in.bias");
    const auto expected = h1 + P("ff_out.weight").matmul(ff.slice(0, 0, 2 * d) * gelu(ff.slice(0, 2 * d, 4 * d))) + P("ff_out.bias");
    EXPECT_TRUE(torch::allclose(got[0][i], expected, 1e-5, 1e-6)) << "token " << i;
  }
}

TEST(Pooling, LatentAttentionHasTheSpecifiedParametersAndGradients) {
  LatentAttentionConfig config;  // r=64, h=4, head_dim = d_model, GEGLU x4
  LatentAttentionPooler latent(32, config);
  EXPECT_EQ(latent->latents.sizes(), (std::vector<int64_t>{64, 32}));
  const auto params = latent->named_parameters();
  EXPECT_EQ(params["to_q.weight"].sizes(), (std::vector<int64_t>{4 * 32, 32}));
  EXPECT_EQ(params["to_kv.weight"].sizes(), (std::vector<int64_t>{2 * 4 * 32, 32}));
  EXPECT_EQ(params["ff_in.weight"].sizes(), (std::vector<int64_t>{2 * 4 * 32, 32}));
  EXPECT_EQ(params["ff_out.weight"].sizes(), (std::vector<int64_t>{32, 4 * 32}));
  EXPECT_FALSE(params.contains("to_q.bias"));
  const auto out = pool(torch::randn({2, 5, 32}), torch::ones({2, 5}), Pooling::latent_attention, latent);
  out.sum().backward();
  EXPECT_TRUE(latent->latents.grad().defined());
  EXPECT_GT(latent->latents.grad().abs().sum().item<double>(), 0);
}

}  // namespace
}  // namespace garden::model
