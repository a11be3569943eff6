#include "garden/model/decode_step.h"

#include <omp.h>

#include <fmt/core.h>

#include <cmath>
#include <optional>

#include "garden/core/error.h"
#include "garden/model/decode_kernels.h"
#include "garden/model/layers.h"
#include "garden/model/onednn_linear.h"

namespace garden::model {

namespace {

// OpenMP's thread count of the calling thread only (not at::set_num_threads, which also
// changes the default of threads that start later), restored on exit.
class CallingThreadOnly {
 public:
  CallingThreadOnly() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~CallingThreadOnly() { omp_set_num_threads(saved_); }
  CallingThreadOnly(const CallingThreadOnly&) = delete;
  CallingThreadOnly& operator=(const CallingThreadOnly&) = delete;

 private:
  int saved_;
};

}  // namespace

bool supports_decode_step(const TransformerConfig& config) { return config.attention_gate == AttentionGate::none; }

namespace {

// What both lean steps check and share: a cache of `rows` rows without padding, room for one
// more position, and that position's RoPE angles (computed once for all layers).
std::optional<RopeAngles> start_step(Transformer& model, const KVCache& cache, int64_t rows) {
  const auto& c = model->config();
  if (!supports_decode_step(c)) throw Error("decode_step: gated attention takes the full forward");
  if (!cache.key_real.defined() || cache.key_real.size(0) != rows || cache.has_padding)
    throw Error(rows == 1 ? std::string("decode_step: needs a prefilled cache of one sequence without padding")
                          : fmt::format("decode_step: needs a prefilled cache of {} rows without padding", rows));
  const int64_t position = cache.length();
  if (c.pos == Positions::learned && position >= c.max_seq)
    throw Error("sequence of " + std::to_string(position + 1) + " tokens exceeds max_seq=" + std::to_string(c.max_seq));
  std::optional<RopeAngles> rope;
  const auto device = model->token_embedding->weight.device();
  if (c.pos == Positions::rope)
    rope.emplace(torch::full({1}, position, torch::TensorOptions().dtype(torch::kLong).device(device)), c.rope_base, c.head_dim());
  return rope;
}

// Marks the position every row just appended as a real token.
void finish_step(KVCache& cache) {
  const int64_t rows = cache.key_real.size(0);
  cache.key_real = torch::cat({cache.key_real, torch::ones({rows, 1}, cache.key_real.options())}, 1);
}

}  // namespace

namespace {

// RMSNorm by decode_kernels' loop when `loops` allows and the layer is one; the module else.
torch::Tensor norm(NormLayer& layer, const torch::Tensor& x, bool loops) {
  auto* rms = layer->rms();
  if (!loops || !rms || rms->weight.scalar_type() != torch::kFloat32 || !x.is_contiguous()) return layer(x);
  auto out = torch::empty_like(x);
  const int64_t dim = x.size(-1);
  rms_norm_rows(x.data_ptr<float>(), rms->weight.data_ptr<float>(), x.numel() / dim, dim, static_cast<float>(rms->eps()),
                out.data_ptr<float>());
  return out;
}

// x [..., D], freshly computed and contiguous, rotated in place when `loops` allows.
torch::Tensor rotate(RopeAngles& rope, torch::Tensor x, bool loops) {
  if (!loops || !x.is_contiguous()) return rope.apply(x);
  const auto [cos, sin] = rope.tables(x);
  const int64_t dim = x.size(-1);
  rope_in_place(x.data_ptr<float>(), cos.data_ptr<float>(), sin.data_ptr<float>(), x.numel() / dim, dim);
  return x;
}

// One sequence's query q [1,H,1,D] against its cached keys and values [1,Hkv,S,D] (key head
// h / (H / Hkv) for query head h), head by head on the calling thread: [H*D].
torch::Tensor attend_one(const torch::Tensor& q, const torch::Tensor& keys, const torch::Tensor& values) {
  const int64_t h = q.size(1), d = q.size(3), group = h / keys.size(1), positions = keys.size(2);
  const auto query = q.contiguous();
  auto heads = torch::empty({h * d}, q.options());
  std::vector<float> scratch(static_cast<size_t>(padded_positions(positions)));
  for (int64_t head = 0; head < h; ++head) {
    const int64_t kv = head / group;
    one_query_attention(query.data_ptr<float>() + head * d, keys.data_ptr<float>() + kv * keys.stride(1), keys.stride(2),
                        values.data_ptr<float>() + kv * values.stride(1), values.stride(2), positions, d, scratch.data(),
                        heads.data_ptr<float>() + head * d);
  }
  return heads;
}

// N rows' queries q [N,H,1,D] against their cached keys and values [N,Hkv,S,D], each
// (row, head) pair by decode_kernels' loop, the pairs split between threads: [N,H*D].
// Broadcast multiply-and-sum, the path for other dtypes and devices, builds two [N,H,S,D]
// products and, for grouped heads, copies of the whole cache.
torch::Tensor attend_rows(const torch::Tensor& q, const torch::Tensor& keys, const torch::Tensor& values) {
  const int64_t n = q.size(0), h = q.size(1), d = q.size(3), group = h / keys.size(1), positions = keys.size(2);
  const auto queries = q.contiguous();
  auto heads = torch::empty({n, h * d}, q.options());
  const CachedRows cached_keys{keys.data_ptr<float>(), keys.stride(0), keys.stride(1), keys.stride(2)};
  const CachedRows cached_values{values.data_ptr<float>(), values.stride(0), values.stride(1), values.stride(2)};
  rows_attention(queries.data_ptr<float>(), cached_keys, cached_values, n, h, group, positions, d, heads.data_ptr<float>());
  return heads;
}

// The layers and final norm of a lean step, for x [C] (one sequence: matrix-vector products,
// and the heads' attention by attend_one's loop) or x [N,C] (N rows: [N,C] x [C,F] products,
// and each row's one query by attend_rows).
torch::Tensor lean_layers(Transformer& model, torch::Tensor x, KVCache& cache, std::optional<RopeAngles>& rope) {
  const auto& c = model->config();
  const bool one = x.dim() == 1;
  const int64_t n = one ? 1 : x.size(0), h = c.n_heads, hkv = c.kv_heads(), d = c.head_dim();
  const auto project = [one](const torch::Tensor& weight, const torch::Tensor& input) {
    return one ? torch::mv(weight, input) : apply_linear(input, weight);
  };
  const double scale = std::sqrt(static_cast<double>(d));
  // Plain loops (decode_kernels.h) for RMSNorm, RoPE and a single sequence's attention where
  // they apply: float32 on the CPU, nothing recorded for autograd.
  const bool loops = x.scalar_type() == torch::kFloat32 && x.device().is_cpu() && !torch::GradMode::is_enabled();
  int64_t layer = 0;
  for (const auto& module : *model->blocks) {
    auto* block = module->as<BlockImpl>();
    auto& attention = *block->attention;
    auto normed = norm(block->norm_attention, x, loops);
    torch::Tensor q, k, v;
    if (one) {
      q = project(attention.q->weight, normed);
      k = project(attention.k->weight, normed);
      v = project(attention.v->weight, normed);
    } else {  // one product for the three where apply_linears can (DecodeProducts); the loops want them contiguous
      const auto qkv = apply_linears(normed, {attention.q->weight, attention.k->weight, attention.v->weight});
      q = qkv[0].contiguous();
      k = qkv[1].contiguous();
      v = qkv[2].contiguous();
    }
    q = q.view({n, h, 1, d});
    k = k.view({n, hkv, 1, d});
    v = v.view({n, hkv, 1, d});
    if (rope) {
      q = rotate(*rope, q, loops);
      k = rotate(*rope, k, loops);
    }
    cache.append(static_cast<size_t>(layer), k, v);
    auto keys = cache.keys[static_cast<size_t>(layer)], values = cache.values[static_cast<size_t>(layer)];  // [N,Hkv,S,D]
    torch::Tensor heads;
    if (one && loops && keys.stride(3) == 1 && values.stride(3) == 1) {
      heads = attend_one(q, keys, values);  // [H*D]
    } else if (loops && keys.stride(3) == 1 && values.stride(3) == 1) {
      heads = attend_rows(q, keys, values);  // [N,H*D]
    } else {
      // Broadcast multiply-and-sum: libtorch's bmm of B*H products of 1 x D by D x S selects
      // every batch entry on its own.
      if (hkv != h) {
        keys = keys.repeat_interleave(h / hkv, 1);
        values = values.repeat_interleave(h / hkv, 1);
      }
      auto probabilities = torch::softmax((q * keys).sum(-1) / scale, -1);  // [N,H,S]
      heads = (probabilities.unsqueeze(-1) * values).sum(-2).view({n, h * d});  // [N,H*D]
      if (one) heads = heads.view({h * d});
    }
    x = x + project(attention.o->weight, heads);
    auto mlp_input = norm(block->norm_mlp, x, loops);
    x = x + (one ? block->mlp->forward_vector(mlp_input) : block->mlp(mlp_input));
    ++layer;
  }
  return norm(model->final_norm, x, loops);
}

}  // namespace

torch::Tensor decode_step(Transformer& model, int64_t token, KVCache& cache) {
  const int64_t position = cache.length();
  torch::Tensor x;
  {
    CallingThreadOnly one_thread;
    auto rope = start_step(model, cache, 1);
    x = model->token_embedding->weight[token];  // [C]
    if (model->position_embedding) x = x + model->position_embedding->weight[position];
    x = lean_layers(model, x, cache, rope);
  }
  finish_step(cache);
  return torch::mv(model->lm_head ? model->lm_head->weight : model->token_embedding->weight, x);  // [V]
}

torch::Tensor decode_step_rows(Transformer& model, const torch::Tensor& tokens, KVCache& cache) {
  const int64_t n = tokens.numel(), position = cache.length();
  auto rope = start_step(model, cache, n);
  auto x = model->token_embedding->weight.index_select(0, tokens.view({n}).to(model->token_embedding->weight.device()));  // [N,C]
  if (model->position_embedding) x = x + model->position_embedding->weight[position];
  // Unlike decode_step the layers keep every thread: products of N = 64 rows gain from two
  // (on one thread a 64 x 64 sampled decode ran about 1.5x slower).
  x = lean_layers(model, x, cache, rope);
  finish_step(cache);
  return model->logits(x);  // [N,V]
}

}  // namespace garden::model
