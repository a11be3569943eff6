#include "garden/retrieval/training_pairs.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/text/prepare.h"

namespace garden::retrieval {
namespace {

TEST(TrainingPairs, TitleBecomesTheQueryAndItsCopyLeavesTheBody) {
  Collection c;
  c.corpus = {{"1", "Wing flutter at speed", "wing flutter at SPEED . an experimental study of flutter on thin swept wings"},
              {"2", "Short", "a body long enough to count for anything at all here"},
              {"3", "A proper title here", "too short"},
              {"4", "Boundary layer transition", "measurements of transition on a flat plate in a quiet wind tunnel"}};
  const auto pairs = title_body_pairs(c);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].doc_id, "1");
  EXPECT_EQ(pairs[0].query, "Wing flutter at speed");
  EXPECT_EQ(pairs[0].positive, ". an experimental study of flutter on thin swept wings");
  EXPECT_EQ(pairs[1].positive, "measurements of transition on a flat plate in a quiet wind tunnel");
}

TEST(TrainingPairs, WordNetSynsetsCarryTheirLexicographerFile) {
  EXPECT_EQ(text::wordnet_lexname(5), "noun.animal");
  EXPECT_EQ(text::wordnet_lexname(28), "noun.time");
  EXPECT_THROW(text::wordnet_lexname(45), Error);
  const auto synsets = text::wordnet_synsets("/usr/share/wordnet", {"noun"});
  ASSERT_GT(synsets.size(), 80000u);  // WordNet 3.0 has 82,115 noun synsets
  bool dog_is_an_animal = false;
  for (const auto& s : synsets)
    if (!s.lemmas.empty() && s.lemmas[0] == "dog" && s.gloss.find("domesticated") != std::string::npos)
      dog_is_an_animal = s.lexname == "noun.animal";
  EXPECT_TRUE(dog_is_an_animal);
}

}  // namespace
}  // namespace garden::retrieval
