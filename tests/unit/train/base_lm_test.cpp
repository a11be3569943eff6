// The base LM recipes: the cache key follows every input (options, architecture, the bytes
// of each source), a damaged cached model is rebuilt rather than used, and v2 never trains
// on a held-out line (checked on the real splits).
#include "garden/train/base_lm.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <unordered_set>

#include "garden/core/files.h"
#include "garden/text/prepare.h"
#include "test_files.h"
#include "train/tiny_base_lm.h"

namespace garden::train {
namespace {

namespace fs = std::filesystem;
using testing_recipes::tiny;

std::unordered_set<std::string> lines_of(const std::string& text) {
  std::unordered_set<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.insert(line);
  return lines;
}

TEST(BaseLm, RecipesAreNamedAndV2IsTheLargerOne) {
  const auto v1 = base_lm_recipe("v1"), v2 = base_lm_recipe("v2");
  EXPECT_EQ(v1.d_model, 128);
  EXPECT_GE(v2.d_model * v2.d_model * v2.layers, 4 * v1.d_model * v1.d_model * v1.layers);
  EXPECT_GE(v2.steps * v2.batch * v2.seq, 10 * v1.steps * v1.batch * v1.seq);  // 10x the tokens
  EXPECT_TRUE(v2.bf16);
  testing::expect_error_containing([] { base_lm_recipe("v3"); }, "unknown recipe 'v3'");
}

TEST(BaseLm, TheCacheKeyFollowsOptionsArchitectureAndSourceBytesAndADamagedModelIsRebuilt) {
  testing::TempDir cache, data;
  fs::create_directories(data.path() / "tinyshakespeare");
  const fs::path play = data.path() / "tinyshakespeare" / "input.txt";
  write_file_atomic(play, "First Citizen:\nBefore we proceed any further, hear me speak.\n");

  const auto first = ensure_base_lm(cache.path(), data.path(), tiny("v1"), false, true);
  EXPECT_TRUE(first.built);
  EXPECT_NE(first.sources.find("tiny-shakespeare"), std::string::npos);
  const auto again = ensure_base_lm(cache.path(), data.path(), tiny("v1"), false, true);
  EXPECT_FALSE(again.built);
  EXPECT_EQ(again.model, first.model);

  auto more_steps = tiny("v1");
  more_steps.steps = 3;
  auto wider = tiny("v1");
  wider.d_model = 32;
  for (const auto& changed : {more_steps, wider}) {
    const auto other = ensure_base_lm(cache.path(), data.path(), changed, false, true);
    EXPECT_TRUE(other.built);
    EXPECT_NE(other.model, first.model);
  }

  write_file_atomic(play, "First Citizen:\nBefore we proceed any further, hear me speak now.\n");
  const auto new_bytes = ensure_base_lm(cache.path(), data.path(), tiny("v1"), false, true);
  EXPECT_TRUE(new_bytes.built);
  EXPECT_NE(new_bytes.model, first.model);

  // A truncated weights file in the cached entry: rebuilt, never loaded.
  const fs::path weights = new_bytes.model / "model.safetensors";
  const std::string bytes = read_file(weights);
  write_file_atomic(weights, bytes.substr(0, bytes.size() / 2));
  const auto repaired = ensure_base_lm(cache.path(), data.path(), tiny("v1"), false, true);
  EXPECT_TRUE(repaired.built);
  EXPECT_EQ(read_file(repaired.model / "model.safetensors").size(), bytes.size());
}

TEST(BaseLm, V2NeverTrainsOnAHeldOutLineNorOnWikitext) {
  testing::TempDir cache;
  const fs::path data = testing::shared_data_root();
  const auto text = base_lm_text(cache.path(), data, base_lm_recipe("v2"));
  EXPECT_EQ(text.sources.find("wikitext"), std::string::npos);
  EXPECT_NE(text.sources.find("Python documentation"), std::string::npos);
  const auto trained = lines_of(text.train);

  std::vector<fs::path> held_out = {text::default_corpus_dir(cache.path()) / "valid.txt",
                                    text::default_corpus_dir(cache.path()) / "test.txt",
                                    text::docs_corpus_dir(cache.path()) / "valid.txt",
                                    text::docs_corpus_dir(cache.path()) / "test.txt"};
  if (fs::exists(data / "wikitext2-raw" / "test.txt")) held_out.push_back(data / "wikitext2-raw" / "test.txt");
  size_t checked = 0;
  for (const auto& file : held_out) {
    for (const auto& line : lines_of(read_file(file))) {
      if (line.empty()) continue;
      ASSERT_EQ(trained.count(line), 0u) << file.filename() << " line trained on: " << line;
      ++checked;
    }
  }
  EXPECT_GT(checked, 20000u);
  // Removing held-out lines leaves most of the text: repeated lines are a small share.
  EXPECT_GT(text.train.size(), 20u << 20);
}

// The model-collapse pretrained model must not see tiny-shakespeare, which its generation 0
// is fine-tuned on, even when the data root has it.
TEST(BaseLm, KjvTrainsOnTheBuiltInCorpusAloneWhateverTheDataRootHolds) {
  testing::TempDir cache, data;
  fs::create_directories(data.path() / "tinyshakespeare");
  write_file_atomic(data.path() / "tinyshakespeare" / "input.txt", "First Citizen:\nBefore we proceed any further, hear me speak.\n");
  const auto kjv = base_lm_recipe("kjv");
  EXPECT_EQ(kjv.vocab, 2000);
  EXPECT_EQ(kjv.d_model, 128);
  EXPECT_EQ(kjv.layers, 4);
  const auto text = base_lm_text(cache.path(), data.path(), kjv);
  EXPECT_EQ(text.files.size(), 1u);
  EXPECT_EQ(text.sources.find("tiny-shakespeare"), std::string::npos);
  EXPECT_EQ(text.train.find("First Citizen"), std::string::npos);
  EXPECT_NE(base_lm_text(cache.path(), data.path(), base_lm_recipe("v1")).sources.find("tiny-shakespeare"), std::string::npos);
}

}  // namespace
}  // namespace garden::train
