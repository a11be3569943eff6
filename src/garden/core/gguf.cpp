#include "garden/core/gguf.h"

#include <fmt/core.h>

#include <cstring>
#include <limits>
#include <set>

#include "garden/core/error.h"
#include "garden/core/json.h"

namespace garden::gguf {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;          // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;         // arrays of arrays: GGUF allows them, nobody nests deeply

// A key or tensor name as JSON escapes it, without the quotes: names come from the file, and
// an error must stay one line whatever they hold.
std::string escaped(const std::string& name) {
  const std::string quoted = Json(name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

bool is_integer(ValueType t) {
  switch (t) {
    case ValueType::u8: case ValueType::i8: case ValueType::u16: case ValueType::i16: case ValueType::u32:
    case ValueType::i32: case ValueType::u64: case ValueType::i64: case ValueType::boolean:
      return true;
    default:
      return false;
  }
}

size_t scalar_size(ValueType t) {
  switch (t) {
    case ValueType::u8: case ValueType::i8: case ValueType::boolean: return 1;
    case ValueType::u16: case ValueType::i16: return 2;
    case ValueType::u32: case ValueType::i32: case ValueType::f32: return 4;
    case ValueType::u64: case ValueType::i64: case ValueType::f64: return 8;
    default: return 0;  // string, array: variable
  }
}

class Writer {
 public:
  void u32(uint32_t v) { little_endian(v, 4); }
  void u64(uint64_t v) { little_endian(v, 8); }
  void string(const std::string& s) {
    u64(s.size());
    out_ += s;
  }
  void value(const Value& v, const std::string& key) {
    if (is_integer(v.type)) {
      little_endian(static_cast<uint64_t>(v.integer), scalar_size(v.type));
    } else if (v.type == ValueType::f32) {
      const float f = static_cast<float>(v.real);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      u32(bits);
    } else if (v.type == ValueType::f64) {
      uint64_t bits;
      std::memcpy(&bits, &v.real, 8);
      u64(bits);
    } else if (v.type == ValueType::string) {
      string(v.text);
    } else if (v.type == ValueType::array) {
      u32(static_cast<uint32_t>(v.element));
      u64(v.items.size());
      for (const auto& item : v.items) {
        if (item.type != v.element)
          throw Error(fmt::format("gguf: metadata {}: an item of type {} in an array of {}", key, to_string(item.type),
                                  to_string(v.element)));
        value(item, key);
      }
    } else {
      throw Error(fmt::format("gguf: metadata {}: unknown value type {}", key, static_cast<uint32_t>(v.type)));
    }
  }
  void pad_to(uint32_t alignment) { out_.append((alignment - out_.size() % alignment) % alignment, '\0'); }
  std::string& bytes() { return out_; }

 private:
  void little_endian(uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

class Reader {
 public:
  Reader(const std::string& bytes, const std::string& where) : bytes_(bytes), where_(where) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("{}: not a valid GGUF file: {} (at byte {})", where_, what, pos_));
  }
  size_t position() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  uint64_t unsigned_int(size_t n, const char* what) {
    if (remaining() < n) fail(fmt::format("truncated {}", what));
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  uint32_t u32(const char* what) { return static_cast<uint32_t>(unsigned_int(4, what)); }
  uint64_t u64(const char* what) { return unsigned_int(8, what); }
  std::string string(const char* what) {
    const uint64_t n = u64(what);
    if (n > remaining()) fail(fmt::format("{} of {} bytes runs past the end", what, n));
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  ValueType value_type(const char* what) {
    const uint32_t t = u32(what);
    if (t > static_cast<uint32_t>(ValueType::f64)) fail(fmt::format("unknown {} {}", what, t));
    return static_cast<ValueType>(t);
  }
  Value value(ValueType type, const std::string& key, int depth) {
    Value v;
    v.type = type;
    if (is_integer(type)) {
      const size_t n = scalar_size(type);
      const uint64_t raw = unsigned_int(n, "metadata value");
      // Sign-extend the signed types; booleans must be 0 or 1.
      const bool is_signed = type == ValueType::i8 || type == ValueType::i16 || type == ValueType::i32;
      if (is_signed && n < 8 && (raw >> (8 * n - 1)) & 1)
        v.integer = static_cast<int64_t>(raw | (~uint64_t{0} << (8 * n)));
      else
        v.integer = static_cast<int64_t>(raw);
      if (type == ValueType::boolean && raw > 1) fail(fmt::format("metadata {}: boolean {}", escaped(key), raw));
    } else if (type == ValueType::f32) {
      const uint32_t bits = u32("metadata value");
      float f;
      std::memcpy(&f, &bits, 4);
      v.real = f;
    } else if (type == ValueType::f64) {
      const uint64_t bits = u64("metadata value");
      std::memcpy(&v.real, &bits, 8);
    } else if (type == ValueType::string) {
      v.text = string("metadata string");
    } else {
      if (depth >= kMaxArrayDepth) fail(fmt::format("metadata {}: arrays nested deeper than {}", escaped(key), kMaxArrayDepth));
      v.element = value_type("array item type");
      const uint64_t count = u64("array length");
      // Every item takes at least one byte (a string its 8-byte length), so a count beyond
      // the bytes left is a lie; checked before anything is allocated for it.
      const size_t least = v.element == ValueType::string || v.element == ValueType::array ? 8 : scalar_size(v.element);
      if (count > remaining() / least) fail(fmt::format("metadata {}: array of {} items runs past the end", escaped(key), count));
      v.items.reserve(count);
      for (uint64_t i = 0; i < count; ++i) v.items.push_back(value(v.element, key, depth + 1));
    }
    return v;
  }

 private:
  const std::string& bytes_;
  const std::string& where_;
  size_t pos_ = 0;
};

}  // namespace

std::string to_string(ValueType type) {
  static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(type);
  return i < std::size(names) ? names[i] : "type " + std::to_string(i);
}

Value Value::u32(uint32_t v) { Value x; x.type = ValueType::u32; x.integer = v; return x; }
Value Value::i32(int32_t v) { Value x; x.type = ValueType::i32; x.integer = v; return x; }
Value Value::u64(uint64_t v) { Value x; x.type = ValueType::u64; x.integer = static_cast<int64_t>(v); return x; }
Value Value::f32(float v) { Value x; x.type = ValueType::f32; x.real = v; return x; }
Value Value::boolean(bool v) { Value x; x.type = ValueType::boolean; x.integer = v ? 1 : 0; return x; }
Value Value::string(std::string v) { Value x; x.type = ValueType::string; x.text = std::move(v); return x; }
Value Value::array(ValueType element, std::vector<Value> items) {
  Value x;
  x.type = ValueType::array;
  x.element = element;
  x.items = std::move(items);
  return x;
}

bool Value::operator==(const Value& o) const {
  if (type != o.type) return false;
  if (is_integer(type)) return integer == o.integer;
  if (type == ValueType::f32 || type == ValueType::f64) return real == o.real;
  if (type == ValueType::string) return text == o.text;
  return element == o.element && items == o.items;
}

size_t element_size(TensorType type) { return type == TensorType::f16 ? 2 : 4; }

uint64_t Tensor::elements() const {
  uint64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

const Value* File::find(const std::string& key) const {
  for (const auto& [k, v] : metadata)
    if (k == key) return &v;
  return nullptr;
}

const Tensor* File::find_tensor(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

uint32_t File::alignment() const {
  const Value* v = find("general.alignment");
  return v && v->type == ValueType::u32 ? static_cast<uint32_t>(v->integer) : kDefaultAlignment;
}

std::string serialize(const File& file) {
  const uint32_t alignment = file.alignment();
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    throw Error(fmt::format("gguf: general.alignment {} is not a power of two", alignment));
  std::set<std::string> keys, names;
  for (const auto& [key, value] : file.metadata)
    if (!keys.insert(key).second) throw Error("gguf: metadata key " + key + " appears twice");
  Writer w;
  w.u32(kMagic);
  w.u32(file.version);
  w.u64(file.tensors.size());
  w.u64(file.metadata.size());
  for (const auto& [key, value] : file.metadata) {
    w.string(key);
    w.u32(static_cast<uint32_t>(value.type));
    w.value(value, key);
  }
  uint64_t offset = 0;
  for (const auto& t : file.tensors) {
    if (!names.insert(t.name).second) throw Error("gguf: tensor " + t.name + " appears twice");
    if (t.dims.empty() || t.dims.size() > kMaxDims)
      throw Error(fmt::format("gguf: tensor {} has {} dims (1 to {})", t.name, t.dims.size(), kMaxDims));
    if (t.data.size() != t.elements() * element_size(t.type))
      throw Error(fmt::format("gguf: tensor {} holds {} bytes for {} elements", t.name, t.data.size(), t.elements()));
    w.string(t.name);
    w.u32(static_cast<uint32_t>(t.dims.size()));
    for (auto d : t.dims) w.u64(d);
    w.u32(static_cast<uint32_t>(t.type));
    w.u64(offset);
    offset += (t.data.size() + alignment - 1) / alignment * alignment;
  }
  w.pad_to(alignment);
  for (const auto& t : file.tensors) {
    w.bytes() += t.data;
    w.pad_to(alignment);
  }
  return std::move(w.bytes());
}

File parse(const std::string& bytes, const std::string& where) {
  Reader r(bytes, where);
  if (r.u32("magic") != kMagic) r.fail("no GGUF magic");
  File file;
  file.version = r.u32("version");
  if (file.version != 2 && file.version != 3) r.fail(fmt::format("version {} (garden reads 2 and 3)", file.version));
  const uint64_t n_tensors = r.u64("tensor count"), n_metadata = r.u64("metadata count");
  // A key/value pair takes at least 8 + 4 + 1 bytes, a tensor info at least 8 + 4 + 4 + 8.
  if (n_metadata > r.remaining() / 13) r.fail(fmt::format("{} metadata pairs cannot fit", n_metadata));
  std::set<std::string> keys;
  for (uint64_t i = 0; i < n_metadata; ++i) {
    std::string key = r.string("metadata key");
    if (!keys.insert(key).second) r.fail("metadata key " + escaped(key) + " appears twice");
    const ValueType type = r.value_type("metadata value type");
    file.metadata.emplace_back(key, r.value(type, key, 0));
  }
  if (const Value* a = file.find("general.alignment")) {
    if (a->type != ValueType::u32 || a->integer == 0 || (a->integer & (a->integer - 1)) != 0)
      r.fail("general.alignment is not a u32 power of two");
  }
  const uint32_t alignment = file.alignment();
  if (n_tensors > r.remaining() / 24) r.fail(fmt::format("{} tensor infos cannot fit", n_tensors));
  std::vector<uint64_t> offsets;
  std::set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    Tensor t;
    t.name = r.string("tensor name");
    if (!names.insert(t.name).second) r.fail("tensor " + escaped(t.name) + " appears twice");
    const uint32_t n_dims = r.u32("tensor dims");
    if (n_dims == 0 || n_dims > kMaxDims) r.fail(fmt::format("tensor {} has {} dims (1 to {})", escaped(t.name), n_dims, kMaxDims));
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t size = r.u64("tensor dim");
      if (size != 0 && elements > std::numeric_limits<uint64_t>::max() / 8 / size)
        r.fail(fmt::format("tensor {} has too many elements", escaped(t.name)));
      elements *= size;
      t.dims.push_back(size);
    }
    const uint32_t type = r.u32("tensor type");
    if (type > static_cast<uint32_t>(TensorType::f16))
      r.fail(fmt::format("tensor {} has ggml type {} (garden reads f32 and f16 only)", escaped(t.name), type));
    t.type = static_cast<TensorType>(type);
    const uint64_t offset = r.u64("tensor offset");
    if (offset % alignment != 0) r.fail(fmt::format("tensor {} at offset {} is not {}-aligned", escaped(t.name), offset, alignment));
    offsets.push_back(offset);
    file.tensors.push_back(std::move(t));
  }
  const size_t data_start = (r.position() + alignment - 1) / alignment * alignment;
  if (data_start > bytes.size() && !file.tensors.empty()) r.fail("no tensor data");
  const uint64_t data_size = bytes.size() > data_start ? bytes.size() - data_start : 0;
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    auto& t = file.tensors[i];
    const uint64_t size = t.elements() * element_size(t.type);
    if (offsets[i] > data_size || size > data_size - offsets[i])
      r.fail(fmt::format("tensor {} ({} bytes at offset {}) runs past the end of the data ({} bytes)", escaped(t.name), size,
                         offsets[i], data_size));
    t.data = bytes.substr(data_start + offsets[i], size);
  }
  return file;
}

}  // namespace garden::gguf
