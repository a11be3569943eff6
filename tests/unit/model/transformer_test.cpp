// The transformer's per-call mask modes, padding, optional outputs and config validation.
#include "garden/model/transformer.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace garden::model {
namespace {

torch::Tensor hidden(Transformer& m, const torch::Tensor& tokens, MaskMode mode, int64_t prefix = 0) {
  ForwardOptions o;
  o.mask = mode;
  if (mode == MaskMode::prefix) o.prefix_lengths = torch::full({tokens.size(0)}, prefix, torch::kLong);
  return m->forward(tokens, o).hidden;
}

class Variants : public ::testing::TestWithParam<std::tuple<AttentionGate, Positions>> {
 protected:
  Transformer make() {
    auto c = testing::tiny_config(std::get<0>(GetParam()));
    c.pos = std::get<1>(GetParam());
    torch::manual_seed(7);
    Transformer m(c);
    m->eval();
    return m;
  }
};

TEST_P(Variants, CausalOutputsIgnoreLaterTokens) {
  auto m = make();
  auto a = torch::tensor({{1, 2, 3, 4, 5, 6}}, torch::kLong);
  for (int64_t t = 0; t < 5; ++t) {
    auto b = a.clone();
    for (int64_t j = t + 1; j < 6; ++j) b[0][j] = (b[0][j].item<int64_t>() + 3) % 11;
    auto ha = hidden(m, a, MaskMode::causal), hb = hidden(m, b, MaskMode::causal);
    EXPECT_TRUE(torch::allclose(ha.narrow(1, 0, t + 1), hb.narrow(1, 0, t + 1), 1e-6, 1e-6)) << "t=" << t;
  }
}

TEST_P(Variants, BidirectionalOutputsSeeLaterTokens) {
  auto m = make();
  auto a = torch::tensor({{1, 2, 3, 4, 5, 6}}, torch::kLong);
  auto b = a.clone();
  b[0][5] = 9;
  auto ha = hidden(m, a, MaskMode::bidirectional), hb = hidden(m, b, MaskMode::bidirectional);
  EXPECT_FALSE(torch::allclose(ha[0][0], hb[0][0], 1e-6, 1e-6));
}

TEST_P(Variants, PrefixPositionsSeeTheWholePrefixOnly) {
  auto m = make();
  const int64_t prefix = 3;
  auto a = torch::tensor({{1, 2, 3, 4, 5, 6}}, torch::kLong);
  // Changing a prefix token (position 2) changes position 0's output...
  auto b = a.clone();
  b[0][2] = 9;
  EXPECT_FALSE(torch::allclose(hidden(m, a, MaskMode::prefix, prefix)[0][0], hidden(m, b, MaskMode::prefix, prefix)[0][0], 1e-6, 1e-6));
  // ...but changing a token after the prefix changes nothing inside it, nor before itself.
  auto c = a.clone();
  c[0][4] = 9;
  auto ha = hidden(m, a, MaskMode::prefix, prefix), hc = hidden(m, c, MaskMode::prefix, prefix);
  EXPECT_TRUE(torch::allclose(ha.narrow(1, 0, 4), hc.narrow(1, 0, 4), 1e-6, 1e-6));
}

TEST_P(Variants, RightPaddingDoesNotChangeRealTokens) {
  for (auto mode : {MaskMode::causal, MaskMode::bidirectional}) {
    auto m = make();
    auto short_seq = torch::tensor({{1, 2, 3}}, torch::kLong);
    auto padded = torch::tensor({{1, 2, 3, 0, 0}}, torch::kLong);
    ForwardOptions o;
    o.mask = mode;
    auto h1 = m->forward(short_seq, o).hidden;
    o.attention_mask = torch::tensor({{1, 1, 1, 0, 0}}, torch::kLong);
    auto h2 = m->forward(padded, o).hidden.narrow(1, 0, 3);
    EXPECT_TRUE(torch::allclose(h1, h2, 1e-5, 1e-5));
  }
}

INSTANTIATE_TEST_SUITE_P(Transformer, Variants,
                         ::testing::Combine(::testing::Values(AttentionGate::none, AttentionGate::headwise,
                                                              AttentionGate::elementwise),
                                            ::testing::Values(Positions::rope, Positions::learned)));

TEST(Transformer, ReturnsHiddenStatesAttentionsAndGatesOnRequest) {
  auto c = testing::tiny_config(AttentionGate::headwise);
  Transformer m(c);
  auto tokens = torch::tensor({{1, 2, 3, 4}}, torch::kLong);
  auto plain = m->forward(tokens);
  EXPECT_TRUE(plain.hidden_states.empty());
  EXPECT_TRUE(plain.attentions.empty());
  ForwardOptions o;
  o.return_hidden_states = o.return_attentions = o.return_gates = true;
  auto full = m->forward(tokens, o);
  ASSERT_EQ(full.hidden_states.size(), static_cast<size_t>(c.n_layers + 1));
  ASSERT_EQ(full.attentions.size(), static_cast<size_t>(c.n_layers));
  ASSERT_EQ(full.gates.size(), static_cast<size_t>(c.n_layers));
  EXPECT_EQ(full.attentions[0].sizes(), (std::vector<int64_t>{1, c.n_heads, 4, 4}));
  EXPECT_EQ(full.gates[0].sizes(), (std::vector<int64_t>{1, 4, c.n_heads, 1}));
  EXPECT_TRUE(torch::allclose(full.attentions[1].sum(-1), torch::ones({1, c.n_heads, 4}), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(full.logits, plain.logits));
}

TEST(Transformer, WholeModelGradientsMatchFiniteDifferences) {
  auto c = testing::tiny_config(AttentionGate::elementwise);
  c.n_layers = 1;
  c.tie_embeddings = false;
  torch::manual_seed(9);
  Transformer m(c);
  m->to(torch::kFloat64);
  auto tokens = torch::tensor({{1, 5, 2, 7}}, torch::kLong);
  auto target = torch::tensor({5, 2, 7, 3}, torch::kLong);
  testing::expect_gradients_match(*m, [&] {
    return torch::nn::functional::cross_entropy(m->forward(tokens).logits[0], target);
  });
}

TEST(TransformerConfig, ValidationNamesTheField) {
  auto c = testing::tiny_config();
  c.n_heads = 3;
  testing::expect_error_containing([&] { c.validate(); }, "n_heads must divide d_model");
  c = testing::tiny_config();
  c.dropout = 1.5;
  testing::expect_error_containing([&] { c.validate(); }, "dropout");
  testing::expect_error_containing([] { parse_attention_gate("sometimes"); }, "attention_gate must be one of");
}

TEST(TransformerConfig, JsonRoundTrip) {
  auto c = testing::tiny_config(AttentionGate::elementwise);
  c.norm = Norm::layernorm;
  c.mlp = Mlp::gelu;
  c.gate_activation = GateActivation::ns_sigmoid;
  auto back = TransformerConfig::from_json(c.to_json(), "test");
  EXPECT_EQ(back.to_json(), c.to_json());
}

// A misspelt key used to be ignored (the default width was trained) and 16.7 became 16.
TEST(TransformerConfig, UnknownKeysAndNonIntegralWidthsAreErrors) {
  Json json = testing::tiny_config().to_json();
  json["d_modle"] = 16;
  testing::expect_error_containing([&] { TransformerConfig::from_json(json, "cfg.json model"); }, "cfg.json model: unknown field 'd_modle'");
  json = testing::tiny_config().to_json();
  json["d_model"] = 16.7;
  testing::expect_error_containing([&] { TransformerConfig::from_json(json, "cfg.json model"); }, "field 'd_model' must be an integer");
}

}  // namespace
}  // namespace garden::model
