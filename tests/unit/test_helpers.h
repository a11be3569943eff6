// Shared helpers for the unit tests that use libtorch: tiny model configs, a tiny embedder and
// a finite-difference gradient check in float64. The torch-free helpers are in test_files.h.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

#include "garden/model/config.h"
#include "garden/model/embedder.h"
#include "garden/text/tokenizer.h"
#include "garden/train/batches.h"
#include "garden/train/train_config.h"
#include "test_files.h"

namespace garden::testing {

// d=8, 2 heads, 2 layers, vocab 11: small enough for finite differences.
inline model::TransformerConfig tiny_config(model::AttentionGate gate = model::AttentionGate::none) {
  model::TransformerConfig c;
  c.vocab = 11;
  c.d_model = 8;
  c.n_layers = 2;
  c.n_heads = 2;
  c.d_ff = 12;
  c.max_seq = 16;
  c.attention_gate = gate;
  return c;
}

// A token stream over vocab 0-9 with some structure to learn.
inline std::vector<int32_t> cyclic_tokens(int64_t n) {
  std::vector<int32_t> t;
  for (int64_t i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 7 + i / 5) % 10));
  return t;
}

// A few steps of batch 4 x 8 tokens at lr 1e-2, evaluated every 3 steps.
inline train::TrainConfig small_lm_train(int64_t steps) {
  train::TrainConfig c;
  c.steps = steps;
  c.batch = 4;
  c.seq = 8;
  c.warmup = 2;
  c.lr = 1e-2;
  c.eval_every = 3;
  c.eval_windows = 4;
  c.checkpoint_every = 100;
  c.log_every = 1;
  return c;
}

// A few embedder training steps of batch 4 at lr 3e-3, no evaluation, seed 3.
inline train::TrainConfig small_embed_train(int64_t steps) {
  train::TrainConfig c;
  c.steps = steps;
  c.batch = 4;
  c.warmup = 1;
  c.lr = 3e-3;
  c.eval_every = 0;
  c.checkpoint_every = 100;
  c.log_every = 1;
  c.seed = 3;
  return c;
}

// Central differences of loss() w.r.t. every element of every parameter of `module`,
// compared with autograd. In float64 with eps 1e-6 the truncation error is ~1e-12 and the
// rounding error ~1e-10, so 1e-6 relative tolerance catches any real mistake.
inline void expect_gradients_match(torch::nn::Module& module, const std::function<torch::Tensor()>& loss,
                                   double eps = 1e-6, double tolerance = 1e-6) {
  module.zero_grad();
  loss().backward();
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters()) {
    auto& p = item.value();
    ASSERT_EQ(p.scalar_type(), torch::kFloat64) << "gradient checks run in float64";
    auto analytic = p.grad().defined() ? p.grad().clone() : torch::zeros_like(p);
    auto flat = p.view({-1});
    auto grad = analytic.view({-1});
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double original = flat[i].item<double>();
      flat[i] = original + eps;
      const double plus = loss().item<double>();
      flat[i] = original - eps;
      const double minus = loss().item<double>();
      flat[i] = original;
      const double numeric = (plus - minus) / (2 * eps);
      const double a = grad[i].item<double>();
      ASSERT_NEAR(a, numeric, tolerance * (1.0 + std::abs(numeric))) << item.key() << "[" << i << "]";
    }
  }
}

// A byte-level transformer's config: d=16, one layer, two heads.
inline model::TransformerConfig byte_config(int64_t max_seq = 64) {
  model::TransformerConfig c;
  c.vocab = text::ByteTokenizer().vocab_size();
  c.d_model = 16;
  c.n_layers = 1;
  c.n_heads = 2;
  c.d_ff = 32;
  c.max_seq = max_seq;
  return c;
}

// A byte-level embedder (byte_config) with the given pooling, head and score; the same
// weights on every call (seeded).
inline model::Embedder tiny_embedder_with(const model::EmbedderConfig& e, double dropout = 0.0) {
  torch::manual_seed(5);
  auto c = byte_config();
  c.dropout = dropout;
  return model::Embedder(model::Transformer(c), e);
}

inline model::Embedder tiny_embedder(model::Pooling pooling = model::Pooling::mean, int64_t max_tokens = 64,
                                     double dropout = 0.0) {
  model::EmbedderConfig e;
  e.pooling = pooling;
  e.latent.latents = 4;
  e.latent.heads = 2;
  e.max_tokens = max_tokens;
  return tiny_embedder_with(e, dropout);
}

// One fixed batch as a batch source: every training step and the evaluation read it.
class FixedBatch final : public train::BatchSource {
 public:
  explicit FixedBatch(train::Batch b) : batch_(std::move(b)) {}
  train::Batch train_batch(int64_t) const override { return batch_; }
  std::vector<train::Batch> eval_batches() const override { return {batch_}; }
  std::string describe() const override { return "one fixed batch"; }

 private:
  train::Batch batch_;
};

}  // namespace garden::testing
