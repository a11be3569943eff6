#include "garden/retrieval/training_pairs.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/retrieval/bm25.h"
#include "garden/core/files.h"
#include "garden/text/prepare.h"
#include "test_files.h"

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

TEST(TrainingPairs, LeadSentenceBecomesTheQueryOfUntitledDocuments) {
  Collection c;
  c.corpus = {{"1", "", "maternal glucose levels . correlation coefficients have been determined between the levels of glucose"},
              {"2", "", "Plasma was sampled daily. the samples were frozen and analysed later in one batch at the end"},
              {"3", "", "compact memories have flexible capacities a digital data storage system with capacity up to bits and random and or sequential access is described"},
              {"4", "", "too short . to count"}};
  const auto pairs = lead_sentence_pairs(c, 12, 8);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].query, "maternal glucose levels");  // a detached full stop ends the sentence and is dropped
  EXPECT_EQ(pairs[0].positive, "correlation coefficients have been determined between the levels of glucose");
  EXPECT_EQ(pairs[1].query, "Plasma was sampled daily.");
  EXPECT_EQ(pairs[1].positive, "the samples were frozen and analysed later in one batch at the end");
  // No full stop within 12 words: the first 12 words are the query.
  EXPECT_EQ(pairs[2].query, "compact memories have flexible capacities a digital data storage system with capacity");
  EXPECT_EQ(pairs[2].positive, "up to bits and random and or sequential access is described");
  EXPECT_EQ(pairs[2].doc_id, "3");
}

TEST(TrainingPairs, WordNetSynsetsCarryTheirLexicographerFile) {
  EXPECT_EQ(text::wordnet_lexname(5), "noun.animal");
  EXPECT_EQ(text::wordnet_lexname(28), "noun.time");
  EXPECT_THROW(text::wordnet_lexname(45), Error);
  const auto synsets = text::wordnet_synsets(text::kWordnetDir, {"noun"});
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
  expect_error("{\"query\": \"a\", \"positive\": \"b\"}\n{\"query\": \"a\"}\n", "bad.jsonl:2: needs a non-empty string \"positive\"");
  expect_error("{\"query\": \"a\", \"positive\": \"b\", \"negatives\": [1]}\n", "bad.jsonl:1: \"negatives\" must be a list");
  expect_error("not json\n", "bad.jsonl:1: not a valid JSON line");
  expect_error("\n", "no pairs");
  std::filesystem::remove_all(dir);
}

TEST(TrainingPairs, LabelledTextsReadStrictly) {
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

TEST(TrainingPairs, StsPairsGoBothWaysFromScoreFourUp) {
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

TEST(TrainingPairs, ExamplePairsTakeTheirPositiveFromTheClassAndNegativesFromOthers) {
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

TEST(NegativeMining, RulesParseAndPickBelowThePositive) {
  EXPECT_EQ(NegativeRule::parse("pos-perc:0.95").to_string(), "pos-perc:0.95");
  EXPECT_EQ(NegativeRule::parse("naive-topk").kind, NegativeRule::Kind::naive_topk);
  EXPECT_EQ(NegativeRule::parse("pos-abs:0.1").value, 0.1);
  for (const char* bad : {"pos-perc", "pos-perc:x", "pos-perc:-1", "naive-topk:3", "topk", "pos-abs:0.1x"})
    testing::expect_error_containing([&] { NegativeRule::parse(bad); }, "--margin must be naive-topk");
  const std::vector<ScoredCandidate> ranked{{"own", 10}, {"copy", 10}, {"near", 9.6}, {"a", 5}, {"b", 4}, {"c", 3}};
  int64_t dropped = 0;
  // A planted exact copy of the positive (same score) never passes a percentage rule below 1.
  EXPECT_EQ(pick_negatives(ranked, "own", 10, NegativeRule::parse("pos-perc:0.95"), 2, &dropped), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(dropped, 2);  // copy and near (9.6 >= 9.5)
  EXPECT_EQ(pick_negatives(ranked, "own", 10, NegativeRule::parse("naive-topk"), 2), (std::vector<std::string>{"copy", "near"}));
  EXPECT_EQ(pick_negatives(ranked, "own", 10, NegativeRule::parse("pos-abs:0.3"), 2), (std::vector<std::string>{"near", "a"}));
  EXPECT_EQ(pick_negatives(ranked, "own", 10, NegativeRule::parse("pos-perc:0.95"), 9).size(), 3u);  // the list runs out
}

TEST(NegativeMining, Bm25TeacherDropsAPlantedDuplicate) {
  testing::TempDir dir;
  Collection c;
  c.corpus = {{"1", "wing flutter at speed", "flutter of thin swept wings measured in a transonic tunnel at several speeds"},
              {"2", "wing flutter at speed", "flutter of thin swept wings measured in a transonic tunnel at several speeds"},  // a planted copy
              {"3", "boundary layer flutter", "transition of a boundary layer on a flat plate with some flutter"},
              {"4", "heat transfer", "heat transfer to a cone in hypersonic flow with flutter of the nose"},
              {"5", "shock waves", "shock wave interaction with a boundary layer on a wedge"}};
  c.queries = {{"q", "x"}};
  c.qrels["q"]["1"] = 1;
  write_beir_collection(c, dir.path() / "coll");
  std::vector<TextPair> pairs{{"wing flutter at speed", "flutter of thin swept wings", "1", {}}};
  auto naive = pairs;
  mine_bm25_negatives(naive, dir.path() / "coll", dir.path() / "bm25", NegativeRule::parse("naive-topk"), 1);
  EXPECT_EQ(naive[0].negatives, (std::vector<std::string>{c.corpus[1].text}));
  auto aware = pairs;
  const auto report = mine_bm25_negatives(aware, dir.path() / "coll", dir.path() / "bm25", NegativeRule::parse("pos-perc:0.95"), 1);
  ASSERT_EQ(aware[0].negatives.size(), 1u);
  EXPECT_NE(aware[0].negatives[0], c.corpus[1].text);
  EXPECT_EQ(report.dropped, 1);
  EXPECT_EQ(report.short_pairs, 0);
  // score() agrees with the ranking's scores.
  const Bm25Index index(dir.path() / "bm25");
  for (const auto& hit : index.search("wing flutter", 5)) EXPECT_NEAR(*index.score("wing flutter", hit.doc_id), hit.score, 1e-9);
  EXPECT_FALSE(index.score("wing flutter", "5").has_value());
  std::vector<TextPair> stray{{"q", "p", "missing", {}}};
  testing::expect_error_containing([&] { mine_bm25_negatives(stray, dir.path() / "coll", dir.path() / "bm25", NegativeRule{}, 1); },
                                   "names document 'missing'");
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
