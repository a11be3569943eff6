// The decode step's plain loops (model/decode_kernels.h) against the libtorch arithmetic they
// replace: RMSNormImpl, RopeAngles and the written-out softmax attention in double.
#include "garden/model/decode_kernels.h"

#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <limits>
#include <vector>

#include "garden/model/layers.h"
#include "test_helpers.h"

namespace garden::model {
namespace decode_kernels_test {

TEST(DecodeKernels, RmsNormRowsEqualsTheModule) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  RMSNorm module(48, 1e-5);
  module->weight.uniform_(0.5, 1.5);
  const auto x = torch::randn({5, 48}) * 3;
  auto out = torch::empty_like(x);
  rms_norm_rows(x.data_ptr<float>(), module->weight.data_ptr<float>(), 5, 48, 1e-5f, out.data_ptr<float>());
  EXPECT_TRUE(torch::allclose(out, module(x), 1e-6, 1e-6)) << (out - module(x)).abs().max().item<float>();
  // In place, and a row of zeros stays zero (eps keeps the root finite).
  auto zeros = torch::zeros({1, 48});
  rms_norm_rows(zeros.data_ptr<float>(), module->weight.data_ptr<float>(), 1, 48, 1e-5f, zeros.data_ptr<float>());
  EXPECT_TRUE(torch::equal(zeros, torch::zeros({1, 48})));
}

TEST(DecodeKernels, RopeInPlaceEqualsRopeAngles) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(2);
  for (const int64_t position : {0, 1, 37, 500}) {
    RopeAngles angles(torch::full({1}, position, torch::kLong), 10000.0, 16);
    const auto x = torch::randn({3, 4, 1, 16});  // [N,H,T,D]
    const auto expected = angles.apply(x);
    auto rotated = x.clone();
    const auto [cos, sin] = angles.tables(x);
    rope_in_place(rotated.data_ptr<float>(), cos.data_ptr<float>(), sin.data_ptr<float>(), 12, 16);
    EXPECT_TRUE(torch::allclose(rotated, expected, 1e-6, 1e-7)) << "position " << position;
  }
}

TEST(DecodeKernels, SwigluGeluAndResidualAddEqualLibtorch) {
  torch::manual_seed(4);
  // Rows of gate | up, with gates far into exp's range on both sides and at 0.
  auto gate_up = torch::randn({3, 2 * 37}) * 4;
  gate_up[0][0] = -100;
  gate_up[0][1] = 100;
  gate_up[0][2] = 0;
  gate_up[1][3] = -90;
  const auto gate = gate_up.narrow(1, 0, 37), up = gate_up.narrow(1, 37, 37);
  auto out = torch::empty({3, 37});
  swiglu_rows(gate_up.data_ptr<float>(), 3, 37, out.data_ptr<float>());
  const auto expected = torch::silu(gate) * up;
  EXPECT_TRUE(torch::allclose(out, expected, 1e-6, 1e-6)) << (out - expected).abs().max().item<float>();
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());

  auto x = torch::randn({101}) * 3;
  x[0] = -30;
  auto activated = x.clone();
  gelu_in_place(activated.data_ptr<float>(), 101);
  EXPECT_TRUE(torch::allclose(activated, torch::gelu(x), 1e-6, 1e-6)) << (activated - torch::gelu(x)).abs().max().item<float>();

  const auto y = torch::randn({101});
  auto sum = x.clone();
  add_in_place(sum.data_ptr<float>(), y.data_ptr<float>(), 101);
  EXPECT_TRUE(torch::equal(sum, x + y));
}

TEST(DecodeKernels, OneQueryAttentionEqualsSoftmaxInDouble) {
  torch::manual_seed(3);
  // Head widths below, at and past the 32 dimensions the weighted sum takes at a time, an odd
  // number of positions; keys and values sit in wider rows, as in the cache's room.
  for (const int64_t dim : {20, 32, 72}) {
    const int64_t positions = 71, stride = dim + 12;
    SCOPED_TRACE("dim " + std::to_string(dim));
    const auto query = torch::randn({dim});
    const auto keys = torch::randn({positions, stride}) * 2, values = torch::randn({positions, stride});
    std::vector<float> scratch(static_cast<size_t>(padded_positions(positions))), out(dim);
    EXPECT_EQ(scratch.size(), 80u);
    one_query_attention(query.data_ptr<float>(), keys.data_ptr<float>(), stride, values.data_ptr<float>(), stride, positions, dim,
                        scratch.data(), out.data());
    const auto k = keys.narrow(1, 0, dim).to(torch::kFloat64), v = values.narrow(1, 0, dim).to(torch::kFloat64);
    const auto weights = torch::softmax(k.matmul(query.to(torch::kFloat64)) / std::sqrt(static_cast<double>(dim)), 0);
    const auto expected = weights.matmul(v);
    for (int64_t i = 0; i < dim; ++i) EXPECT_NEAR(out[static_cast<size_t>(i)], expected[i].item<double>(), 2e-6) << "element " << i;
    // One position: its value, whatever the score.
    one_query_attention(query.data_ptr<float>(), keys.data_ptr<float>(), stride, values.data_ptr<float>(), stride, 1, dim,
                        scratch.data(), out.data());
    for (int64_t i = 0; i < dim; ++i) EXPECT_FLOAT_EQ(out[static_cast<size_t>(i)], values[0][i].item<float>());
  }
}

TEST(DecodeKernels, AttentionScoresEqualScaledDotProductsInDouble) {
  // Head widths that fill whole 16-float registers (sixteen positions at a time, then the
  // rest one by one) and widths that do not; position counts below, at and past 16.
  torch::manual_seed(6);
  for (const int64_t dim : {16, 32, 64, 20}) {
    for (const int64_t positions : {5, 16, 37}) {
      SCOPED_TRACE("dim " + std::to_string(dim) + ", positions " + std::to_string(positions));
      const int64_t stride = dim + 8;
      const auto query = torch::randn({dim});
      const auto keys = torch::randn({positions, stride});
      std::vector<float> scores(static_cast<size_t>(positions));
      attention_scores(query.data_ptr<float>(), keys.data_ptr<float>(), stride, positions, dim, scores.data());
      const auto expected = keys.narrow(1, 0, dim).to(torch::kFloat64).matmul(query.to(torch::kFloat64)) / std::sqrt(static_cast<double>(dim));
      for (int64_t s = 0; s < positions; ++s) EXPECT_NEAR(scores[static_cast<size_t>(s)], expected[s].item<double>(), 1e-5) << "position " << s;
    }
  }
}

TEST(DecodeKernels, RowsAttentionEqualsSoftmaxInDoubleOnAnyNumberOfThreads) {
  // 3 rows, 4 query heads over 2 key/value heads (grouped), a cache with room beyond its 9
  // positions, as KVCache holds it: [N, Hkv, capacity, D].
  torch::manual_seed(4);
  const int64_t rows = 3, heads = 4, kv_heads = 2, group = heads / kv_heads, positions = 9, capacity = 16, dim = 8;
  const auto queries = torch::randn({rows, heads, dim});
  const auto key_room = torch::randn({rows, kv_heads, capacity, dim}) * 2, value_room = torch::randn({rows, kv_heads, capacity, dim});
  const CachedRows keys{key_room.data_ptr<float>(), key_room.stride(0), key_room.stride(1), key_room.stride(2)};
  const CachedRows values{value_room.data_ptr<float>(), value_room.stride(0), value_room.stride(1), value_room.stride(2)};
  const auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    auto out = torch::empty({rows, heads, dim});
    rows_attention(queries.data_ptr<float>(), keys, values, rows, heads, group, positions, dim, out.data_ptr<float>());
    omp_set_num_threads(saved);
    return out;
  };
  const auto out = run(1);
  // The reference in double: each query head against its group's key head.
  const auto k = key_room.narrow(2, 0, positions).repeat_interleave(group, 1).to(torch::kFloat64);  // [N,H,S,D]
  const auto v = value_room.narrow(2, 0, positions).repeat_interleave(group, 1).to(torch::kFloat64);
  const auto scores = k.matmul(queries.to(torch::kFloat64).unsqueeze(-1)).squeeze(-1) / std::sqrt(static_cast<double>(dim));
  const auto expected = torch::softmax(scores, -1).unsqueeze(-2).matmul(v).squeeze(-2);  // [N,H,D]
  EXPECT_TRUE(torch::allclose(out.to(torch::kFloat64), expected, 1e-6, 2e-6)) << (out.to(torch::kFloat64) - expected).abs().max().item<double>();
  // Each (row, head) pair is computed alone, so splitting them between threads changes nothing.
  EXPECT_TRUE(torch::equal(out, run(2)));
}

TEST(DecodeKernels, ShiftedExpIsWithinTwoUlpOfExpAndZeroBelowItsRange) {
  // Floats from -87.3 to 88.3 in steps of about 1e-3, against exp in
  // double: relative error within 2 ulp (2^-22); below -87.3 and at -inf exactly 0.
  std::vector<float> x;
  for (double v = -87.3; v <= 88.3; v += 0.000997) x.push_back(static_cast<float>(v));
  std::vector<float> out(x.size());
  const double total = shifted_exp(x.data(), static_cast<int64_t>(x.size()), 0.0f, out.data());
  double worst = 0, sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double exact = std::exp(static_cast<double>(x[i]));
    worst = std::max(worst, std::abs(out[i] - exact) / exact);
    sum += out[i];
  }
  EXPECT_LT(worst, std::ldexp(1.0, -22)) << "worst relative error " << worst;
  EXPECT_DOUBLE_EQ(total, sum);
  const float shift = 3.5f;
  std::vector<float> tail{shift - 87.25f, shift - 87.35f, -std::numeric_limits<float>::infinity(), shift};
  shifted_exp(tail.data(), 4, shift, tail.data());  // in place
  EXPECT_NEAR(tail[0], std::exp(-87.25), std::exp(-87.25) * 1e-5);
  EXPECT_EQ(tail[1], 0.0f);
  EXPECT_EQ(tail[2], 0.0f);
  EXPECT_EQ(tail[3], 1.0f);
}

TEST(DecodeKernels, SoftmaxSampleRowsDrawsAsInverseCdfOfTheSoftmaxInDouble) {
  // 40 rows of 1000 logits with -inf runs (top-k / top-p filtered tokens), uniforms spread
  // over [0, 1): every draw is the token searchsorted(right) finds in the cumulative softmax
  // in double, except where the target falls within float rounding of a boundary; -inf
  // tokens are never drawn, and a row of NaN or all -inf is -1.
  torch::manual_seed(5);
  const int64_t n = 40, vocab = 1000;
  auto logits = torch::randn({n, vocab}) * 3;
  logits.narrow(1, 100, 150).fill_(-std::numeric_limits<float>::infinity());
  logits.narrow(1, vocab - 70, 70).fill_(-std::numeric_limits<float>::infinity());
  std::vector<double> u(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) u[static_cast<size_t>(i)] = i + 1 == n ? std::nextafter(1.0, 0.0) : (i + 0.5) / n;
  for (const int threads : {1, 2}) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<int64_t> got(static_cast<size_t>(n));
    softmax_sample_rows(logits.data_ptr<float>(), n, vocab, u.data(), got.data());
    omp_set_num_threads(saved);
    const auto cdf = torch::softmax(logits.to(torch::kFloat64), 1).cumsum(1);
    for (int64_t i = 0; i < n; ++i) {
      const auto token = got[static_cast<size_t>(i)];
      const int64_t want = std::min(torch::searchsorted(cdf[i], torch::tensor({u[static_cast<size_t>(i)]}, torch::kFloat64), false, true)[0].item<int64_t>(),
                                    vocab - 71);
      ASSERT_GE(token, 0) << "row " << i;
      EXPECT_NE(logits[i][token].item<float>(), -std::numeric_limits<float>::infinity()) << "row " << i;
      if (token != want) {  // only a target within rounding of the boundary between the two tokens
        const double boundary = cdf[i][std::min(token, want)].item<double>();
        EXPECT_NEAR(u[static_cast<size_t>(i)], boundary, 1e-6) << "row " << i << " drew " << token << ", expected " << want;
      }
    }
  }
  // Rows of 40: a NaN among the first 32 (read sixteen at a time) or in the last 8, all -inf,
  // and forty equal logits (u = 0.5 draws token 20).
  auto bad = torch::zeros({4, 40});
  bad[0][4] = std::numeric_limits<float>::quiet_NaN();
  bad[1].fill_(-std::numeric_limits<float>::infinity());
  bad[3][37] = std::numeric_limits<float>::quiet_NaN();
  std::vector<double> half{0.5, 0.5, 0.5, 0.5};
  std::vector<int64_t> got(4);
  softmax_sample_rows(bad.data_ptr<float>(), 4, 40, half.data(), got.data());
  EXPECT_EQ(got, (std::vector<int64_t>{-1, -1, 20, -1}));
}

}  // namespace decode_kernels_test
}  // namespace garden::model
