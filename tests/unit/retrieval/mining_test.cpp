#include "garden/retrieval/mining.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/embedder.h"
#include "garden/retrieval/bm25.h"
#include "test_files.h"
#include "test_helpers.h"

namespace garden::retrieval {
namespace {

TEST(NegativeMining, RulesParseAndPickBelowThePositive) {
  EXPECT_EQ(NegativeRule::parse("pos-perc:0.95").to_string(), "pos-perc:0.95");
  EXPECT_EQ(NegativeRule::parse("naive-topk").kind, NegativeRule::Kind::naive_topk);
  EXPECT_EQ(NegativeRule::parse("pos-abs:0.1").value, 0.1);
  for (const char* bad : {"pos-perc", "pos-perc:x", "pos-perc:-1", "naive-topk:3", "topk", "pos-abs:0.1x"})
    testing::expect_error_containing([&] { NegativeRule::parse(bad); }, "--margin must be naive-topk");
  const std::vector<ScoredDoc> ranked{{"own", 10}, {"copy", 10}, {"near", 9.6}, {"a", 5}, {"b", 4}, {"c", 3}};
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

// A dense teacher scores an exact copy of the positive like the positive itself: naive mining
// takes it as a negative, the positive-aware rule never does.
TEST(NegativeMining, DenseTeacherDropsAnExactCopy) {
  testing::TempDir dir;
  Collection c;
  c.corpus = {{"1", "", "wing flutter measured in a tunnel"},
              {"2", "", "wing flutter measured in a tunnel"},
              {"3", "", "boundary layers on plates"},
              {"4", "", "heat transfer to cones"},
              {"5", "", "shock waves on wedges"}};
  c.queries = {{"q", "x"}};
  c.qrels["q"]["1"] = 1;
  write_beir_collection(c, dir.path() / "coll");
  auto embedder = testing::tiny_embedder();
  model::save_embedder(dir.path() / "emb", embedder, "bytes");
  const std::vector<text::TextPair> pairs{{"wing flutter", "wing flutter measured in a tunnel", "1", {}}};
  EmbeddingModel teacher(dir.path() / "emb");  // loaded once for both minings
  auto naive = pairs;
  mine_dense_negatives(naive, dir.path() / "coll", dir.path() / "flat", teacher, NegativeRule::parse("naive-topk"), 1);
  EXPECT_EQ(naive[0].negatives, (std::vector<std::string>{"wing flutter measured in a tunnel"}));
  auto aware = pairs;
  const auto report = mine_dense_negatives(aware, dir.path() / "coll", dir.path() / "flat", teacher, NegativeRule::parse("pos-perc:0.95"), 2);
  ASSERT_EQ(aware[0].negatives.size(), 2u);
  for (const auto& n : aware[0].negatives) EXPECT_NE(n, "wing flutter measured in a tunnel");
  EXPECT_GE(report.dropped, 1);
}


// The BM25 teacher's index is reused for the same collection, rebuilt when the collection
// changed, and a folder garden did not write is refused rather than replaced.
TEST(NegativeMining, ReusesItsIndexOnlyForTheSameCollection) {
  testing::TempDir dir;
  Collection c;
  c.corpus = {{"1", "", "wing flutter in a tunnel"}, {"2", "", "wing flutter at speed"}, {"3", "", "boundary layers"}};
  c.queries = {{"q", "x"}};
  c.qrels["q"]["1"] = 1;
  write_beir_collection(c, dir.path() / "coll");
  std::vector<text::TextPair> pairs{{"wing flutter", "wing flutter in a tunnel", "1", {}}};
  mine_bm25_negatives(pairs, dir.path() / "coll", dir.path() / "bm25", NegativeRule::parse("naive-topk"), 1);
  const auto manifest = dir.path() / "bm25" / "manifest.json";
  const auto built = std::filesystem::last_write_time(manifest);
  mine_bm25_negatives(pairs, dir.path() / "coll", dir.path() / "bm25", NegativeRule::parse("naive-topk"), 1);
  EXPECT_EQ(std::filesystem::last_write_time(manifest), built);
  c.corpus[1].text = "shock waves on wedges";
  write_beir_collection(c, dir.path() / "coll");
  mine_bm25_negatives(pairs, dir.path() / "coll", dir.path() / "bm25", NegativeRule::parse("naive-topk"), 1);
  EXPECT_EQ(read_json_file(manifest).at("corpus_sha256"), sha256_file_hex(dir.path() / "coll" / "corpus.jsonl"));
  EXPECT_EQ(pairs[0].negatives, (std::vector<std::string>{}));  // nothing else matches "wing flutter" now
  write_file_atomic(dir.path() / "mine" / "notes.txt", "keep me");
  testing::expect_error_containing(
      [&] { mine_bm25_negatives(pairs, dir.path() / "coll", dir.path() / "mine", NegativeRule::parse("naive-topk"), 1); },
      "did not write");
  EXPECT_EQ(read_file(dir.path() / "mine" / "notes.txt"), "keep me");
}

}  // namespace
}  // namespace garden::retrieval
