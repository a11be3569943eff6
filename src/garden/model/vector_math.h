// Arithmetic for the libtorch-free kernel files (model/decode_kernels.cpp,
// model/training_kernels.cpp), written so that the loops calling it vectorise. Those files are
// built with -O3 -fno-math-errno -fno-trapping-math (and -march=native under GARDEN_NATIVE):
// without those flags these loops stay scalar, so include this header only there.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace garden::model {

// Sixteen independent partial sums (one AVX-512 register): the products pipeline and
// vectorise instead of each addition waiting for the one before.
inline float dot(const float* a, const float* b, int64_t n) {
  constexpr int64_t kLanes = 16;
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t lane = 0; lane < kLanes; ++lane) lanes[lane] += a[i + lane] * b[i + lane];
  for (int64_t width = kLanes / 2; width > 0; width /= 2)
    for (int64_t lane = 0; lane < width; ++lane) lanes[lane] += lanes[lane + width];
  float sum = lanes[0];
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// exp(x) by range reduction and a degree-6 polynomial (within 2 ulp of std::exp over float's
// range): std::exp stays a scalar call without -ffast-math, and at 64 rows x 8k tokens a
// decode step's softmax is half a million of them. Below -87.3 (exp under float's smallest
// normal, and -inf) it is 0; above 88.3, exp(88.3); NaN stays NaN.
inline float vector_exp(float x) {
  constexpr float kLog2e = 1.44269504088896341f, kLn2High = 0.693359375f, kLn2Low = -2.12194440e-4f;
  const float clamped = std::min(std::max(x, -87.3f), 88.3f);
  const float n = std::floor(clamped * kLog2e + 0.5f);
  const float r = clamped - n * kLn2High - n * kLn2Low;  // |r| <= ln 2 / 2
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const auto bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return x < -87.3f ? 0.0f : p * scale;
}

// bfloat16 as its 16 bits (the upper half of a float32), converted as c10::BFloat16 does:
// widening is exact; narrowing rounds to nearest even, NaN to a quiet NaN.
inline float bf16_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint16_t float_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
  return f != f ? uint16_t{0x7FC0} : static_cast<uint16_t>(rounded);
}

}  // namespace garden::model
