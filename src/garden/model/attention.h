// Multi-head (optionally grouped-query) self-attention with the output gate of
// "Gated Attention for LLMs" (Qiu et al., arXiv:2505.06708). libtorch 1.13 has no fused
// SDPA: attention is either written out as softmax(QK^T/sqrt(D) + mask) V (when the
// probabilities are asked for, for attention-sink statistics, or dropped out, and for short
// sequences) or computed tile by tile without the probability matrix (blockwise_attention.h).
#pragma once

#include <torch/torch.h>

#include <optional>

#include "garden/model/config.h"
#include "garden/model/kv_cache.h"
#include "garden/model/layers.h"

namespace garden::model {

// Whether attention runs blockwise (when neither its probabilities nor dropout on them are
// needed), from `garden_bench_lm attention` (docs/performance.md): blockwise is faster from
// 512 x 512 when the mask rules out the tiles above the diagonal (causal, prefix), slower
// (0.65-0.8x) when every tile must be visited, and far smaller in memory either way, so
// it also takes any attention whose explicit [B,H,T,S] matrix would pass 1 GiB.
inline constexpr int64_t kBlockwiseSkippingFrom = 512 * 512;                     // queries x keys
inline constexpr int64_t kBlockwiseMemoryFrom = (int64_t{1} << 30) / sizeof(float);  // B x H x T x S
// q [B,H,T,D], k [B,H,S,D], allowed as AttentionImpl::forward's.
bool uses_blockwise_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& allowed);

// softmax(q k^T / sqrt(D) + mask) written out: q [B,H,T,D], k [B,H,S,D], allowed as below.
torch::Tensor attention_probabilities(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& allowed);

// softmax(scores * scale, with -inf where `allowed` is false) over the last dimension, as
// one autograd function: scores [B,H,T,S], allowed bool broadcastable to it, or undefined for
// none. On the CPU in float32 or bfloat16 it runs one pass forward and one backward
// (model/training_kernels.h), in the scores' dtype with float32 arithmetic; elsewhere, as
// libtorch's multiply, masked_fill and softmax.
torch::Tensor masked_softmax(const torch::Tensor& scores, const torch::Tensor& allowed, double scale);

struct AttentionOutput {
  torch::Tensor output;         // [B,T,C]
  torch::Tensor probabilities;  // [B,H,T,S], only when asked for
  torch::Tensor gate;           // gate scores [B,T,H,D] or [B,T,H,1], only when asked for and gated
  torch::Tensor values;         // value states of the new tokens [B,Hkv,T,D], only when asked for
};

// What a forward returns beside its output (each costs memory, so none by default).
struct AttentionTaps {
  bool probabilities = false;
  bool gate = false;
  bool values = false;
};

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const TransformerConfig& config);
  // x: pre-normed block input [B,T,C]; allowed: [B,1,T,S] bool, true = may attend, or
  // undefined when every query may attend to every key (no mask is applied);
  // positions: [T] absolute positions of the new tokens; cache/layer: append keys and
  // values to cache->keys[layer] when given; rope: the angles of `positions`, shared by the
  // layers of one forward (computed here when null).
  AttentionOutput forward(const torch::Tensor& x, const torch::Tensor& allowed, const torch::Tensor& positions,
                          KVCache* cache, int64_t layer, const AttentionTaps& taps, RopeAngles* rope = nullptr);

  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  torch::nn::Linear gate{nullptr};  // W_theta, from the same normed input as Q, K, V
  torch::nn::Dropout dropout{nullptr};

 private:
  TransformerConfig config_;
  torch::Tensor gate_scores(const torch::Tensor& x, int64_t heads);
};
TORCH_MODULE(Attention);

}  // namespace garden::model
