#include "garden/core/gguf.h"

#include <gtest/gtest.h>

#include <cstring>

#include "garden/core/error.h"
#include "test_files.h"

namespace garden::gguf {
namespace {

std::string le(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}
std::string f32_bytes(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return le(bits, 4);
}

// The layout of ggml's docs/gguf.md, written out by hand for one key and one tensor.
TEST(Gguf, SerializesTheDocumentedLayoutByteForByte) {
  File f;
  f.metadata.emplace_back("a.b", Value::u32(7));
  Tensor t;
  t.name = "w";
  t.dims = {2};
  t.data = f32_bytes(1.5f) + f32_bytes(-2.0f);
  f.tensors.push_back(t);

  std::string expected = "GGUF" + le(3, 4) + le(1, 8) + le(1, 8);  // magic, version, tensors, metadata
  expected += le(3, 8) + "a.b" + le(4, 4) + le(7, 4);              // key, type u32, value
  expected += le(1, 8) + "w" + le(1, 4) + le(2, 8) + le(0, 4) + le(0, 8);  // name, 1 dim of 2, f32, offset 0
  expected.append((32 - expected.size() % 32) % 32, '\0');                 // data aligned to 32
  expected += t.data + std::string(24, '\0');                              // 8 bytes, padded to 32
  EXPECT_EQ(serialize(f), expected);
}

TEST(Gguf, EveryValueTypeAndTensorRoundTrips) {
  File f;
  f.metadata.emplace_back("general.alignment", Value::u32(64));
  Value v;
  v.type = ValueType::i8, v.integer = -5;
  f.metadata.emplace_back("i8", v);
  v.type = ValueType::u8, v.integer = 250;
  f.metadata.emplace_back("u8", v);
  v.type = ValueType::i16, v.integer = -30000;
  f.metadata.emplace_back("i16", v);
  v.type = ValueType::u16, v.integer = 65000;
  f.metadata.emplace_back("u16", v);
  f.metadata.emplace_back("i32", Value::i32(-2000000000));
  v.type = ValueType::i64, v.integer = -(int64_t{1} << 40);
  f.metadata.emplace_back("i64", v);
  f.metadata.emplace_back("u64", Value::u64(uint64_t{1} << 50));
  f.metadata.emplace_back("f32", Value::f32(0.1f));
  v = Value{};
  v.type = ValueType::f64, v.real = 1e-300;
  f.metadata.emplace_back("f64", v);
  f.metadata.emplace_back("yes", Value::boolean(true));
  f.metadata.emplace_back("name", Value::string("héllo\n"));
  f.metadata.emplace_back("strings", Value::array(ValueType::string, {Value::string("a"), Value::string("")}));
  f.metadata.emplace_back("nested", Value::array(ValueType::array, {Value::array(ValueType::i32, {Value::i32(-1)}),
                                                                    Value::array(ValueType::i32, {})}));
  Tensor a, b;
  a.name = "a", a.dims = {3, 2}, a.type = TensorType::f32, a.data = std::string(24, '\x11');
  b.name = "b", b.dims = {5}, b.type = TensorType::f16, b.data = std::string(10, '\x22');
  f.tensors = {a, b};

  const std::string bytes = serialize(f);
  const File back = parse(bytes, "x.gguf");
  EXPECT_EQ(back.version, 3u);
  ASSERT_EQ(back.metadata.size(), f.metadata.size());
  for (size_t i = 0; i < f.metadata.size(); ++i) {
    EXPECT_EQ(back.metadata[i].first, f.metadata[i].first);
    EXPECT_TRUE(back.metadata[i].second == f.metadata[i].second) << f.metadata[i].first;
  }
  EXPECT_EQ(back.find("i16")->integer, -30000);
  EXPECT_EQ(back.alignment(), 64u);
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.find_tensor("a")->dims, (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(back.find_tensor("a")->data, a.data);
  EXPECT_EQ(back.find_tensor("b")->type, TensorType::f16);
  EXPECT_EQ(back.find_tensor("b")->data, b.data);
  EXPECT_EQ(back.find_tensor("nope"), nullptr);
  EXPECT_EQ(bytes.size() % 64, 0u);
}

// Every prefix of a valid file is refused with garden::Error (never a crash, a hang or a
// huge allocation), and so are files whose counts, types or offsets lie.
TEST(Gguf, TruncatedAndLyingFilesAreRefused) {
  File f;
  f.metadata.emplace_back("k", Value::array(ValueType::string, {Value::string("abc")}));
  Tensor t;
  t.name = "t", t.dims = {4}, t.data = std::string(16, '\1');
  f.tensors.push_back(t);
  const std::string bytes = serialize(f);
  for (size_t n = 0; n + 16 < bytes.size(); ++n)  // the last 16 bytes are padding after the data
    EXPECT_THROW(parse(bytes.substr(0, n), "cut.gguf"), Error) << n << " bytes";

  testing::expect_error_containing([&] { parse("GGUX" + bytes.substr(4), "m.gguf"); }, "m.gguf: not a valid GGUF file: no GGUF magic");
  std::string v9 = bytes;
  v9[4] = 9;
  testing::expect_error_containing([&] { parse(v9, "v.gguf"); }, "version 9");
  std::string many = bytes;
  many.replace(16, 8, le(uint64_t{1} << 60, 8));  // metadata count
  testing::expect_error_containing([&] { parse(many, "c.gguf"); }, "metadata pairs cannot fit");
  std::string long_array = bytes;
  long_array.replace(24 + 8 + 1 + 4 + 4, 8, le(uint64_t{1} << 40, 8));  // the array's length
  testing::expect_error_containing([&] { parse(long_array, "a.gguf"); }, "runs past the end");
  const size_t info = bytes.find(std::string("\x01\0\0\0\0\0\0\0t", 9)) + 9;  // after the tensor's name
  std::string quantized = bytes;
  quantized.replace(info + 4 + 8, 4, le(2, 4));  // ggml type 2 = q4_0
  testing::expect_error_containing([&] { parse(quantized, "q.gguf"); }, "ggml type 2");
  std::string misaligned = bytes;
  misaligned.replace(info + 4 + 8 + 4, 8, le(4, 8));
  testing::expect_error_containing([&] { parse(misaligned, "o.gguf"); }, "not 32-aligned");
  std::string past = bytes;
  past.replace(info + 4 + 8 + 4, 8, le(64, 8));
  testing::expect_error_containing([&] { parse(past, "p.gguf"); }, "runs past the end of the data");
  std::string huge = bytes;
  huge.replace(info + 4, 8, le(uint64_t{1} << 62, 8));
  testing::expect_error_containing([&] { parse(huge, "h.gguf"); }, "too many elements");
}

// Names come from the file: an error quoting one stays one line (found by the fuzzer: a
// duplicated key holding a newline).
TEST(Gguf, NamesInErrorsAreEscaped) {
  File f;
  f.metadata.emplace_back("a\nb", Value::u32(1));
  f.metadata.emplace_back("a\nc", Value::u32(2));
  std::string bytes = serialize(f);
  bytes[bytes.find("a\nc") + 2] = 'b';
  try {
    parse(bytes, "d.gguf");
    ADD_FAILURE() << "a duplicated key was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("metadata key a\\nb appears twice"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(Gguf, SerializeRefusesInconsistentFiles) {
  File f;
  Tensor t;
  t.name = "t", t.dims = {4}, t.data = std::string(15, '\0');
  f.tensors.push_back(t);
  testing::expect_error_containing([&] { serialize(f); }, "tensor t holds 15 bytes for 4 elements");
  f.tensors[0].data = std::string(16, '\0');
  f.tensors.push_back(f.tensors[0]);
  testing::expect_error_containing([&] { serialize(f); }, "tensor t appears twice");
  File g;
  g.metadata.emplace_back("k", Value::array(ValueType::i32, {Value::u32(1)}));
  testing::expect_error_containing([&] { serialize(g); }, "an item of type u32 in an array of i32");
}

}  // namespace
}  // namespace garden::gguf
