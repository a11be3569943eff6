// safetensors reader/writer (https://github.com/huggingface/safetensors format): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then the
// raw little-endian tensor bytes. Written by hand because no Debian package provides it;
// the format is small and fixed. Supports F32, F64, BF16, F16, I64, I32, U8.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

namespace garden {

using TensorMap = std::map<std::string, torch::Tensor>;

void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});
TensorMap load_safetensors(const std::filesystem::path& path);

}  // namespace garden
