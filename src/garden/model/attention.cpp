#include "garden/model/attention.h"

#include <cmath>
#include <optional>

#include "garden/model/blockwise_attention.h"
#include "garden/model/layers.h"
#include "garden/model/onednn_linear.h"
#include "garden/model/training_kernels.h"

namespace garden::model {

bool uses_blockwise_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& allowed) {
  const int64_t t = q.size(2), s = k.size(2);
  if (t == 1) return false;
  if (q.size(0) * q.size(1) * t * s >= kBlockwiseMemoryFrom) return true;
  // The first query barred from the last key: the upper-right tiles are empty and skipped.
  return t * s >= kBlockwiseSkippingFrom && allowed.defined() && !allowed.select(2, 0).select(-1, s - 1).any().item<bool>();
}

namespace {

bool fused_softmax_applies(const torch::Tensor& scores) {
  return scores.device().is_cpu() && scores.dim() == 4 &&
         (scores.scalar_type() == torch::kFloat32 || scores.scalar_type() == torch::kBFloat16);
}

// The mask's layout over scores [B,H,T,S]: `allowed` expanded to that shape (strides 0 on the
// broadcast dimensions), made contiguous only if its last dimension is not.
RowMask row_mask(const torch::Tensor& allowed, const torch::Tensor& scores, torch::Tensor& keep) {
  RowMask mask;
  if (!allowed.defined()) return mask;
  keep = allowed.to(torch::kBool).expand(scores.sizes());
  if (keep.stride(3) != 1) keep = keep.contiguous();
  mask.data = keep.data_ptr<bool>();
  mask.heads = scores.size(1);
  mask.queries = scores.size(2);
  mask.batch_stride = keep.stride(0);
  mask.head_stride = keep.stride(1);
  mask.query_stride = keep.stride(2);
  return mask;
}

class MaskedSoftmax : public torch::autograd::Function<MaskedSoftmax> {
 public:
  // The mask as an optional: autograd refuses an undefined tensor among a function's inputs.
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& scores,
                               const c10::optional<torch::Tensor>& allowed, double scale) {
    const auto x = scores.contiguous();
    auto out = torch::empty_like(x);
    torch::Tensor keep;
    const auto mask = row_mask(allowed.value_or(torch::Tensor()), x, keep);
    const int64_t cols = x.size(3), rows = cols == 0 ? 0 : x.numel() / cols;
    const auto factor = static_cast<float>(scale);
    if (x.scalar_type() == torch::kFloat32)
      masked_softmax_rows(x.data_ptr<float>(), mask, rows, cols, factor, out.data_ptr<float>());
    else
      masked_softmax_rows(reinterpret_cast<const uint16_t*>(x.data_ptr<at::BFloat16>()), mask, rows, cols, factor,
                          reinterpret_cast<uint16_t*>(out.data_ptr<at::BFloat16>()));
    ctx->save_for_backward({out});
    ctx->saved_data["scale"] = scale;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto p = ctx->get_saved_variables()[0];
    const auto grad = grads[0].to(p.scalar_type()).contiguous();
    auto grad_scores = torch::empty_like(p);
    const int64_t cols = p.size(3), rows = cols == 0 ? 0 : p.numel() / cols;
    const auto factor = static_cast<float>(ctx->saved_data["scale"].toDouble());
    if (p.scalar_type() == torch::kFloat32)
      masked_softmax_backward_rows(p.data_ptr<float>(), grad.data_ptr<float>(), rows, cols, factor, grad_scores.data_ptr<float>());
    else
      masked_softmax_backward_rows(reinterpret_cast<const uint16_t*>(p.data_ptr<at::BFloat16>()),
                                   reinterpret_cast<const uint16_t*>(grad.data_ptr<at::BFloat16>()), rows, cols, factor,
                                   reinterpret_cast<uint16_t*>(grad_scores.data_ptr<at::BFloat16>()));
    return {grad_scores, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor masked_softmax(const torch::Tensor& scores, const torch::Tensor& allowed, double scale) {
  if (fused_softmax_applies(scores))
    return MaskedSoftmax::apply(scores, allowed.defined() ? c10::optional<torch::Tensor>(allowed) : c10::nullopt, scale);
  auto logits = scores * scale;
  if (allowed.defined()) logits = logits.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  return torch::softmax(logits, -1);
}

torch::Tensor attention_probabilities(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& allowed) {
  // A decode step has one query per row. Its B*H products of 1 x D by D x S go through
  // libtorch's small-matrix bmm, which selects every batch entry one by one (41% of a 64 x 64
  // sampled decode); broadcast multiply-and-sum does the same arithmetic in a few kernels.
  const auto scores = q.size(2) == 1 ? (q * k).sum(-1).unsqueeze(2) : batched_matmul(q, k.transpose(-2, -1));  // [B,H,T,S]
  // Every query may attend to itself, so no row is fully masked.
  return masked_softmax(scores, allowed, 1.0 / std::sqrt(static_cast<double>(q.size(3))));
}

AttentionImpl::AttentionImpl(const TransformerConfig& config) : config_(config) {
  const int64_t c = config.d_model, d = config.head_dim(), h = config.n_heads, hkv = config.kv_heads();
  auto linear = [](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)); };
  q = register_module("q", linear(c, h * d));
  k = register_module("k", linear(c, hkv * d));
  v = register_module("v", linear(c, hkv * d));
  o = register_module("o", linear(h * d, c));
  if (config.attention_gate != AttentionGate::none) {
    const int64_t heads = config.gate_position == GatePosition::sdpa ? h : hkv;
    const int64_t width = config.attention_gate == AttentionGate::elementwise ? heads * d : heads;
    gate = register_module("gate", linear(c, width));
  }
  dropout = register_module("dropout", torch::nn::Dropout(config.dropout));
}

torch::Tensor AttentionImpl::gate_scores(const torch::Tensor& x, int64_t heads) {
  const int64_t b = x.size(0), t = x.size(1);
  auto logits = apply_linear(x, gate->weight);  // [B,T,H*D] or [B,T,H]
  auto scores = config_.gate_activation == GateActivation::sigmoid ? torch::sigmoid(logits)
                                                                    : 0.5 + 0.5 * torch::sigmoid(logits);
  const int64_t per_head = config_.attention_gate == AttentionGate::elementwise ? config_.head_dim() : 1;
  return scores.view({b, t, heads, per_head});  // [B,T,H,D] or [B,T,H,1]
}

AttentionOutput AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& allowed,
                                       const torch::Tensor& positions, KVCache* cache, int64_t layer,
                                       const AttentionTaps& taps, RopeAngles* rope) {
  const int64_t b = x.size(0), t = x.size(1), d = config_.head_dim();
  const int64_t h = config_.n_heads, hkv = config_.kv_heads();
  AttentionOutput out;

  const auto projected = apply_linears(x, {q->weight, k->weight, v->weight});
  auto queries = projected[0].view({b, t, h, d}).transpose(1, 2);    // [B,H,T,D]
  auto keys = projected[1].view({b, t, hkv, d}).transpose(1, 2);     // [B,Hkv,T,D]
  auto values = projected[2].view({b, t, hkv, d});                   // [B,T,Hkv,D]
  torch::Tensor scores;
  if (gate) {
    scores = gate_scores(x, config_.gate_position == GatePosition::sdpa ? h : hkv);
    if (config_.gate_position == GatePosition::value) values = values * scores;  // G2
    if (taps.gate) out.gate = scores;
  }
  values = values.transpose(1, 2);  // [B,Hkv,T,D]
  if (taps.values) out.values = values;
  if (config_.pos == Positions::rope) {
    std::optional<RopeAngles> own;
    if (!rope) rope = &own.emplace(positions, config_.rope_base, d);
    queries = rope->apply(queries);
    keys = rope->apply(keys);
  }
  if (cache) {
    cache->append(static_cast<size_t>(layer), keys, values);
    keys = cache->keys[static_cast<size_t>(layer)];  // [B,Hkv,S,D]
    values = cache->values[static_cast<size_t>(layer)];
  }
  if (hkv != h) {
    keys = keys.repeat_interleave(h / hkv, 1);  // [B,H,S,D]
    values = values.repeat_interleave(h / hkv, 1);
  }
  const bool dropout_active = is_training() && dropout->options.p() > 0;
  torch::Tensor heads;  // [B,H,T,D]
  if (!taps.probabilities && !dropout_active && uses_blockwise_attention(queries, keys, allowed)) {
    heads = blockwise_attention(queries, keys, values, allowed, 1.0 / std::sqrt(static_cast<double>(d)));
  } else {
    auto probabilities = attention_probabilities(queries, keys, allowed);
    if (taps.probabilities) out.probabilities = probabilities;
    probabilities = dropout(probabilities);
    heads = t == 1 ? (probabilities.transpose(-2, -1) * values).sum(-2, /*keepdim=*/true) : batched_matmul(probabilities, values);
  }
  heads = heads.transpose(1, 2);                               // [B,T,H,D]
  if (gate && config_.gate_position == GatePosition::sdpa) heads = heads * scores;  // G1: per head, before W_O
  out.output = dropout(apply_linear(heads.reshape({b, t, h * d}), o->weight));  // [B,T,C]
  return out;
}

}  // namespace garden::model
