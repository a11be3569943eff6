// The byte layout of a GGUF file, version 3 (llama.cpp's model format, as ggml's
// docs/gguf.md specifies it): the magic "GGUF", the version, the tensor and metadata counts,
// the metadata (typed key/value pairs), the tensor infos (name, dims, ggml type, offset),
// then the tensor data, each tensor aligned to `general.alignment` (32 by default). All
// numbers are little-endian. model/gguf_export.h fills one for a garden model; the reader
// checks what the exporter writes and is fuzzed on its own (tests/fuzz/gguf.cpp), so it
// trusts nothing in the bytes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace garden::gguf {

enum class ValueType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};
std::string to_string(ValueType type);

// One metadata value. Integers and booleans live in `integer` (a u64 above INT64_MAX wraps:
// GGUF files use none), floats in `real`, strings in `text`, arrays in `items`, every item
// of type `element`.
struct Value {
  ValueType type = ValueType::u32;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;
  ValueType element = ValueType::u8;
  std::vector<Value> items;

  static Value u32(uint32_t v);
  static Value i32(int32_t v);
  static Value u64(uint64_t v);
  static Value f32(float v);
  static Value boolean(bool v);
  static Value string(std::string v);
  static Value array(ValueType element, std::vector<Value> items);
  bool operator==(const Value& other) const;
};

// The ggml tensor types garden writes and reads; others are refused by name.
enum class TensorType : uint32_t { f32 = 0, f16 = 1 };
size_t element_size(TensorType type);

struct Tensor {
  std::string name;
  // ggml's order: dims[0] varies fastest, so a row-major [rows, cols] matrix is {cols, rows}.
  std::vector<uint64_t> dims;
  TensorType type = TensorType::f32;
  std::string data;  // the raw little-endian elements
  uint64_t elements() const;
};

struct File {
  uint32_t version = 3;
  std::vector<std::pair<std::string, Value>> metadata;  // in file order
  std::vector<Tensor> tensors;                          // in file order

  const Value* find(const std::string& key) const;          // nullptr when absent
  const Tensor* find_tensor(const std::string& name) const;  // nullptr when absent
  // The alignment of the tensor data: general.alignment (a u32 power of two) or 32.
  uint32_t alignment() const;
};

// The file's bytes. Throws garden::Error for a tensor whose data does not hold its elements,
// a duplicate key or tensor name, or an array whose items differ in type from `element`.
std::string serialize(const File& file);
// Parses and checks a whole file's bytes (versions 2 and 3): every count, length and offset
// inside the file, every type known, tensor data aligned and inside the data section. Errors
// name `where` (the file) and what is wrong.
File parse(const std::string& bytes, const std::string& where);

}  // namespace garden::gguf
