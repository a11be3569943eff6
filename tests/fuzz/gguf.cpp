// core/gguf.cpp: the GGUF reader that checks `garden export gguf` files.
#include "fuzz_input.h"
#include "garden/core/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  garden::fuzz::result_or_error("model.gguf", [&] { garden::gguf::parse(bytes, "model.gguf"); });
  return 0;
}
