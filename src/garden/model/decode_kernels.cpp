#include "garden/model/decode_kernels.h"

#include <algorithm>
#include <cmath>

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

constexpr int64_t kSamplingBlock = 64;

// The mass of n tokens in double, summed in four independent lanes so that the additions
// pipeline and vectorise instead of each waiting for the one before.
template <typename Scalar>
double block_mass(const Scalar* x, int64_t n) {
  double lanes[4] = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4)
    for (int64_t lane = 0; lane < 4; ++lane) lanes[lane] += static_cast<double>(x[j + lane]);
  double mass = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; j < n; ++j) mass += static_cast<double>(x[j]);
  return mass;
}

// One row of inverse_cdf_rows. The mass is accumulated a block of 64 tokens at a time and
// only the block holding the target is walked token by token: a sequential sum over the
// whole row was a chain of 8k dependent additions per row and step.
template <typename Scalar>
int64_t inverse_cdf(const Scalar* row, int64_t vocab, double u) {
  double total = 0;
  for (int64_t start = 0; start < vocab; start += kSamplingBlock)
    total += block_mass(row + start, std::min(kSamplingBlock, vocab - start));
  if (!(total > 0) || !std::isfinite(total)) return -1;
  const double target = u * total;
  double mass = 0;
  for (int64_t start = 0; start < vocab; start += kSamplingBlock) {
    const int64_t end = std::min(start + kSamplingBlock, vocab);
    const double block = block_mass(row + start, end - start);
    if (!(mass + block > target)) {
      mass += block;
      continue;
    }
    int64_t last_with_mass = -1;
    for (int64_t j = start; j < end; ++j) {
      mass += static_cast<double>(row[j]);
      if (mass > target) return j;
      if (row[j] > 0) last_with_mass = j;
    }
    if (last_with_mass >= 0) return last_with_mass;
  }
  for (int64_t j = vocab - 1; j >= 0; --j)
    if (row[j] > 0) return j;
  return -1;
}

template <typename Scalar>
void inverse_cdf_rows_of(const Scalar* probs, int64_t rows, int64_t vocab, const double* uniforms, int64_t* out) {
  // From 8 rows up: below that a fork-join costs about what the walk does.
#pragma omp parallel for schedule(static) if (rows >= 8)
  for (int64_t r = 0; r < rows; ++r) out[r] = inverse_cdf(probs + r * vocab, vocab, uniforms[r]);
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

void attention_scores(const float* query, const float* keys, int64_t key_stride, int64_t positions, int64_t dim,
                      float* scores) {
  const auto scale = static_cast<float>(std::sqrt(static_cast<double>(dim)));
  for (int64_t s = 0; s < positions; ++s) scores[s] = dot(query, keys + s * key_stride, dim) / scale;
}

void weighted_values(const float* weights, const float* values, int64_t value_stride, int64_t positions, int64_t dim,
                     float* out) {
  std::fill(out, out + dim, 0.0f);
  for (int64_t s = 0; s < positions; ++s) {
    const float weight = weights[s];
    const float* value = values + s * value_stride;
    for (int64_t i = 0; i < dim; ++i) out[i] += weight * value[i];
  }
}

void rows_attention_scores(const float* queries, const CachedRows& keys, int64_t rows, int64_t heads, int64_t group,
                           int64_t positions, int64_t dim, float* scores) {
#pragma omp parallel for schedule(static)
  for (int64_t pair = 0; pair < rows * heads; ++pair) {
    const int64_t row = pair / heads, kv_head = pair % heads / group;
    attention_scores(queries + pair * dim, keys.data + row * keys.row_stride + kv_head * keys.head_stride, keys.position_stride,
                     positions, dim, scores + pair * positions);
  }
}

void rows_weighted_values(const float* weights, const CachedRows& values, int64_t rows, int64_t heads, int64_t group,
                          int64_t positions, int64_t dim, float* out) {
#pragma omp parallel for schedule(static)
  for (int64_t pair = 0; pair < rows * heads; ++pair) {
    const int64_t row = pair / heads, kv_head = pair % heads / group;
    weighted_values(weights + pair * positions, values.data + row * values.row_stride + kv_head * values.head_stride,
                    values.position_stride, positions, dim, out + pair * dim);
  }
}

void one_query_attention(const float* query, const float* keys, int64_t key_stride, const float* values, int64_t value_stride,
                         int64_t positions, int64_t dim, float* scratch, float* out) {
  attention_scores(query, keys, key_stride, positions, dim, scratch);
  const float highest = *std::max_element(scratch, scratch + positions);
  float total = 0;
  for (int64_t s = 0; s < positions; ++s) {
    scratch[s] = std::exp(scratch[s] - highest);
    total += scratch[s];
  }
  for (int64_t s = 0; s < positions; ++s) scratch[s] /= total;
  weighted_values(scratch, values, value_stride, positions, dim, out);
}

void inverse_cdf_rows(const float* probs, int64_t rows, int64_t vocab, const double* uniforms, int64_t* out) {
  inverse_cdf_rows_of(probs, rows, vocab, uniforms, out);
}

void inverse_cdf_rows(const double* probs, int64_t rows, int64_t vocab, const double* uniforms, int64_t* out) {
  inverse_cdf_rows_of(probs, rows, vocab, uniforms, out);
}

}  // namespace garden::model
