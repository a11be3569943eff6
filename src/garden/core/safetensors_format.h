// The byte layout of a safetensors file (core/safetensors.h reads and writes them): an
// 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then the raw tensor bytes. Parsed here without libtorch, so that the parsing can be
// fuzzed on its own (tests/fuzz/safetensors.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace garden {

struct SafetensorsEntry {
  std::string name, dtype;     // dtype: F32, F64, BF16, F16, I64, I32 or U8
  std::vector<int64_t> shape;
  size_t begin = 0, end = 0;   // byte offsets into the file's data (after the header)
};

struct SafetensorsLayout {
  std::vector<SafetensorsEntry> tensors;  // in the header's order
  size_t data_start = 0;                  // where the data begins in the file
};

// Bytes per element of a dtype; 0 for one garden does not support.
size_t safetensors_dtype_size(const std::string& dtype);

// Parses and checks a whole file's bytes: the header is JSON, every tensor has a supported
// dtype, a shape of sizes >= 0 and data offsets inside the data that hold exactly its
// elements. Errors name `where` (the file).
SafetensorsLayout parse_safetensors(const std::string& bytes, const std::string& where);

}  // namespace garden
