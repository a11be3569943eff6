#include "garden/eval/pass_at_k.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "garden/core/error.h"

using garden::eval::pass_at_k;

namespace {
// C(n, k) exactly, for n <= 60.
unsigned long long choose(int64_t n, int64_t k) {
  if (k < 0 || k > n) return 0;
  unsigned long long r = 1;
  for (int64_t i = 1; i <= k; ++i) r = r * static_cast<unsigned long long>(n - k + i) / static_cast<unsigned long long>(i);
  return r;
}
}  // namespace

TEST(PassAtK, EqualsTheBinomialFormWithExactIntegers) {
  for (int64_t n = 1; n <= 20; ++n)
    for (int64_t c = 0; c <= n; ++c)
      for (int64_t k = 1; k <= n; ++k) {
        const double exact = 1.0 - static_cast<double>(choose(n - c, k)) / static_cast<double>(choose(n, k));
        ASSERT_NEAR(pass_at_k(n, c, k), exact, 1e-12) << n << " " << c << " " << k;
      }
}

TEST(PassAtK, EdgesMonotoneAndStableAtLargeN) {
  EXPECT_EQ(pass_at_k(10, 0, 5), 0.0);
  EXPECT_EQ(pass_at_k(10, 10, 1), 1.0);
  EXPECT_EQ(pass_at_k(10, 6, 5), 1.0);  // n - c < k
  EXPECT_DOUBLE_EQ(pass_at_k(8, 3, 1), 3.0 / 8);
  for (int64_t c = 0; c <= 64; c += 7)
    for (int64_t k = 1; k < 64; ++k) ASSERT_LE(pass_at_k(64, c, k), pass_at_k(64, c, k + 1) + 1e-15);
  const double tiny = pass_at_k(1024, 1, 1);
  EXPECT_TRUE(std::isfinite(tiny));
  EXPECT_NEAR(tiny, 1.0 / 1024, 1e-15);
  EXPECT_NEAR(pass_at_k(1024, 1, 512), 0.5, 1e-12);
  EXPECT_THROW(pass_at_k(4, 5, 1), garden::Error);
  EXPECT_THROW(pass_at_k(4, 1, 5), garden::Error);
  EXPECT_THROW(pass_at_k(4, 1, 0), garden::Error);
}

TEST(PassAtK, IsUnbiasedAgainstDrawingWithoutReplacement) {
  // Monte Carlo of "any of k draws without replacement from n samples, c correct, is correct".
  std::mt19937_64 rng(5);
  const int64_t n = 16, c = 3, k = 4;
  std::vector<int> samples(n, 0);
  for (int64_t i = 0; i < c; ++i) samples[static_cast<size_t>(i)] = 1;
  int hits = 0;
  const int trials = 200000;
  for (int t = 0; t < trials; ++t) {
    std::shuffle(samples.begin(), samples.end(), rng);
    bool any = false;
    for (int64_t i = 0; i < k; ++i) any = any || samples[static_cast<size_t>(i)];
    hits += any;
  }
  EXPECT_NEAR(static_cast<double>(hits) / trials, pass_at_k(n, c, k), 0.005);
}

TEST(PassAtK, CurveCoverageHistogramAndOverlap) {
  const std::vector<int64_t> correct{0, 1, 4, 8};
  const auto ks = garden::eval::powers_of_two_up_to(8);
  EXPECT_EQ(ks, (std::vector<int64_t>{1, 2, 4, 8}));
  EXPECT_EQ(garden::eval::powers_of_two_up_to(6), (std::vector<int64_t>{1, 2, 4, 6}));
  const auto curve = garden::eval::pass_at_k_curve(8, correct, ks);
  EXPECT_NEAR(curve[0], (0 + 1.0 / 8 + 0.5 + 1) / 4, 1e-12);
  EXPECT_NEAR(curve[3], 0.75, 1e-12);  // pass@n is the coverage
  EXPECT_NEAR(garden::eval::coverage(correct), 0.75, 1e-12);
  // Accuracy 0 -> bin 0, 1/8 -> bin 2 (0.1, 0.2], 1/2 -> bin 5, 1 -> bin 10.
  const auto bins = garden::eval::accuracy_histogram(8, correct);
  EXPECT_EQ(bins, (std::vector<int64_t>{1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(garden::eval::accuracy_histogram(10, {1})[1], 1);  // exactly 0.1 is in bin 1
  const auto o = garden::eval::solved_overlap({0, 2, 3, 0}, {1, 1, 0, 0});
  EXPECT_EQ(o.a, 2);
  EXPECT_EQ(o.b, 2);
  EXPECT_EQ(o.both, 1);
  EXPECT_THROW(garden::eval::solved_overlap({1}, {1, 2}), garden::Error);
}
