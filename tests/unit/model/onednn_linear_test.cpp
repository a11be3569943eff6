// apply_linear (oneDNN's products) against float64 products of the same operands: outputs
// and both gradients in float32, and while training under bf16 autocast, where the operands
// are rounded to bf16 but the gradients must keep their float32 accumulation; where it hands
// over to libtorch; odd sizes, batched and strided inputs, one input without gradient.
#include "garden/model/onednn_linear.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <thread>
#include <vector>

#include "garden/model/autocast.h"

namespace garden::model::onednn_linear_tests {

double relative_gap(const torch::Tensor& expected, const torch::Tensor& got) {
  const auto e = expected.to(torch::kFloat64), g = got.to(torch::kFloat64);
  return ((e - g).abs().max() / e.abs().max()).item<double>();
}

struct Case {
  torch::Tensor x, weight, grad_out;
};

// Sizes that no vector width divides; x [B,T,K], weight [N,K].
Case make_case(int64_t b = 3, int64_t t = 7, int64_t k = 33, int64_t n = 20) {
  torch::manual_seed(11);
  return {torch::randn({b, t, k}).requires_grad_(true), torch::randn({n, k}).requires_grad_(true), torch::randn({b, t, n})};
}

// The float64 products of the operands as given (already rounded where the caller rounded them).
struct Exact {
  torch::Tensor out, dx, dw;
};
Exact exact(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& grad_out) {
  const auto x64 = x.detach().to(torch::kFloat64), w64 = weight.detach().to(torch::kFloat64);
  const auto g64 = grad_out.to(torch::kFloat64);
  const auto rows = x64.reshape({-1, x64.size(-1)}), g = g64.reshape({-1, g64.size(-1)});
  return {torch::matmul(x64, w64.t()), torch::matmul(g64, w64), g.t().mm(rows)};
}

TEST(OnednnLinear, Float32OutputAndGradientsEqualFloat64Products) {
  auto c = make_case();
  ASSERT_TRUE(onednn_linear_applies(c.x, c.weight));
  const auto out = apply_linear(c.x, c.weight);
  out.backward(c.grad_out);
  const auto want = exact(c.x, c.weight, c.grad_out);
  EXPECT_EQ(out.scalar_type(), torch::kFloat);
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({3, 7, 20}));
  EXPECT_LT(relative_gap(want.out, out), 2e-6);
  EXPECT_LT(relative_gap(want.dx, c.x.grad()), 2e-6);
  EXPECT_LT(relative_gap(want.dw, c.weight.grad()), 2e-6);
  // Another row count through the same primitive (built for sizes given at run time).
  const auto other_rows = torch::randn({2, 9, 33});
  EXPECT_LT(relative_gap(exact(other_rows, c.weight, torch::zeros({2, 9, 20})).out, apply_linear(other_rows, c.weight)), 2e-6);
}

TEST(DecodeProducts, PackedWeightsGiveFloat64ProductsAndFollowAWeightChangedInPlace) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(12);
  auto weight = torch::randn({20, 33});
  const auto other = torch::randn({20, 33});
  const auto rows = torch::randn({64, 33}), batched = torch::randn({3, 7, 33}), few = torch::randn({5, 33});
  const auto zeros = [](const torch::Tensor& x) { return torch::zeros({x.size(0), 20}); };
  const DecodeProducts packed;
  for (int round = 0; round < 2; ++round) {  // the second reads the packed copy
    EXPECT_LT(relative_gap(exact(rows, weight, zeros(rows)).out, apply_linear(rows, weight)), 2e-6);
    EXPECT_LT(relative_gap(exact(rows, other, zeros(rows)).out, apply_linear(rows, other)), 2e-6);
  }
  EXPECT_LT(relative_gap(exact(batched, weight, torch::zeros({3, 7, 20})).out, apply_linear(batched, weight)), 2e-6);
  EXPECT_LT(relative_gap(exact(few, weight, zeros(few)).out, apply_linear(few, weight)), 2e-6);  // libtorch's
  weight.mul_(-2).add_(1);  // a training step between two decodes: packed again
  EXPECT_LT(relative_gap(exact(rows, weight, zeros(rows)).out, apply_linear(rows, weight)), 2e-6);
  {
    const DecodeProducts inner;  // its own packs, the outer's back after it
    EXPECT_LT(relative_gap(exact(rows, other, zeros(rows)).out, apply_linear(rows, other)), 2e-6);
  }
  EXPECT_LT(relative_gap(exact(rows, weight, zeros(rows)).out, apply_linear(rows, weight)), 2e-6);
}

TEST(DecodeProducts, TrainingInsideTheScopeKeepsItsGradients) {
  auto c = make_case(4, 8, 33, 20);  // 32 rows
  const DecodeProducts packed;
  const auto out = apply_linear(c.x, c.weight);
  out.backward(c.grad_out);
  const auto want = exact(c.x, c.weight, c.grad_out);
  EXPECT_LT(relative_gap(want.out, out), 2e-6);
  EXPECT_LT(relative_gap(want.dx, c.x.grad()), 2e-6);
  EXPECT_LT(relative_gap(want.dw, c.weight.grad()), 2e-6);
}

// An encoding server's workers: two threads running the same primitive at once.
TEST(OnednnLinear, TwoThreadsShareAPrimitive) {
  torch::manual_seed(5);
  const auto weight = torch::randn({48, 40});
  std::vector<torch::Tensor> inputs = {torch::randn({300, 40}), torch::randn({300, 40})};
  std::vector<double> worst(2, 0.0);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < 2; ++i)
    threads.emplace_back([&, i] {
      torch::NoGradGuard no_grad;
      for (int round = 0; round < 20; ++round)
        worst[i] = std::max(worst[i], relative_gap(exact(inputs[i], weight, torch::zeros({300, 48})).out, apply_linear(inputs[i], weight)));
    });
  for (auto& thread : threads) thread.join();
  EXPECT_LT(worst[0], 2e-6);
  EXPECT_LT(worst[1], 2e-6);
}

TEST(OnednnLinear, StridedInputAndAnInputWithoutGradient) {
  auto c = make_case(4, 5, 16, 9);
  const auto strided = c.x.detach().transpose(0, 1);  // [5,4,16], not contiguous
  ASSERT_FALSE(strided.is_contiguous());
  const auto out = apply_linear(strided, c.weight);
  const auto grad_out = torch::randn({5, 4, 9});
  out.backward(grad_out);
  const auto want = exact(strided, c.weight, grad_out);
  EXPECT_LT(relative_gap(want.out, out), 2e-6);
  EXPECT_LT(relative_gap(want.dw, c.weight.grad()), 2e-6);
  EXPECT_FALSE(strided.grad().defined());
}

TEST(OnednnLinear, FewRowsAndOtherDtypesGoToLibtorch) {
  torch::manual_seed(2);
  const auto weight = torch::randn({6, 8});
  const auto one_row = torch::randn({1, 8});
  EXPECT_FALSE(onednn_linear_applies(one_row, weight));
  EXPECT_TRUE(torch::equal(apply_linear(one_row, weight), torch::nn::functional::linear(one_row, weight)));
  const auto doubles = torch::randn({64, 8}, torch::kFloat64);
  EXPECT_FALSE(onednn_linear_applies(doubles, weight.to(torch::kFloat64)));
  EXPECT_TRUE(torch::equal(apply_linear(doubles, weight.to(torch::kFloat64)),
                           torch::nn::functional::linear(doubles, weight.to(torch::kFloat64))));
  EXPECT_TRUE(onednn_linear_applies(torch::randn({64, 8}), weight));
  // An input whose width is not the weight's: libtorch's error, not a product read past the end.
  const auto too_wide = torch::randn({64, 9});
  EXPECT_FALSE(onednn_linear_applies(too_wide, weight));
  EXPECT_THROW(apply_linear(too_wide, weight), c10::Error);
}

TEST(OnednnLinear, Bf16AutocastRoundsOperandsButKeepsFloat32Gradients) {
  auto c = make_case(2, 40, 72, 48);
  const AutocastScope autocast(true, torch::kCPU);
  if (!onednn_linear_applies(c.x, c.weight)) GTEST_SKIP() << "this processor has no bf16 instructions";
  const auto out = apply_linear(c.x, c.weight);
  EXPECT_EQ(out.scalar_type(), torch::kBFloat16);  // as autocast's linear
  const auto g = torch::randn({2, 40, 48}).to(torch::kBFloat16);
  out.backward(g);
  EXPECT_EQ(c.x.grad().scalar_type(), torch::kFloat);
  EXPECT_EQ(c.weight.grad().scalar_type(), torch::kFloat);
  // The exact products of the bf16-rounded operands: the output differs from them by its own
  // bf16 rounding; the gradients only by float32 accumulation, far below bf16's 2^-8 (which
  // a gradient rounded to bf16 and cast back, as autocast's, would show).
  const auto want = exact(c.x.to(torch::kBFloat16), c.weight.to(torch::kBFloat16), g);
  EXPECT_LT(relative_gap(want.out, out), 8e-3);
  EXPECT_LT(relative_gap(want.dx, c.x.grad()), 1e-5);
  EXPECT_LT(relative_gap(want.dw, c.weight.grad()), 1e-5);
  // And the output is autocast's linear's, up to that rounding.
  EXPECT_LT(relative_gap(torch::nn::functional::linear(c.x, c.weight), out), 8e-3);
}

TEST(OnednnLinear, InferenceUnderBf16AutocastIsAutocastsLinear) {
  auto c = make_case(2, 40, 72, 48);
  const AutocastScope autocast(true, torch::kCPU);
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(onednn_linear_applies(c.x, c.weight));
  EXPECT_TRUE(torch::equal(apply_linear(c.x, c.weight), torch::nn::functional::linear(c.x, c.weight)));
}

// Queries, keys and values of one input, the last two narrower (grouped-query attention).
struct Stacked {
  torch::Tensor x;
  std::vector<torch::Tensor> weights, grads;
};
Stacked make_stacked() {
  torch::manual_seed(12);
  Stacked s{torch::randn({3, 7, 33}).requires_grad_(true), {}, {}};
  for (const int64_t n : {24, 8, 8}) {
    s.weights.push_back(torch::randn({n, 33}).requires_grad_(true));
    s.grads.push_back(torch::randn({3, 7, n}));
  }
  return s;
}

TEST(OnednnLinear, StackedWeightsGiveEachProductAndEveryGradient) {
  auto s = make_stacked();
  const auto outs = apply_linears(s.x, s.weights);
  ASSERT_EQ(outs.size(), 3u);
  torch::autograd::backward(outs, s.grads);
  // The input's gradient is the sum over the three products.
  torch::Tensor dx;
  for (size_t i = 0; i < 3; ++i) {
    const auto want = exact(s.x, s.weights[i], s.grads[i]);
    EXPECT_EQ(outs[i].sizes(), torch::IntArrayRef({3, 7, s.weights[i].size(0)}));
    EXPECT_LT(relative_gap(want.out, outs[i]), 2e-6) << i;
    EXPECT_LT(relative_gap(want.dw, s.weights[i].grad()), 2e-6) << i;
    dx = dx.defined() ? dx + want.dx : want.dx;
  }
  EXPECT_LT(relative_gap(dx, s.x.grad()), 2e-6);
}

TEST(OnednnLinear, StackedWeightsWithAnOutputUnused) {
  auto s = make_stacked();
  const auto outs = apply_linears(s.x, s.weights);
  outs[0].backward(s.grads[0]);  // the keys and values get no gradient: theirs are zeros
  EXPECT_LT(relative_gap(exact(s.x, s.weights[0], s.grads[0]).dx, s.x.grad()), 2e-6);
  EXPECT_TRUE(torch::equal(s.weights[1].grad(), torch::zeros_like(s.weights[1])));
}

TEST(OnednnLinear, StackedWeightsUnderBf16AutocastKeepFloat32Gradients) {
  auto s = make_stacked();
  const AutocastScope autocast(true, torch::kCPU);
  if (!onednn_linear_applies(s.x, s.weights[0])) GTEST_SKIP() << "this processor has no bf16 instructions";
  const auto outs = apply_linears(s.x, s.weights);
  std::vector<torch::Tensor> grads;
  for (const auto& g : s.grads) grads.push_back(g.to(torch::kBFloat16));
  torch::autograd::backward(outs, grads);
  torch::Tensor dx;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(outs[i].scalar_type(), torch::kBFloat16);
    const auto want = exact(s.x.to(torch::kBFloat16), s.weights[i].to(torch::kBFloat16), grads[i]);
    EXPECT_LT(relative_gap(want.out, outs[i]), 8e-3) << i;
    EXPECT_EQ(s.weights[i].grad().scalar_type(), torch::kFloat);
    EXPECT_LT(relative_gap(want.dw, s.weights[i].grad()), 1e-5) << i;
    dx = dx.defined() ? dx + want.dx : want.dx;
  }
  EXPECT_LT(relative_gap(dx, s.x.grad()), 1e-5);
}

TEST(OnednnLinear, StackedWeightsOutsideTrainingAreOneProductEach) {
  auto s = make_stacked();
  torch::NoGradGuard no_grad;
  const auto outs = apply_linears(s.x, s.weights);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::equal(outs[i], apply_linear(s.x, s.weights[i])));
  // Weights of different input widths cannot be stacked and are refused by libtorch's linear.
  EXPECT_THROW(apply_linears(s.x, {s.weights[0], torch::randn({4, 5})}), c10::Error);
}

TEST(DecodeProducts, StackedWeightsAreOnePackedProductWithEachOutputItsOwn) {
  auto s = make_stacked();  // 21 rows: enough for oneDNN
  torch::NoGradGuard no_grad;
  const DecodeProducts packed;
  for (int round = 0; round < 2; ++round) {  // packed, then read from the pack
    const auto outs = apply_linears(s.x, s.weights);
    ASSERT_EQ(outs.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(outs[i].sizes(), torch::IntArrayRef({3, 7, s.weights[i].size(0)}));
      EXPECT_LT(relative_gap(exact(s.x, s.weights[i], s.grads[i]).out, outs[i]), 2e-6) << "output " << i;
    }
  }
  s.weights[1].mul_(3);  // one of the three changed in place: the stack is packed again
  EXPECT_LT(relative_gap(exact(s.x, s.weights[1], s.grads[1]).out, apply_linears(s.x, s.weights)[1]), 2e-6);
  // The same weights in another order are another stack.
  const auto swapped = apply_linears(s.x, {s.weights[2], s.weights[0]});
  EXPECT_LT(relative_gap(exact(s.x, s.weights[2], s.grads[2]).out, swapped[0]), 2e-6);
  EXPECT_LT(relative_gap(exact(s.x, s.weights[0], s.grads[0]).out, swapped[1]), 2e-6);
}

TEST(OnednnBatchedMatmul, AttentionsStridedProductsAndGradientsEqualFloat64) {
  // The attention's layouts: queries and keys [B,H,T,D] lying in memory as [B,T,H,D], keys
  // transposed as a view, then probabilities [B,H,T,S] against values laid out like the keys;
  // odd sizes, and an operand broadcast along a batch dimension (stride 0).
  torch::manual_seed(12);
  const int64_t b = 2, h = 3, t = 11, d = 9;
  auto q = torch::randn({b, t, h, d}).transpose(1, 2).requires_grad_(true);  // a leaf with transposed strides
  auto k = torch::randn({b, t, h, d}).transpose(1, 2).requires_grad_(true);
  auto v = torch::randn({b, t, h, d}).transpose(1, 2).requires_grad_(true);
  const auto scores = batched_matmul(q, k.transpose(-2, -1));  // [B,H,T,T]
  const auto probabilities = torch::softmax(scores, -1);
  const auto out = batched_matmul(probabilities, v);  // [B,H,T,D]
  const auto g = torch::randn({b, h, t, d});
  out.backward(g);
  // The same in float64 by libtorch.
  auto q64 = q.detach().to(torch::kFloat64).requires_grad_(true), k64 = k.detach().to(torch::kFloat64).requires_grad_(true);
  auto v64 = v.detach().to(torch::kFloat64).requires_grad_(true);
  const auto scores64 = torch::matmul(q64, k64.transpose(-2, -1));
  const auto out64 = torch::matmul(torch::softmax(scores64, -1), v64);
  out64.backward(g.to(torch::kFloat64));
  EXPECT_LT(relative_gap(scores64, scores), 2e-6);
  EXPECT_LT(relative_gap(out64, out), 2e-6);
  EXPECT_LT(relative_gap(q64.grad(), q.grad()), 1e-5);
  EXPECT_LT(relative_gap(k64.grad(), k.grad()), 1e-5);
  EXPECT_LT(relative_gap(v64.grad(), v.grad()), 1e-5);
  const auto broadcast = torch::randn({1, h, d, t}).expand({b, h, d, t});
  const auto with_broadcast = batched_matmul(q, broadcast);
  EXPECT_LT(relative_gap(torch::matmul(q.detach().to(torch::kFloat64), broadcast.to(torch::kFloat64)), with_broadcast), 2e-6);
}

TEST(OnednnBatchedMatmul, OutsideFloat32TrainingItIsLibtorchsMatmul) {
  torch::manual_seed(13);
  const auto a = torch::randn({2, 3, 5, 7}), c = torch::randn({2, 3, 7, 4});
  EXPECT_TRUE(torch::equal(batched_matmul(a, c), torch::matmul(a, c)));  // nothing requires grad
  const auto trained = a.clone().requires_grad_(true);
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal(batched_matmul(trained, c), torch::matmul(trained, c)));
  }
  {
    const AutocastScope autocast(true, torch::kCPU);
    const auto under_autocast = batched_matmul(trained, c);
    EXPECT_EQ(under_autocast.scalar_type(), torch::kBFloat16);  // autocast's matmul
    EXPECT_TRUE(torch::equal(under_autocast, torch::matmul(trained, c)));
  }
  // Mismatched sizes reach libtorch's own error.
  EXPECT_THROW(batched_matmul(trained, torch::randn({2, 3, 6, 4})), c10::Error);
}

}  // namespace garden::model::onednn_linear_tests

namespace garden::model::onednn_linear_tests {

TEST(PackedProduct, StackedWeightsOnTheCallersBuffersGiveFloat64Products) {
  // Row counts from one up, widths no vector width divides, two weights stacked; each run
  // reads the buffers it is given, the weights as they were at construction.
  torch::manual_seed(13);
  auto first = torch::randn({20, 33});
  const auto second = torch::randn({7, 33});
  for (const int64_t rows : {1, 5, 32}) {
    SCOPED_TRACE("rows " + std::to_string(rows));
    const PackedProduct product(rows, {first, second});
    ASSERT_TRUE(product.valid());
    EXPECT_EQ(product.width(), 27);
    const auto expected_weight = torch::cat({first, second}, 0);
    for (int round = 0; round < 2; ++round) {
      const auto x = torch::randn({rows, 33});
      auto out = torch::full({rows, 27}, std::numeric_limits<float>::quiet_NaN());
      product.run(x.data_ptr<float>(), out.data_ptr<float>());
      EXPECT_LT(relative_gap(exact(x, expected_weight, torch::zeros({rows, 27})).out, out), 2e-6);
    }
  }
  const PackedProduct packed(4, {first});
  first.mul_(-1);  // not seen: packed once
  const auto x = torch::randn({4, 33});
  auto out = torch::empty({4, 20});
  packed.run(x.data_ptr<float>(), out.data_ptr<float>());
  EXPECT_LT(relative_gap(exact(x, -first, torch::zeros({4, 20})).out, out), 2e-6);
}

TEST(PackedProduct, OnlyFloat32MatricesOfOneWidth) {
  EXPECT_FALSE(PackedProduct(4, {torch::randn({3, 8}).to(torch::kBFloat16)}).valid());
  EXPECT_FALSE(PackedProduct(4, {torch::randn({3, 8}), torch::randn({3, 9})}).valid());
  EXPECT_FALSE(PackedProduct(4, {torch::randn({8})}).valid());
  EXPECT_FALSE(PackedProduct(4, {}).valid());
  EXPECT_FALSE(PackedProduct(0, {torch::randn({3, 8})}).valid());
}

}  // namespace garden::model::onednn_linear_tests
