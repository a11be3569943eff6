#include "garden/model/training_kernels.h"

#include <limits>
#include <vector>

#include "garden/model/vector_math.h"

namespace garden::model {

namespace {

inline float load(float x) { return x; }
inline float load(uint16_t x) { return bf16_to_float(x); }
inline void store(float value, float* out) { *out = value; }
inline void store(float value, uint16_t* out) { *out = float_to_bf16(value); }

const bool* mask_row(const RowMask& mask, int64_t r) {
  if (mask.data == nullptr) return nullptr;
  const int64_t t = r % mask.queries, h = (r / mask.queries) % mask.heads, b = r / (mask.queries * mask.heads);
  return mask.data + b * mask.batch_stride + h * mask.head_stride + t * mask.query_stride;
}

constexpr int64_t kLanes = 16;  // one AVX-512 register of floats

// Sixteen independent partial sums, as dot() keeps, so that the additions vectorise.
float lane_sum(const float* x, int64_t n) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t lane = 0; lane < kLanes; ++lane) lanes[lane] += x[i + lane];
  for (int64_t width = kLanes / 2; width > 0; width /= 2)
    for (int64_t lane = 0; lane < width; ++lane) lanes[lane] += lanes[lane + width];
  float sum = lanes[0];
  for (; i < n; ++i) sum += x[i];
  return sum;
}

// scaled[j] = x[j] * scale, or -inf where barred; returns their maximum, taken in sixteen
// lanes (a running std::max over the row stays scalar: each step waits for the one before).
template <typename Scalar>
float scale_and_mask(const Scalar* x, const bool* allowed, int64_t cols, float scale, float* scaled) {
  constexpr float kBarred = -std::numeric_limits<float>::infinity();
  if (allowed == nullptr)
    for (int64_t j = 0; j < cols; ++j) scaled[j] = load(x[j]) * scale;
  else {
    // Read as bytes and x read whether barred or not: GCC vectorises neither a bool load nor
    // a load under the condition.
    const auto* flags = reinterpret_cast<const uint8_t*>(allowed);
    for (int64_t j = 0; j < cols; ++j) {
      const float value = load(x[j]) * scale;
      scaled[j] = flags[j] != 0 ? value : kBarred;
    }
  }
  float lanes[kLanes];
  std::fill(lanes, lanes + kLanes, kBarred);
  int64_t j = 0;
  for (; j + kLanes <= cols; j += kLanes)
    for (int64_t lane = 0; lane < kLanes; ++lane) lanes[lane] = std::max(lanes[lane], scaled[j + lane]);
  float highest = *std::max_element(lanes, lanes + kLanes);
  for (; j < cols; ++j) highest = std::max(highest, scaled[j]);
  return highest;
}

// One row, through `scaled` (cols floats of scratch). No explicit test for the rows that
// softmax leaves undefined: a NaN among the allowed entries makes the total NaN, and a row
// with nothing allowed (or +inf) makes exp(-inf - -inf) NaN, so such a row comes out all NaN.
template <typename Scalar>
void softmax_row(const Scalar* x, const bool* allowed, int64_t cols, float scale, float* scaled, Scalar* out) {
  const float highest = scale_and_mask(x, allowed, cols, scale, scaled);
  for (int64_t j = 0; j < cols; ++j) scaled[j] = vector_exp(scaled[j] - highest);
  const float inverse_total = 1.0f / lane_sum(scaled, cols);
  for (int64_t j = 0; j < cols; ++j) store(scaled[j] * inverse_total, out + j);
}

template <typename Scalar>
void softmax_rows(const Scalar* x, const RowMask& mask, int64_t rows, int64_t cols, float scale, Scalar* out) {
#pragma omp parallel if (rows * cols >= 32768)
  {
    std::vector<float> scaled(static_cast<size_t>(cols));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) softmax_row(x + r * cols, mask_row(mask, r), cols, scale, scaled.data(), out + r * cols);
  }
}

template <typename Scalar>
void softmax_backward_rows(const Scalar* p, const Scalar* grad, int64_t rows, int64_t cols, float scale, Scalar* grad_x) {
#pragma omp parallel if (rows * cols >= 32768)
  {
    std::vector<float> row_p(static_cast<size_t>(cols)), row_grad(static_cast<size_t>(cols));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < cols; ++j) {
        row_p[static_cast<size_t>(j)] = load(p[r * cols + j]);
        row_grad[static_cast<size_t>(j)] = load(grad[r * cols + j]);
      }
      const float along = dot(row_p.data(), row_grad.data(), cols);
      for (int64_t j = 0; j < cols; ++j)
        store(scale * row_p[static_cast<size_t>(j)] * (row_grad[static_cast<size_t>(j)] - along), grad_x + r * cols + j);
    }
  }
}

}  // namespace

void masked_softmax_rows(const float* x, const RowMask& mask, int64_t rows, int64_t cols, float scale, float* out) {
  softmax_rows(x, mask, rows, cols, scale, out);
}
void masked_softmax_rows(const uint16_t* x, const RowMask& mask, int64_t rows, int64_t cols, float scale, uint16_t* out) {
  softmax_rows(x, mask, rows, cols, scale, out);
}
void masked_softmax_backward_rows(const float* p, const float* grad, int64_t rows, int64_t cols, float scale, float* grad_x) {
  softmax_backward_rows(p, grad, rows, cols, scale, grad_x);
}
void masked_softmax_backward_rows(const uint16_t* p, const uint16_t* grad, int64_t rows, int64_t cols, float scale,
                                  uint16_t* grad_x) {
  softmax_backward_rows(p, grad, rows, cols, scale, grad_x);
}

}  // namespace garden::model
