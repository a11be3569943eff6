#include "garden/core/safetensors.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "test_helpers.h"

namespace garden {
namespace {

TEST(Safetensors, RoundTripsDtypesAndShapes) {
  testing::TempDir dir;
  TensorMap in{{"a", torch::randn({2, 3})}, {"b", torch::arange(5, torch::kLong)}, {"c", torch::randn({4}, torch::kFloat64)},
               {"d", torch::randn({3}).to(torch::kBFloat16)}, {"e", torch::tensor({1, 2}, torch::kUInt8)}};
  save_safetensors(dir.path() / "t.safetensors", in);
  auto out = load_safetensors(dir.path() / "t.safetensors");
  ASSERT_EQ(out.size(), in.size());
  for (const auto& [name, t] : in) EXPECT_TRUE(torch::equal(out.at(name), t)) << name;
}

TEST(Safetensors, HeaderFollowsTheFormat) {
  // 8-byte little-endian header length, then JSON with dtype/shape/data_offsets.
  testing::TempDir dir;
  save_safetensors(dir.path() / "t.safetensors", {{"x", torch::zeros({2}, torch::kFloat32)}});
  const std::string bytes = read_file(dir.path() / "t.safetensors");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  EXPECT_EQ(n % 8, 0u);
  auto header = Json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["x"]["dtype"], "F32");
  EXPECT_EQ(header["x"]["data_offsets"], Json::array({0, 8}));
  EXPECT_EQ(bytes.size(), 8 + n + 8);
}

TEST(Safetensors, TruncatedAndCorruptedFilesAreNamed) {
  testing::TempDir dir;
  save_safetensors(dir.path() / "t.safetensors", {{"x", torch::zeros({16})}});
  std::string bytes = read_file(dir.path() / "t.safetensors");
  write_file_atomic(dir.path() / "cut.safetensors", bytes.substr(0, bytes.size() - 10));
  testing::expect_error_containing([&] { load_safetensors(dir.path() / "cut.safetensors"); }, "cut.safetensors: tensor 'x'");
  write_file_atomic(dir.path() / "tiny.safetensors", "abc");
  testing::expect_error_containing([&] { load_safetensors(dir.path() / "tiny.safetensors"); }, "tiny.safetensors: truncated");
}

// Headers that parse as JSON but describe impossible tensors: each is refused naming the
// file, before anything is allocated (found by tests/fuzz/safetensors.cpp).
TEST(Safetensors, ImpossibleHeadersAreNamedBeforeAllocating) {
  testing::TempDir dir;
  auto file_with_header = [&](const std::string& header, const std::string& data = "") {
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
    write_file_atomic(dir.path() / "t.safetensors", bytes + header + data);
    return dir.path() / "t.safetensors";
  };
  // Each used to escape as a nlohmann or c10 exception, or to allocate 4 TB.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"a": 1})", "t.safetensors: tensor 'a' is not described by an object"},
      {R"({"a": 1e999})", "t.safetensors: corrupted safetensors header"},
      {R"([{"dtype": "F32"}])", "t.safetensors: corrupted safetensors header (not a JSON object)"},
      {R"({"a": {"dtype": 7, "shape": [1], "data_offsets": [0, 4]}})", "tensor 'a' has no dtype"},
      {R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", "tensor 'a' has a shape that is not a list of sizes >= 0"},
      {R"({"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", "tensor 'a' has a shape that is not a list of sizes >= 0"},
      {R"({"a": {"dtype": "F32", "shape": [1000000000000], "data_offsets": [0, 4]}})", "tensor 'a' has data offsets that do not match"},
      {R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})", "tensor 'a' has data offsets that do not match"},
      {R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, "4"]}})", "tensor 'a' has no data_offsets"},
      {R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": 4}})", "tensor 'a' has no data_offsets"},
      {R"({"a\nb": {"dtype": "X", "shape": [1], "data_offsets": [0, 4]}})", "tensor 'a\\nb' has the unsupported dtype 'X'"},
  };
  for (const auto& [header, fragment] : cases) {
    const auto path = file_with_header(header, std::string(4, '\0'));
    try {
      load_safetensors(path);
      ADD_FAILURE() << header << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << header << " gave: " << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << header << " escaped as a foreign exception: " << e.what();
    }
  }
}

TEST(Files, AtomicWriteLeavesNoTemporaryFiles) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "f.txt", "one");
  write_file_atomic(dir.path() / "f.txt", "two");
  EXPECT_EQ(read_file(dir.path() / "f.txt"), "two");
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace garden
