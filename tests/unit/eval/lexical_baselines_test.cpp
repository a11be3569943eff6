// The lexical floors of the embedding suite: TF-IDF cosines against a hand computation, and
// both baselines against the figures they are quoted with (STS-B test 70.4, 52.7 without idf; Cranfield
// BM25 nDCG@10 0.3276 in docs/retrieval.md).
#include "garden/eval/lexical_baselines.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "test_files.h"

namespace garden::eval {
namespace {

TEST(LexicalBaselines, TfidfCosinesMatchAHandComputation) {
  // Four sentences: N = 4; df: the 3, cat 2, sat 1, ran 1, a 1, dog 2.
  const std::vector<StsPair> pairs = {{1.0, "The cat sat.", "the cat ran"}, {4.0, "a dog", "The dog!"}};
  const double the = std::log(4.0 / 3), cat = std::log(2.0), rare = std::log(4.0), dog = std::log(2.0);
  const double first = (the * the + cat * cat) / (the * the + cat * cat + rare * rare);
  const double second = dog * dog / std::sqrt((rare * rare + dog * dog) * (the * the + dog * dog));
  const auto cosines = tfidf_cosines(pairs);
  ASSERT_EQ(cosines.size(), 2u);
  EXPECT_NEAR(cosines[0], first, 1e-12);
  EXPECT_NEAR(cosines[1], second, 1e-12);
  EXPECT_NEAR(tfidf_sts_spearman(pairs), 100.0, 1e-9);  // second > first, as the gold scores
}

TEST(LexicalBaselines, TermFrequencyIsLogScaledAndIdfCountsEveryOccurrence) {
  // "b b a" | "b c" and "c d" | "b c": N = 4; df a 1, b 3, c 3, d 1.
  const std::vector<StsPair> pairs = {{1.0, "b b a", "b c"}, {0.0, "c d", "b c"}};
  const double tf = 1 + std::log(2.0);
  for (const bool use_idf : {true, false}) {
    const double a = use_idf ? std::log(4.0) : 1, b = use_idf ? std::log(4.0 / 3) : 1, c = b;
    const double expected = tf * b * b / std::sqrt((tf * tf * b * b + a * a) * (b * b + c * c));
    EXPECT_NEAR(tfidf_cosines(pairs, use_idf)[0], expected, 1e-12) << use_idf;
  }
}

TEST(LexicalBaselines, StsBTestAndCranfieldGiveTheirQuotedFigures) {
  const auto stsb = testing::shared_data_root() / "stsb" / "test.tsv";
  const auto cranfield = testing::shared_data_root() / "cranfield";
  if (!std::filesystem::exists(stsb) || !std::filesystem::exists(cranfield)) GTEST_SKIP() << "no shared data";
  const auto pairs = read_sts_pairs(stsb);
  EXPECT_NEAR(tfidf_sts_spearman(pairs, true), 70.4, 0.05);
  EXPECT_NEAR(tfidf_sts_spearman(pairs, false), 52.65, 0.05);
  const auto collection = retrieval::read_beir_collection(cranfield);
  EXPECT_NEAR(bm25_ndcg10(collection), 32.76, 0.005);
  // The suite's floors: the same figures by task name, and BM25's ranking kept for fusion.
  const std::vector<std::string> texts = {"a", "b"};
  const std::vector<int64_t> labels = {0, 1};
  const auto floors = lexical_baselines({EmbeddingTask::sts_task("stsb", pairs), EmbeddingTask::retrieval_task("cranfield", collection),
                                         EmbeddingTask::knn_task("knn", texts, labels, 1)});
  ASSERT_EQ(floors.scores.size(), 2u);  // kNN has no lexical floor
  EXPECT_NEAR(floors.at("stsb"), 70.4, 0.05);
  EXPECT_NEAR(floors.at("cranfield"), 32.76, 0.005);
  ASSERT_EQ(floors.runs.count("cranfield"), 1u);
  EXPECT_EQ(floors.runs.at("cranfield").begin()->second.size(), static_cast<size_t>(kSuiteRunDepth));
}

}  // namespace
}  // namespace garden::eval
