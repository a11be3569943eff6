#include "garden/model/pooling.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"

namespace garden::model {
namespace {

torch::Tensor unit_rows(const torch::Tensor& x) { return x / x.norm(2, -1, true); }

TEST(Pooling, HandComputedMeanWeightedFirstAndLast) {
  // One sequence of 4 tokens in 2 dims; the mask drops token 0 (an instruction) and token 3 (padding).
  const auto h = torch::tensor({1.0, 0.0, 3.0, 1.0, 1.0, 3.0, 9.0, 9.0}, torch::kFloat64).view({1, 4, 2});
  const auto m = torch::tensor({0, 1, 1, 0}, torch::kLong).view({1, 4});
  EXPECT_TRUE(torch::allclose(pool(h, m, Pooling::mean), unit_rows(torch::tensor({{2.0, 2.0}}, torch::kFloat64))));
  // Weights 2 and 3 (positions 1 and 2, counted from 1): (2*(3,1) + 3*(1,3)) / 5 = (1.8, 2.2).
  EXPECT_TRUE(torch::allclose(pool(h, m, Pooling::weighted_mean), unit_rows(torch::tensor({{1.8, 2.2}}, torch::kFloat64))));
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
