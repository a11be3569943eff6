#include "garden/text/pairs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "test_files.h"

namespace garden::text {
namespace {

TEST(Pairs, FilesRoundTripAndBadLinesNameTheirLine) {
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
  expect_error("{\"query\": \"a\", \"positive\": \"b\"}\n{\"query\": \"a\"}\n", "bad.jsonl:2: needs a non-empty string \"positive\"");
  expect_error("{\"query\": \"a\", \"positive\": \"b\", \"negatives\": [1]}\n", "bad.jsonl:1: \"negatives\" must be a list");
  expect_error("not json\n", "bad.jsonl:1: not a valid JSON line");
  expect_error("\n", "no pairs");
  // A non-string id used to escape as nlohmann's type_error (found by tests/fuzz/pairs.cpp).
  expect_error("{\"query\": \"a\", \"positive\": \"b\", \"id\": 7}\n", "bad.jsonl:1: \"id\" must be a string");
  std::filesystem::remove_all(dir);
}

TEST(Pairs, LabelledTextsReadStrictly) {
  testing::TempDir dir;
  const auto path = dir.path() / "labelled.jsonl";
  write_file_atomic(path, "{\"text\": \"a cat\", \"label\": \"animal\"}\n\n{\"text\": \"a saw\", \"label\": 3}\n");
  const auto texts = read_labelled_texts(path);
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0].label, "animal");
  EXPECT_EQ(texts[1].text, "a saw");
  EXPECT_EQ(texts[1].label, "3");
  auto expect_error = [&](const std::string& content, const std::string& needle) {
    write_file_atomic(path, content);
    testing::expect_error_containing([&] { read_labelled_texts(path); }, needle);
  };
  expect_error("{\"text\": \"a\"}\n", "labelled.jsonl:1: needs a \"label\"");
  expect_error("{\"text\": \"a\", \"label\": 1.5}\n", ":1: needs a \"label\"");
  expect_error("{\"text\": \"a\", \"label\": \"x\"}\n{\"label\": \"x\"}\n", "labelled.jsonl:2: needs a non-empty string \"text\"");
  expect_error("\n", "no labelled texts");
}

TEST(Pairs, StsPairsGoBothWaysFromScoreFourUp) {
  const auto triples = sts_pairs({{"a cat sits", "a cat is sitting"}, {"a man runs", "the sky is blue"}, {"dogs bark", "a dog barks"},
                                  {"a cat sits", "a kitten sits"}},
                                 {4.6, 0.2, 4.0, 3.9});
  ASSERT_EQ(triples.pairs.size(), 4u);  // two per pair scored >= 4, none for 0.2 or 3.9
  EXPECT_EQ(triples.pairs[0].query, "a cat sits");
  EXPECT_EQ(triples.pairs[0].positive, "a cat is sitting");
  EXPECT_EQ(triples.pairs[1].query, "a cat is sitting");
  EXPECT_EQ(triples.pairs[1].positive, "a cat sits");
  EXPECT_EQ(triples.pairs[2].query, "dogs bark");
  // doc_id indexes the unique sentences, first seen first (the repeated "a cat sits" once).
  EXPECT_EQ(triples.sentences.size(), 7u);
  EXPECT_EQ(triples.sentences[std::stoul(triples.pairs[0].doc_id)], "a cat is sitting");
  EXPECT_EQ(triples.sentences[std::stoul(triples.pairs[1].doc_id)], "a cat sits");
}

TEST(Pairs, ExamplePairsTakeTheirPositiveFromTheClassAndNegativesFromOthers) {
  const std::vector<std::string> texts{"a0", "a1", "a2", "b0", "b1", "c0"};
  const std::vector<int64_t> labels{0, 0, 0, 1, 1, 2};
  const auto pairs = example_pairs(texts, labels, 3, 7);
  ASSERT_EQ(pairs.size(), 5u);  // c0 is alone in its class
  for (const auto& p : pairs) {
    EXPECT_NE(p.query, p.positive);
    EXPECT_EQ(p.query[0], p.positive[0]);
    ASSERT_EQ(p.negatives.size(), 3u);
    for (const auto& n : p.negatives) EXPECT_NE(n[0], p.query[0]);
  }
  EXPECT_THROW(example_pairs({"a", "b"}, {0, 0}, 1, 0), Error);
}

TEST(Pairs, WordNetDefinitionsPointToTheirLemmas) {
  const std::vector<WordNetSynset> synsets = {{"noun", "noun.animal", {"dog", "domestic dog"}, "a member of the genus Canis", "02084071", {}},
                                                    {"noun", "noun.artifact", {}, "no lemma: skipped", "00000001", {}}};
  const auto pairs = wordnet_definition_pairs(synsets);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].query, "a member of the genus Canis");
  EXPECT_EQ(pairs[0].positive, "dog, domestic dog");
}

}  // namespace
}  // namespace garden::text
