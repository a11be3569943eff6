// The recursive-training driver of model-collapse.md, in the spec's numbering: generation 0
// is the real distribution; model n (n = 1..generations) is fitted to M samples of model
// n - 1, of which, after the first fit, a fraction rho are fresh real draws. Any family plugs
// in through a fitter and a sampler (collapse/toy.h has the categorical, Gaussian and
// mixture ones).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "garden/collapse/toy.h"
#include "garden/core/error.h"

namespace garden::collapse {

struct ChainOptions {
  int64_t samples = 1000;     // M, per generation
  int64_t generations = 100;  // fits
  double real_fraction = 0;   // rho
  uint64_t seed = 0;
};

// The real samples in each generation's data after the first: round(rho * M).
inline int64_t real_samples(const ChainOptions& o) {
  if (o.samples < 1 || o.generations < 0 || !(o.real_fraction >= 0 && o.real_fraction <= 1))
    throw Error("collapse chain: samples >= 1, generations >= 0 and 0 <= real fraction <= 1 are needed");
  return std::llround(o.real_fraction * static_cast<double>(o.samples));
}

// Runs one chain from `real`. `fit(data, previous)` returns the next model (`previous` is the
// model the data came from, `real` for the first fit: a warm start for EM, ignored by exact
// fitters); `draw(model, count, rng)` returns `count` samples; `observe(n, model, data)` sees
// model n and the data it was fitted to, n = 1..generations.
template <typename Sample, typename Model, typename Fit, typename Draw, typename Observe>
void run_chain(const Model& real, const ChainOptions& o, Fit&& fit, Draw&& draw, Observe&& observe) {
  const int64_t real_count = real_samples(o);
  Rng rng(o.seed);
  std::vector<Sample> data = draw(real, o.samples, rng);
  if (o.generations == 0) return;
  Model model = fit(data, real);
  observe(int64_t{1}, model, data);
  for (int64_t n = 2; n <= o.generations; ++n) {
    data = draw(real, real_count, rng);
    const std::vector<Sample> synthetic = draw(model, o.samples - real_count, rng);
    data.insert(data.end(), synthetic.begin(), synthetic.end());
    model = fit(data, model);
    observe(n, model, data);
  }
}

}  // namespace garden::collapse
