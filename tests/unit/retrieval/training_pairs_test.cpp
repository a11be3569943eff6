#include "garden/retrieval/training_pairs.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/retrieval/bm25.h"
#include "garden/core/files.h"
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
  std::vector<text::TextPair> pairs{{"wing flutter at speed", "flutter of thin swept wings", "1", {}}};
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
  std::vector<text::TextPair> stray{{"q", "p", "missing", {}}};
  testing::expect_error_containing([&] { mine_bm25_negatives(stray, dir.path() / "coll", dir.path() / "bm25", NegativeRule{}, 1); },
                                   "names document 'missing'");
}

}  // namespace
}  // namespace garden::retrieval
