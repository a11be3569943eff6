#include "garden/model/transformer.h"

#include <fmt/core.h>

#include <cmath>
#include <optional>

#include "garden/core/error.h"
#include "garden/model/onednn_linear.h"

namespace garden::model {

MaskMode parse_mask_mode(const std::string& s) {
  if (s == "causal") return MaskMode::causal;
  if (s == "bidirectional") return MaskMode::bidirectional;
  if (s == "prefix") return MaskMode::prefix;
  if (s == "causal_prefix") return MaskMode::causal_prefix;
  usage_error("mask must be causal, bidirectional, prefix or causal_prefix, got '" + s + "'");
}

std::string to_string(MaskMode mode) {
  switch (mode) {
    case MaskMode::causal: return "causal";
    case MaskMode::bidirectional: return "bidirectional";
    case MaskMode::prefix: return "prefix";
    case MaskMode::causal_prefix: return "causal_prefix";
  }
  return "?";
}

BlockImpl::BlockImpl(const TransformerConfig& config) {
  norm_attention = register_module("norm_attention", NormLayer(config));
  attention = register_module("attention", Attention(config));
  norm_mlp = register_module("norm_mlp", NormLayer(config));
  mlp = register_module("mlp", FeedForward(config));
  dropout = register_module("dropout", torch::nn::Dropout(config.dropout));
}

TransformerImpl::TransformerImpl(const TransformerConfig& config) : config_(config) {
  config_.validate();
  token_embedding = register_module("token_embedding", torch::nn::Embedding(config.vocab, config.d_model));
  if (config.pos == Positions::learned)
    position_embedding = register_module("position_embedding", torch::nn::Embedding(config.max_seq, config.d_model));
  embedding_dropout = register_module("embedding_dropout", torch::nn::Dropout(config.dropout));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.n_layers; ++i) blocks->push_back(Block(config));
  final_norm = register_module("final_norm", NormLayer(config));
  if (!config.tie_embeddings)
    lm_head = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(config.d_model, config.vocab).bias(false)));
  init_weights();
}

void TransformerImpl::init_weights() {
  // GPT-2 / nanoGPT initialisation: N(0, 0.02) everywhere, residual projections scaled by
  // 1/sqrt(2L) so the residual stream's variance does not grow with depth. The gate rows
  // get the plain N(0, 0.02) as in the gated-attention paper (gates start near 0.5).
  torch::NoGradGuard no_grad;
  const double residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(config_.n_layers));
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    auto& p = item.value();
    if (p.dim() < 2) continue;  // norm weights/biases keep their ones/zeros
    const bool residual = name.find("attention.o.") != std::string::npos || name.find("mlp.down.") != std::string::npos;
    p.normal_(0.0, residual ? residual_std : 0.02);
  }
}

void TransformerImpl::set_dropout(double p) {
  if (!(p >= 0.0 && p < 1.0)) usage_error(fmt::format("dropout must be in [0, 1), got {}", p));
  config_.dropout = p;
  for (const auto& module : modules(/*include_self=*/false))
    if (auto* dropout_module = module->as<torch::nn::Dropout>()) dropout_module->options.p(p);
}

int64_t TransformerImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

torch::Tensor build_attention_mask(MaskMode mode, int64_t t, int64_t s, int64_t offset, const torch::Tensor& key_real,
                                   const torch::Tensor& prefix_lengths) {
  auto device = key_real.device();
  auto q_pos = torch::arange(offset, offset + t, torch::TensorOptions().dtype(torch::kLong).device(device)).view({1, t, 1});
  auto k_pos = torch::arange(0, s, torch::TensorOptions().dtype(torch::kLong).device(device)).view({1, 1, s});
  torch::Tensor allowed;  // [B or 1, T, S]
  switch (mode) {
    case MaskMode::bidirectional:
      allowed = torch::ones({1, t, s}, torch::TensorOptions().dtype(torch::kBool).device(device));
      break;
    case MaskMode::causal:
      allowed = k_pos <= q_pos;
      break;
    case MaskMode::prefix: {
      if (!prefix_lengths.defined()) usage_error("prefix mask mode needs prefix_lengths");
      auto p = prefix_lengths.to(device).to(torch::kLong).view({-1, 1, 1});  // [B,1,1]
      allowed = (k_pos <= q_pos) | ((k_pos < p) & (q_pos < p));
      break;
    }
    case MaskMode::causal_prefix: {
      if (!prefix_lengths.defined()) usage_error("causal_prefix mask mode needs prefix_lengths");
      auto p = prefix_lengths.to(device).to(torch::kLong).view({-1, 1, 1});  // [B,1,1]
      allowed = (k_pos <= q_pos) | (q_pos >= p);
      break;
    }
  }
  allowed = allowed & key_real.view({key_real.size(0), 1, s});
  allowed = allowed | (k_pos == q_pos);  // a (padding) query always sees itself: no empty rows
  return allowed.unsqueeze(1);          // [B,1,T,S]
}

TransformerOutput TransformerImpl::forward(const torch::Tensor& tokens, const ForwardOptions& options) {
  const bool embedded = options.input_embeddings.defined();
  if (embedded && (options.input_embeddings.dim() != 3 || options.input_embeddings.size(2) != config_.d_model))
    throw Error(fmt::format("input embeddings must be [batch, seq, {}], got {}", config_.d_model, c10::str(options.input_embeddings.sizes())));
  if (!embedded && tokens.dim() != 2) throw Error("transformer input must be [batch, seq] token ids, got " + std::to_string(tokens.dim()) + " dims");
  const auto& input = embedded ? options.input_embeddings : tokens;
  const int64_t b = input.size(0), t = input.size(1);
  KVCache* cache = options.cache;
  const int64_t offset = cache ? cache->length() : 0;
  if (config_.pos == Positions::learned && offset + t > config_.max_seq)
    throw Error("sequence of " + std::to_string(offset + t) + " tokens exceeds max_seq=" + std::to_string(config_.max_seq));

  auto device = input.device();
  torch::Tensor real = options.attention_mask.defined()
                           ? options.attention_mask.to(device).to(torch::kBool)
                           : torch::ones({b, t}, torch::TensorOptions().dtype(torch::kBool).device(device));  // [B,T]
  // Without padding, a causal step of one token and a bidirectional pass attend to every key:
  // no mask is built or applied (the same logits, and a decode step a dozen operations lighter).
  bool has_padding = options.attention_mask.defined() && !real.all().item<bool>();
  torch::Tensor key_real = real;
  if (cache) {
    if (cache->key_real.defined() && cache->key_real.size(0) != b)
      throw Error("kv-cache batch " + std::to_string(cache->key_real.size(0)) + " does not match input batch " + std::to_string(b));
    key_real = cache->key_real.defined() ? torch::cat({cache->key_real, real}, 1) : real;  // [B,S]
    cache->key_real = key_real;
    has_padding = cache->has_padding = cache->has_padding || has_padding;
  }
  const int64_t s = key_real.size(1);
  const bool sees_every_key =
      !has_padding && (options.mask == MaskMode::bidirectional || (options.mask == MaskMode::causal && t == 1));
  auto allowed = sees_every_key ? torch::Tensor()
                                : build_attention_mask(options.mask, t, s, offset, key_real, options.prefix_lengths);  // [B,1,T,S]
  auto positions = torch::arange(offset, offset + t, torch::TensorOptions().dtype(torch::kLong).device(device));
  std::optional<RopeAngles> rope;
  if (config_.pos == Positions::rope) rope.emplace(positions, config_.rope_base, config_.head_dim());

  TransformerOutput out;
  auto x = embedded ? options.input_embeddings : token_embedding(tokens);  // [B,T,C]
  if (position_embedding) x = x + position_embedding(positions).unsqueeze(0);
  x = embedding_dropout(x);
  if (options.return_hidden_states) out.hidden_states.push_back(x);
  const AttentionTaps taps{options.return_attentions, options.return_gates, options.return_values};
  int64_t layer = 0;
  for (const auto& module : *blocks) {
    auto* block = module->as<BlockImpl>();
    auto attn = block->attention->forward(block->norm_attention(x), allowed, positions, cache, layer, taps, rope ? &*rope : nullptr);
    x = x + attn.output;
    x = x + block->dropout(block->mlp(block->norm_mlp(x)));
    if (options.return_hidden_states) out.hidden_states.push_back(x);
    if (options.return_attentions) out.attentions.push_back(attn.probabilities);
    if (options.return_gates && attn.gate.defined()) out.gates.push_back(attn.gate);
    if (options.return_values) out.values.push_back(attn.values);
    ++layer;
  }
  out.hidden = final_norm(x);
  if (options.compute_logits) out.logits = logits(out.hidden);  // [B,T,V]
  return out;
}

torch::Tensor TransformerImpl::logits(const torch::Tensor& hidden) {
  return apply_linear(hidden, lm_head ? lm_head->weight : token_embedding->weight);
}

}  // namespace garden::model
