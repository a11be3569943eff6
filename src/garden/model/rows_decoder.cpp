#include "garden/model/rows_decoder.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "garden/core/error.h"
#include "garden/model/attention.h"
#include "garden/model/decode_kernels.h"
#include "garden/model/layers.h"

namespace garden::model {

namespace {

bool plain_float(const torch::Tensor& t) { return t.defined() && t.scalar_type() == torch::kFloat && t.device().is_cpu() && t.is_contiguous(); }

}  // namespace

bool RowsDecoder::runs(Transformer& model) {
  const auto& c = model->config();
  if (c.attention_gate != AttentionGate::none || c.norm != Norm::rmsnorm) return false;
  const auto parameters = model->parameters();
  return std::all_of(parameters.begin(), parameters.end(), plain_float);
}

std::unique_ptr<RowsDecoder> RowsDecoder::start(Transformer& model, KVCache& cache) {
  if (torch::GradMode::is_enabled() || !runs(model)) return nullptr;
  if (!cache.key_real.defined() || cache.key_real.size(0) < 2 || cache.has_padding ||
      cache.keys.size() != static_cast<size_t>(model->config().n_layers))
    return nullptr;
  for (size_t l = 0; l < cache.keys.size(); ++l)
    for (const auto* held : {&cache.keys[l], &cache.values[l]})
      if (held->scalar_type() != torch::kFloat || !held->device().is_cpu()) return nullptr;
  std::unique_ptr<RowsDecoder> decoder(new RowsDecoder(model, cache));
  if (!decoder->head_.valid()) return nullptr;
  for (const auto& layer : decoder->layers_)
    if (!layer.qkv.valid() || !layer.o.valid() || !layer.mlp_in.valid() || !layer.down.valid()) return nullptr;
  return decoder;
}

namespace {

// An RMSNorm layer's weight and epsilon.
auto rms_of(NormLayer& layer) {
  auto* rms = layer->rms();
  return std::pair(rms->weight.data_ptr<float>(), static_cast<float>(rms->eps()));
}

}  // namespace

RowsDecoder::RowsDecoder(Transformer& model, KVCache& cache)
    : model_(model),
      cache_(cache),
      config_(model->config()),
      rows_(cache.key_real.size(0)),
      length_(cache.length()),
      head_(rows_, {model->lm_head ? model->lm_head->weight : model->token_embedding->weight}) {
  for (const auto& module : *model->blocks) {
    auto* block = module->as<BlockImpl>();
    auto& attention = *block->attention;
    auto& mlp = *block->mlp;
    const auto [attention_weight, attention_eps] = rms_of(block->norm_attention);
    const auto [mlp_weight, mlp_eps] = rms_of(block->norm_mlp);
    std::vector<torch::Tensor> mlp_in{mlp.in_weight()};
    if (mlp.kind() == Mlp::swiglu) mlp_in.push_back(mlp.up_weight());
    layers_.push_back(Layer{{attention_weight, attention_eps},
                            {mlp_weight, mlp_eps},
                            PackedProduct(rows_, {attention.q->weight, attention.k->weight, attention.v->weight}),
                            PackedProduct(rows_, {attention.o->weight}),
                            PackedProduct(rows_, mlp_in),
                            PackedProduct(rows_, {mlp.down->weight})});
  }
  const auto [final_weight, final_eps] = rms_of(model->final_norm);
  final_norm_ = {final_weight, final_eps};
  const int64_t c = config_.d_model, f = config_.ff_width(), attended = config_.n_heads * config_.head_dim();
  const auto n = static_cast<size_t>(rows_);
  x_.resize(n * static_cast<size_t>(c));
  normed_.resize(x_.size());
  projected_.resize(x_.size());
  qkv_.resize(n * static_cast<size_t>(attended + 2 * config_.kv_heads() * config_.head_dim()));
  queries_.resize(n * static_cast<size_t>(attended));
  heads_.resize(queries_.size());
  hidden_.resize(n * static_cast<size_t>(config_.mlp == Mlp::swiglu ? 2 * f : f));
  activated_.resize(n * static_cast<size_t>(f));
  logits_ = torch::empty({rows_, config_.vocab}, torch::kFloat);
  for (auto* table : {&cos64_, &sin64_}) table->resize(static_cast<size_t>(config_.head_dim()));
  for (auto* table : {&cos_, &sin_}) table->resize(static_cast<size_t>(config_.head_dim()));
}

void RowsDecoder::sync_views() {
  for (size_t l = 0; l < cache_.keys.size(); ++l) {
    if (cache_.keys[l].size(2) == length_) continue;
    cache_.keys[l] = cache_.room.keys[l].narrow(2, 0, length_);
    cache_.values[l] = cache_.room.values[l].narrow(2, 0, length_);
  }
}

void RowsDecoder::reserve(int64_t positions) {
  sync_views();
  cache_.reserve(positions);
  capacity_ = cache_.room.keys.front().size(2);
  for (size_t l = 0; l < cache_.keys.size(); ++l) capacity_ = std::min({capacity_, cache_.room.keys[l].size(2), cache_.room.values[l].size(2)});
}

void RowsDecoder::finish() {
  sync_views();
  const int64_t appended = length_ - cache_.key_real.size(1);
  if (appended > 0) cache_.key_real = torch::cat({cache_.key_real, torch::ones({rows_, appended}, cache_.key_real.options())}, 1);
}

void RowsDecoder::norm(const NormWeights& norm, float* out) const { rms_norm_rows(x_.data(), norm.weight, rows_, config_.d_model, norm.eps, out); }

torch::Tensor RowsDecoder::step(const std::vector<int64_t>& tokens) {
  if (static_cast<int64_t>(tokens.size()) != rows_)
    throw Error(fmt::format("decode step: {} tokens for a cache of {} rows", tokens.size(), rows_));
  const int64_t position = length_;
  if (config_.pos == Positions::learned && position >= config_.max_seq)
    throw Error(fmt::format("sequence of {} tokens exceeds max_seq={}", position + 1, config_.max_seq));
  // The cache's room doubles when full, as KVCache::append's does.
  if (position + 1 > capacity_) reserve(std::max<int64_t>(position, 64));
  const int64_t c = config_.d_model, h = config_.n_heads, hkv = config_.kv_heads(), d = config_.head_dim();
  const int64_t q_width = h * d, kv_width = hkv * d, qkv_width = q_width + 2 * kv_width;

  const auto& embedding = model_->token_embedding->weight;
  for (int64_t r = 0; r < rows_; ++r) {
    const int64_t token = tokens[static_cast<size_t>(r)];
    if (token < 0 || token >= config_.vocab)
      throw Error(fmt::format("decode step: token {} is outside the vocabulary of {}", token, config_.vocab));
    std::memcpy(x_.data() + r * c, embedding.data_ptr<float>() + token * c, static_cast<size_t>(c) * sizeof(float));
    if (model_->position_embedding)
      add_in_place(x_.data() + r * c, model_->position_embedding->weight.data_ptr<float>() + position * c, c);
  }
  const bool rope = config_.pos == Positions::rope;
  if (rope) {
    rope_angles(position, config_.rope_base, d, cos64_.data(), sin64_.data());
    for (size_t i = 0; i < cos_.size(); ++i) {
      cos_[i] = static_cast<float>(cos64_[i]);
      sin_[i] = static_cast<float>(sin64_[i]);
    }
  }

  for (size_t l = 0; l < layers_.size(); ++l) {
    const auto& layer = layers_[l];
    norm(layer.attention_norm, normed_.data());
    layer.qkv.run(normed_.data(), qkv_.data());
    // The queries to [N,H,D] and this position's keys and values into the cache's room
    // ([N,Hkv,capacity,D]), rotated there.
    auto& keys = cache_.room.keys[l];
    auto& values = cache_.room.values[l];
    float* key_room = keys.data_ptr<float>();
    float* value_room = values.data_ptr<float>();
    const CachedRows cached_keys{key_room, keys.stride(0), keys.stride(1), keys.stride(2)};
    const CachedRows cached_values{value_room, values.stride(0), values.stride(1), values.stride(2)};
    for (int64_t r = 0; r < rows_; ++r) {
      float* row = qkv_.data() + r * qkv_width;
      if (rope) rope_in_place(row, cos_.data(), sin_.data(), h + hkv, d);  // the queries' and keys' heads, side by side
      std::memcpy(queries_.data() + r * q_width, row, static_cast<size_t>(q_width) * sizeof(float));
      for (int64_t g = 0; g < hkv; ++g) {
        std::memcpy(key_room + r * cached_keys.row_stride + g * cached_keys.head_stride + position * cached_keys.position_stride,
                    row + q_width + g * d, static_cast<size_t>(d) * sizeof(float));
        std::memcpy(value_room + r * cached_values.row_stride + g * cached_values.head_stride + position * cached_values.position_stride,
                    row + q_width + kv_width + g * d, static_cast<size_t>(d) * sizeof(float));
      }
    }
    rows_attention(queries_.data(), cached_keys, cached_values, rows_, h, h / hkv, position + 1, d, heads_.data());
    layer.o.run(heads_.data(), projected_.data());
    add_in_place(x_.data(), projected_.data(), rows_ * c);

    norm(layer.mlp_norm, normed_.data());
    layer.mlp_in.run(normed_.data(), hidden_.data());
    if (config_.mlp == Mlp::swiglu) {
      swiglu_rows(hidden_.data(), rows_, config_.ff_width(), activated_.data());
      layer.down.run(activated_.data(), projected_.data());
    } else {
      gelu_in_place(hidden_.data(), static_cast<int64_t>(hidden_.size()));
      layer.down.run(hidden_.data(), projected_.data());
    }
    add_in_place(x_.data(), projected_.data(), rows_ * c);
  }
  norm(final_norm_, normed_.data());
  head_.run(normed_.data(), logits_.data_ptr<float>());
  ++length_;
  return logits_;
}

}  // namespace garden::model
