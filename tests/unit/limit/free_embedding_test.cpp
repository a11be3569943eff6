#include "garden/limit/free_embedding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace garden::limit {
namespace {

// The per-positive InfoNCE written out term by term in double.
double reference_loss(const torch::Tensor& u, const torch::Tensor& v, const torch::Tensor& positives, double tau) {
  double total = 0;
  const auto s = u.mm(v.t()).div(tau);
  for (int64_t i = 0; i < u.size(0); ++i) {
    double normaliser = 0;
    for (int64_t l = 0; l < v.size(0); ++l) normaliser += std::exp(s[i][l].item<double>());
    for (int64_t c = 0; c < positives.size(1); ++c)
      total -= s[i][positives[i][c].item<int64_t>()].item<double>() - std::log(normaliser);
  }
  return total / static_cast<double>(positives.numel());
}

TEST(FreeEmbedding, LossMatchesAFloat64ReferenceAndFiniteDifferences) {
  torch::manual_seed(1);
  const auto u = torch::randn({3, 5}, torch::kFloat64), v = torch::randn({4, 5}, torch::kFloat64);
  const auto positives = torch::tensor({0, 1, 1, 3, 2, 0}, torch::kLong).view({3, 2});
  const double tau = 0.1;
  for (int64_t chunk : {1, 2, 16}) {
    const InfoNceValue value = per_positive_infonce(u, v, positives, tau, chunk);
    EXPECT_NEAR(value.loss, reference_loss(u, v, positives, tau), 1e-10) << "chunk " << chunk;
    const double h = 1e-6;
    for (const auto& [param, grad] : {std::pair{u, value.grad_queries}, std::pair{v, value.grad_docs}})
      for (int64_t r = 0; r < param.size(0); ++r)
        for (int64_t c = 0; c < param.size(1); ++c) {
          auto plus = param.clone(), minus = param.clone();
          plus[r][c] += h;
          minus[r][c] -= h;
          const bool is_u = param.size(0) == 3;
          const double numeric = (reference_loss(is_u ? plus : u, is_u ? v : plus, positives, tau) -
                                  reference_loss(is_u ? minus : u, is_u ? v : minus, positives, tau)) /
                                 (2 * h);
          EXPECT_NEAR(grad[r][c].item<double>(), numeric, 1e-6);
        }
  }
}

TEST(FreeEmbedding, AutomaticQueryBlocksHoldAbout16MegabytesOfLogits) {
  EXPECT_EQ(query_chunk_for(50000, torch::kFloat32), 83);  // 83 x 50,000 x 4 bytes <= 16 MiB < 84 x ...
  EXPECT_EQ(query_chunk_for(50000, torch::kFloat64), 41);
  EXPECT_EQ(query_chunk_for(int64_t{1} << 30, torch::kFloat32), 1);  // never zero rows
  EXPECT_EQ(query_chunk_for(46, torch::kFloat32), (int64_t{16} << 20) / (46 * 4));
}

TEST(FreeEmbedding, AccuracyCountsRelevantDocsInTopKWithTiesToTheLowerIndex) {
  // With V = I the scores are the query rows themselves.
  const auto v = torch::eye(4, torch::kFloat64);
  const auto u = torch::tensor({1.0, 0.9, 0.0, 0.0,    // top-2 {0,1}: both relevant
                                0.0, 1.0, 1.0, 1.0,    // ties: top-2 {1,2}; relevant {1,3} -> 1 hit
                                0.5, 0.0, 0.0, 0.7},   // top-2 {3,0}; relevant {1,2} -> 0 hits
                               torch::kFloat64)
                     .view({3, 4});
  const auto positives = torch::tensor({0, 1, 1, 3, 1, 2}, torch::kLong).view({3, 2});
  EXPECT_DOUBLE_EQ(topk_accuracy(u, v, positives), 3.0 / 6.0);
  EXPECT_DOUBLE_EQ(topk_accuracy(u, v, positives, 1), 3.0 / 6.0);
}

TEST(FreeEmbedding, EarlyStoppingFiresAfterExactlyThePatience) {
  EarlyStopping stopper(1000, 1e-5);
  EXPECT_FALSE(stopper.update(2.0));  // the first value is an improvement on infinity
  for (int i = 1; i < 1000; ++i) ASSERT_FALSE(stopper.update(2.0)) << i;
  EXPECT_TRUE(stopper.update(2.0));  // the 1000th value that is not below best - 1e-5
  EarlyStopping improving(3, 1e-5);
  for (int i = 0; i < 100; ++i) ASSERT_FALSE(improving.update(1.0 - i * 1e-3));
  EXPECT_FALSE(improving.update(1.0 - 99 * 1e-3 - 5e-6));  // improves by less than min_delta: waits
  EXPECT_EQ(improving.waited(), 1);
}

TEST(FreeEmbedding, CriticalNSearchFindsTheOracleBoundFromAnyStart) {
  for (int64_t start = 3; start <= 200; ++start)
    for (bool record : {false, true}) {
      std::set<int64_t> seen;
      int64_t calls = 0;
      const auto search = find_critical_n(
          [&](int64_t n) {
            ++calls;
            EXPECT_TRUE(seen.insert(n).second) << "n=" << n << " evaluated twice";
            return n <= 37;
          },
          start, 3, record);
      EXPECT_EQ(search.critical_n, 37) << "start " << start;
      EXPECT_EQ(static_cast<int64_t>(search.trials.size()), calls);
      if (record) {
        for (int64_t n = 33; n <= 42; ++n) EXPECT_TRUE(seen.count(n)) << n;
      }
    }
  // Nothing succeeds: the critical n is below the smallest n tried.
  EXPECT_EQ(find_critical_n([](int64_t) { return false; }, 10, 3, false).critical_n, 2);
}

TEST(FreeEmbedding, AllPairsAreDistinctLexicographicPairs) {
  const auto pairs = all_pairs(46);
  ASSERT_EQ(pairs.size(0), 46 * 45 / 2);
  std::set<std::pair<int64_t, int64_t>> seen;
  std::pair<int64_t, int64_t> previous{-1, -1};
  for (int64_t i = 0; i < pairs.size(0); ++i) {
    const std::pair<int64_t, int64_t> p{pairs[i][0].item<int64_t>(), pairs[i][1].item<int64_t>()};
    EXPECT_LT(p.first, p.second);
    EXPECT_LT(previous, p);
    previous = p;
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 1035u);
}

TEST(FreeEmbedding, OptimisationKeepsUnitRowsAndSolvesAnEasyCase) {
  FreeEmbeddingOptions options;
  options.dims = 8;
  options.seed = 42;
  for (int64_t steps : {1, 7}) {
    options.max_iterations = steps;
    const auto r = optimise_free_embeddings(10, all_pairs(10), options);
    EXPECT_EQ(r.iterations, steps);
    EXPECT_TRUE(torch::allclose(r.queries.norm(2, 1), torch::ones({45}), 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(r.docs.norm(2, 1), torch::ones({10}), 1e-5, 1e-5));
  }
  options.max_iterations = 100000;
  const auto solved = optimise_free_embeddings(10, all_pairs(10), options);  // far below critical-n(8) ~ 28
  EXPECT_TRUE(solved.success);
  EXPECT_EQ(solved.stopped_by, "solved");
  EXPECT_EQ(solved.iterations % 50, 0);
  // Two dimensions cannot order 20 documents for all 190 pairs.
  options.dims = 2;
  const auto failed = optimise_free_embeddings(20, all_pairs(20), options);
  EXPECT_FALSE(failed.success);
  EXPECT_EQ(failed.stopped_by, "early stopping");
  EXPECT_LT(failed.best_accuracy, 1.0);
}

TEST(FreeEmbedding, CubicFitRecoversThePapersPolynomial) {
  std::vector<double> d, n;
  for (int x = 4; x <= 45; ++x) {
    d.push_back(x);
    n.push_back(paper_critical_n(x));
  }
  const CubicFit fit = fit_cubic(d, n);
  const std::array<double, 4> expected = {-10.5322, 4.0309, 0.0520, 0.0037};
  for (int p = 0; p < 4; ++p) EXPECT_NEAR(fit.coefficients[p], expected[p], 1e-6) << "coefficient " << p;
  EXPECT_NEAR(fit.r2, 1.0, 1e-12);
  EXPECT_NEAR(paper_critical_n(4096), 255150979, 1);
}

TEST(FreeEmbedding, MomentCurveRealisesEveryTopTwoSetInFourDimensions) {
  const auto f32 = check_moment_curve(50, torch::kFloat32);
  EXPECT_EQ(f32.accuracy, 1.0);
  EXPECT_EQ(f32.failed_queries, 0);
  EXPECT_GT(f32.min_margin, 0);
  const auto f64 = check_moment_curve(400, torch::kFloat64);
  EXPECT_EQ(f64.accuracy, 1.0);
  EXPECT_GT(f64.min_margin, 0);
}

}  // namespace
}  // namespace garden::limit
