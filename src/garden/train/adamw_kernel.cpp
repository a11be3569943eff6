#include "garden/train/adamw_kernel.h"

#include <cmath>

namespace garden::train {

void adamw_update(float* __restrict param, const float* __restrict grad, float* __restrict exp_avg, float* __restrict exp_avg_sq,
                  int64_t n, const AdamWCoefficients& c) {
  // Split between OpenMP's threads from 32k elements up; smaller parameters (norm gains,
  // biases) stay on the calling thread, where a fork-join would cost more than the update.
#pragma omp parallel for schedule(static) if (n >= 32768)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] * c.grad_scale;
    const float p = param[i] * c.decay;
    const float m = exp_avg[i] * c.beta1 + g * c.one_minus_beta1;
    const float v = exp_avg_sq[i] * c.beta2 + g * g * c.one_minus_beta2;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] = p - c.step_size * (m / (std::sqrt(v) / c.sqrt_bias_correction2 + c.eps));
  }
}

}  // namespace garden::train
