// core/safetensors_format.cpp: the byte parsing of load_safetensors (core/safetensors.cpp),
// which only adds the copy into tensors.
#include "fuzz_input.h"
#include "garden/core/safetensors_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  garden::fuzz::result_or_error("model.safetensors", [&] { garden::parse_safetensors(bytes, "model.safetensors"); });
  return 0;
}
