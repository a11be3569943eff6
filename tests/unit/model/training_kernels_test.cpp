// Attention's fused scale, mask and softmax (model/training_kernels.h, masked_softmax in
// model/attention.h) against libtorch's multiply, masked_fill and softmax in double: values,
// gradients, bfloat16, broadcast masks, the rows softmax leaves undefined, and threads.
#include "garden/model/training_kernels.h"

#include <gtest/gtest.h>

#include <omp.h>

#include <c10/util/BFloat16.h>

#include <cmath>
#include <limits>
#include <vector>

#include "garden/model/attention.h"
#include "garden/model/transformer.h"
#include "garden/model/vector_math.h"
#include "test_helpers.h"

namespace garden::model {
namespace training_kernels_test {

torch::Tensor reference_softmax(const torch::Tensor& scores, const torch::Tensor& allowed, double scale) {
  auto logits = scores.to(torch::kFloat64) * scale;
  if (allowed.defined()) logits = logits.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  return torch::softmax(logits, -1);
}

// Masks of every layout the transformer builds and a per-head one: [B,1,T,S] (padding),
// [1,1,T,S] (causal), [B,H,T,S], and none.
std::vector<torch::Tensor> masks(int64_t b, int64_t h, int64_t t, int64_t s) {
  const auto causal = torch::ones({t, s}, torch::kBool).tril(s - t);
  auto padded = causal.expand({b, 1, t, s}).clone();
  padded.select(0, b - 1).narrow(2, 1, t - 1).select(-1, 0).fill_(false);  // the last row's first key, to all but itself
  auto per_head = torch::rand({b, h, t, s}) < 0.7;
  per_head.select(-1, 0).fill_(true);  // no row fully barred
  return {causal.view({1, 1, t, s}), padded, per_head, torch::Tensor()};
}

TEST(MaskedSoftmax, Float32MatchesTheWrittenOutSoftmaxInDouble) {
  torch::manual_seed(1);
  // 37 and 130 columns leave tails after the sixteen-lane loops; 5 has only a tail.
  for (const int64_t cols : {5, 37, 130}) {
    const int64_t b = 3, h = 2, t = cols;
    const auto scores = torch::randn({b, h, t, cols}) * 4;
    for (const auto& allowed : masks(b, h, t, cols)) {
      const auto out = masked_softmax(scores, allowed, 0.125);
      ASSERT_EQ(out.scalar_type(), torch::kFloat32);
      const auto expected = reference_softmax(scores, allowed, 0.125);
      EXPECT_LT((out.to(torch::kFloat64) - expected).abs().max().item<double>(), 2e-7) << cols;
      if (allowed.defined()) {
        EXPECT_TRUE(out.masked_select(allowed.logical_not().expand_as(out)).eq(0).all().item<bool>());
      }
    }
  }
}

TEST(MaskedSoftmax, GradientMatchesAutogradOfTheWrittenOutSoftmax) {
  torch::manual_seed(2);
  const int64_t b = 2, h = 3, t = 19, s = 19;
  const auto base = torch::randn({b, h, t, s}) * 3;
  const auto weights = torch::randn({b, h, t, s});
  for (const auto& allowed : masks(b, h, t, s)) {
    auto scores = base.clone().requires_grad_(true);
    (masked_softmax(scores, allowed, 0.3) * weights).sum().backward();
    auto scores64 = base.to(torch::kFloat64).requires_grad_(true);
    (reference_softmax(scores64, allowed, 0.3) * weights.to(torch::kFloat64)).sum().backward();
    const double err = (scores.grad().to(torch::kFloat64) - scores64.grad()).abs().max().item<double>();
    EXPECT_LT(err, 1e-6);
    // A transposed (non-contiguous) incoming gradient gives the same.
    auto again = base.clone().requires_grad_(true);
    const auto w_t = weights.transpose(-2, -1).contiguous().transpose(-2, -1);
    (masked_softmax(again, allowed, 0.3) * w_t).sum().backward();
    EXPECT_TRUE(torch::allclose(again.grad(), scores.grad(), 0, 1e-7));
  }
}

TEST(MaskedSoftmax, Bfloat16StaysBfloat16AndMatchesWithinItsRounding) {
  torch::manual_seed(3);
  const int64_t b = 2, h = 2, t = 33, s = 33;
  const auto scores = (torch::randn({b, h, t, s}) * 3).to(torch::kBFloat16).requires_grad_(true);
  const auto allowed = masks(b, h, t, s)[1];
  const auto out = masked_softmax(scores, allowed, 0.25);
  ASSERT_EQ(out.scalar_type(), torch::kBFloat16);
  const auto expected = reference_softmax(scores.detach(), allowed, 0.25);  // from the same bf16 inputs
  // One bf16 rounding of each output: 2^-8 relative.
  EXPECT_LT(((out.to(torch::kFloat64) - expected).abs() / expected.abs().clamp_min(1e-30)).max().item<double>(), 1.0 / 256);
  const auto weights = torch::randn({b, h, t, s});
  (out.to(torch::kFloat32) * weights).sum().backward();
  ASSERT_EQ(scores.grad().scalar_type(), torch::kBFloat16);
  auto scores64 = scores.detach().to(torch::kFloat64).requires_grad_(true);
  (reference_softmax(scores64, allowed, 0.25) * weights.to(torch::kFloat64)).sum().backward();
  const double scale = scores64.grad().abs().max().item<double>();
  EXPECT_LT((scores.grad().to(torch::kFloat64) - scores64.grad()).abs().max().item<double>(), 2e-2 * scale);
}

TEST(MaskedSoftmax, RowsSoftmaxLeavesUndefinedComeOutNanAsLibtorchGives) {
  auto scores = torch::randn({1, 1, 4, 8});
  auto allowed = torch::ones({1, 1, 4, 8}, torch::kBool);
  allowed[0][0][0].fill_(false);                                              // nothing allowed
  scores[0][0][1][3] = std::numeric_limits<float>::quiet_NaN();               // NaN allowed
  scores[0][0][2][5] = std::numeric_limits<float>::quiet_NaN();               // NaN barred:
  allowed[0][0][2][5] = false;                                                // ignored
  const auto out = masked_softmax(scores, allowed, 1.0);
  const auto expected = reference_softmax(scores, allowed, 1.0);
  EXPECT_TRUE(out[0][0][0].isnan().all().item<bool>());
  EXPECT_TRUE(out[0][0][1].isnan().all().item<bool>());
  EXPECT_TRUE(expected[0][0][1].isnan().all().item<bool>());
  EXPECT_FALSE(out[0][0][2].isnan().any().item<bool>());
  EXPECT_TRUE(torch::allclose(out.narrow(2, 2, 2).to(torch::kFloat64), expected.narrow(2, 2, 2), 0, 2e-7));
}

TEST(MaskedSoftmax, SameBitsOnOneAndTwoThreads) {
  torch::manual_seed(4);
  const auto scores = torch::randn({4, 4, 64, 64});
  const auto allowed = masks(4, 4, 64, 64)[0];
  const auto grad = torch::randn({4, 4, 64, 64});
  std::vector<torch::Tensor> outs, grads;
  for (const int threads : {1, 2}) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    auto x = scores.clone().requires_grad_(true);
    const auto out = masked_softmax(x, allowed, 0.2);
    out.backward(grad);
    outs.push_back(out.detach());
    grads.push_back(x.grad());
    omp_set_num_threads(saved);
  }
  EXPECT_TRUE(torch::equal(outs[0], outs[1]));
  EXPECT_TRUE(torch::equal(grads[0], grads[1]));
}

TEST(MaskedSoftmax, OtherDtypesRunLibtorchsSoftmax) {
  const auto scores = torch::randn({1, 2, 3, 3}, torch::kFloat64);
  const auto allowed = masks(1, 2, 3, 3)[0];
  EXPECT_TRUE(torch::allclose(masked_softmax(scores, allowed, 0.5), reference_softmax(scores, allowed, 0.5), 0, 1e-15));
}

TEST(MaskedSoftmax, AttentionProbabilitiesInFloat32MatchDouble) {
  torch::manual_seed(5);
  const auto q = torch::randn({2, 3, 9, 16}), k = torch::randn({2, 3, 9, 16});
  const auto allowed = masks(2, 3, 9, 9)[1];
  const auto expected = reference_softmax(torch::matmul(q.to(torch::kFloat64), k.to(torch::kFloat64).transpose(-2, -1)), allowed, 0.25);
  EXPECT_LT((attention_probabilities(q, k, allowed).to(torch::kFloat64) - expected).abs().max().item<double>(), 1e-6);
}

TEST(VectorMath, Bfloat16NarrowingMatchesC10) {
  torch::manual_seed(6);
  std::vector<float> values = {0.0f, -0.0f, 1.0f, -1.5f, 3.0e38f, std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::denorm_min()};
  // Ties: 1 + 2^-8 lies halfway between two bf16 values (rounds to even, down), 1 + 3 * 2^-8 too (up).
  values.push_back(1.0f + 1.0f / 256);
  values.push_back(1.0f + 3.0f / 256);
  const auto random = torch::randn({4096}) * 1e3;
  for (int64_t i = 0; i < random.numel(); ++i) values.push_back(random[i].item<float>());
  for (const float value : values) {
    EXPECT_EQ(float_to_bf16(value), c10::BFloat16(value).x) << value;
    EXPECT_EQ(bf16_to_float(c10::BFloat16(value).x), static_cast<float>(c10::BFloat16(value))) << value;
  }
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

}  // namespace training_kernels_test
}  // namespace garden::model
