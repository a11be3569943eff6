// Norms, MLPs and RoPE: hand-computed values and finite-difference gradients in float64.
#include "garden/model/layers.h"

#include <gtest/gtest.h>

#include <cmath>

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

TEST(LayerNorm, HandComputedValue) {
  // x = (1, 2, 3, 6): mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5; with gain g and bias b the
  // output is g (x - 3) / sqrt(3.5 + eps) + b.
  auto c = testing::tiny_config();
  c.norm = Norm::layernorm;
  c.d_model = 4;
  NormLayer norm(c);
  norm->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    norm->named_parameters()["layer.weight"].copy_(torch::tensor({1.0, 2.0, 0.5, -1.0}, torch::kFloat64));
    norm->named_parameters()["layer.bias"].copy_(torch::tensor({0.0, 0.1, 0.2, 0.3}, torch::kFloat64));
  }
  const auto y = norm(torch::tensor({1.0, 2.0, 3.0, 6.0}, torch::kFloat64));
  const double sd = std::sqrt(3.5 + c.norm_eps);
  const double expected[] = {1.0 * -2 / sd + 0.0, 2.0 * -1 / sd + 0.1, 0.5 * 0 / sd + 0.2, -1.0 * 3 / sd + 0.3};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i].item<double>(), expected[i], 1e-12) << i;
}

TEST(Layers, MlpHandComputedValues) {
  // One input and width-2 hidden layers with chosen weights: gelu is x Phi(x) (erf form),
  // silu is x sigmoid(x).
  auto c = testing::tiny_config();
  c.d_model = 2;
  c.d_ff = 2;
  const auto x = torch::tensor({{{1.0, -2.0}}}, torch::kFloat64);  // [1,1,2]
  const auto set = [](FeedForward& mlp, const std::string& name, std::vector<double> values) {
    torch::NoGradGuard no_grad;
    mlp->named_parameters()[name].copy_(torch::tensor(values, torch::kFloat64).reshape({2, 2}));
  };
  const auto gelu = [](double v) { return v * 0.5 * (1 + std::erf(v / std::sqrt(2.0))); };
  const auto silu = [](double v) { return v / (1 + std::exp(-v)); };
  {
    c.mlp = Mlp::gelu;
    FeedForward mlp(c);
    mlp->to(torch::kFloat64);
    set(mlp, "in.weight", {0.5, 0.25, -1.0, 0.0});   // hidden pre-activations: 0.0, -1.0
    set(mlp, "down.weight", {1.0, 2.0, 0.0, -3.0});
    const auto y = mlp(x);
    EXPECT_NEAR(y[0][0][0].item<double>(), gelu(0.0) + 2 * gelu(-1.0), 1e-12);
    EXPECT_NEAR(y[0][0][1].item<double>(), -3 * gelu(-1.0), 1e-12);
  }
  {
    c.mlp = Mlp::swiglu;
    FeedForward mlp(c);
    mlp->to(torch::kFloat64);
    set(mlp, "in.weight", {1.0, 0.0, 0.0, 1.0});  // gates: 1, -2
    set(mlp, "up.weight", {2.0, 1.0, 1.0, 1.0});  // up: 0, -1
    set(mlp, "down.weight", {1.0, 1.0, 1.0, -1.0});
    const auto y = mlp(x);
    EXPECT_NEAR(y[0][0][0].item<double>(), silu(1.0) * 0 + silu(-2.0) * -1, 1e-12);
    EXPECT_NEAR(y[0][0][1].item<double>(), silu(1.0) * 0 - silu(-2.0) * -1, 1e-12);
  }
}

TEST(Rope, HandComputedRotation) {
  // d = 4, base 100: frequencies 1 and 1/10; the pair (x_i, x_{i+2}) turns by position x freq_i.
  const auto x = torch::tensor({1.0, 2.0, 3.0, 4.0}, torch::kFloat64).reshape({1, 1, 1, 4});
  const auto y = apply_rope(x, torch::tensor({3}), 100.0).flatten();
  const double a0 = 3.0, a1 = 0.3;
  EXPECT_NEAR(y[0].item<double>(), 1 * std::cos(a0) - 3 * std::sin(a0), 1e-12);
  EXPECT_NEAR(y[1].item<double>(), 2 * std::cos(a1) - 4 * std::sin(a1), 1e-12);
  EXPECT_NEAR(y[2].item<double>(), 3 * std::cos(a0) + 1 * std::sin(a0), 1e-12);
  EXPECT_NEAR(y[3].item<double>(), 4 * std::cos(a1) + 2 * std::sin(a1), 1e-12);
}

TEST(Rope, TablesOfManyPositionsEqualTheTensorFormula) {
  // The CPU tables are built by loops; the tensor form of the same expressions (what other
  // devices use) agrees to float64 rounding, and a position's row is the same whether it was
  // built alone (a decode step) or among others (a full forward).
  const auto positions = torch::tensor({0, 1, 7, 511, 100000}, torch::kLong);
  RopeAngles all(positions, 10000.0, 16);
  const auto like = torch::zeros({1}, torch::kFloat64);
  const auto [cos, sin] = all.tables(like);
  const auto inv_freq = torch::pow(10000.0, -torch::arange(0, 8, torch::kFloat64) / 8.0);
  const auto angles = positions.to(torch::kFloat64).unsqueeze(1) * inv_freq.unsqueeze(0);
  EXPECT_TRUE(torch::allclose(cos, torch::cat({angles.cos(), angles.cos()}, -1), 0, 1e-12));
  EXPECT_TRUE(torch::allclose(sin, torch::cat({angles.sin(), angles.sin()}, -1), 0, 1e-12));
  for (int64_t i = 0; i < positions.size(0); ++i) {
    RopeAngles one(positions.narrow(0, i, 1), 10000.0, 16);
    EXPECT_TRUE(torch::equal(one.tables(like).first[0], cos[i])) << "position " << positions[i].item<int64_t>();
    EXPECT_TRUE(torch::equal(one.tables(like).second[0], sin[i]));
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
