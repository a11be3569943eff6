// The toy model families of "AI models collapse when trained on recursively generated data"
// (Shumailov et al., Nature 2024; spec: model-collapse.md): a categorical distribution fitted
// by its empirical frequencies, Gaussians fitted by the unbiased mean and covariance, and 1-D
// Gaussian mixtures fitted by EM; the exact 2-Wasserstein distance between Gaussians; and the
// recursive driver that fits each generation to samples of the one before (collapse/chain.h).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace garden::collapse {

using Rng = std::mt19937_64;

// ---- categorical --------------------------------------------------------------------------

struct Categorical {
  std::vector<double> p;  // probabilities, summing to 1
  int64_t draw(Rng& rng) const;
  std::vector<int64_t> draw(int64_t count, Rng& rng) const;
};
// The empirical frequencies of `samples` over `symbols` symbols (exact fitting: a symbol absent
// from the sample gets probability 0 and can never come back).
Categorical fit_categorical(const std::vector<int64_t>& samples, int64_t symbols);
// Zipf(s) over `symbols` symbols: p_k proportional to k^-s, k = 1..symbols.
Categorical zipf(int64_t symbols, double s);

// ---- Gaussians ----------------------------------------------------------------------------

struct Gaussian {
  std::vector<double> mean;  // d
  std::vector<double> cov;   // d x d, row-major, symmetric positive semi-definite
  int64_t dim() const { return static_cast<int64_t>(mean.size()); }
  std::vector<double> draw(Rng& rng) const;  // one d-vector
};
Gaussian standard_gaussian(int64_t dim, double mean = 0, double sd = 1);
// Sample mean and the unbiased covariance (denominator M - 1) of M >= 2 d-vectors.
Gaussian fit_gaussian(const std::vector<std::vector<double>>& samples);
// The 2-Wasserstein distance between two Gaussians, exactly:
// W2^2 = |m1 - m2|^2 + tr(S1 + S2 - 2 (S2^1/2 S1 S2^1/2)^1/2); in 1-D (m1-m2)^2 + (s1-s2)^2.
double wasserstein2(const Gaussian& a, const Gaussian& b);
// The symmetric square root of a symmetric positive semi-definite d x d matrix (row-major),
// by Jacobi eigendecomposition (negative eigenvalues from rounding are clipped to 0).
std::vector<double> symmetric_sqrt(const std::vector<double>& matrix, int64_t dim);

// A 1-D Gaussian: the d = 1 case of Gaussian without a vector per sample, for chains of
// thousands of generations over thousands of seeds.
struct Normal {
  double mean = 0, sd = 1;
  std::vector<double> draw(int64_t count, Rng& rng) const;
};
// The sample mean and the square root of the unbiased variance (denominator M - 1), M >= 2.
Normal fit_normal(const std::vector<double>& samples);
// W2 between 1-D Gaussians: sqrt((m1 - m2)^2 + (s1 - s2)^2).
double wasserstein2(const Normal& a, const Normal& b);

// ---- 1-D Gaussian mixtures ------------------------------------------------------------------

struct Mixture {
  std::vector<double> weights, means, variances;  // one entry per component
  int64_t components() const { return static_cast<int64_t>(weights.size()); }
  double draw(Rng& rng) const;
  std::vector<double> draw(int64_t count, Rng& rng) const;
  double log_likelihood(const std::vector<double>& samples) const;  // summed
  double within_variance() const;  // sum_k w_k var_k
  double total_variance() const;   // the mixture's variance
  // The mass of the mixture outside [centre - radius, centre + radius].
  double mass_outside(double centre, double radius) const;
};

struct EmOptions {
  int64_t max_iterations = 200;
  double tolerance = 1e-8;         // stop when the mean log-likelihood gains less than this
  double variance_floor = 1e-12;   // keeps a component that shrank onto one point finite
};
struct EmFit {
  Mixture mixture;
  std::vector<double> log_likelihoods;  // after each iteration (summed over the samples)
  int64_t iterations = 0;
};
// EM from `start` (the previous generation's fit: the spec's warm start). A component that
// no sample is responsible for keeps its parameters with weight 0.
EmFit fit_mixture_em(const std::vector<double>& samples, const Mixture& start, const EmOptions& options = {});

// ---- the digamma drift --------------------------------------------------------------------

// psi(x), the digamma function, for x > 0 (recurrence to x >= 10, then the asymptotic series).
double digamma(double x);
// E[log(sigma_{n+1}^2 / sigma_n^2)] for the unbiased 1-D fit on M samples:
// psi((M-1)/2) - log((M-1)/2) < 0, the drift of the random walk that log sigma_n^2 follows.
double log_variance_drift(int64_t samples);

}  // namespace garden::collapse
