// BM25 over Xapian against a plain hand-written BM25, and against the reference BM25 runs of
// every shared collection (the same formula, tokenizer and k1/b; see shared data README).
#include "garden/retrieval/bm25.h"

#include <gtest/gtest.h>

#include <cmath>

#include "garden/core/files.h"
#include "garden/eval/ir_metrics.h"
#include "test_files.h"

namespace garden::retrieval {
namespace {

// The textbook formula, computed directly from token lists.
double slow_bm25(const std::vector<std::vector<std::string>>& docs, size_t d, const std::vector<std::string>& query,
                 double k1, double b) {
  double avgdl = 0;
  for (const auto& doc : docs) avgdl += static_cast<double>(doc.size());
  avgdl /= static_cast<double>(docs.size());
  double score = 0;
  for (const auto& t : query) {
    double df = 0;
    for (const auto& doc : docs) df += std::count(doc.begin(), doc.end(), t) > 0;
    const double tf = static_cast<double>(std::count(docs[d].begin(), docs[d].end(), t));
    if (tf == 0) continue;
    const double idf = std::log(1 + (static_cast<double>(docs.size()) - df + 0.5) / (df + 0.5));
    score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * static_cast<double>(docs[d].size()) / avgdl));
  }
  return score;
}

TEST(Bm25, TokensAreLowercaseAlphanumericRuns) {
  EXPECT_EQ(bm25_tokens("Hello, World-2x! ok", "none"), (std::vector<std::string>{"hello", "world", "2x", "ok"}));
  EXPECT_EQ(bm25_tokens("running runs", "english"), (std::vector<std::string>{"run", "run"}));
  EXPECT_EQ(bm25_tokens("The wing of a plane", "none", true), (std::vector<std::string>{"wing", "plane"}));
}

// search() scores from postings in memory, score() through Xapian's matcher: both must give
// the hand-written formula's value.
TEST(Bm25, ScoresEqualTheHandWrittenFormulaThroughBothPaths) {
  testing::TempDir dir;
  const std::vector<std::string> texts = {"the wing lift lift", "drag on the wing at high speed", "boundary layer",
                                          "lift and drag and lift again of a thin wing"};
  std::string corpus;
  for (size_t i = 0; i < texts.size(); ++i) corpus += "{\"_id\": \"d" + std::to_string(i) + "\", \"text\": \"" + texts[i] + "\"}\n";
  write_file_atomic(dir.path() / "c" / "corpus.jsonl", corpus);
  write_file_atomic(dir.path() / "c" / "queries.jsonl", "{\"_id\": \"q\", \"text\": \"lift\"}\n");
  write_file_atomic(dir.path() / "c" / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\nq\td0\t1\n");
  Bm25Options options;
  options.k1 = 1.2;
  options.b = 0.75;
  build_bm25_index(dir.path() / "c", dir.path() / "idx", options);
  Bm25Index index(dir.path() / "idx");
  std::vector<std::vector<std::string>> docs;
  for (const auto& t : texts) docs.push_back(bm25_tokens(t, "none"));
  const std::string query = "lift wing wing";  // a repeated query token counts twice
  const auto hits = index.search(query, 10);
  ASSERT_EQ(hits.size(), 3u);  // d2 shares no token with the query
  for (const auto& hit : hits) {
    const size_t d = static_cast<size_t>(std::stoi(hit.doc_id.substr(1)));
    EXPECT_NEAR(hit.score, slow_bm25(docs, d, bm25_tokens(query, "none"), 1.2, 0.75), 1e-9) << hit.doc_id;
    EXPECT_NEAR(index.score(query, hit.doc_id).value(), hit.score, 1e-9) << hit.doc_id;
  }
  EXPECT_FALSE(index.score(query, "d2").has_value());
  for (size_t i = 1; i < hits.size(); ++i) EXPECT_GE(hits[i - 1].score, hits[i].score);
}

// A collection in `dir` with the given corpus lines and one query judged relevant to `relevant`.
void write_collection(const std::filesystem::path& dir, const std::string& corpus, const std::string& query, const std::string& relevant) {
  write_file_atomic(dir / "corpus.jsonl", corpus);
  write_file_atomic(dir / "queries.jsonl", "{\"_id\": \"q\", \"text\": \"" + query + "\"}\n");
  write_file_atomic(dir / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\nq\t" + relevant + "\t1\n");
}

// Xapian refuses terms longer than 245 bytes; one such run of letters used to abort the build.
TEST(Bm25, TermsTooLongForXapianAreSkippedAndCounted) {
  testing::TempDir dir;
  const std::string long_term(300, 'x');
  write_collection(dir.path() / "c", "{\"_id\": \"d1\", \"text\": \"wing " + long_term + " lift " + long_term +
                                         "\"}\n{\"_id\": \"d2\", \"text\": \"drag " + std::string(245, 'y') + "\"}\n",
                   "lift", "d1");
  build_bm25_index(dir.path() / "c", dir.path() / "idx", {});
  const auto manifest = read_json_file(dir.path() / "idx" / "manifest.json");
  EXPECT_EQ(manifest.at("long_terms_skipped").dump(), R"({"documents":1,"max_bytes":245,"occurrences":2})");
  Bm25Index index(dir.path() / "idx");
  EXPECT_EQ(index.search("lift", 5).size(), 1u);
  EXPECT_EQ(index.search(std::string(245, 'y'), 5).size(), 1u);  // 245 bytes still fit
  EXPECT_TRUE(index.search(long_term, 5).empty());
}

TEST(Bm25, StaleIndexIsRefused) {
  testing::TempDir dir;
  write_collection(dir.path() / "c", "{\"_id\": \"d\", \"text\": \"a b\"}\n", "a", "d");
  build_bm25_index(dir.path() / "c", dir.path() / "idx", {});
  EXPECT_EQ(Bm25Index(dir.path() / "idx").search("a", 5).size(), 1u);
  write_file_atomic(dir.path() / "c" / "corpus.jsonl", "{\"_id\": \"d\", \"text\": \"a b c\"}\n");
  testing::expect_error_containing([&] { Bm25Index(dir.path() / "idx"); }, "is stale");
  testing::expect_error_containing([&] { Bm25Index(dir.path() / "nowhere"); }, "no manifest.json");
}

// k below 1 gave an empty run without a word; a huge k wrapped in Xapian's 32-bit count.
TEST(Bm25, RefusesKBelowOneAndAcceptsAHugeK) {
  testing::TempDir dir;
  write_collection(dir.path() / "c", "{\"_id\": \"d1\", \"text\": \"a b\"}\n{\"_id\": \"d2\", \"text\": \"a c\"}\n", "a", "d1");
  build_bm25_index(dir.path() / "c", dir.path() / "idx", {});
  const Bm25Index index(dir.path() / "idx");
  const std::vector<Query> queries{{"q", "a"}};
  for (const int64_t k : {0, -1})
    testing::expect_error_containing([&] { index.search_all(queries, k); }, "--k must be >= 1, got " + std::to_string(k));
  EXPECT_EQ(index.search_all(queries, (int64_t{1} << 32) + 1).at("q").size(), 2u);
}

TEST(Bm25, ReproducesTheReferenceRunsOfEverySharedCollection) {
  const auto root = testing::shared_data_root();
  int collections = 0;
  if (std::filesystem::is_directory(root)) {
    for (const auto& entry : std::filesystem::directory_iterator(root)) {
      const auto ref = entry.path() / "reference";
      if (!std::filesystem::exists(ref / "bm25.run") || !std::filesystem::exists(entry.path() / "corpus.jsonl")) continue;
      ++collections;
      SCOPED_TRACE(entry.path().filename().string());
      testing::TempDir dir;
      build_bm25_index(entry.path(), dir.path() / "idx", {});  // k1 0.9, b 0.4, no stemming: the reference's
      const auto collection = read_beir_collection(entry.path());
      Bm25Index index(dir.path() / "idx");
      auto ours = index.search_all(collection.queries, 100);
      // The top 100 is the head of the exhaustive ranking: no document is lost to the
      // matcher's pruning (Cranfield query 16 lost its rank-99 document with a true bound).
      const auto everything = index.search_all(collection.queries, static_cast<int64_t>(collection.corpus.size()));
      for (const auto& [qid, docs] : ours)
        for (size_t i = 0; i < docs.size(); ++i)
          ASSERT_NEAR(docs[i].score, everything.at(qid)[i].score, 1e-9) << qid << " rank " << i + 1;
      const auto reference = read_trec_run(ref / "bm25.run");
      // Scores of the top 10 agree with the reference to its 6 printed decimals.
      for (const auto& [qid, docs] : reference) {
        const auto ranked = rank_like_trec_eval(ours[qid]);
        for (size_t i = 0; i < std::min<size_t>(10, docs.size()); ++i)
          ASSERT_NEAR(ranked[i].score, docs[i].score, 1e-5) << qid << " rank " << i + 1;
      }
      // And the metrics of the whole run equal the reference's (scores rounded as it was).
      for (auto& [qid, docs] : ours)
        for (auto& d : docs) d.score = std::round(d.score * 1e6) / 1e6;
      const auto qrels = read_qrels(ref / "qrels.trec");
      const auto a = eval::evaluate_run(ours, qrels, {"map", "ndcg@10", "recall@100"});
      const auto b = eval::evaluate_run(reference, qrels, {"map", "ndcg@10", "recall@100"});
      for (const auto& m : a.metrics) EXPECT_NEAR(a.mean.at(m), b.mean.at(m), 1e-4) << m;
    }
  }
  if (collections == 0) GTEST_SKIP() << "no collections with reference/ under " << root;
}

}  // namespace
}  // namespace garden::retrieval
