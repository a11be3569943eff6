#include "garden/model/kv_cache.h"

#include <fmt/core.h>

#include <cstring>

#include "garden/core/error.h"
#include "garden/core/safetensors.h"

namespace garden::model {

namespace {

// buffer[:, :, at:at+T] = added [B,H,T,D]. A decoding step appends one position to every
// layer's keys and values: libtorch's copy into the strided room cost ~8 us a call, 16 calls
// a step; on the CPU the rows are memcpy'd.
void copy_into_room(torch::Tensor& buffer, int64_t at, const torch::Tensor& added) {
  auto room = buffer.narrow(2, at, added.size(2));
  if (!buffer.device().is_cpu() || !added.device().is_cpu() || room.stride(3) != 1 || !added.is_contiguous() ||
      room.scalar_type() != added.scalar_type()) {
    room.copy_(added);
    return;
  }
  const int64_t batch = added.size(0), heads = added.size(1), positions = added.size(2);
  const auto row_bytes = static_cast<size_t>(added.size(3) * added.element_size());
  const auto* from = static_cast<const char*>(added.data_ptr());
  auto* to = static_cast<char*>(room.data_ptr());
  const int64_t element = room.element_size();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t t = 0; t < positions; ++t, from += row_bytes)
        std::memcpy(to + (b * room.stride(0) + h * room.stride(1) + t * room.stride(2)) * element, from, row_bytes);
}

// Makes `held` [B,H,S,D] (a view of the first positions of `buffer`, or a tensor of its own) a
// view of `buffer` with room for `extra` more positions: a new buffer of `capacity` positions
// where the present one is not held's or is too short.
void make_room(torch::Tensor& held, torch::Tensor& buffer, int64_t extra, int64_t capacity) {
  const int64_t length = held.size(2);
  const bool fits = buffer.defined() && held.data_ptr() == buffer.data_ptr() && held.strides() == buffer.strides() &&
                    held.size(0) == buffer.size(0) && held.size(1) == buffer.size(1) && held.size(3) == buffer.size(3) &&
                    held.scalar_type() == buffer.scalar_type() && buffer.size(2) >= length + extra;
  if (fits) return;
  buffer = torch::empty({held.size(0), held.size(1), capacity, held.size(3)}, held.options());
  buffer.narrow(2, 0, length).copy_(held);
  held = buffer.narrow(2, 0, length);
}

// `held` (a view of the first positions of `buffer`, or a tensor of its own) with `added` after it.
void append_along_keys(torch::Tensor& held, torch::Tensor& buffer, const torch::Tensor& added) {
  if (!held.defined()) {
    held = added;  // the prompt, kept as computed; room is made at the first append
    return;
  }
  if (torch::GradMode::is_enabled() && (held.requires_grad() || added.requires_grad())) {
    held = torch::cat({held, added}, 2);  // in-place writes would break the graph
    return;
  }
  const int64_t length = held.size(2), t = added.size(2);
  make_room(held, buffer, t, std::max<int64_t>(2 * (length + t), 64));
  copy_into_room(buffer, length, added);
  held = buffer.narrow(2, 0, length + t);
}

}  // namespace

void KVCache::append(size_t layer, const torch::Tensor& new_keys, const torch::Tensor& new_values) {
  if (keys.size() <= layer) {
    keys.resize(layer + 1);
    values.resize(layer + 1);
  }
  if (room.keys.size() <= layer) {
    room.keys.resize(layer + 1);
    room.values.resize(layer + 1);
  }
  append_along_keys(keys[layer], room.keys[layer], new_keys);
  append_along_keys(values[layer], room.values[layer], new_values);
}

void KVCache::reserve(int64_t positions) {
  if (room.keys.size() < keys.size()) {
    room.keys.resize(keys.size());
    room.values.resize(values.size());
  }
  for (size_t layer = 0; layer < keys.size(); ++layer) {
    const int64_t capacity = keys[layer].size(2) + positions;
    make_room(keys[layer], room.keys[layer], positions, capacity);
    make_room(values[layer], room.values[layer], positions, capacity);
  }
}

void KVCache::repeat_batch(int64_t times) {
  if (times == 1) return;
  for (auto& k : keys) k = k.repeat_interleave(times, 0);
  for (auto& v : values) v = v.repeat_interleave(times, 0);
  if (key_real.defined()) key_real = key_real.repeat_interleave(times, 0);
}

KVCache concat_states(const KVCache& first, const KVCache& second) {
  if (first.keys.size() != second.keys.size())
    throw Error(fmt::format("cached states of {} and {} layers cannot be joined", first.keys.size(), second.keys.size()));
  KVCache out;
  for (size_t l = 0; l < first.keys.size(); ++l) {
    out.keys.push_back(torch::cat({first.keys[l], second.keys[l]}, 2));
    out.values.push_back(torch::cat({first.values[l], second.values[l]}, 2));
  }
  out.key_real = torch::cat({first.key_real, second.key_real}, 1);
  out.has_padding = first.has_padding || second.has_padding;
  return out;
}

void save_states(const std::filesystem::path& path, const KVCache& states, torch::ScalarType dtype) {
  if (dtype != torch::kFloat32 && dtype != torch::kBFloat16) throw Error("cached states are stored as float32 or bfloat16");
  if (states.length() == 0 || states.key_real.size(0) != 1 || states.has_padding)
    throw Error("only the states of one unpadded row are stored");
  TensorMap tensors;
  for (size_t l = 0; l < states.keys.size(); ++l) {
    tensors["keys." + std::to_string(l)] = states.keys[l][0].to(torch::kCPU, dtype).contiguous();
    tensors["values." + std::to_string(l)] = states.values[l][0].to(torch::kCPU, dtype).contiguous();
  }
  const auto staged = std::filesystem::path(path.string() + ".tmp");
  save_safetensors(staged, tensors, {{"format", "garden-kv-states"}});
  std::filesystem::rename(staged, path);
}

KVCache load_states(const std::filesystem::path& path, torch::Device device) {
  if (!std::filesystem::exists(path)) throw Error(fmt::format("cached states {}: no such file", path.string()));
  const auto tensors = load_safetensors(path);
  KVCache states;
  for (size_t l = 0;; ++l) {
    const auto k = tensors.find("keys." + std::to_string(l)), v = tensors.find("values." + std::to_string(l));
    if (k == tensors.end() || v == tensors.end()) break;
    states.keys.push_back(k->second.to(device, torch::kFloat32).unsqueeze(0));
    states.values.push_back(v->second.to(device, torch::kFloat32).unsqueeze(0));
  }
  if (states.keys.empty() || states.keys.size() * 2 != tensors.size())
    throw Error(fmt::format("{}: not a file of cached states (keys.<layer> and values.<layer> for every layer)", path.string()));
  states.key_real = torch::ones({1, states.keys[0].size(2)}, torch::TensorOptions().dtype(torch::kBool).device(device));
  return states;
}

void KVCache::select_rows(const torch::Tensor& rows) {
  for (auto& k : keys) k = k.index_select(0, rows.to(k.device()));
  for (auto& v : values) v = v.index_select(0, rows.to(v.device()));
  if (key_real.defined()) key_real = key_real.index_select(0, rows.to(key_real.device()));
}

}  // namespace garden::model
