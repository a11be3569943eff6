// Poolers: from token states [B,T,C] and a pool mask [B,T] (1 = the token counts: real
// tokens minus instruction tokens) to one unit-norm embedding per sequence [B,C], computed in
// float32 (float64 stays float64). mean, weighted_mean (SGPT's position weights counted over
// the pooled tokens, as GritLM's code does: the k-th counted token weighs k), first_token,
// last_token (the last counted token, for right-padded batches), and latent_attention
// (NV-Embed, arXiv:2405.17428): token states are the queries of a cross-attention whose keys
// and values come from a trainable latent array, then a GEGLU feed-forward, both pre-norm
// with residuals, then the masked mean. Masked tokens never contribute: the latent pooler
// transforms each token on its own (its keys are latents, not other tokens).
#pragma once

#include <torch/torch.h>

#include <string>

namespace garden::model {

enum class Pooling { mean, weighted_mean, first_token, last_token, latent_attention };
Pooling parse_pooling(const std::string& name);
std::string to_string(Pooling pooling);

struct LatentAttentionConfig {
  int64_t latents = 64;    // r (512 in NV-Embed)
  int64_t heads = 4;       // h (8 in NV-Embed)
  int64_t head_dim = 0;    // 0 = d_model, as NV-Embed's code (inner width h * d_model)
  int64_t ff_mult = 4;     // GEGLU: C -> 2 * ff_mult * C, gated down to ff_mult * C -> C
};

class LatentAttentionPoolerImpl : public torch::nn::Module {
 public:
  LatentAttentionPoolerImpl(int64_t d_model, const LatentAttentionConfig& config);
  // Per-token output H2 = H1 + FF(LN3(H1)), H1 = H + Attn(LN1(H), LN2(L)): [B,T,C].
  torch::Tensor transform(const torch::Tensor& hidden);
  torch::Tensor latents;

 private:
  int64_t heads_, head_dim_;
  torch::nn::LayerNorm norm_queries_{nullptr}, norm_latents_{nullptr}, norm_ff_{nullptr};
  torch::nn::Linear to_q_{nullptr}, to_kv_{nullptr}, to_out_{nullptr}, ff_in_{nullptr}, ff_out_{nullptr};
};
TORCH_MODULE(LatentAttentionPooler);

// The masked mean of `states` over `pool_mask`: [B,T,C] x [B,T] -> [B,C]. A row whose mask
// is all zero raises an error (nothing to pool).
torch::Tensor masked_mean(const torch::Tensor& states, const torch::Tensor& pool_mask);

// Pools and L2-normalises; `latent` is required for latent_attention and ignored otherwise.
torch::Tensor pool(const torch::Tensor& hidden, const torch::Tensor& pool_mask, Pooling pooling,
                   LatentAttentionPooler latent = nullptr);

}  // namespace garden::model
