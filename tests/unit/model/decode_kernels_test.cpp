// The decode step's plain loops (model/decode_kernels.h) against the libtorch arithmetic they
// replace: RMSNormImpl, RopeAngles and the written-out softmax attention in double.
#include "garden/model/decode_kernels.h"

#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
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

TEST(DecodeKernels, OneQueryAttentionEqualsSoftmaxInDouble) {
  torch::manual_seed(3);
  const int64_t positions = 70, dim = 20, stride = 32;  // keys and values sit in wider rows, as in the cache's room
  const auto query = torch::randn({dim});
  const auto keys = torch::randn({positions, stride}) * 2, values = torch::randn({positions, stride});
  std::vector<float> scratch(positions), out(dim);
  one_query_attention(query.data_ptr<float>(), keys.data_ptr<float>(), stride, values.data_ptr<float>(), stride, positions, dim,
                      scratch.data(), out.data());
  const auto k = keys.narrow(1, 0, dim).to(torch::kFloat64), v = values.narrow(1, 0, dim).to(torch::kFloat64);
  const auto weights = torch::softmax(k.matmul(query.to(torch::kFloat64)) / std::sqrt(static_cast<double>(dim)), 0);
  const auto expected = weights.matmul(v);
  for (int64_t i = 0; i < dim; ++i) EXPECT_NEAR(out[static_cast<size_t>(i)], expected[i].item<double>(), 2e-6) << "dim " << i;
  // One position: its value, whatever the score.
  one_query_attention(query.data_ptr<float>(), keys.data_ptr<float>(), stride, values.data_ptr<float>(), stride, 1, dim,
                      scratch.data(), out.data());
  for (int64_t i = 0; i < dim; ++i) EXPECT_FLOAT_EQ(out[static_cast<size_t>(i)], values[0][i].item<float>());
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
    auto scores = torch::empty({rows, heads, positions});
    rows_attention_scores(queries.data_ptr<float>(), keys, rows, heads, group, positions, dim, scores.data_ptr<float>());
    const auto weights = torch::softmax(scores, -1).contiguous();
    auto out = torch::empty({rows, heads, dim});
    rows_weighted_values(weights.data_ptr<float>(), values, rows, heads, group, positions, dim, out.data_ptr<float>());
    omp_set_num_threads(saved);
    return std::make_pair(scores, out);
  };
  const auto [scores, out] = run(1);
  // The reference in double: each query head against its group's key head.
  const auto k = key_room.narrow(2, 0, positions).repeat_interleave(group, 1).to(torch::kFloat64);  // [N,H,S,D]
  const auto v = value_room.narrow(2, 0, positions).repeat_interleave(group, 1).to(torch::kFloat64);
  const auto expected_scores = k.matmul(queries.to(torch::kFloat64).unsqueeze(-1)).squeeze(-1) / std::sqrt(static_cast<double>(dim));
  const auto expected = torch::softmax(expected_scores, -1).unsqueeze(-2).matmul(v).squeeze(-2);  // [N,H,D]
  EXPECT_TRUE(torch::allclose(scores.to(torch::kFloat64), expected_scores, 1e-6, 1e-5))
      << (scores.to(torch::kFloat64) - expected_scores).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(out.to(torch::kFloat64), expected, 1e-6, 2e-6)) << (out.to(torch::kFloat64) - expected).abs().max().item<double>();
  // Each (row, head) pair is computed alone, so splitting them between threads changes nothing.
  const auto [scores_2, out_2] = run(2);
  EXPECT_TRUE(torch::equal(scores, scores_2));
  EXPECT_TRUE(torch::equal(out, out_2));
}

}  // namespace decode_kernels_test
}  // namespace garden::model
