#include "garden/collapse/experiments.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>

#include "garden/collapse/chain.h"
#include "garden/core/error.h"

namespace garden::collapse {

namespace {

void check(const ToyRun& run) {
  if (run.samples < 2 || run.generations < 1 || run.seeds < 1)
    throw Error("collapse: samples >= 2, generations >= 1 and seeds >= 1 are needed");
  if (run.threads < 1) throw Error("collapse: threads must be at least 1");
  // Bounds that keep a typo from asking for terabytes: samples are drawn per generation and
  // every recorded generation keeps one figure per seed.
  if (run.samples > 100'000'000 || run.seeds > 10'000'000)
    throw Error("collapse: at most 100,000,000 samples per generation and 10,000,000 seeds");
  for (int64_t g : run.record)
    if (g < 1 || g > run.generations)
      throw Error("collapse: recorded generation " + std::to_string(g) + " outside 1.." + std::to_string(run.generations));
}

std::vector<int64_t> recorded(const ToyRun& run) {
  std::vector<int64_t> r = run.record.empty() ? log_spaced_generations(run.generations) : run.record;
  std::sort(r.begin(), r.end());
  r.erase(std::unique(r.begin(), r.end()), r.end());
  return r;
}

// Calls chain(i) for i = 0..seeds-1 on run.threads threads; each chain writes only its own
// slots, so the results do not depend on the scheduling.
template <typename Chain>
void for_each_seed(const ToyRun& run, Chain&& chain) {
  std::atomic<int64_t> next{0}, done{0};
  std::mutex progress_lock;
  const auto worker = [&] {
    for (int64_t i = next++; i < run.seeds; i = next++) {
      chain(i);
      const int64_t finished = ++done;
      if (run.progress) {
        const std::lock_guard<std::mutex> lock(progress_lock);
        run.progress(finished);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min<int64_t>(run.threads, run.seeds); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

ChainOptions chain_options(const ToyRun& run, int64_t chain) {
  return {.samples = run.samples, .generations = run.generations, .real_fraction = run.real_fraction,
          .seed = run.seed + static_cast<uint64_t>(chain)};
}

// [recorded generation][seed] -> one SeedStats per recorded generation.
std::vector<SeedStats> stats_per_row(const std::vector<std::vector<double>>& rows) {
  std::vector<SeedStats> out;
  for (const auto& row : rows) out.push_back(seed_stats(row));
  return out;
}

using Grid = std::vector<std::vector<double>>;
Grid grid(size_t rows, int64_t seeds) { return Grid(rows, std::vector<double>(static_cast<size_t>(seeds), 0.0)); }

}  // namespace

double quantile(std::vector<double> values, double q) {
  if (values.empty()) throw Error("the quantile of no values");
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - static_cast<double>(below)) * (values[above] - values[below]);
}

SeedStats seed_stats(std::vector<double> values) {
  if (values.empty()) throw Error("seed statistics of no values");
  std::sort(values.begin(), values.end());
  const auto n = static_cast<double>(values.size());
  SeedStats s;
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double squares = 0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.standard_error = values.size() > 1 ? std::sqrt(squares / (n - 1) / n) : 0.0;
  s.q05 = quantile(values, 0.05);
  s.median = quantile(values, 0.5);
  s.q95 = quantile(values, 0.95);
  return s;
}

Json to_json(const SeedStats& s) {
  return {{"mean", s.mean}, {"standard_error", s.standard_error}, {"q05", s.q05}, {"median", s.median}, {"q95", s.q95}};
}

namespace {
Json stats_json(const std::vector<SeedStats>& stats) {
  Json out = Json::array();
  for (const auto& s : stats) out.push_back(to_json(s));
  return out;
}
}  // namespace

double share_below(const std::vector<double>& values, double threshold) {
  if (values.empty()) return 0;
  const auto below = std::count_if(values.begin(), values.end(), [threshold](double v) { return v < threshold; });
  return static_cast<double>(below) / static_cast<double>(values.size());
}

Json to_json(const GaussianTrace& t) {
  return {{"generations", t.generations}, {"sd", stats_json(t.sd)},       {"variance", stats_json(t.variance)},
          {"squared_mean", stats_json(t.squared_mean)}, {"w2", stats_json(t.w2)}, {"last_sd", t.last_sd}};
}

Json to_json(const CategoricalTrace& t) {
  // The generation each symbol vanished at, per seed, is summarised per symbol: the share of
  // seeds it vanished in and the median generation among those.
  Json symbols = Json::array();
  for (size_t k = 0; k < t.real.size(); ++k) {
    std::vector<double> at;
    for (const auto& per_seed : t.vanished_at)
      if (per_seed[k] >= 0) at.push_back(static_cast<double>(per_seed[k]));
    symbols.push_back({{"real_p", t.real[k]},
                       {"vanished_share", t.vanished_at.empty() ? 0.0 : static_cast<double>(at.size()) / static_cast<double>(t.vanished_at.size())},
                       {"median_vanished_at", at.empty() ? Json(nullptr) : Json(seed_stats(at).median)}});
  }
  const auto finite_or_null = [](double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); };
  return {{"survivors", stats_json(t.survivors)},
          {"returns", t.returns},
          {"mean_real_p_vanished", finite_or_null(t.mean_real_p_vanished)},
          {"mean_real_p_survived", finite_or_null(t.mean_real_p_survived)},
          {"symbols", symbols}};
}

Json to_json(const MixtureTrace& t) {
  return {{"generations", t.generations},
          {"within_variance", stats_json(t.within_variance)},
          {"total_variance", stats_json(t.total_variance)},
          {"min_weight", stats_json(t.min_weight)},
          {"tail_mass", stats_json(t.tail_mass)},
          {"real_tail_mass", t.real_tail_mass},
          {"em_iterations", stats_json(t.em_iterations)}};
}

std::vector<int64_t> log_spaced_generations(int64_t generations) {
  std::vector<int64_t> out;
  for (int64_t decade = 1; decade <= generations; decade *= 10)
    for (int64_t step : {1, 2, 5})
      if (decade * step <= generations) out.push_back(decade * step);
  if (out.empty() || out.back() != generations) out.push_back(generations);
  return out;
}

GaussianTrace run_gaussian_chains(const ToyRun& run) {
  check(run);
  GaussianTrace trace;
  trace.generations = recorded(run);
  const size_t rows = trace.generations.size();
  Grid sd = grid(rows, run.seeds), variance = grid(rows, run.seeds), squared_mean = grid(rows, run.seeds), w2 = grid(rows, run.seeds);
  const Normal real{0.0, 1.0};
  for_each_seed(run, [&](int64_t chain) {
    size_t row = 0;
    run_chain<double>(
        real, chain_options(run, chain), [](const std::vector<double>& data, const Normal&) { return fit_normal(data); },
        [](const Normal& model, int64_t count, Rng& rng) { return model.draw(count, rng); },
        [&](int64_t n, const Normal& fit, const std::vector<double>&) {
          if (row == rows || trace.generations[row] != n) return;
          sd[row][chain] = fit.sd;
          variance[row][chain] = fit.sd * fit.sd;
          squared_mean[row][chain] = fit.mean * fit.mean;
          w2[row][chain] = wasserstein2(fit, real);
          ++row;
        });
  });
  trace.sd = stats_per_row(sd);
  trace.variance = stats_per_row(variance);
  trace.squared_mean = stats_per_row(squared_mean);
  trace.w2 = stats_per_row(w2);
  trace.last_sd = sd.back();
  return trace;
}

CategoricalTrace run_categorical_chains(const ToyRun& run, int64_t symbols, double zipf_exponent) {
  check(run);
  if (symbols < 2 || !(zipf_exponent > 0)) throw Error("collapse: a categorical needs >= 2 symbols and a Zipf exponent > 0");
  if (static_cast<double>(run.generations + 1) * static_cast<double>(run.seeds) > 1e8)
    throw Error("collapse: a categorical run keeps survivors per generation and seed: at most 100,000,000 of them");
  CategoricalTrace trace;
  const Categorical real = zipf(symbols, zipf_exponent);
  trace.real = real.p;
  Grid survivors = grid(static_cast<size_t>(run.generations + 1), run.seeds);
  trace.vanished_at.assign(static_cast<size_t>(run.seeds), std::vector<int64_t>(static_cast<size_t>(symbols), -1));
  std::vector<int64_t> returns(static_cast<size_t>(run.seeds), 0);
  for_each_seed(run, [&](int64_t chain) {
    auto& vanished = trace.vanished_at[chain];
    survivors[0][chain] = static_cast<double>(symbols);
    run_chain<int64_t>(
        real, chain_options(run, chain),
        [symbols](const std::vector<int64_t>& data, const Categorical&) { return fit_categorical(data, symbols); },
        [](const Categorical& model, int64_t count, Rng& rng) { return model.draw(count, rng); },
        [&](int64_t n, const Categorical& fit, const std::vector<int64_t>&) {
          int64_t alive = 0;
          for (int64_t k = 0; k < symbols; ++k) {
            if (fit.p[k] > 0) {
              ++alive;
              if (vanished[k] >= 0) {  // back from real data (rho > 0): it counts as vanished again later
                ++returns[chain];
                vanished[k] = -1;
              }
            } else if (vanished[k] < 0) {
              vanished[k] = n;
            }
          }
          survivors[n][chain] = static_cast<double>(alive);
        });
  });
  trace.survivors = stats_per_row(survivors);
  trace.returns = std::accumulate(returns.begin(), returns.end(), int64_t{0});
  double p_vanished = 0, p_survived = 0;
  int64_t n_vanished = 0, n_survived = 0;
  for (const auto& per_seed : trace.vanished_at)
    for (int64_t k = 0; k < symbols; ++k) {
      if (per_seed[k] >= 0) {
        p_vanished += real.p[k];
        ++n_vanished;
      } else {
        p_survived += real.p[k];
        ++n_survived;
      }
    }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  trace.mean_real_p_vanished = n_vanished ? p_vanished / static_cast<double>(n_vanished) : nan;
  trace.mean_real_p_survived = n_survived ? p_survived / static_cast<double>(n_survived) : nan;
  return trace;
}

Mixture two_component_mixture(double separation) { return Mixture{{0.5, 0.5}, {-separation, separation}, {1.0, 1.0}}; }

MixtureTrace run_mixture_chains(const ToyRun& run, double separation, const EmOptions& em) {
  check(run);
  if (!(separation > 0)) throw Error("collapse: the mixture's separation must be positive");
  MixtureTrace trace;
  trace.generations = recorded(run);
  const size_t rows = trace.generations.size();
  const Mixture real = two_component_mixture(separation);
  const double radius = separation + 3;
  trace.real_tail_mass = real.mass_outside(0.0, radius);
  Grid within = grid(rows, run.seeds), total = grid(rows, run.seeds), min_weight = grid(rows, run.seeds), tail = grid(rows, run.seeds),
       iterations = grid(rows, run.seeds);
  for_each_seed(run, [&](int64_t chain) {
    size_t row = 0;
    int64_t last_iterations = 0;
    run_chain<double>(
        real, chain_options(run, chain),
        [&](const std::vector<double>& data, const Mixture& previous) {
          EmFit fit = fit_mixture_em(data, previous, em);  // warm start from the previous fit
          last_iterations = fit.iterations;
          return fit.mixture;
        },
        [](const Mixture& model, int64_t count, Rng& rng) { return model.draw(count, rng); },
        [&](int64_t n, const Mixture& fit, const std::vector<double>&) {
          if (row == rows || trace.generations[row] != n) return;
          within[row][chain] = fit.within_variance();
          total[row][chain] = fit.total_variance();
          min_weight[row][chain] = *std::min_element(fit.weights.begin(), fit.weights.end());
          tail[row][chain] = fit.mass_outside(0.0, radius);
          iterations[row][chain] = static_cast<double>(last_iterations);
          ++row;
        });
  });
  trace.within_variance = stats_per_row(within);
  trace.total_variance = stats_per_row(total);
  trace.min_weight = stats_per_row(min_weight);
  trace.tail_mass = stats_per_row(tail);
  trace.em_iterations = stats_per_row(iterations);
  return trace;
}

}  // namespace garden::collapse
