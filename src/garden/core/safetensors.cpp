#include "garden/core/safetensors.h"

#include <cstring>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/safetensors_format.h"

namespace garden {

namespace {

std::string dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return "F32";
    case torch::kFloat64: return "F64";
    case torch::kBFloat16: return "BF16";
    case torch::kFloat16: return "F16";
    case torch::kInt64: return "I64";
    case torch::kInt32: return "I32";
    case torch::kUInt8: return "U8";
    default: throw Error(std::string("safetensors: unsupported dtype ") + c10::toString(type));
  }
}

torch::ScalarType dtype_from_name(const std::string& name, const std::string& where) {
  if (name == "F32") return torch::kFloat32;
  if (name == "F64") return torch::kFloat64;
  if (name == "BF16") return torch::kBFloat16;
  if (name == "F16") return torch::kFloat16;
  if (name == "I64") return torch::kInt64;
  if (name == "I32") return torch::kInt32;
  if (name == "U8") return torch::kUInt8;
  throw Error(where + ": unsupported safetensors dtype '" + name + "'");
}

}  // namespace

void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> contiguous;
  size_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const size_t bytes = t.numel() * t.element_size();
    header[name] = {{"dtype", dtype_name(t.scalar_type())},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(t);
  }
  std::string header_text = header.dump();
  header_text.resize((header_text.size() + 7) / 8 * 8, ' ');  // the format pads to 8 bytes
  std::string out;
  out.reserve(8 + header_text.size() + offset);
  uint64_t n = header_text.size();
  for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  out += header_text;
  for (const auto& t : contiguous)
    out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_file_atomic(path, out);
}

TensorMap load_safetensors(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  const SafetensorsLayout layout = parse_safetensors(bytes, path.string());
  TensorMap tensors;
  for (const SafetensorsEntry& entry : layout.tensors) {
    auto tensor = torch::empty(entry.shape, torch::TensorOptions().dtype(dtype_from_name(entry.dtype, path.string())));
    if (entry.end > entry.begin) std::memcpy(tensor.data_ptr(), bytes.data() + layout.data_start + entry.begin, entry.end - entry.begin);
    tensors[entry.name] = tensor;
  }
  return tensors;
}

TensorMap module_tensors(torch::nn::Module& module) {
  TensorMap tensors;
  for (const auto& item : module.named_parameters()) tensors[item.key()] = item.value();
  for (const auto& item : module.named_buffers()) tensors[item.key()] = item.value();
  return tensors;
}

void load_module_tensors(torch::nn::Module& module, const TensorMap& tensors, const std::filesystem::path& where) {
  torch::NoGradGuard no_grad;
  auto assign = [&](const std::string& name, torch::Tensor& target) {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error(where.string() + ": missing tensor '" + name + "' (saved by a different architecture?)");
    if (it->second.sizes() != target.sizes())
      throw Error(where.string() + ": tensor '" + name + "' has shape " + c10::str(it->second.sizes()) + ", the model expects " +
                  c10::str(target.sizes()));
    target.copy_(it->second);
  };
  for (auto& item : module.named_parameters()) assign(item.key(), item.value());
  for (auto& item : module.named_buffers()) assign(item.key(), item.value());
}

}  // namespace garden
