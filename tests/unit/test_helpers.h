// Shared helpers for the unit tests: tiny model configs and a finite-difference gradient
// check in float64.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "garden/model/config.h"
#include "garden/model/embedder.h"
#include "garden/text/tokenizer.h"

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

// A fresh empty folder under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("garden-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

// Runs `fn`, expecting a garden::Error whose message contains `fragment`.
template <typename Fn>
void expect_error_containing(Fn&& fn, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << "message was: " << e.what();
  }
}

// A byte-level embedder, d=16, one layer; the same weights on every call (seeded).
inline model::Embedder tiny_embedder(model::Pooling pooling = model::Pooling::mean, int64_t max_tokens = 64,
                                     double dropout = 0.0) {
  torch::manual_seed(5);
  model::TransformerConfig c;
  c.vocab = text::ByteTokenizer().vocab_size();
  c.d_model = 16;
  c.n_layers = 1;
  c.n_heads = 2;
  c.d_ff = 32;
  c.max_seq = 64;
  c.dropout = dropout;
  model::EmbedderConfig e;
  e.pooling = pooling;
  e.latent.latents = 4;
  e.latent.heads = 2;
  e.max_tokens = max_tokens;
  return model::Embedder(model::Transformer(c), e);
}

}  // namespace garden::testing
