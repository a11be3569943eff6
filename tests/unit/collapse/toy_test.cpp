// The toy families of model collapse (collapse/toy.h, chain.h) against closed forms and
// Monte Carlo with stated tolerances: unbiased Gaussian estimators, W2 between Gaussians,
// EM on separated mixtures, the categorical chain's one-step loss of a rare symbol, the
// digamma drift of log sigma^2, and the driver's real-data fraction.
#include <gtest/gtest.h>

#include <cmath>

#include "garden/collapse/chain.h"
#include "garden/collapse/toy.h"
#include "test_files.h"

namespace garden::collapse {
namespace {

std::vector<std::vector<double>> draws(const Gaussian& g, int64_t count, Rng& rng) {
  std::vector<std::vector<double>> out;
  for (int64_t i = 0; i < count; ++i) out.push_back(g.draw(rng));
  return out;
}

TEST(CollapseGaussian, TheFitUsesTheUnbiasedDenominator) {
  const Gaussian two = fit_gaussian({{1.0}, {4.0}});
  EXPECT_DOUBLE_EQ(two.mean[0], 2.5);
  EXPECT_DOUBLE_EQ(two.cov[0], 4.5);  // half the squared difference
  testing::expect_error_containing([] { fit_gaussian({{1.0}}); }, "at least 2 samples");
}

// Over 20,000 fits of 10 samples from N(0, 1) the mean variance estimate is within 4 standard
// errors of 1, and the mean of the squared mean within 4 of 1/10.
TEST(CollapseGaussian, TheEstimatorsAreUnbiasedOverManySeeds) {
  Rng rng(7);
  const Gaussian real = standard_gaussian(1);
  const int runs = 20000;
  double sum_var = 0, sum_var2 = 0, sum_mu2 = 0, sum_mu4 = 0;
  for (int r = 0; r < runs; ++r) {
    const Gaussian g = fit_gaussian(draws(real, 10, rng));
    sum_var += g.cov[0];
    sum_var2 += g.cov[0] * g.cov[0];
    sum_mu2 += g.mean[0] * g.mean[0];
    sum_mu4 += std::pow(g.mean[0], 4);
  }
  const double mean_var = sum_var / runs, se_var = std::sqrt((sum_var2 / runs - mean_var * mean_var) / runs);
  const double mean_mu2 = sum_mu2 / runs, se_mu2 = std::sqrt((sum_mu4 / runs - mean_mu2 * mean_mu2) / runs);
  EXPECT_NEAR(mean_var, 1.0, 4 * se_var);
  EXPECT_NEAR(mean_mu2, 0.1, 4 * se_mu2);
}

TEST(CollapseGaussian, Wasserstein2MatchesTheClosedForms) {
  const Gaussian a{{1.0}, {4.0}}, b{{-2.0}, {0.25}};
  EXPECT_NEAR(wasserstein2(a, b), std::sqrt(9.0 + 1.5 * 1.5), 1e-12);
  EXPECT_NEAR(wasserstein2(a, a), 0.0, 1e-12);
  // 2-D, non-commuting covariances: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) for a 2 x 2 PSD M,
  // with tr(B^1/2 A B^1/2) = tr(AB) and det = det A det B.
  const Gaussian c{{0.0, 1.0}, {2.0, 0.6, 0.6, 1.0}}, d{{1.0, -1.0}, {1.0, -0.3, -0.3, 3.0}};
  const double tr_ab = 2.0 * 1.0 + 0.6 * -0.3 + 0.6 * -0.3 + 1.0 * 3.0;
  const double det = (2.0 * 1.0 - 0.36) * (1.0 * 3.0 - 0.09);
  const double expected = 1.0 + 4.0 + 3.0 + 4.0 - 2 * std::sqrt(tr_ab + 2 * std::sqrt(det));
  EXPECT_NEAR(wasserstein2(c, d), std::sqrt(expected), 1e-9);
  EXPECT_NEAR(wasserstein2(d, c), std::sqrt(expected), 1e-9);
  EXPECT_NEAR(wasserstein2(c, c), 0.0, 1e-6);
  // A collapsed (singular) covariance still has a root: sqrt of diag(4, 0) is diag(2, 0).
  const auto root = symmetric_sqrt({4.0, 0.0, 0.0, 0.0}, 2);
  EXPECT_NEAR(root[0], 2.0, 1e-12);
  EXPECT_NEAR(root[3], 0.0, 1e-12);
}

TEST(CollapseMixture, EmRecoversSeparatedComponentsAndNeverLowersTheLikelihood) {
  const Mixture truth{{0.3, 0.7}, {-4.0, 3.0}, {1.0, 0.5}};
  Rng rng(3);
  std::vector<double> samples(10000);
  for (auto& x : samples) x = truth.draw(rng);
  const EmFit fit = fit_mixture_em(samples, {{0.5, 0.5}, {-1.0, 1.0}, {4.0, 4.0}});
  EXPECT_NEAR(fit.mixture.means[0], -4.0, 0.1);
  EXPECT_NEAR(fit.mixture.means[1], 3.0, 0.1);
  EXPECT_NEAR(fit.mixture.weights[0], 0.3, 0.02);
  EXPECT_NEAR(fit.mixture.variances[1], 0.5, 0.05);
  ASSERT_GT(fit.log_likelihoods.size(), 2u);
  for (size_t i = 1; i < fit.log_likelihoods.size(); ++i) EXPECT_GE(fit.log_likelihoods[i], fit.log_likelihoods[i - 1] - 1e-9);
  // Moments: within-component 0.3 * 1 + 0.7 * 0.5; total adds the spread of the means.
  EXPECT_NEAR(truth.within_variance(), 0.65, 1e-12);
  EXPECT_NEAR(truth.total_variance(), 0.65 + 0.3 * 0.7 * 49.0, 1e-12);
  EXPECT_NEAR(Mixture({{1.0}, {0.0}, {1.0}}).mass_outside(0.0, 1.96), 0.05, 1e-3);
}

// A symbol of probability q is missing from M samples with probability (1 - q)^M.
TEST(CollapseCategorical, ARareSymbolVanishesInOneStepAsTheoryGives) {
  const double q = 0.002;
  const int64_t m = 1000;
  const Categorical real{{q, 1 - q}};
  Rng rng(11);
  const int trials = 20000;
  int vanished = 0;
  for (int t = 0; t < trials; ++t)
    if (fit_categorical(real.draw(m, rng), 2).p[0] == 0) ++vanished;
  const double expected = std::pow(1 - q, m), se = std::sqrt(expected * (1 - expected) / trials);
  EXPECT_NEAR(static_cast<double>(vanished) / trials, expected, 4 * se);
}

TEST(CollapseCategorical, AVanishedSymbolNeverReturnsWithoutRealData) {
  const Categorical real = zipf(50, 1.1);
  std::vector<bool> gone(50, false);
  int64_t survivors_before = 50;
  run_chain<int64_t>(
      real, {.samples = 200, .generations = 100, .real_fraction = 0, .seed = 5},
      [](const std::vector<int64_t>& data, const Categorical&) { return fit_categorical(data, 50); },
      [](const Categorical& c, int64_t count, Rng& rng) { return c.draw(count, rng); },
      [&](int64_t, const Categorical& fit, const std::vector<int64_t>&) {
        int64_t survivors = 0;
        for (int k = 0; k < 50; ++k) {
          if (fit.p[k] > 0) {
            EXPECT_FALSE(gone[k]) << "symbol " << k << " came back";
            ++survivors;
          } else {
            gone[k] = true;
          }
        }
        EXPECT_LE(survivors, survivors_before);
        survivors_before = survivors;
      });
  EXPECT_LT(survivors_before, 50);
}

TEST(CollapseChain, EachLaterGenerationMixesExactlyTheRealFraction) {
  // Real data is all symbol 0; every fit is a point mass on symbol 1.
  const Categorical real{{1.0, 0.0}};
  int64_t generations_seen = 0;
  run_chain<int64_t>(
      real, {.samples = 1000, .generations = 4, .real_fraction = 0.1, .seed = 1},
      [](const std::vector<int64_t>&, const Categorical&) { return Categorical{{0.0, 1.0}}; },
      [](const Categorical& c, int64_t count, Rng& rng) { return c.draw(count, rng); },
      [&](int64_t n, const Categorical&, const std::vector<int64_t>& data) {
        ++generations_seen;
        EXPECT_EQ(data.size(), 1000u);
        EXPECT_EQ(std::count(data.begin(), data.end(), 0), n == 1 ? 1000 : 100) << "generation " << n;
      });
  EXPECT_EQ(generations_seen, 4);
  testing::expect_error_containing([] { real_samples({.samples = 10, .generations = 1, .real_fraction = 1.5}); },
                                   "real fraction");
}

TEST(CollapseDrift, DigammaAndTheLogVarianceDriftMatchTheoryAndMonteCarlo) {
  EXPECT_NEAR(digamma(1.0), -0.5772156649015329, 1e-12);
  EXPECT_NEAR(digamma(0.5), -1.9635100260214235, 1e-12);
  EXPECT_NEAR(log_variance_drift(10), -0.1152, 1e-4);
  // E[log(s1^2 / s0^2)] over a million fits of 10 samples, within 2% of the drift.
  Rng rng(2);
  std::normal_distribution<double> normal(0.0, 1.0);
  const int runs = 1000000;
  double sum = 0;
  for (int r = 0; r < runs; ++r) {
    double s = 0, s2 = 0;
    for (int i = 0; i < 10; ++i) {
      const double x = normal(rng);
      s += x;
      s2 += x * x;
    }
    sum += std::log((s2 - s * s / 10) / 9);
  }
  EXPECT_NEAR(sum / runs, log_variance_drift(10), 0.02 * std::abs(log_variance_drift(10)));
}

}  // namespace
}  // namespace garden::collapse
