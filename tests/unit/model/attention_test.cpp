// Attention and the gated-attention output gate (arXiv:2505.06708): exactness against an
// explicit per-head loop, the paper's unit-test ideas, and finite-difference gradients.
#include "garden/model/attention.h"

#include <gtest/gtest.h>

#include <cmath>

#include "garden/model/transformer.h"
#include "test_helpers.h"

namespace garden::model {
namespace {

using testing::tiny_config;

TransformerConfig attention_config(AttentionGate gate, GatePosition position = GatePosition::sdpa) {
  auto c = tiny_config(gate);
  c.pos = Positions::learned;  // no RoPE inside the module, so the loop reference stays plain
  c.gate_position = position;
  return c;
}

torch::Tensor causal_allowed(int64_t t) {
  return build_attention_mask(MaskMode::causal, t, t, 0, torch::ones({1, t}, torch::kBool), {});
}

// Attention written head by head with explicit softmax(QK^T/sqrt(D) + mask) V, the gate
// multiplied on each head's output before W_O.
torch::Tensor reference_attention(AttentionImpl& a, const TransformerConfig& c, const torch::Tensor& x) {
  const int64_t t = x.size(1), d = c.head_dim();
  auto x2 = x[0];  // [T,C]
  std::vector<torch::Tensor> heads;
  torch::Tensor gate_all;
  if (a.gate) gate_all = torch::sigmoid(torch::matmul(x2, a.gate->weight.t()));  // [T,H*D] or [T,H]
  for (int64_t h = 0; h < c.n_heads; ++h) {
    auto wq = a.q->weight.narrow(0, h * d, d), wk = a.k->weight.narrow(0, h * d, d), wv = a.v->weight.narrow(0, h * d, d);
    auto q = torch::matmul(x2, wq.t()), k = torch::matmul(x2, wk.t()), v = torch::matmul(x2, wv.t());  // [T,D]
    auto scores = torch::matmul(q, k.t()) / std::sqrt(static_cast<double>(d));
    for (int64_t i = 0; i < t; ++i)
      for (int64_t j = i + 1; j < t; ++j) scores[i][j] = -std::numeric_limits<double>::infinity();
    auto head = torch::matmul(torch::softmax(scores, -1), v);  // [T,D]
    if (a.gate) {
      auto g = c.attention_gate == AttentionGate::elementwise ? gate_all.narrow(1, h * d, d) : gate_all.narrow(1, h, 1);
      head = head * g;
    }
    heads.push_back(head);
  }
  return torch::matmul(torch::cat(heads, 1), a.o->weight.t()).unsqueeze(0);  // [1,T,C]
}

class GateModes : public ::testing::TestWithParam<AttentionGate> {};

TEST_P(GateModes, MatchesExplicitPerHeadLoop) {
  torch::manual_seed(1);
  auto c = attention_config(GetParam());
  Attention a(c);
  a->to(torch::kFloat64);
  auto x = torch::randn({1, 5, c.d_model}, torch::kFloat64);
  auto out = a->forward(x, causal_allowed(5), torch::arange(5), nullptr, 0, {}).output;
  EXPECT_TRUE(torch::allclose(out, reference_attention(*a, c, x), 1e-6, 1e-6));
}

TEST_P(GateModes, GradientsMatchFiniteDifferences) {
  for (auto position : {GatePosition::sdpa, GatePosition::value}) {
    torch::manual_seed(2);
    auto c = attention_config(GetParam(), position);
    Attention a(c);
    a->to(torch::kFloat64);
    auto x = torch::randn({2, 4, c.d_model}, torch::kFloat64);
    auto target = torch::randn({2, 4, c.d_model}, torch::kFloat64);
    testing::expect_gradients_match(*a, [&] {
      return (a->forward(x, causal_allowed(4).expand({2, 1, 4, 4}), torch::arange(4), nullptr, 0, {}).output - target)
          .pow(2)
          .sum();
    });
  }
}

INSTANTIATE_TEST_SUITE_P(Attention, GateModes,
                         ::testing::Values(AttentionGate::none, AttentionGate::headwise, AttentionGate::elementwise));

TEST(GatedAttention, ZeroGateWeightsHalveTheAttentionOutput) {
  // sigma(0) = 0.5 everywhere, and the gate sits before the linear W_O, so the gated output
  // is exactly half of the ungated one with the same Q, K, V, O weights.
  torch::manual_seed(3);
  auto gated_config = attention_config(AttentionGate::elementwise);
  Attention gated(gated_config), plain(attention_config(AttentionGate::none));
  gated->to(torch::kFloat64);
  plain->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    for (auto* name : {"q", "k", "v", "o"})
      plain->named_parameters()[std::string(name) + ".weight"].copy_(gated->named_parameters()[std::string(name) + ".weight"]);
    gated->gate->weight.zero_();
  }
  auto x = torch::randn({1, 6, gated_config.d_model}, torch::kFloat64);
  auto g = gated->forward(x, causal_allowed(6), torch::arange(6), nullptr, 0, {.gate = true});
  auto p = plain->forward(x, causal_allowed(6), torch::arange(6), nullptr, 0, {});
  EXPECT_TRUE(torch::allclose(g.output, 0.5 * p.output, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(g.gate, torch::full_like(g.gate, 0.5)));
}

TEST(GatedAttention, ParameterCountsPerLayer) {
  auto c = tiny_config(AttentionGate::none);
  const int64_t base = Transformer(c)->parameter_count();
  c.attention_gate = AttentionGate::elementwise;
  EXPECT_EQ(gate_params_per_layer(c), c.d_model * c.n_heads * c.head_dim());
  EXPECT_EQ(Transformer(c)->parameter_count() - base, c.n_layers * c.d_model * c.n_heads * c.head_dim());
  c.attention_gate = AttentionGate::headwise;
  EXPECT_EQ(Transformer(c)->parameter_count() - base, c.n_layers * c.d_model * c.n_heads);
}

TEST(GatedAttention, NarrowedFfnKeepsTheParameterCount) {
  model::TransformerConfig c;
  c.vocab = 259;
  c.d_model = 128;
  c.n_heads = 4;
  c.d_ff = 344;
  const int64_t base = Transformer(c)->parameter_count();
  c.attention_gate = AttentionGate::elementwise;
  c.d_ff = d_ff_matching_ungated(c);
  // Narrowing moves in steps of 3C parameters per layer, so the counts agree within that.
  EXPECT_LE(std::abs(Transformer(c)->parameter_count() - base), c.n_layers * 3 * c.d_model);
}

TEST(GatedAttention, GateIsQueryDependent) {
  // Changing the hidden state of token j changes gate scores at position j only.
  torch::manual_seed(4);
  auto c = attention_config(AttentionGate::elementwise);
  Attention a(c);
  auto x = torch::randn({1, 5, c.d_model});
  auto x2 = x.clone();
  x2[0][2] += torch::randn({c.d_model});
  auto g1 = a->forward(x, causal_allowed(5), torch::arange(5), nullptr, 0, {.gate = true}).gate;
  auto g2 = a->forward(x2, causal_allowed(5), torch::arange(5), nullptr, 0, {.gate = true}).gate;
  for (int64_t t = 0; t < 5; ++t) EXPECT_EQ(torch::equal(g1[0][t], g2[0][t]), t != 2) << "position " << t;
}

TEST(GatedAttention, NsSigmoidStaysInUpperHalf) {
  torch::manual_seed(5);
  auto c = attention_config(AttentionGate::headwise);
  c.gate_activation = GateActivation::ns_sigmoid;
  Attention a(c);
  auto g = a->forward(torch::randn({1, 5, c.d_model}) * 10, causal_allowed(5), torch::arange(5), nullptr, 0, {.gate = true}).gate;
  EXPECT_GE(g.min().item<double>(), 0.5);
  EXPECT_LE(g.max().item<double>(), 1.0);
}

}  // namespace
}  // namespace garden::model
