#include "garden/retrieval/training_pairs.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/core/files.h"

#include <unistd.h>
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

TEST(TrainingPairs, FilesRoundTripAndBadLinesNameTheirLine) {
  const auto dir = std::filesystem::temp_directory_path() / ("garden-pairs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::vector<TextPair> pairs = {{"q one", "p one", "d1", {"n1", "n2"}}, {"q \"two\"", "p two", "", {}}};
  write_training_pairs(dir / "pairs.jsonl", pairs);
  const auto back = read_training_pairs(dir / "pairs.jsonl");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].negatives, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(back[0].doc_id, "d1");
  EXPECT_EQ(back[1].query, "q \"two\"");
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    write_file_atomic(dir / "bad.jsonl", text);
    try {
      read_training_pairs(dir / "bad.jsonl");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("{\"query\": \"a\", \"positive\": \"b\"}\n{\"query\": \"a\"}\n", "line 2: needs a non-empty string \"positive\"");
  expect_error("{\"query\": \"a\", \"positive\": \"b\", \"negatives\": [1]}\n", "line 1: \"negatives\" must be a list");
  expect_error("not json\n", "line 1: not JSON");
  expect_error("\n", "no pairs");
  std::filesystem::remove_all(dir);
}

TEST(TrainingPairs, WordNetDefinitionsPointToTheirLemmas) {
  const std::vector<text::WordNetSynset> synsets = {{"noun", "noun.animal", {"dog", "domestic dog"}, "a member of the genus Canis"},
                                                    {"noun", "noun.artifact", {}, "no lemma: skipped"}};
  const auto pairs = wordnet_definition_pairs(synsets);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].query, "a member of the genus Canis");
  EXPECT_EQ(pairs[0].positive, "dog, domestic dog");
}

}  // namespace
}  // namespace garden::retrieval
