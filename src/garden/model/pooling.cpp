#include "garden/model/pooling.h"

#include <fmt/core.h>

#include "garden/core/error.h"

namespace garden::model {

Pooling parse_pooling(const std::string& name) {
  if (name == "mean") return Pooling::mean;
  if (name == "weighted_mean") return Pooling::weighted_mean;
  if (name == "first_token") return Pooling::first_token;
  if (name == "last_token") return Pooling::last_token;
  if (name == "latent_attention") return Pooling::latent_attention;
  usage_error(fmt::format("pooler must be mean, weighted_mean, first_token, last_token or latent_attention, not '{}'", name));
}

std::string to_string(Pooling pooling) {
  switch (pooling) {
    case Pooling::mean: return "mean";
    case Pooling::weighted_mean: return "weighted_mean";
    case Pooling::first_token: return "first_token";
    case Pooling::last_token: return "last_token";
    case Pooling::latent_attention: return "latent_attention";
  }
  return "?";
}

LatentAttentionPoolerImpl::LatentAttentionPoolerImpl(int64_t d_model, const LatentAttentionConfig& c)
    : heads_(c.heads), head_dim_(c.head_dim > 0 ? c.head_dim : d_model) {
  if (c.latents < 1 || c.heads < 1 || c.ff_mult < 1)
    usage_error(fmt::format("latent attention needs latents, heads and ff_mult >= 1 (got {}, {}, {})", c.latents, c.heads,
                            c.ff_mult));
  const int64_t inner = heads_ * head_dim_;
  latents = register_parameter("latents", torch::randn({c.latents, d_model}));  // N(0,1), as NV-Embed
  norm_queries_ = register_module("norm_queries", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  norm_latents_ = register_module("norm_latents", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  norm_ff_ = register_module("norm_ff", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  to_q_ = register_module("to_q", torch::nn::Linear(torch::nn::LinearOptions(d_model, inner).bias(false)));
  to_kv_ = register_module("to_kv", torch::nn::Linear(torch::nn::LinearOptions(d_model, 2 * inner).bias(false)));
  to_out_ = register_module("to_out", torch::nn::Linear(torch::nn::LinearOptions(inner, d_model).bias(false)));
  ff_in_ = register_module("ff_in", torch::nn::Linear(d_model, 2 * c.ff_mult * d_model));
  ff_out_ = register_module("ff_out", torch::nn::Linear(c.ff_mult * d_model, d_model));
}

torch::Tensor LatentAttentionPoolerImpl::transform(const torch::Tensor& hidden) {
  const int64_t b = hidden.size(0), t = hidden.size(1), r = latents.size(0);
  auto split_heads = [&](const torch::Tensor& x, int64_t batch, int64_t len) {
    return x.view({batch, len, heads_, head_dim_}).transpose(1, 2);  // [B,h,len,dh]
  };
  const auto q = split_heads(to_q_(norm_queries_(hidden)), b, t);
  const auto kv = to_kv_(norm_latents_(latents)).chunk(2, -1);
  const auto k = split_heads(kv[0].unsqueeze(0), 1, r), v = split_heads(kv[1].unsqueeze(0), 1, r);
  const auto weights = torch::softmax(q.matmul(k.transpose(-2, -1)) / std::sqrt(static_cast<double>(head_dim_)), -1);
  const auto attended = weights.matmul(v).transpose(1, 2).reshape({b, t, heads_ * head_dim_});
  const auto h1 = hidden + to_out_(attended);
  const auto halves = ff_in_(norm_ff_(h1)).chunk(2, -1);  // GEGLU: a * gelu(g)
  return h1 + ff_out_(halves[0] * torch::gelu(halves[1]));
}

torch::Tensor masked_mean(const torch::Tensor& states, const torch::Tensor& pool_mask) {
  const auto m = pool_mask.to(states.dtype()).unsqueeze(-1);  // [B,T,1]
  const auto counts = m.sum(1);                               // [B,1]
  if (counts.min().item<double>() <= 0) throw Error("pooling: a sequence has no token left to pool (empty pool mask)");
  return (states * m).sum(1) / counts;
}

torch::Tensor pool(const torch::Tensor& hidden, const torch::Tensor& pool_mask, Pooling pooling, LatentAttentionPooler latent) {
  if (hidden.dim() != 3 || pool_mask.dim() != 2 || hidden.size(0) != pool_mask.size(0) || hidden.size(1) != pool_mask.size(1))
    throw Error(fmt::format("pooling: states [B,T,C] and mask [B,T] do not match ({}-d and {}-d)", hidden.dim(), pool_mask.dim()));
  // Pooled in float32 at least (GritLM pools in FP32 whatever the model's precision): a bf16
  // sum over a long text loses the small differences between texts.
  const auto states = hidden.scalar_type() == torch::kFloat64 ? hidden : hidden.to(torch::kFloat32);
  torch::Tensor pooled;
  switch (pooling) {
    case Pooling::mean: pooled = masked_mean(states, pool_mask); break;
    case Pooling::weighted_mean: {
      // The k-th counted token weighs k (the mask's running count, as GritLM's code computes
      // it), so an instruction or left padding before the text shifts no weight.
      const auto weights = pool_mask.to(states.dtype()).cumsum(1) * pool_mask.to(states.dtype());  // [B,T]
      const auto totals = weights.sum(1, /*keepdim=*/true);                                      // [B,1]
      if (totals.min().item<double>() <= 0) throw Error("pooling: a sequence has no token left to pool (empty pool mask)");
      pooled = (states * weights.unsqueeze(-1)).sum(1) / totals;
      break;
    }
    case Pooling::first_token:
    case Pooling::last_token: {
      const auto m = pool_mask.to(torch::kLong);
      if (m.sum(1).min().item<int64_t>() <= 0) throw Error("pooling: a sequence has no token left to pool (empty pool mask)");
      const auto positions = torch::arange(hidden.size(1), m.options()).unsqueeze(0).expand_as(m);
      const auto index = pooling == Pooling::last_token
                             ? torch::where(m > 0, positions, torch::full_like(positions, -1)).amax(1)
                             : torch::where(m > 0, positions, torch::full_like(positions, hidden.size(1))).amin(1);
      pooled = states.index({torch::arange(states.size(0), m.options()), index});
      break;
    }
    case Pooling::latent_attention:
      if (!latent) throw Error("pooling: latent_attention needs its pooler module");
      pooled = masked_mean(latent->transform(hidden).to(states.dtype()), pool_mask);
      break;
  }
  return torch::nn::functional::normalize(pooled, torch::nn::functional::NormalizeFuncOptions().dim(-1));
}

}  // namespace garden::model
