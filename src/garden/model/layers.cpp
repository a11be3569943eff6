#include "garden/model/layers.h"

namespace garden::model {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps_) * weight;
}

NormLayerImpl::NormLayerImpl(const TransformerConfig& config) {
  if (config.norm == model::Norm::rmsnorm) {
    rms_ = register_module("rms", RMSNorm(config.d_model, config.norm_eps));
  } else {
    layer_ = register_module(
        "layer", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.d_model}).eps(config.norm_eps)));
  }
}

torch::Tensor NormLayerImpl::forward(const torch::Tensor& x) { return rms_ ? rms_(x) : layer_(x); }

FeedForwardImpl::FeedForwardImpl(const TransformerConfig& config) : kind_(config.mlp) {
  const int64_t c = config.d_model, f = config.ff_width();
  in_ = register_module("in", torch::nn::Linear(torch::nn::LinearOptions(c, f).bias(false)));
  if (kind_ == model::Mlp::swiglu)
    up_ = register_module("up", torch::nn::Linear(torch::nn::LinearOptions(c, f).bias(false)));
  down = register_module("down", torch::nn::Linear(torch::nn::LinearOptions(f, c).bias(false)));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  if (kind_ == model::Mlp::swiglu) return down(torch::silu(in_(x)) * up_(x));  // [B,T,F] -> [B,T,C]
  return down(torch::gelu(in_(x)));
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& positions, double base) {
  const int64_t d = x.size(-1), half = d / 2;
  auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(x.device());
  // Angles in float64 so that a position's rotation is the same whether it was computed
  // in a full forward or one step at a time with the kv-cache.
  auto inv_freq = torch::pow(base, -torch::arange(0, half, opts) / static_cast<double>(half));  // [D/2]
  auto angles = positions.to(opts).unsqueeze(1) * inv_freq.unsqueeze(0);                      // [T,D/2]
  auto cos = torch::cat({angles.cos(), angles.cos()}, -1).to(x.scalar_type());                // [T,D]
  auto sin = torch::cat({angles.sin(), angles.sin()}, -1).to(x.scalar_type());
  auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  auto rotated = torch::cat({-x2, x1}, -1);  // [B,H,T,D]
  return x * cos + rotated * sin;
}

}  // namespace garden::model
