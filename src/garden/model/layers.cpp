#include "garden/model/layers.h"

#include <cmath>
#include <vector>

#include "garden/model/onednn_linear.h"

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
  if (kind_ == model::Mlp::swiglu) {
    // The gate and up projections share their input: without gradients (a decode) one product
    // of the two weights side by side where apply_linears can (DecodeProducts); training keeps
    // two, which measured no slower than one stacked (docs/performance.md).
    const auto gate_up = torch::GradMode::is_enabled()
                             ? std::vector<torch::Tensor>{apply_linear(x, in_->weight), apply_linear(x, up_->weight)}
                             : apply_linears(x, {in_->weight, up_->weight});
    return apply_linear(torch::silu(gate_up[0]) * gate_up[1], down->weight);  // [B,T,F] -> [B,T,C]
  }
  return apply_linear(torch::gelu(apply_linear(x, in_->weight)), down->weight);
}

void rope_angles(int64_t position, double base, int64_t dim, double* cos, double* sin) {
  const int64_t half = dim / 2;
  for (int64_t j = 0; j < half; ++j) {
    const double angle = static_cast<double>(position) * std::pow(base, -static_cast<double>(j) / static_cast<double>(half));
    cos[j] = cos[half + j] = std::cos(angle);
    sin[j] = sin[half + j] = std::sin(angle);
  }
}

RopeAngles::RopeAngles(const torch::Tensor& positions, double base, int64_t dim) {
  const int64_t half = dim / 2;
  if (positions.device().is_cpu()) {
    // Plain loops on the CPU: a decode step builds the angles of one position every step,
    // where the dozen tensor operations below cost more than their arithmetic. The values
    // are the same expressions in float64 (to the last bit or two of the libraries' pow/cos/sin).
    const auto at = positions.to(torch::kLong).contiguous();
    const int64_t count = at.numel();
    const int64_t* position = at.data_ptr<int64_t>();
    cos64_ = torch::empty({count, dim}, torch::kFloat64);
    sin64_ = torch::empty({count, dim}, torch::kFloat64);
    for (int64_t i = 0; i < count; ++i) rope_angles(position[i], base, dim, cos64_.data_ptr<double>() + i * dim, sin64_.data_ptr<double>() + i * dim);
    return;
  }
  auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(positions.device());
  auto inv_freq = torch::pow(base, -torch::arange(0, half, opts) / static_cast<double>(half));  // [D/2]
  auto angles = positions.to(opts).unsqueeze(1) * inv_freq.unsqueeze(0);                      // [T,D/2]
  cos64_ = torch::cat({angles.cos(), angles.cos()}, -1);                                      // [T,D]
  sin64_ = torch::cat({angles.sin(), angles.sin()}, -1);
}

std::pair<torch::Tensor, torch::Tensor> RopeAngles::tables(const torch::Tensor& x) {
  if (!cos_.defined() || cos_.scalar_type() != x.scalar_type() || cos_.device() != x.device()) {
    cos_ = cos64_.to(x.device(), x.scalar_type());
    sin_ = sin64_.to(x.device(), x.scalar_type());
  }
  return {cos_, sin_};
}

torch::Tensor RopeAngles::apply(const torch::Tensor& x) {
  tables(x);
  const int64_t half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  auto rotated = torch::cat({-x2, x1}, -1);  // [B,H,T,D]
  return x * cos_ + rotated * sin_;
}

torch::Tensor FeedForwardImpl::forward_vector(const torch::Tensor& x) {
  if (kind_ == model::Mlp::swiglu) return torch::mv(down->weight, torch::silu(torch::mv(in_->weight, x)) * torch::mv(up_->weight, x));
  return torch::mv(down->weight, torch::gelu(torch::mv(in_->weight, x)));
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& positions, double base) {
  return RopeAngles(positions, base, x.size(-1)).apply(x);
}

}  // namespace garden::model
