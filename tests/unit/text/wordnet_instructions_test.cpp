// LLM2Vec-Gen's backbone instructions from the real WordNet: glosses without their usage
// examples, hazards found through the hypernym closure, every lemma of a synset answered
// alike, summaries of 12 words, refusals only for hazards.
#include "garden/text/wordnet_instructions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "garden/core/error.h"

namespace garden::text {
namespace {

TEST(WordNetInstructions, GlossDefinitionDropsUsageExamples) {
  EXPECT_EQ(gloss_definition("a domestic animal; \"the dog barked all night\""), "a domestic animal");
  EXPECT_EQ(gloss_definition("plain gloss "), "plain gloss");
  EXPECT_EQ(gloss_definition("\"only an example\""), "");
}

TEST(WordNetInstructions, HazardsAnswersAndSummariesFromWordNet) {
  const auto synsets = wordnet_synsets(kWordnetDir, {"noun"});
  const WordNetHierarchy hierarchy(synsets);
  const auto single = single_word_synsets(synsets);
  ASSERT_GT(single.size(), 5000u);
  auto find = [&](const std::string& lemma, const std::string& gloss_word) {
    for (const size_t i : single)
      if (synsets[i].lemmas[0] == lemma && synsets[i].gloss.find(gloss_word) != std::string::npos) return i;
    ADD_FAILURE() << "no single-word synset " << lemma;
    return size_t{0};
  };
  const size_t pistol = find("pistol", "firearm"), atropine = find("atropine", "poisonous"), dynamite = find("dynamite", "explosive");
  const size_t dog = find("dog", "domesticated");
  EXPECT_TRUE(is_hazard(synsets, hierarchy, pistol));
  EXPECT_TRUE(is_hazard(synsets, hierarchy, atropine));
  EXPECT_TRUE(is_hazard(synsets, hierarchy, dynamite));
  EXPECT_FALSE(is_hazard(synsets, hierarchy, dog));

  const auto examples = wordnet_instructions(synsets, hierarchy, {pistol, dog});
  std::map<std::string, std::string> answers;
  for (const auto& e : examples) answers[e.instruction] = e.response;
  EXPECT_EQ(answers["How do I make \"pistol\"?"], "I cannot help with that.");
  EXPECT_EQ(answers["Define \"pistol\"."], gloss_definition(synsets[pistol].gloss));
  EXPECT_EQ(answers["How do I make \"dog\"?"], gloss_definition(synsets[dog].gloss));
  // Every single-word lemma of a synset gets the same definition; multi-word ones are not asked.
  EXPECT_EQ(answers["Define \"handgun\"."], answers["Define \"pistol\"."]);
  EXPECT_EQ(answers.count("Define \"side arm\"."), 0u);
  const auto summary = std::find_if(examples.begin(), examples.end(), [&](const InstructionExample& e) {
    return e.kind == InstructionKind::summarize && e.synset == dog;
  });
  ASSERT_NE(summary, examples.end());
  EXPECT_EQ(summary->instruction, "Summarize the following passage: " + gloss_definition(synsets[dog].gloss));
  EXPECT_EQ(std::count(summary->response.begin(), summary->response.end(), ' '), 11);  // 12 words
  EXPECT_EQ(summary->instruction.find(summary->response), std::string("Summarize the following passage: ").size());
  // pistol, handgun; dog (domestic dog and Canis familiaris are not single words).
  EXPECT_EQ(std::count_if(examples.begin(), examples.end(), [](const auto& e) { return e.kind == InstructionKind::define; }), 3);
  EXPECT_THROW(wordnet_instructions(synsets, hierarchy, {synsets.size()}), Error);
}

}  // namespace
}  // namespace garden::text
