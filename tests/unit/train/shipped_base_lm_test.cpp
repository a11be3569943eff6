// Shipped base LMs: a copy with bf16 weights is installed instead of training, and the
// repository's copy of base v2 is intact and matches the current recipe. (Apart from
// base_lm_test.cpp, which compiles without libtorch.)
#include <gtest/gtest.h>

#include <cstdlib>

#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/safetensors.h"
#include "garden/model/model_folder.h"
#include "garden/train/base_lm.h"
#include "test_files.h"
#include "train/tiny_base_lm.h"

namespace garden::train {
namespace {

namespace fs = std::filesystem;
using testing_recipes::tiny;

// A shipped copy holds the trained weights rounded to bf16, and a cache without the model
// installs it instead of training.
TEST(BaseLm, AShippedCopyHoldsBf16WeightsAndIsInstalledInsteadOfTraining) {
  testing::TempDir cache, data, shipped;
  fs::create_directories(data.path() / "tinyshakespeare");
  write_file_atomic(data.path() / "tinyshakespeare" / "input.txt", "First Citizen:\nBefore we proceed any further.\n");
  const auto trained = ensure_base_lm(cache.path(), data.path(), tiny("v1"), false, true);
  const fs::path copy = ship_base_lm(trained, shipped.path());
  EXPECT_EQ(copy, shipped.path() / "base-lm" / trained.model.parent_path().filename());

  const TensorMap original = load_safetensors(trained.model / "model.safetensors");
  const TensorMap rounded = load_safetensors(copy / "model" / "model.safetensors");
  ASSERT_EQ(rounded.size(), original.size());
  for (const auto& [name, tensor] : original) {
    EXPECT_EQ(rounded.at(name).scalar_type(), torch::kBFloat16) << name;
    EXPECT_TRUE(torch::equal(rounded.at(name), tensor.to(torch::kBFloat16))) << name;
  }
  EXPECT_TRUE(fs::exists(copy / "done.json"));
  EXPECT_TRUE(fs::exists(copy / "tokenizer.model"));

  testing::TempDir fresh_cache;
  ASSERT_EQ(setenv("GARDEN_SHIPPED_ARTIFACTS", shipped.path().c_str(), 1), 0);
  const auto installed = ensure_base_lm(fresh_cache.path(), data.path(), tiny("v1"), false, true);
  unsetenv("GARDEN_SHIPPED_ARTIFACTS");
  EXPECT_TRUE(installed.shipped);
  EXPECT_FALSE(installed.built);
  EXPECT_DOUBLE_EQ(installed.val_loss, trained.val_loss);
  const auto loaded = model::load_model(installed.model);
  for (const auto& item : loaded.model->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), original.at(item.key()).to(torch::kBFloat16).to(torch::kFloat32))) << item.key();
}

// The repository's copy of base v2 (artifacts/base-lm/): filed under the hash of the key
// in its own manifest, built by the current v2 recipe and recipe code version, every file
// as its manifest says, and loadable. A change to the v2 recipe or its code version fails
// here until the copy is shipped again (garden lm base --recipe v2 --ship artifacts).
TEST(BaseLm, TheRepositoryShipsBaseV2IntactUnderTheCurrentRecipe) {
  const fs::path shipped = fs::path(GARDEN_SOURCE_DIR) / "artifacts" / "base-lm";
  ASSERT_TRUE(fs::is_directory(shipped)) << shipped;
  size_t copies = 0;
  for (const auto& entry : fs::directory_iterator(shipped)) {
    ++copies;
    const Json manifest = read_json_file(entry.path() / "artifact.json");
    const Json key = {{"recipe", manifest.at("recipe")}, {"version", manifest.at("version")}, {"key", manifest.at("key")}};
    EXPECT_EQ(entry.path().filename().string(), sha256_hex(key.dump()).substr(0, 16));
    EXPECT_EQ(manifest.at("recipe"), "base-lm");
    EXPECT_EQ(manifest.at("version"), kBaseLmRecipeVersion);
    EXPECT_EQ(manifest.at("key").at("options"), base_lm_recipe("v2").to_json());
    for (const auto& [relative, expected] : manifest.at("files").items()) {
      const fs::path file = entry.path() / relative;
      ASSERT_TRUE(fs::is_regular_file(file)) << file;
      EXPECT_EQ(fs::file_size(file), expected.at("bytes").get<uint64_t>()) << file;
      EXPECT_EQ(sha256_file_hex(file), expected.at("sha256").get<std::string>()) << file;
    }
    const auto loaded = model::load_model(entry.path() / "model");
    EXPECT_EQ(loaded.model->parameter_count(), read_json_file(entry.path() / "done.json").at("parameters").get<int64_t>());
    EXPECT_LE(fs::file_size(entry.path() / "model" / "model.safetensors"), 30u << 20);
  }
  EXPECT_EQ(copies, 1u);
}

}  // namespace
}  // namespace garden::train
