// ANCE's negative sampler and its table files, the exact flat search it ranks with, and the
// overlap of training negatives with a model's own top documents.
#include "garden/retrieval/ann_negatives.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <set>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/retrieval/dense.h"
#include "test_files.h"

namespace garden::retrieval {
namespace {

std::vector<int64_t> iota_rows(int64_t n) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}

TEST(AnnNegatives, SamplerSkipsPositivesAndRepeatsAndIsSeeded) {
  const std::vector<int64_t> candidates = {4, 9, 2, 9, 7, 1, 4, 3, 8, 0};  // 9 and 4 twice
  const std::vector<int64_t> positives = {2, 8};
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const auto kept = sample_negatives(candidates, positives, 5, seed);
    ASSERT_EQ(kept.size(), 5u);  // 6 distinct non-positive candidates: 4 9 7 1 3 0
    EXPECT_EQ(std::set<int64_t>(kept.begin(), kept.end()).size(), 5u);
    for (int64_t id : kept) {
      EXPECT_TRUE(std::find(positives.begin(), positives.end(), id) == positives.end());
      EXPECT_TRUE(std::find(candidates.begin(), candidates.end(), id) != candidates.end());
    }
    EXPECT_EQ(kept, sample_negatives(candidates, positives, 5, seed));
  }
  // Fewer candidates than asked for: all the distinct negatives, no padding.
  const auto all = sample_negatives(candidates, positives, 20, 1);
  EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()), (std::set<int64_t>{0, 1, 3, 4, 7, 9}));
  EXPECT_EQ(all.size(), 6u);
  // Seeds matter: some pair of seeds draws differently.
  bool differs = false;
  for (uint64_t seed = 1; seed < 10; ++seed) differs |= sample_negatives(candidates, positives, 3, seed) != sample_negatives(candidates, positives, 3, 0);
  EXPECT_TRUE(differs);
}

TEST(AnnNegatives, DrawSeedsDifferAcrossQueriesAndSteps) {
  std::set<uint64_t> seeds;
  for (int64_t step = 0; step < 5; ++step)
    for (int64_t q = 0; q < 20; ++q) seeds.insert(negative_draw_seed(7, step, q));
  EXPECT_EQ(seeds.size(), 100u);
  EXPECT_EQ(negative_draw_seed(7, 3, 4), negative_draw_seed(7, 3, 4));
}

TEST(AnnNegatives, FlatTopKAgreesWithBruteForceAndBreaksTiesByRow) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  Matrix docs{40, 6, {}}, queries{7, 6, {}};
  for (int64_t i = 0; i < docs.rows * docs.cols; ++i) docs.data.push_back(normal(rng));
  for (int64_t i = 0; i < queries.rows * queries.cols; ++i) queries.data.push_back(normal(rng));
  // Rows 10 and 11 are copies of row 5: equal scores, listed in row order.
  for (int64_t r : {10, 11}) std::copy(docs.row(5), docs.row(5) + docs.cols, docs.row(r));
  const auto fast = flat_top_k(docs, queries, 12);
  const auto reference = exact_search(docs, queries, 12);
  ASSERT_EQ(fast.size(), 7u);
  for (size_t q = 0; q < fast.size(); ++q) {
    ASSERT_EQ(fast[q].size(), 12u);
    for (size_t i = 0; i < fast[q].size(); ++i) EXPECT_EQ(fast[q][i], reference[q][i].row) << "query " << q << " rank " << i;
  }
  // k beyond the corpus: every document once.
  EXPECT_EQ(flat_top_k(docs, queries, 100)[0].size(), 40u);
  EXPECT_THROW(flat_top_k(docs, Matrix{1, 5, std::vector<float>(5, 1.0f)}, 3), Error);
}

TEST(AnnNegatives, NegativesComeOnlyFromTheDepthBestDocuments) {
  // A stub encoder: document j scores -j for every query, so the K best are rows 0..K-1.
  Matrix docs{30, 1, {}}, queries{4, 1, {1, 1, 1, 1}};
  for (int64_t j = 0; j < 30; ++j) docs.data.push_back(-static_cast<float>(j));
  const auto ranked = flat_top_k(docs, queries, 30);
  EXPECT_EQ(ranked[0], iota_rows(30));
  const std::vector<std::vector<int64_t>> positives = {{0}, {3, 4}, {}, {9}};
  const auto table = sample_table("ance", 12, ranked, positives, 10, 4, 30, 5);
  EXPECT_EQ(table.source_step, 12);
  for (size_t q = 0; q < 4; ++q) {
    ASSERT_EQ(table.negatives[q].size(), 4u);
    for (int64_t id : table.negatives[q]) {
      EXPECT_LT(id, 10);
      EXPECT_TRUE(std::find(positives[q].begin(), positives[q].end(), id) == positives[q].end());
    }
  }
  EXPECT_EQ(table.negatives, sample_table("ance", 12, ranked, positives, 10, 4, 30, 5).negatives);
  EXPECT_NE(table.negatives, sample_table("ance", 13, ranked, positives, 10, 4, 30, 5).negatives);
}

TEST(AnnNegatives, TableFilesRoundTripAndRefuseDamage) {
  testing::TempDir dir;
  NegativeTable table{"ance", 300, 50, 3, 100, {{1, 2, 3}, {}, {99, 0}}};
  write_negative_table(dir.path() / "t.jsonl", table);
  const auto back = read_negative_table(dir.path() / "t.jsonl");
  EXPECT_EQ(back.source, "ance");
  EXPECT_EQ(back.source_step, 300);
  EXPECT_EQ(back.depth, 50);
  EXPECT_EQ(back.per_query, 3);
  EXPECT_EQ(back.corpus_size, 100);
  EXPECT_EQ(back.negatives, table.negatives);
  // Truncated: the header announces more queries than follow.
  std::string text = read_file(dir.path() / "t.jsonl");
  write_file_atomic(dir.path() / "cut.jsonl", text.substr(0, text.rfind("{\"negatives\"")));
  EXPECT_THROW(read_negative_table(dir.path() / "cut.jsonl"), Error);
  table.negatives[0][0] = 100;  // outside the corpus
  write_negative_table(dir.path() / "bad.jsonl", table);
  testing::expect_error_containing([&] { read_negative_table(dir.path() / "bad.jsonl"); }, "bad.jsonl:2");
  EXPECT_THROW(read_negative_table(dir.path() / "missing.jsonl"), Error);
}

TEST(AnnNegatives, OverlapIsOneForTheModelsOwnTopAndChanceForRandomNegatives) {
  const int64_t n = 2000, k = 50, queries = 400;
  std::mt19937_64 rng(1);
  std::vector<std::vector<int64_t>> top(queries), own(queries), random(queries);
  for (int64_t q = 0; q < queries; ++q) {
    auto rows = iota_rows(n);
    std::shuffle(rows.begin(), rows.end(), rng);
    top[q].assign(rows.begin(), rows.begin() + k);
    own[q].assign(top[q].begin(), top[q].begin() + 20);  // drawn from the model's own top k
    std::shuffle(rows.begin(), rows.end(), rng);
    random[q].assign(rows.begin(), rows.begin() + 20);
  }
  EXPECT_DOUBLE_EQ(negative_overlap(own, top), 1.0);
  EXPECT_NEAR(negative_overlap(random, top), static_cast<double>(k) / n, 0.006);  // 8,000 draws: sd about 0.0017
  // Queries without negatives do not count.
  own.push_back({});
  top.push_back({1, 2});
  EXPECT_DOUBLE_EQ(negative_overlap(own, top), 1.0);
  EXPECT_THROW(negative_overlap(own, random), Error);
}

TEST(AnnNegatives, DropPositivesKeepsTheRankingOrder) {
  const auto kept = drop_positives({{5, 1, 7, 2, 9}}, {{1, 2}}, 2);
  EXPECT_EQ(kept, (std::vector<std::vector<int64_t>>{{5, 7}}));
}

}  // namespace
}  // namespace garden::retrieval
