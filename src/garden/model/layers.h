// The position-wise pieces of a block: RMSNorm (or LayerNorm), the GELU / SwiGLU MLP,
// rotary position embedding. Shapes use the legend of transformer.h.
#pragma once

#include <torch/torch.h>

#include "garden/model/config.h"

namespace garden::model {

// RMSNorm (Zhang & Sennrich 2019): x / sqrt(mean(x^2) + eps) * weight. No bias, no centring.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // [..., C] -> [..., C]
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
  torch::nn::Linear down{nullptr};                // F -> C, the residual projection

 private:
  model::Mlp kind_;
  torch::nn::Linear in_{nullptr}, up_{nullptr};
};
TORCH_MODULE(FeedForward);

// Rotary embedding (RoFormer, arXiv:2104.09864), "rotate half" layout as in LLaMA/GPT-NeoX.
// x: [B,H,T,D]; positions: [T] absolute positions (offset by the kv-cache length).
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& positions, double base);

}  // namespace garden::model
