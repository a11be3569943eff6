// decode_step and decode_step_rows, the lean decode paths, against the full forward: the logits
// of every step equal those of a forward over the whole sequence, for each architecture they run.
#include "garden/model/decode_step.h"

#include <gtest/gtest.h>

#include "garden/model/onednn_linear.h"
#include "test_helpers.h"

namespace garden::model {
namespace {

struct StepCase {
  Norm norm;
  Positions pos;
  Mlp mlp;
  int64_t kv_heads;
  bool tied;
};

class DecodeStep : public ::testing::TestWithParam<StepCase> {};

// A tiny model of the case's architecture, in eval mode.
Transformer model_of(const StepCase& p, uint64_t seed) {
  auto c = testing::tiny_config();
  c.n_heads = 4;
  c.n_kv_heads = p.kv_heads;
  c.norm = p.norm;
  c.pos = p.pos;
  c.mlp = p.mlp;
  c.tie_embeddings = p.tied;
  torch::manual_seed(seed);
  Transformer model(c);
  model->eval();
  return model;
}

TEST_P(DecodeStep, LogitsEqualTheFullForwardAtEveryStep) {
  auto model = model_of(GetParam(), 4);
  torch::NoGradGuard no_grad;
  const std::vector<int64_t> tokens{1, 5, 3, 9, 2, 7, 7, 4};
  auto full = model->forward(torch::tensor(tokens, torch::kLong).view({1, -1})).logits[0];  // [T,V]
  KVCache cache;
  ForwardOptions prefill;
  prefill.cache = &cache;
  model->forward(torch::tensor({tokens[0], tokens[1]}, torch::kLong).view({1, -1}), prefill);
  for (size_t i = 2; i < tokens.size(); ++i) {
    auto logits = decode_step(model, tokens[i], cache);
    EXPECT_EQ(cache.length(), static_cast<int64_t>(i) + 1);
    EXPECT_TRUE(torch::allclose(logits, full[static_cast<int64_t>(i)], 1e-5, 1e-6))
        << "step " << i << ": max difference " << (logits - full[static_cast<int64_t>(i)]).abs().max().item<double>();
  }
}

TEST_P(DecodeStep, RowsEqualTheFullForwardOfEachRow) {
  // Three sequences decoded together after a two-token prefill: row r's logits at every step
  // equal a full forward over row r alone.
  auto model = model_of(GetParam(), 5);
  torch::NoGradGuard no_grad;
  const auto rows = torch::tensor({{1, 5, 3, 9, 2, 7}, {4, 4, 8, 1, 6, 2}, {7, 2, 2, 5, 3, 9}}, torch::kLong);
  const auto full = model->forward(rows).logits;  // [3,T,V]
  KVCache cache;
  ForwardOptions prefill;
  prefill.cache = &cache;
  model->forward(rows.narrow(1, 0, 2), prefill);
  for (int64_t i = 2; i < rows.size(1); ++i) {
    const auto logits = decode_step_rows(model, rows.select(1, i).contiguous(), cache);  // [3,V]
    EXPECT_EQ(cache.length(), i + 1);
    const auto expected = full.select(1, i);
    EXPECT_TRUE(torch::allclose(logits, expected, 1e-5, 1e-6)) << "step " << i << ": max difference "
                                                               << (logits - expected).abs().max().item<double>();
  }
}

TEST_P(DecodeStep, SixteenRowsOrMoreWithPackedWeightsEqualTheFullForward) {
  // 20 rows: enough for oneDNN's products, which inside DecodeProducts (as generate's decode
  // loop runs) read weights packed once for the whole decode.
  auto model = model_of(GetParam(), 6);
  torch::NoGradGuard no_grad;
  torch::manual_seed(8);
  const auto rows = torch::randint(0, model->config().vocab, {20, 6}, torch::kLong);
  const auto full = model->forward(rows).logits;  // [20,T,V]
  KVCache cache;
  ForwardOptions prefill;
  prefill.cache = &cache;
  model->forward(rows.narrow(1, 0, 2), prefill);
  const DecodeProducts packed;
  for (int64_t i = 2; i < rows.size(1); ++i) {
    const auto logits = decode_step_rows(model, rows.select(1, i).contiguous(), cache);  // [20,V]
    const auto expected = full.select(1, i);
    EXPECT_TRUE(torch::allclose(logits, expected, 1e-5, 1e-5)) << "step " << i << ": max difference "
                                                               << (logits - expected).abs().max().item<double>();
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, DecodeStep,
                         ::testing::Values(StepCase{Norm::rmsnorm, Positions::rope, Mlp::swiglu, 0, true},
                                           StepCase{Norm::rmsnorm, Positions::rope, Mlp::swiglu, 2, false},
                                           StepCase{Norm::layernorm, Positions::learned, Mlp::gelu, 0, true},
                                           StepCase{Norm::rmsnorm, Positions::learned, Mlp::swiglu, 1, false}));

TEST(DecodeStepLimits, GatedModelsAndPaddedOrBatchedCachesAreRefused) {
  Transformer gated(testing::tiny_config(AttentionGate::headwise));
  EXPECT_FALSE(supports_decode_step(gated->config()));
  KVCache cache;
  testing::expect_error_containing([&] { decode_step(gated, 1, cache); }, "gated attention");
  Transformer plain(testing::tiny_config());
  plain->eval();
  torch::NoGradGuard no_grad;
  ForwardOptions prefill;
  prefill.cache = &cache;
  plain->forward(torch::tensor({{1, 2}, {3, 4}}, torch::kLong), prefill);
  testing::expect_error_containing([&] { decode_step(plain, 1, cache); }, "one sequence without padding");
  KVCache padded;
  prefill.cache = &padded;
  prefill.attention_mask = torch::tensor({{1, 0}}, torch::kLong);
  plain->forward(torch::tensor({{1, 2}}, torch::kLong), prefill);
  testing::expect_error_containing([&] { decode_step(plain, 1, padded); }, "one sequence without padding");
  testing::expect_error_containing([&] { decode_step_rows(plain, torch::tensor({1}, torch::kLong), padded); }, "one sequence without padding");
  testing::expect_error_containing([&] { decode_step_rows(plain, torch::tensor({1, 2, 3}, torch::kLong), cache); }, "3 rows without padding");
  testing::expect_error_containing([&] { decode_step_rows(gated, torch::tensor({1}, torch::kLong), cache); }, "gated attention");
}

}  // namespace
}  // namespace garden::model
