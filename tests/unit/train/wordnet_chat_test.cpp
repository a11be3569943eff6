// The chat backbone of LLM2Vec-Gen's reproduction: the synsets it is taught (hazards first
// up to their quota, the rest others, every one a single-word noun synset, seeded) and the
// prompt it answers.
#include "garden/train/wordnet_chat.h"

#include <gtest/gtest.h>

#include <set>

#include "garden/text/wordnet_instructions.h"
#include "test_files.h"

namespace garden::train {
namespace {

TEST(WordNetChat, TaughtSynsetsMeetTheirQuotasFromTheSeed) {
  const auto synsets = text::wordnet_synsets(text::kWordnetDir, {"noun"});
  const text::WordNetHierarchy hierarchy(synsets);
  WordNetChatOptions options;
  options.synsets = 400;
  options.hazards = 60;
  options.seed = 4;
  const auto chosen = wordnet_chat_synsets(synsets, hierarchy, options);
  ASSERT_EQ(chosen.size(), 400u);
  EXPECT_EQ(std::set<size_t>(chosen.begin(), chosen.end()).size(), 400u);
  const auto single = text::single_word_synsets(synsets);
  const std::set<size_t> allowed(single.begin(), single.end());
  int64_t hazards = 0;
  for (const size_t i : chosen) {
    EXPECT_TRUE(allowed.count(i)) << synsets[i].gloss;
    hazards += text::is_hazard(synsets, hierarchy, i) ? 1 : 0;
  }
  EXPECT_EQ(hazards, 60);
  // Hazards are spread through the order, so an 80/20 split holds some of them.
  int64_t late_hazards = 0;
  for (size_t k = 320; k < chosen.size(); ++k) late_hazards += text::is_hazard(synsets, hierarchy, chosen[k]) ? 1 : 0;
  EXPECT_GT(late_hazards, 0);
  EXPECT_EQ(wordnet_chat_synsets(synsets, hierarchy, options), chosen);
  options.seed = 5;
  EXPECT_NE(wordnet_chat_synsets(synsets, hierarchy, options), chosen);
  options.synsets = 1'000'000;
  options.hazards = 0;
  testing::expect_error_containing([&] { wordnet_chat_synsets(synsets, hierarchy, options); }, "single-word noun synsets");
  options.synsets = 10;
  options.hazards = 11;
  testing::expect_error_containing([&] { options.validate(); }, "hazards <= synsets");
}

TEST(WordNetChat, PromptIsTheInstructionThenTheAnswerCue) {
  const text::ByteTokenizer tokenizer;
  auto expected = tokenizer.encode(std::string("Define \"cat\".") + kAnswerCue);
  expected.insert(expected.begin(), tokenizer.bos_id());
  EXPECT_EQ(chat_prompt(tokenizer, "Define \"cat\"."), expected);
}

}  // namespace
}  // namespace garden::train
