// The toy experiments of model-collapse.md over many seeds: 1-D Gaussians fitted by unbiased
// estimators, a Zipf categorical fitted by its empirical frequencies, and a two-component
// Gaussian mixture re-fitted by EM. Each runs independent chains (collapse/chain.h), one per
// seed, on a pool of threads, and summarises them at recorded generations; the results do not
// depend on the number of threads.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "garden/collapse/toy.h"
#include "garden/core/json.h"

namespace garden::collapse {

// One statistic over the seeds of an experiment.
struct SeedStats {
  double mean = 0, standard_error = 0;  // the sample mean and its standard error (sd / sqrt(count))
  double q05 = 0, median = 0, q95 = 0;  // quantiles, linearly interpolated
};
SeedStats seed_stats(std::vector<double> values);
// The q-quantile of `values` (0 <= q <= 1), linearly interpolated between order statistics.
double quantile(std::vector<double> values, double q);
Json to_json(const SeedStats& s);

// Generations 1, 2, 5, 10, 20, 50, ... up to `generations`, and `generations` itself.
std::vector<int64_t> log_spaced_generations(int64_t generations);

struct ToyRun {
  int64_t samples = 1000;      // M, per generation
  int64_t generations = 100;   // fits
  int64_t seeds = 100;         // independent chains; chain i uses seed + i
  double real_fraction = 0;    // rho
  uint64_t seed = 0;
  int threads = 1;
  std::vector<int64_t> record = {};  // generations to summarise (empty: log_spaced_generations)
  std::function<void(int64_t chains_done)> progress = {};  // called from worker threads, serialised
};

// ---- Gaussian: N(0, 1) re-fitted by mean and unbiased variance ------------------------------

struct GaussianTrace {
  std::vector<int64_t> generations;                         // the recorded ones
  std::vector<SeedStats> sd, variance, squared_mean, w2;     // per recorded generation; w2 to N(0, 1)
  std::vector<double> last_sd;                              // per seed, at the last generation
};
GaussianTrace run_gaussian_chains(const ToyRun& run);
// The share of seeds whose last sd is below `threshold`.
double share_below(const std::vector<double>& values, double threshold);
Json to_json(const GaussianTrace& t);

// ---- categorical: Zipf(s) over a finite alphabet, re-fitted by frequencies ------------------

struct CategoricalTrace {
  std::vector<double> real;                  // the original probabilities
  std::vector<SeedStats> survivors;          // per generation 0..generations (0: the real alphabet)
  int64_t returns = 0;                       // symbols that came back after vanishing (0 unless rho > 0)
  std::vector<std::vector<int64_t>> vanished_at;  // [seed][symbol]: the generation it vanished, -1 if it survived
  double mean_real_p_vanished = 0, mean_real_p_survived = 0;  // pooled over seeds; NaN when a group is empty
};
CategoricalTrace run_categorical_chains(const ToyRun& run, int64_t symbols, double zipf_exponent);
Json to_json(const CategoricalTrace& t);  // survivors per generation; vanishing generations summarised

// ---- Gaussian mixture: 1/2 N(-separation, 1) + 1/2 N(+separation, 1), re-fitted by EM --------

struct MixtureTrace {
  std::vector<int64_t> generations;
  // within_variance: sum_k w_k var_k; tail_mass: the mass outside [-(separation + 3),
  // separation + 3], beyond three standard deviations of either original component.
  std::vector<SeedStats> within_variance, total_variance, min_weight, tail_mass;
  double real_tail_mass = 0;
  std::vector<SeedStats> em_iterations;
};
Mixture two_component_mixture(double separation);
MixtureTrace run_mixture_chains(const ToyRun& run, double separation, const EmOptions& em = {});
Json to_json(const MixtureTrace& t);

}  // namespace garden::collapse
