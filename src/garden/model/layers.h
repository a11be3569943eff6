// The position-wise pieces of a block: RMSNorm (or LayerNorm), the GELU / SwiGLU MLP,
// rotary position embedding. Shapes use the legend of transformer.h.
#pragma once

#include <torch/torch.h>

#include <utility>

#include "garden/model/config.h"

namespace garden::model {

// RMSNorm (Zhang & Sennrich 2019): x / sqrt(mean(x^2) + eps) * weight. No bias, no centring.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // [..., C] -> [..., C]
  double eps() const { return eps_; }
  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

// Either norm behind one call, so blocks do not branch on the config.
class NormLayerImpl : public torch::nn::Module {
 public:
  NormLayerImpl(const TransformerConfig& config);
  torch::Tensor forward(const torch::Tensor& x);
  // The RMSNorm behind this layer, null for LayerNorm (the decode step's own loop uses it).
  RMSNormImpl* rms() { return rms_ ? rms_.get() : nullptr; }

 private:
  RMSNorm rms_{nullptr};
  torch::nn::LayerNorm layer_{nullptr};
};
TORCH_MODULE(NormLayer);

// gelu: proj(gelu(fc(x))); swiglu (Shazeer 2020): down(silu(gate(x)) * up(x)).
class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(const TransformerConfig& config);
  torch::Tensor forward(const torch::Tensor& x);  // [B,T,C] -> [B,T,C]
  // The same for one position, x: [C] -> [C], with matrix-vector products (decode_step.h).
  torch::Tensor forward_vector(const torch::Tensor& x);
  torch::nn::Linear down{nullptr};                // F -> C, the residual projection
  model::Mlp kind() const { return kind_; }
  // The input projections' weights [F,C]: gelu's one (and an undefined up), swiglu's gate and up.
  const torch::Tensor& in_weight() const { return in_->weight; }
  torch::Tensor up_weight() const { return up_ ? up_->weight : torch::Tensor(); }

 private:
  model::Mlp kind_;
  torch::nn::Linear in_{nullptr}, up_{nullptr};
};
TORCH_MODULE(FeedForward);

// Rotary embedding (RoFormer, arXiv:2104.09864), "rotate half" layout as in LLaMA/GPT-NeoX.
// The cos and sin of the angles of a forward call's positions, computed once and shared by
// every layer's queries and keys (a decode step would otherwise spend a dozen tensor
// operations per layer recomputing them). Angles are computed in float64 and cast to the
// dtype of the tensor they rotate, once per dtype, so that a position's rotation is the same
// whether it was computed in a full forward or one step at a time with the kv-cache.
class RopeAngles {
 public:
  // positions: [T] absolute positions (offset by the kv-cache length); dim: the head dim D.
  RopeAngles(const torch::Tensor& positions, double base, int64_t dim);
  // x: [B,H,T,D] rotated by the angles of its T positions.
  torch::Tensor apply(const torch::Tensor& x);
  // The cos and sin [T,D] that apply multiplies by, in x's dtype and on its device.
  std::pair<torch::Tensor, torch::Tensor> tables(const torch::Tensor& x);

 private:
  torch::Tensor cos64_, sin64_;  // [T,D]
  torch::Tensor cos_, sin_;      // the last dtype asked for
};

// The cos and sin of one position's angles for head dim `dim` (dim values each, entries j and
// j + dim / 2 equal), in float64: the values RopeAngles multiplies by, for loops that rotate
// on buffers of their own (model/rows_decoder.cpp).
void rope_angles(int64_t position, double base, int64_t dim, double* cos, double* sin);

// The same rotation for one tensor: RopeAngles(positions, base, D).apply(x).
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& positions, double base);

}  // namespace garden::model
