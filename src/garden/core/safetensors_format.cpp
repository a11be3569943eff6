#include "garden/core/safetensors_format.h"

#include <fmt/core.h>

#include "garden/core/error.h"
#include "garden/core/json.h"

namespace garden {

namespace {
// A string of the header as JSON escapes it, without the quotes: one line whatever it holds.
std::string escaped(const std::string& text) {
  const std::string quoted = Json(text).dump();
  return quoted.substr(1, quoted.size() - 2);
}
}  // namespace

size_t safetensors_dtype_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64") return 8;
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "BF16" || dtype == "F16") return 2;
  if (dtype == "U8") return 1;
  return 0;
}

SafetensorsLayout parse_safetensors(const std::string& bytes, const std::string& where) {
  if (bytes.size() < 8) throw Error(where + ": truncated safetensors file (no header)");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  if (n > bytes.size() - 8) throw Error(where + ": truncated safetensors file (header length " + std::to_string(n) + ")");
  Json header;
  try {
    header = Json::parse(bytes.substr(8, n));
  } catch (const nlohmann::json::exception&) {  // parse_error, or out_of_range for a number beyond a double
    throw Error(where + ": corrupted safetensors header");
  }
  if (!header.is_object()) throw Error(where + ": corrupted safetensors header (not a JSON object)");
  SafetensorsLayout layout;
  layout.data_start = 8 + n;
  const size_t data_size = bytes.size() - layout.data_start;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string tensor = where + ": tensor '" + escaped(name) + "'";
    if (!info.is_object()) throw Error(tensor + " is not described by an object");
    const auto dtype = info.find("dtype");
    if (dtype == info.end() || !dtype->is_string()) throw Error(tensor + " has no dtype");
    SafetensorsEntry entry{name, dtype->get<std::string>(), {}, 0, 0};
    const size_t element = safetensors_dtype_size(entry.dtype);
    if (element == 0) throw Error(tensor + " has the unsupported dtype '" + escaped(entry.dtype) + "'");
    const auto shape = info.find("shape");
    if (shape == info.end() || !shape->is_array()) throw Error(tensor + " has no shape");
    size_t expected = element;
    bool overflow = false;
    for (const auto& size : *shape) {
      if (!size.is_number_unsigned() || size.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        throw Error(tensor + " has a shape that is not a list of sizes >= 0: " + shape->dump());
      entry.shape.push_back(size.get<int64_t>());
      overflow = overflow || __builtin_mul_overflow(expected, size.get<uint64_t>(), &expected);
    }
    const auto offsets = info.find("data_offsets");
    if (offsets == info.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned())
      throw Error(tensor + " has no data_offsets [begin, end]");
    entry.begin = (*offsets)[0].get<uint64_t>();
    entry.end = (*offsets)[1].get<uint64_t>();
    if (overflow || entry.end < entry.begin || entry.end > data_size || entry.end - entry.begin != expected)
      throw Error(tensor + " has data offsets that do not match its shape (truncated file?)");
    layout.tensors.push_back(std::move(entry));
  }
  return layout;
}

}  // namespace garden
