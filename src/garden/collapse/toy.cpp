#include "garden/collapse/toy.h"

#include <algorithm>
#include <limits>
#include <cmath>
#include <numeric>
#include <string>

#include "garden/core/error.h"

namespace garden::collapse {

namespace {

// Index of the first cumulative value above u (u uniform in [0, total)).
int64_t pick(const std::vector<double>& cumulative, double u) {
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
  return std::min<int64_t>(static_cast<int64_t>(it - cumulative.begin()), static_cast<int64_t>(cumulative.size()) - 1);
}

std::vector<double> cumulative_of(const std::vector<double>& p) {
  std::vector<double> c(p.size());
  std::partial_sum(p.begin(), p.end(), c.begin());
  return c;
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double log_normal_density(double x, double mean, double variance) {
  const double d = x - mean;
  return -0.5 * (std::log(2 * M_PI * variance) + d * d / variance);
}

// log sum_k exp(v_k), stable.
double log_sum_exp(const std::vector<double>& v) {
  const double top = *std::max_element(v.begin(), v.end());
  if (!std::isfinite(top)) return top;
  double sum = 0;
  for (double x : v) sum += std::exp(x - top);
  return top + std::log(sum);
}

std::vector<double> multiply(const std::vector<double>& a, const std::vector<double>& b, int64_t d) {
  std::vector<double> c(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t k = 0; k < d; ++k)
      for (int64_t j = 0; j < d; ++j) c[i * d + j] += a[i * d + k] * b[k * d + j];
  return c;
}

}  // namespace

// ---- categorical --------------------------------------------------------------------------

int64_t Categorical::draw(Rng& rng) const { return draw(1, rng)[0]; }

std::vector<int64_t> Categorical::draw(int64_t count, Rng& rng) const {
  const auto cumulative = cumulative_of(p);
  std::uniform_real_distribution<double> uniform(0.0, cumulative.back());
  std::vector<int64_t> out(static_cast<size_t>(count));
  for (auto& s : out) s = pick(cumulative, uniform(rng));
  return out;
}

Categorical fit_categorical(const std::vector<int64_t>& samples, int64_t symbols) {
  if (samples.empty()) throw Error("categorical fit: no samples");
  Categorical c{std::vector<double>(static_cast<size_t>(symbols), 0.0)};
  for (int64_t s : samples) {
    if (s < 0 || s >= symbols) throw Error("categorical fit: symbol " + std::to_string(s) + " outside 0.." + std::to_string(symbols - 1));
    c.p[s] += 1;
  }
  for (auto& v : c.p) v /= static_cast<double>(samples.size());
  return c;
}

Categorical zipf(int64_t symbols, double s) {
  Categorical c{std::vector<double>(static_cast<size_t>(symbols))};
  for (int64_t k = 0; k < symbols; ++k) c.p[k] = std::pow(static_cast<double>(k + 1), -s);
  const double total = std::accumulate(c.p.begin(), c.p.end(), 0.0);
  for (auto& v : c.p) v /= total;
  return c;
}

// ---- Gaussians ----------------------------------------------------------------------------

std::vector<double> Gaussian::draw(Rng& rng) const {
  const int64_t d = dim();
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> z(static_cast<size_t>(d));
  for (auto& v : z) v = normal(rng);
  // mean + cov^1/2 z: the symmetric root also serves a singular (collapsed) covariance.
  const auto root = d == 1 ? std::vector<double>{std::sqrt(std::max(0.0, cov[0]))} : symmetric_sqrt(cov, d);
  std::vector<double> x = mean;
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) x[i] += root[i * d + j] * z[j];
  return x;
}

Gaussian standard_gaussian(int64_t dim, double mean, double sd) {
  Gaussian g{std::vector<double>(static_cast<size_t>(dim), mean), std::vector<double>(static_cast<size_t>(dim * dim), 0.0)};
  for (int64_t i = 0; i < dim; ++i) g.cov[i * dim + i] = sd * sd;
  return g;
}

Gaussian fit_gaussian(const std::vector<std::vector<double>>& samples) {
  const auto m = static_cast<int64_t>(samples.size());
  if (m < 2) throw Error("Gaussian fit: at least 2 samples are needed for the unbiased covariance");
  const auto d = static_cast<int64_t>(samples[0].size());
  Gaussian g{std::vector<double>(static_cast<size_t>(d), 0.0), std::vector<double>(static_cast<size_t>(d * d), 0.0)};
  for (const auto& x : samples) {
    if (static_cast<int64_t>(x.size()) != d) throw Error("Gaussian fit: samples of different dimensions");
    for (int64_t i = 0; i < d; ++i) g.mean[i] += x[i];
  }
  for (auto& v : g.mean) v /= static_cast<double>(m);
  for (const auto& x : samples)
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) g.cov[i * d + j] += (x[i] - g.mean[i]) * (x[j] - g.mean[j]);
  for (auto& v : g.cov) v /= static_cast<double>(m - 1);
  return g;
}

std::vector<double> symmetric_sqrt(const std::vector<double>& matrix, int64_t dim) {
  const int64_t d = dim;
  std::vector<double> a = matrix, vectors(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i) vectors[i * d + i] = 1;
  // Cyclic Jacobi: rotate away each off-diagonal entry until they are all negligible.
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, scale = 0;
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) (i == j ? scale : off) += a[i * d + j] * a[i * d + j];
    if (off <= 1e-30 * std::max(scale, 1e-300)) break;
    for (int64_t p = 0; p < d; ++p)
      for (int64_t q = p + 1; q < d; ++q) {
        const double apq = a[p * d + q];
        if (apq == 0) continue;
        const double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < d; ++k) {  // A <- A J (columns p, q)
          const double akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < d; ++k) {  // A <- J^T A (rows p, q)
          const double apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < d; ++k) {  // V <- V J
          const double vkp = vectors[k * d + p], vkq = vectors[k * d + q];
          vectors[k * d + p] = c * vkp - s * vkq;
          vectors[k * d + q] = s * vkp + c * vkq;
        }
      }
  }
  std::vector<double> root(static_cast<size_t>(d * d), 0.0);
  for (int64_t k = 0; k < d; ++k) {
    const double r = std::sqrt(std::max(0.0, a[k * d + k]));
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) root[i * d + j] += vectors[i * d + k] * r * vectors[j * d + k];
  }
  return root;
}

double wasserstein2(const Gaussian& a, const Gaussian& b) {
  const int64_t d = a.dim();
  if (b.dim() != d) throw Error("W2: Gaussians of dimensions " + std::to_string(d) + " and " + std::to_string(b.dim()));
  double squared = 0;
  for (int64_t i = 0; i < d; ++i) squared += (a.mean[i] - b.mean[i]) * (a.mean[i] - b.mean[i]);
  if (d == 1) {
    const double ds = std::sqrt(std::max(0.0, a.cov[0])) - std::sqrt(std::max(0.0, b.cov[0]));
    return std::sqrt(squared + ds * ds);
  }
  const auto root_b = symmetric_sqrt(b.cov, d);
  const auto cross = symmetric_sqrt(multiply(multiply(root_b, a.cov, d), root_b, d), d);
  for (int64_t i = 0; i < d; ++i) squared += a.cov[i * d + i] + b.cov[i * d + i] - 2 * cross[i * d + i];
  return std::sqrt(std::max(0.0, squared));
}

std::vector<double> Normal::draw(int64_t count, Rng& rng) const {
  std::normal_distribution<double> normal(mean, sd);
  std::vector<double> out(static_cast<size_t>(count));
  // A collapsed fit (sd 0) draws its mean; normal_distribution needs sd > 0.
  for (auto& x : out) x = sd > 0 ? normal(rng) : mean;
  return out;
}

Normal fit_normal(const std::vector<double>& samples) {
  const auto m = static_cast<double>(samples.size());
  if (samples.size() < 2) throw Error("Gaussian fit: at least 2 samples are needed for the unbiased variance");
  const double mean = std::accumulate(samples.begin(), samples.end(), 0.0) / m;
  double squares = 0;
  for (double x : samples) squares += (x - mean) * (x - mean);
  return {mean, std::sqrt(squares / (m - 1))};
}

double wasserstein2(const Normal& a, const Normal& b) { return std::hypot(a.mean - b.mean, a.sd - b.sd); }

// ---- 1-D Gaussian mixtures ------------------------------------------------------------------

double Mixture::draw(Rng& rng) const {
  std::uniform_real_distribution<double> uniform(0.0, std::accumulate(weights.begin(), weights.end(), 0.0));
  const int64_t k = pick(cumulative_of(weights), uniform(rng));
  std::normal_distribution<double> normal(means[k], std::sqrt(variances[k]));
  return normal(rng);
}

std::vector<double> Mixture::draw(int64_t count, Rng& rng) const {
  const auto cumulative = cumulative_of(weights);
  std::uniform_real_distribution<double> uniform(0.0, cumulative.back());
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> out(static_cast<size_t>(count));
  for (auto& x : out) {
    const int64_t k = pick(cumulative, uniform(rng));
    x = means[k] + std::sqrt(variances[k]) * normal(rng);
  }
  return out;
}

double Mixture::log_likelihood(const std::vector<double>& samples) const {
  double total = 0;
  std::vector<double> terms(weights.size());
  for (double x : samples) {
    for (size_t k = 0; k < weights.size(); ++k)
      terms[k] = weights[k] > 0 ? std::log(weights[k]) + log_normal_density(x, means[k], variances[k])
                                : -std::numeric_limits<double>::infinity();
    total += log_sum_exp(terms);
  }
  return total;
}

double Mixture::within_variance() const {
  double v = 0;
  for (size_t k = 0; k < weights.size(); ++k) v += weights[k] * variances[k];
  return v;
}

double Mixture::total_variance() const {
  double mean = 0, second = 0;
  for (size_t k = 0; k < weights.size(); ++k) {
    mean += weights[k] * means[k];
    second += weights[k] * (variances[k] + means[k] * means[k]);
  }
  return second - mean * mean;
}

double Mixture::mass_outside(double centre, double radius) const {
  double mass = 0;
  for (size_t k = 0; k < weights.size(); ++k) {
    const double sd = std::sqrt(variances[k]);
    mass += weights[k] * (normal_cdf((centre - radius - means[k]) / sd) + 1 - normal_cdf((centre + radius - means[k]) / sd));
  }
  return mass;
}

EmFit fit_mixture_em(const std::vector<double>& samples, const Mixture& start, const EmOptions& options) {
  if (samples.empty()) throw Error("EM: no samples");
  const size_t n = samples.size(), K = start.weights.size();
  EmFit fit{start, {}, 0};
  Mixture& m = fit.mixture;
  std::vector<double> resp(n * K), terms(K);
  double previous = m.log_likelihood(samples);
  for (int64_t it = 0; it < options.max_iterations; ++it) {
    // E-step: responsibilities r_ik = w_k N(x_i; mu_k, var_k) / sum_j w_j N(x_i; mu_j, var_j).
    for (size_t i = 0; i < n; ++i) {
      for (size_t k = 0; k < K; ++k)
        terms[k] = m.weights[k] > 0 ? std::log(m.weights[k]) + log_normal_density(samples[i], m.means[k], m.variances[k])
                                    : -std::numeric_limits<double>::infinity();
      const double norm = log_sum_exp(terms);
      for (size_t k = 0; k < K; ++k) resp[i * K + k] = std::exp(terms[k] - norm);
    }
    // M-step: weights, means and (biased, maximum-likelihood) variances from the responsibilities.
    for (size_t k = 0; k < K; ++k) {
      double nk = 0, sum = 0;
      for (size_t i = 0; i < n; ++i) {
        nk += resp[i * K + k];
        sum += resp[i * K + k] * samples[i];
      }
      m.weights[k] = nk / static_cast<double>(n);
      if (nk < 1e-12) continue;  // no sample is this component's: it keeps its place, weight 0
      m.means[k] = sum / nk;
      double var = 0;
      for (size_t i = 0; i < n; ++i) var += resp[i * K + k] * (samples[i] - m.means[k]) * (samples[i] - m.means[k]);
      m.variances[k] = std::max(options.variance_floor, var / nk);
    }
    const double current = m.log_likelihood(samples);
    fit.log_likelihoods.push_back(current);
    fit.iterations = it + 1;
    if ((current - previous) / static_cast<double>(n) < options.tolerance) break;
    previous = current;
  }
  return fit;
}

// ---- the digamma drift --------------------------------------------------------------------

double digamma(double x) {
  if (!(x > 0)) throw Error("digamma: x must be positive");
  double shift = 0;
  while (x < 10) {
    shift -= 1 / x;
    x += 1;
  }
  const double inv = 1 / x, inv2 = inv * inv;
  return shift + std::log(x) - 0.5 * inv -
         inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 / 132))));
}

double log_variance_drift(int64_t samples) {
  if (samples < 2) throw Error("log-variance drift: at least 2 samples per generation");
  const double half = static_cast<double>(samples - 1) / 2;
  return digamma(half) - std::log(half);
}

}  // namespace garden::collapse
