// Norms, MLPs and RoPE: hand-computed values and finite-difference gradients in float64.
#include "garden/model/layers.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace garden::model {
namespace {

TEST(RMSNorm, HandComputedValue) {
  // x = (3, 4): mean of squares 12.5, so x / sqrt(12.5) = (0.8485, 1.1314) with unit weight.
  RMSNorm norm(2, 0.0);
  norm->to(torch::kFloat64);
  auto y = norm(torch::tensor({3.0, 4.0}, torch::kFloat64));
  EXPECT_NEAR(y[0].item<double>(), 3.0 / std::sqrt(12.5), 1e-12);
  EXPECT_NEAR(y[1].item<double>(), 4.0 / std::sqrt(12.5), 1e-12);
}

TEST(Layers, NormGradientsMatchFiniteDifferences) {
  for (auto kind : {Norm::rmsnorm, Norm::layernorm}) {
    auto c = testing::tiny_config();
    c.norm = kind;
    torch::manual_seed(1);
    NormLayer norm(c);
    norm->to(torch::kFloat64);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : norm->parameters()) p.uniform_(0.5, 1.5);  // away from the ones/zeros init
    }
    auto x = torch::randn({2, 4, c.d_model}, torch::kFloat64);
    auto w = torch::randn({2, 4, c.d_model}, torch::kFloat64);
    testing::expect_gradients_match(*norm, [&] { return (norm(x) * w).sum(); });
  }
}

TEST(Layers, MlpGradientsMatchFiniteDifferences) {
  for (auto kind : {Mlp::gelu, Mlp::swiglu}) {
    auto c = testing::tiny_config();
    c.mlp = kind;
    torch::manual_seed(2);
    FeedForward mlp(c);
    mlp->to(torch::kFloat64);
    auto x = torch::randn({2, 4, c.d_model}, torch::kFloat64);
    auto w = torch::randn({2, 4, c.d_model}, torch::kFloat64);
    testing::expect_gradients_match(*mlp, [&] { return (mlp(x) * w).sum(); });
  }
}

TEST(Rope, DotProductDependsOnlyOnRelativePosition) {
  torch::manual_seed(3);
  auto q = torch::randn({1, 1, 1, 8}, torch::kFloat64), k = torch::randn({1, 1, 1, 8}, torch::kFloat64);
  auto dot = [&](int64_t i, int64_t j) {
    return (apply_rope(q, torch::tensor({i}), 10000.0) * apply_rope(k, torch::tensor({j}), 10000.0)).sum().item<double>();
  };
  EXPECT_NEAR(dot(3, 1), dot(12, 10), 1e-10);
  EXPECT_NEAR(dot(0, 0), (q * k).sum().item<double>(), 1e-12);  // position 0 is the identity
  EXPECT_GT(std::abs(dot(3, 1) - dot(1, 3)), 1e-6);             // but direction matters
}

}  // namespace
}  // namespace garden::model
