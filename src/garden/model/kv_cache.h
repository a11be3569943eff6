// Keys and values of the tokens seen so far, per layer, for incremental decoding.
// Keys are stored after RoPE, so a cached key never needs re-rotating.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <vector>

namespace garden::model {

// Room to append keys and values in place: per layer a [B,Hkv,capacity,D] buffer whose first S
// positions the layer's keys and values view. A copied cache gets no room (its first append
// reallocates), so two copies of one cache never write into the same storage.
class AppendRoom {
 public:
  AppendRoom() = default;
  AppendRoom(const AppendRoom&) {}
  AppendRoom& operator=(const AppendRoom&) {
    keys.clear();
    values.clear();
    return *this;
  }
  AppendRoom(AppendRoom&&) = default;
  AppendRoom& operator=(AppendRoom&&) = default;
  ~AppendRoom() = default;
  std::vector<torch::Tensor> keys, values;
};

struct KVCache {
  std::vector<torch::Tensor> keys;    // per layer [B,Hkv,S,D]
  std::vector<torch::Tensor> values;  // per layer [B,Hkv,S,D]
  AppendRoom room;
  torch::Tensor key_real;             // [B,S] bool: false where the cached token was padding
  bool has_padding = false;           // whether any key_real is false (then masks are always built)
  int64_t length() const { return key_real.defined() ? key_real.size(1) : 0; }
  // Appends a layer's new keys and values [B,Hkv,T,D] along the key axis. Without autograd they
  // are written into the layer's room, which doubles when full, so a decode step copies T
  // positions rather than the whole cache (torch::cat copied all of it every step, a growing
  // share of a batched decode); with autograd on tensors that need gradients it concatenates.
  void append(size_t layer, const torch::Tensor& new_keys, const torch::Tensor& new_values);
  // Without autograd: makes every layer's keys and values views of room with space for
  // `positions` more (copying them into a buffer of exactly that size where the present room
  // is shorter), so that a decoder writing raw positions after them (model/rows_decoder.h)
  // needs no allocation.
  void reserve(int64_t positions);
  // Repeats every cached row `times` times (batch b -> rows b*times ..), e.g. to sample
  // many completions from one prefilled prompt.
  void repeat_batch(int64_t times);
  // Keeps the rows `rows` (int64 [N] on any device), in that order: row i becomes old row
  // rows[i], e.g. the parents of a beam search's surviving beams.
  void select_rows(const torch::Tensor& rows);
};

// The states of `first` followed by those of `second` along the key axis (one row each); each
// keeps the positions it was computed at, so the two parts never attended to each other.
KVCache concat_states(const KVCache& first, const KVCache& second);

// One row's states as a safetensors file ("keys.<layer>", "values.<layer>": [Hkv,S,D] in
// `dtype`, float32 or bfloat16), written atomically; loaded back as float32 on `device`.
void save_states(const std::filesystem::path& path, const KVCache& states, torch::ScalarType dtype);
KVCache load_states(const std::filesystem::path& path, torch::Device device = torch::kCPU);

}  // namespace garden::model
