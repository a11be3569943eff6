// The AdamW update of a run of float32 elements in one pass (train/fused_adamw.h drives it).
// Kept free of libtorch so that it compiles with -O3 -fno-math-errno (without the latter
// std::sqrt keeps an errno branch and the loop is not vectorised) and with OpenMP: the
// parallel loops of libtorch's headers (at::parallel_for) run on one thread in a file built
// without -fopenmp, as garden's libtorch sources are (they share a precompiled header).
#pragma once

#include <cstdint>

namespace garden::train {

struct AdamWCoefficients {
  float grad_scale;     // the clipping factor, 1 when not clipped
  float decay;          // 1 - lr * weight_decay
  float beta1, one_minus_beta1;
  float beta2, one_minus_beta2;
  float sqrt_bias_correction2;  // sqrt(1 - beta2^step)
  float eps;
  float step_size;      // lr / (1 - beta1^step)
};

// For i in [0, n): g = grad[i] * grad_scale; param *= decay; m = beta1 m + (1 - beta1) g;
// v = beta2 v + (1 - beta2) g^2; param -= step_size m / (sqrt(v) / sqrt_bias_correction2 + eps):
// the order of libtorch's AdamW::step, so results agree with it to float rounding.
void adamw_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n, const AdamWCoefficients& c);

}  // namespace garden::train
