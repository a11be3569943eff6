// The toy collapse experiments over seeds (collapse/experiments.h): statistics against hand
// computations, the Gaussian moments against theory within stated standard errors, results
// independent of the thread count, and what the categorical and mixture chains must show.
#include "garden/collapse/experiments.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_files.h"

namespace garden::collapse {
namespace {

TEST(CollapseExperiments, SeedStatsMatchAHandComputation) {
  const SeedStats s = seed_stats({4, 1, 3, 2, 5});
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_DOUBLE_EQ(s.standard_error, std::sqrt(2.5 / 5));  // sample variance 2.5
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_DOUBLE_EQ(s.q05, 1.2);  // position 0.2 between 1 and 2
  EXPECT_DOUBLE_EQ(s.q95, 4.8);
  testing::expect_error_containing([] { seed_stats({}); }, "no values");
}

TEST(CollapseExperiments, RecordedGenerationsAreLogSpacedAndEndAtTheLast) {
  EXPECT_EQ(log_spaced_generations(1000), (std::vector<int64_t>{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}));
  EXPECT_EQ(log_spaced_generations(300), (std::vector<int64_t>{1, 2, 5, 10, 20, 50, 100, 200, 300}));
  EXPECT_EQ(log_spaced_generations(1), (std::vector<int64_t>{1}));
}

// After n = 10 fits of M = 10 samples, E[sigma^2] = 1 and E[mu^2] = n / M (model-collapse.md):
// over 4,000 seeds both sample means are within 4 of their standard errors, while the median
// sd is already below 1 (the typical path collapses).
TEST(CollapseExperiments, GaussianMomentsAreUnbiasedWhileTheMedianSdFalls) {
  const GaussianTrace t = run_gaussian_chains({.samples = 10, .generations = 10, .seeds = 4000, .seed = 3, .threads = 2});
  ASSERT_EQ(t.generations.back(), 10);
  const SeedStats& variance = t.variance.back();
  const SeedStats& squared_mean = t.squared_mean.back();
  EXPECT_NEAR(variance.mean, 1.0, 4 * variance.standard_error);
  EXPECT_NEAR(squared_mean.mean, 1.0, 4 * squared_mean.standard_error);
  EXPECT_LT(t.sd.back().median, 0.9);
  EXPECT_EQ(t.last_sd.size(), 4000u);
}

TEST(CollapseExperiments, ResultsDoNotDependOnTheThreadCount) {
  ToyRun run{.samples = 20, .generations = 50, .seeds = 7, .threads = 1};
  const GaussianTrace one = run_gaussian_chains(run);
  run.threads = 3;
  const GaussianTrace three = run_gaussian_chains(run);
  EXPECT_EQ(one.last_sd, three.last_sd);
  EXPECT_EQ(one.sd.back().median, three.sd.back().median);
}

TEST(CollapseExperiments, RareSymbolsVanishFirstAndNeverReturn) {
  ToyRun run{.samples = 500, .generations = 100, .seeds = 20};
  const CategoricalTrace t = run_categorical_chains(run, 100, 1.1);
  EXPECT_DOUBLE_EQ(t.survivors[0].median, 100);
  EXPECT_EQ(t.returns, 0);
  for (size_t n = 1; n < t.survivors.size(); ++n) EXPECT_LE(t.survivors[n].q95, t.survivors[n - 1].q95 + 1e-9);
  EXPECT_LT(t.survivors.back().median, 100);
  EXPECT_LT(t.mean_real_p_vanished, t.mean_real_p_survived);
  testing::expect_error_containing([] { run_gaussian_chains({.samples = 1'000'000'000'000, .generations = 1, .seeds = 1}); },
                                   "at most 100,000,000 samples");
  testing::expect_error_containing([] { run_categorical_chains({.samples = 10, .generations = 100'000'000, .seeds = 10}, 5, 1.1); },
                                   "at most 100,000,000");
  // Fresh real data brings symbols back.
  run.real_fraction = 0.5;
  EXPECT_GT(run_categorical_chains(run, 100, 1.1).returns, 0);
}

TEST(CollapseExperiments, TheMixtureStartsNearTheRealOneWithItsTailMass) {
  const ToyRun run{.samples = 1000, .generations = 3, .seeds = 4};
  const MixtureTrace t = run_mixture_chains(run, 2.0);
  // P(|x| > 5) under 1/2 N(-2, 1) + 1/2 N(2, 1) = Phi(-3) + Phi(-7).
  EXPECT_NEAR(t.real_tail_mass, 0.5 * std::erfc(3 / std::sqrt(2.0)) + 0.5 * std::erfc(7 / std::sqrt(2.0)), 1e-12);
  EXPECT_NEAR(t.within_variance.front().median, 1.0, 0.15);
  EXPECT_NEAR(t.total_variance.front().median, 5.0, 0.6);
  EXPECT_NEAR(t.min_weight.front().median, 0.5, 0.05);
  testing::expect_error_containing([&] { run_mixture_chains(run, 0.0); }, "separation");
}

}  // namespace
}  // namespace garden::collapse
