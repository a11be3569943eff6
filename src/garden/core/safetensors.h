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

// Every parameter and buffer of a module by its dotted name, and the reverse: copies each
// into the module, with an error naming `where` for a missing tensor or a shape mismatch.
TensorMap module_tensors(torch::nn::Module& module);
void load_module_tensors(torch::nn::Module& module, const TensorMap& tensors, const std::filesystem::path& where);

}  // namespace garden
