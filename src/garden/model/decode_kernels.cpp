#include "garden/model/decode_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace garden::model {

namespace {

// Eight independent partial sums: the products pipeline and vectorise instead of each
// addition waiting for the one before.
float dot(const float* a, const float* b, int64_t n) {
  float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int64_t lane = 0; lane < 8; ++lane) lanes[lane] += a[i + lane] * b[i + lane];
  float sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace

void rms_norm_rows(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * dim;
    float* result = out + r * dim;
    const float inverse_rms = 1.0f / std::sqrt(dot(row, row, dim) / static_cast<float>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) result[i] = row[i] * inverse_rms * weight[i];
  }
}

void rope_in_place(float* x, const float* cos, const float* sin, int64_t vectors, int64_t dim) {
  const int64_t half = dim / 2;
  for (int64_t v = 0; v < vectors; ++v) {
    float* first = x + v * dim;
    float* second = first + half;
    for (int64_t i = 0; i < half; ++i) {
      const float a = first[i], b = second[i];
      first[i] = a * cos[i] + -b * sin[i];
      second[i] = b * cos[half + i] + a * sin[half + i];
    }
  }
}

void one_query_attention(const float* query, const float* keys, int64_t key_stride, const float* values, int64_t value_stride,
                         int64_t positions, int64_t dim, float* scratch, float* out) {
  const auto scale = static_cast<float>(std::sqrt(static_cast<double>(dim)));
  float highest = -std::numeric_limits<float>::infinity();
  for (int64_t s = 0; s < positions; ++s) {
    scratch[s] = dot(query, keys + s * key_stride, dim) / scale;
    highest = std::max(highest, scratch[s]);
  }
  float total = 0;
  for (int64_t s = 0; s < positions; ++s) {
    scratch[s] = std::exp(scratch[s] - highest);
    total += scratch[s];
  }
  std::fill(out, out + dim, 0.0f);
  for (int64_t s = 0; s < positions; ++s) {
    const float weight = scratch[s] / total;
    const float* value = values + s * value_stride;
    for (int64_t i = 0; i < dim; ++i) out[i] += weight * value[i];
  }
}

}  // namespace garden::model
