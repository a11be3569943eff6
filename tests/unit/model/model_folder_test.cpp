#include "garden/model/model_folder.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/text/tokenizer.h"
#include "test_helpers.h"

namespace garden::model {
namespace {

// A SentencePiece model trained on a few lines, outside the folders the tests save.
std::filesystem::path small_tokenizer(const std::filesystem::path& dir) {
  std::string corpus;
  for (int i = 0; i < 200; ++i) corpus += "the quick brown fox jumps over the lazy dog " + std::to_string(i) + "\n";
  write_file_atomic(dir / "corpus.txt", corpus);
  text::TokenizerTrainOptions o;
  o.inputs = {dir / "corpus.txt"};
  o.vocab = 300;
  text::train_tokenizer(o, dir / "elsewhere.model");
  return dir / "elsewhere.model";
}

TEST(ModelFolder, CarriesItsTokenizerAndLoadsAfterAMove) {
  testing::TempDir dir;
  const auto tokenizer_file = small_tokenizer(dir.path());
  const auto tokenizer = text::load_tokenizer(tokenizer_file.string());
  auto config = testing::tiny_config();
  config.vocab = tokenizer->vocab_size();
  Transformer model(config);
  save_model(dir.path() / "m", model, tokenizer_file.string());
  EXPECT_EQ(read_json_file(dir.path() / "m" / "config.json")["tokenizer"], "tokenizer.model");  // no path outside the folder

  std::filesystem::rename(dir.path() / "m", dir.path() / "moved");
  std::filesystem::remove(tokenizer_file);  // the original is gone: only the folder's copy remains
  auto loaded = load_model(dir.path() / "moved");
  EXPECT_EQ(loaded.tokenizer_spec, (dir.path() / "moved" / "tokenizer.model").string());
  EXPECT_EQ(text::load_tokenizer(loaded.tokenizer_spec)->encode("the lazy dog"), tokenizer->encode("the lazy dog"));
  EXPECT_TRUE(torch::equal(loaded.model->token_embedding->weight, model->token_embedding->weight));

  // Saving a loaded model elsewhere copies the tokenizer again; saving over itself keeps it.
  save_model(dir.path() / "copy", loaded.model, loaded.tokenizer_spec);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "copy" / "tokenizer.model"));
  save_model(dir.path() / "moved", loaded.model, loaded.tokenizer_spec);
  EXPECT_EQ(load_model(dir.path() / "moved").tokenizer_spec, loaded.tokenizer_spec);
}

TEST(ModelFolder, ByteTokenizerAndOldAbsoluteSpecsAreKept) {
  EXPECT_EQ(store_tokenizer("/nowhere", "bytes"), "bytes");
  EXPECT_EQ(folder_tokenizer_spec("/models/m", "bytes"), "bytes");
  EXPECT_EQ(folder_tokenizer_spec("/models/m", "/cache/base/tokenizer.model"), "/cache/base/tokenizer.model");
  EXPECT_EQ(folder_tokenizer_spec("/models/m", "tokenizer.model"), "/models/m/tokenizer.model");
}

TEST(ModelFolder, MissingPiecesAreNamed) {
  testing::TempDir dir;
  testing::expect_error_containing([&] { load_model(dir.path() / "absent"); }, "no such folder");
  testing::expect_error_containing([&] { load_model(dir.path()); }, "no model.safetensors and config.json");
  Transformer model(testing::tiny_config());
  testing::expect_error_containing([&] { save_model(dir.path() / "m", model, (dir.path() / "gone.model").string()); }, "gone.model: no such file");
}

}  // namespace
}  // namespace garden::model
