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

}  // namespace
}  // namespace garden::train
