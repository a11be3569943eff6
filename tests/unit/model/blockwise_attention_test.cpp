// blockwise_attention against the written-out softmax(QK^T/sqrt(D) + mask) V: outputs and
// gradients for every mask the model builds, with tiles that do not divide the lengths;
// finite differences; bf16 under autocast; the attention module's choice of path.
#include "garden/model/blockwise_attention.h"

#include <gtest/gtest.h>

#include <cmath>

#include "garden/core/error.h"
#include "garden/model/attention.h"
#include "garden/model/autocast.h"
#include "garden/model/transformer.h"
#include "test_helpers.h"

namespace garden::model::blockwise_attention_tests {

struct MaskCase {
  std::string name;
  bool masked;  // false: no mask tensor (every query sees every key)
  MaskMode mode;
  int64_t queries, keys;
  bool left_padding;
};

struct Inputs {
  torch::Tensor q, k, v, allowed, grad_out;
};

Inputs inputs_for(const MaskCase& m, torch::Dtype dtype = torch::kFloat64) {
  torch::manual_seed(3);
  const int64_t b = 2, h = 3, d = 4;
  Inputs in;
  // Drawn in float64 whatever the dtype, so that every dtype sees the same numbers.
  in.q = torch::randn({b, h, m.queries, d}, torch::kFloat64).to(dtype).requires_grad_(true);
  in.k = torch::randn({b, h, m.keys, d}, torch::kFloat64).to(dtype).requires_grad_(true);
  in.v = torch::randn({b, h, m.keys, d}, torch::kFloat64).to(dtype).requires_grad_(true);
  in.grad_out = torch::randn({b, h, m.queries, d}, torch::kFloat64).to(dtype);
  if (m.masked) {
    auto key_real = torch::ones({b, m.keys}, torch::kBool);
    if (m.left_padding) key_real[1].narrow(0, 0, 3).fill_(false);
    in.allowed = build_attention_mask(m.mode, m.queries, m.keys, m.keys - m.queries, key_real, torch::tensor({4, 7}));
  }
  return in;
}

struct Gradients {
  torch::Tensor out, dq, dk, dv;
};

Gradients run(const Inputs& in, bool blockwise, AttentionTiles tiles = {}) {
  for (auto x : {in.q, in.k, in.v}) x.mutable_grad() = torch::Tensor();
  const double scale = 1.0 / std::sqrt(static_cast<double>(in.q.size(3)));
  auto out = blockwise ? blockwise_attention(in.q, in.k, in.v, in.allowed, scale, tiles)
                       : torch::matmul(attention_probabilities(in.q, in.k, in.allowed), in.v);
  out.backward(in.grad_out.to(out.scalar_type()));
  return {out.detach(), in.q.grad().clone(), in.k.grad().clone(), in.v.grad().clone()};
}

double relative_gap(const torch::Tensor& expected, const torch::Tensor& got) {
  return ((expected.to(torch::kFloat64) - got.to(torch::kFloat64)).abs().max() / expected.to(torch::kFloat64).abs().max()).item<double>();
}

const std::vector<MaskCase> kMasks = {
    {"none", false, MaskMode::bidirectional, 10, 10, false},
    {"causal", true, MaskMode::causal, 10, 10, false},
    {"causal_after_cache", true, MaskMode::causal, 5, 13, false},
    {"causal_left_padding", true, MaskMode::causal, 10, 10, true},
    {"bidirectional_padding", true, MaskMode::bidirectional, 10, 10, true},
    {"prefix", true, MaskMode::prefix, 10, 10, false},
    {"causal_prefix", true, MaskMode::causal_prefix, 10, 10, true},
};

const std::vector<AttentionTiles> kTiles = {{1, 1}, {4, 3}, {3, 16}, {128, 128}};

class MasksAndTiles : public ::testing::TestWithParam<std::tuple<MaskCase, AttentionTiles>> {};

TEST_P(MasksAndTiles, OutputAndGradientsEqualTheWrittenOutSoftmax) {
  const auto& [mask, tiles] = GetParam();
  const auto in = inputs_for(mask);
  const auto expected = run(in, false), got = run(in, true, tiles);
  EXPECT_LT(relative_gap(expected.out, got.out), 1e-12);
  EXPECT_LT(relative_gap(expected.dq, got.dq), 1e-12);
  EXPECT_LT(relative_gap(expected.dk, got.dk), 1e-12);
  EXPECT_LT(relative_gap(expected.dv, got.dv), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(BlockwiseAttention, MasksAndTiles, ::testing::Combine(::testing::ValuesIn(kMasks), ::testing::ValuesIn(kTiles)),
                         [](const auto& info) {
                           const auto& tiles = std::get<1>(info.param);
                           return std::get<0>(info.param).name + "_" + std::to_string(tiles.queries) + "x" + std::to_string(tiles.keys);
                         });

TEST(BlockwiseAttention, GradientsMatchFiniteDifferences) {
  const MaskCase causal{"causal", true, MaskMode::causal, 5, 5, true};
  auto in = inputs_for(causal);
  const AttentionTiles tiles{2, 2};
  const auto analytic = run(in, true, tiles);
  torch::NoGradGuard no_grad;
  const auto loss = [&] {
    return (blockwise_attention(in.q, in.k, in.v, in.allowed, 0.5, tiles) * in.grad_out).sum().item<double>();
  };
  const double eps = 1e-6;
  for (const auto& [input, grad] : {std::pair{in.q, analytic.dq}, {in.k, analytic.dk}, {in.v, analytic.dv}}) {
    auto flat = input.view({-1});
    const auto g = grad.reshape({-1});
    for (int64_t i = 0; i < flat.numel(); i += 7) {
      const double x = flat[i].item<double>();
      flat[i].fill_(x + eps);
      const double up = loss();
      flat[i].fill_(x - eps);
      const double down = loss();
      flat[i].fill_(x);
      EXPECT_NEAR((up - down) / (2 * eps), g[i].item<double>(), 1e-7) << "element " << i;
    }
  }
}

TEST(BlockwiseAttention, Bf16UnderAutocastStaysCloseToFloat64) {
  const MaskCase causal{"causal", true, MaskMode::causal, 40, 40, true};
  const auto reference = run(inputs_for(causal), false);
  const auto in = inputs_for(causal, torch::kFloat32);
  Gradients got;
  {
    AutocastScope autocast(true, torch::kCPU);
    const auto out = blockwise_attention(in.q, in.k, in.v, in.allowed, 0.5, {16, 16});
    EXPECT_EQ(out.scalar_type(), torch::kFloat32);
    out.backward(in.grad_out);
    got = {out.detach(), in.q.grad(), in.k.grad(), in.v.grad()};
  }
  EXPECT_EQ(got.dq.scalar_type(), torch::kFloat32);
  EXPECT_LT(relative_gap(reference.out, got.out), 2e-2);
  EXPECT_LT(relative_gap(reference.dq, got.dq), 2e-2);
  EXPECT_LT(relative_gap(reference.dk, got.dk), 2e-2);
  EXPECT_LT(relative_gap(reference.dv, got.dv), 2e-2);
  // A float32 run gets much closer: the gap above is bf16's rounding, not the tiling.
  EXPECT_LT(relative_gap(reference.out, run(in, true, {16, 16}).out), 1e-5);
}

TEST(BlockwiseAttention, RejectsQueriesWithNoKeyAndMismatchedShapes) {
  const MaskCase causal{"causal", true, MaskMode::causal, 6, 6, false};
  auto in = inputs_for(causal);
  auto none_for_the_first = in.allowed.clone();
  none_for_the_first.select(2, 0).fill_(false);
  EXPECT_THROW(blockwise_attention(in.q, in.k, in.v, none_for_the_first, 0.5, {2, 2}), Error);
  EXPECT_THROW(blockwise_attention(in.q, in.k.narrow(2, 0, 5), in.v, {}, 0.5), Error);
  EXPECT_THROW(blockwise_attention(in.q, in.k, in.v, in.allowed.narrow(3, 0, 5), 0.5), Error);
  EXPECT_THROW(blockwise_attention(in.q, in.k, in.v, in.allowed, 0.5, {0, 4}), Error);
}

TEST(BlockwiseAttention, ChosenForSkippableMasksFromTheThresholdAndForLargeMatrices) {
  const auto qk = [](int64_t b, int64_t t) { return torch::empty({b, 2, t, 4}); };
  const auto causal = [](int64_t t) { return build_attention_mask(MaskMode::causal, t, t, 0, torch::ones({1, t}, torch::kBool), {}); };
  const auto padded = [](int64_t t) {
    auto real = torch::ones({2, t}, torch::kBool);
    real[1][0] = false;
    return build_attention_mask(MaskMode::bidirectional, t, t, 0, real, {});
  };
  EXPECT_TRUE(uses_blockwise_attention(qk(1, 512), qk(1, 512), causal(512)));
  EXPECT_FALSE(uses_blockwise_attention(qk(1, 511), qk(1, 511), causal(511)));
  EXPECT_FALSE(uses_blockwise_attention(qk(2, 512), qk(2, 512), padded(512)));  // no tile to skip
  EXPECT_FALSE(uses_blockwise_attention(qk(1, 512), qk(1, 512), {}));
  EXPECT_FALSE(uses_blockwise_attention(qk(1, 1), qk(1, 512), {}));
  // B x H x T x S floats past 1 GiB: 64 x 2 x 2048 x 1024 = 2^28.
  EXPECT_TRUE(uses_blockwise_attention(qk(64, 2048), qk(64, 1024), {}));
  EXPECT_FALSE(uses_blockwise_attention(qk(64, 2047), qk(64, 1024), {}));
}

TEST(BlockwiseAttention, ModuleTakesItForLongCausalSequencesUnlessProbabilitiesAreTapped) {
  auto c = testing::tiny_config();
  c.pos = Positions::rope;
  c.max_seq = 600;
  const int64_t t = 520;
  torch::manual_seed(5);
  Attention a(c);
  a->to(torch::kFloat64);
  auto x = torch::randn({2, t, c.d_model}, torch::kFloat64).requires_grad_(true);
  const auto allowed = build_attention_mask(MaskMode::causal, t, t, 0, torch::ones({2, t}, torch::kBool), {});
  const auto positions = torch::arange(t);
  const auto grad_out = torch::randn({2, t, c.d_model}, torch::kFloat64);
  const auto pass = [&](bool tap) {
    a->zero_grad();
    x.mutable_grad() = torch::Tensor();
    AttentionTaps taps;
    taps.probabilities = tap;
    auto out = a->forward(x, allowed, positions, nullptr, 0, taps);
    EXPECT_EQ(out.probabilities.defined(), tap);
    out.output.backward(grad_out);
    return std::pair{out.output.detach(), x.grad().clone()};
  };
  const auto [explicit_out, explicit_grad] = pass(true);
  const auto [blockwise_out, blockwise_grad] = pass(false);
  EXPECT_LT(relative_gap(explicit_out, blockwise_out), 1e-12);
  EXPECT_LT(relative_gap(explicit_grad, blockwise_grad), 1e-12);
  // The online softmax rounds differently: an exact match would mean one path ran twice.
  EXPECT_GT(relative_gap(explicit_out, blockwise_out), 0.0);
}

}  // namespace garden::model::blockwise_attention_tests
