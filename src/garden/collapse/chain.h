// The recursive-training driver of model-collapse.md: generation 0 is fitted to M samples of
// the real distribution; generation n+1 to M samples of which a fraction rho are fresh real
// draws and the rest are drawn from generation n's fit. Any family plugs in through a fitter
// and a sampler (collapse/toy.h has the categorical, Gaussian and mixture ones).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "garden/collapse/toy.h"
#include "garden/core/error.h"

namespace garden::collapse {

struct ChainOptions {
  int64_t samples = 1000;     // M, per generation
  int64_t generations = 100;  // fits after generation 0's
  double real_fraction = 0;   // rho
  uint64_t seed = 0;
};

// The real samples in each generation after the first: round(rho * M).
inline int64_t real_samples(const ChainOptions& o) {
  if (o.samples < 1 || o.generations < 0 || !(o.real_fraction >= 0 && o.real_fraction <= 1))
    throw Error("collapse chain: samples >= 1, generations >= 0 and 0 <= real fraction <= 1 are needed");
  return std::llround(o.real_fraction * static_cast<double>(o.samples));
}

// Runs one chain from `real`. `fit(data, previous)` returns the next model (`previous` is the
// last fit, `real` for generation 0: a warm start for EM, ignored by exact fitters);
// `draw(model, rng)` returns one sample; `observe(n, model, data)` sees each generation's fit
// and the data it was fitted to, n = 0..generations.
template <typename Sample, typename Model, typename Fit, typename Draw, typename Observe>
void run_chain(const Model& real, const ChainOptions& o, Fit&& fit, Draw&& draw, Observe&& observe) {
  const int64_t real_count = real_samples(o);
  Rng rng(o.seed);
  std::vector<Sample> data(static_cast<size_t>(o.samples));
  for (auto& s : data) s = draw(real, rng);
  Model model = fit(data, real);
  observe(int64_t{0}, model, data);
  for (int64_t n = 1; n <= o.generations; ++n) {
    for (int64_t i = 0; i < o.samples; ++i) data[i] = i < real_count ? draw(real, rng) : draw(model, rng);
    model = fit(data, model);
    observe(n, model, data);
  }
}

}  // namespace garden::collapse
