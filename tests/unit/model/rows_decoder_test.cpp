// RowsDecoder, the rows' step on buffers of its own: its logits at every step equal a full
// forward over each row, for each architecture it runs; the cache it leaves equals the one
// decode_step_rows leaves; and it declines what it does not run.
#include "garden/model/rows_decoder.h"

#include <gtest/gtest.h>

#include "garden/model/decode_step.h"
#include "test_helpers.h"

namespace garden::model {
namespace {

struct RowsCase {
  Positions pos;
  Mlp mlp;
  int64_t kv_heads;
  bool tied;
};

class RowsDecoderTest : public ::testing::TestWithParam<RowsCase> {};

Transformer model_of(const RowsCase& p, uint64_t seed, int64_t max_seq = 16) {
  auto c = testing::tiny_config();
  c.n_heads = 4;
  c.d_model = 16;
  c.n_kv_heads = p.kv_heads;
  c.pos = p.pos;
  c.mlp = p.mlp;
  c.tie_embeddings = p.tied;
  c.max_seq = max_seq;
  torch::manual_seed(seed);
  Transformer model(c);
  model->eval();
  return model;
}

// A cache of `rows`' first `prompt` tokens, filled by a forward.
KVCache prefilled(Transformer& model, const torch::Tensor& rows, int64_t prompt) {
  KVCache cache;
  ForwardOptions prefill;
  prefill.cache = &cache;
  model->forward(rows.narrow(1, 0, prompt), prefill);
  return cache;
}

std::vector<int64_t> column(const torch::Tensor& rows, int64_t i) {
  const auto c = rows.select(1, i).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST_P(RowsDecoderTest, LogitsEqualTheFullForwardOfEachRowAndTheCacheEqualsDecodeStepRows) {
  auto model = model_of(GetParam(), 3);
  torch::NoGradGuard no_grad;
  torch::manual_seed(9);
  const auto rows = torch::randint(0, model->config().vocab, {20, 9}, torch::kLong);
  const auto full = model->forward(rows).logits;  // [20,T,V]
  auto cache = prefilled(model, rows, 3);
  auto reference = prefilled(model, rows, 3);
  const auto decoder = RowsDecoder::start(model, cache);
  ASSERT_NE(decoder, nullptr);
  for (int64_t i = 3; i < rows.size(1); ++i) {
    const auto logits = decoder->step(column(rows, i));  // [20,V]
    EXPECT_EQ(decoder->length(), i + 1);
    const auto expected = full.select(1, i);
    EXPECT_TRUE(torch::allclose(logits, expected, 1e-5, 1e-5)) << "step " << i << ": max difference "
                                                               << (logits - expected).abs().max().item<double>();
    decode_step_rows(model, torch::tensor(column(rows, i), torch::kLong), reference);
  }
  decoder->finish();
  ASSERT_EQ(cache.length(), rows.size(1));
  EXPECT_TRUE(torch::equal(cache.key_real, reference.key_real));
  for (size_t l = 0; l < cache.keys.size(); ++l) {
    EXPECT_TRUE(torch::allclose(cache.keys[l], reference.keys[l], 1e-5, 1e-6)) << "layer " << l;
    EXPECT_TRUE(torch::allclose(cache.values[l], reference.values[l], 1e-5, 1e-6)) << "layer " << l;
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, RowsDecoderTest,
                         ::testing::Values(RowsCase{Positions::rope, Mlp::swiglu, 0, true}, RowsCase{Positions::rope, Mlp::swiglu, 2, false},
                                           RowsCase{Positions::learned, Mlp::swiglu, 1, false},
                                           RowsCase{Positions::rope, Mlp::gelu, 0, true}));

TEST(RowsDecoderRoom, GrowsPastItsFirstRoomAndKeepsEveryPosition) {
  // 80 steps after a 2-token prompt: past the first reserve of 64 positions.
  auto model = model_of({Positions::rope, Mlp::swiglu, 2, true}, 4, 96);
  torch::NoGradGuard no_grad;
  torch::manual_seed(10);
  const auto rows = torch::randint(0, model->config().vocab, {3, 82}, torch::kLong);
  const auto full = model->forward(rows).logits;
  auto cache = prefilled(model, rows, 2);
  const auto decoder = RowsDecoder::start(model, cache);
  ASSERT_NE(decoder, nullptr);
  for (int64_t i = 2; i < rows.size(1); ++i) {
    const auto logits = decoder->step(column(rows, i));
    ASSERT_TRUE(torch::allclose(logits, full.select(1, i), 1e-4, 1e-5)) << "step " << i;
  }
  decoder->finish();
  EXPECT_EQ(cache.length(), 82);
  EXPECT_EQ(cache.keys[0].size(2), 82);
}

TEST(RowsDecoderLimits, DeclinesWhatItDoesNotRunAndRefusesBadSteps) {
  torch::NoGradGuard no_grad;
  const auto rows = torch::tensor({{1, 2, 3}, {4, 5, 6}}, torch::kLong);
  auto layer_norm_config = testing::tiny_config();
  layer_norm_config.norm = Norm::layernorm;
  Transformer layer_norm(layer_norm_config);
  layer_norm->eval();
  auto cache = prefilled(layer_norm, rows, 2);
  EXPECT_EQ(RowsDecoder::start(layer_norm, cache), nullptr);

  auto model = model_of({Positions::learned, Mlp::swiglu, 0, true}, 5, 4);
  auto one_row = prefilled(model, rows.narrow(0, 0, 1), 2);
  EXPECT_EQ(RowsDecoder::start(model, one_row), nullptr);  // decode_step's case
  KVCache padded;
  ForwardOptions prefill;
  prefill.cache = &padded;
  prefill.attention_mask = torch::tensor({{1, 1}, {0, 1}}, torch::kLong);
  model->forward(rows.narrow(1, 0, 2), prefill);
  EXPECT_EQ(RowsDecoder::start(model, padded), nullptr);
  auto two_rows = prefilled(model, rows, 2);
  {
    torch::AutoGradMode grad(true);
    EXPECT_EQ(RowsDecoder::start(model, two_rows), nullptr);
  }

  const auto decoder = RowsDecoder::start(model, two_rows);
  ASSERT_NE(decoder, nullptr);
  testing::expect_error_containing([&] { decoder->step({1}); }, "1 tokens for a cache of 2 rows");
  testing::expect_error_containing([&] { decoder->step({1, 11}); }, "token 11 is outside the vocabulary of 11");
  decoder->step({1, 2});
  decoder->step({3, 4});  // position 3, the last of max_seq 4
  testing::expect_error_containing([&] { decoder->step({1, 2}); }, "exceeds max_seq=4");
}

}  // namespace
}  // namespace garden::model
