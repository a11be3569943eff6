// Plain loops for the row-wise steps of a training step that libtorch runs as several passes
// over memory: attention's scale, mask and softmax were four kernels forward (div, masked_fill,
// softmax, and a cast under bf16 autocast) and three backward, about an eighth of a d=128
// step (docs/performance.md). Kept free of libtorch, built like model/decode_kernels.cpp
// (-O3 -fno-math-errno -fno-trapping-math, -march=native under GARDEN_NATIVE, -fopenmp with
// rows split between the calling thread's omp_get_max_threads() threads). Each function
// exists for float32 and for bfloat16 held as its 16 bits (vector_math.h), with arithmetic in
// float32 either way; rows are contiguous.
#pragma once

#include <cstdint>

namespace garden::model {

// Which entries of each row may be attended to: row r = ((b * heads) + h) * queries + t reads
// the `cols` flags at data + b * batch_stride + h * head_stride + t * query_stride (strides
// in elements, 0 for a broadcast dimension). data == nullptr: every entry.
struct RowMask {
  const bool* data = nullptr;
  int64_t heads = 1, queries = 1;
  int64_t batch_stride = 0, head_stride = 0, query_stride = 0;
};

// out[r][j] = exp(scale x[r][j] - m_r) / sum_k exp(scale x[r][k] - m_r) over the allowed k, 0
// where barred (softmax(x * scale masked with -inf)). A row with nothing allowed, or a NaN
// among its allowed entries, is all NaN, as libtorch's softmax gives. out may be x.
void masked_softmax_rows(const float* x, const RowMask& mask, int64_t rows, int64_t cols, float scale, float* out);
void masked_softmax_rows(const uint16_t* x, const RowMask& mask, int64_t rows, int64_t cols, float scale, uint16_t* out);

// The gradient of the above through its output p: grad_x[r][j] = scale p[r][j] (grad[r][j] -
// sum_k grad[r][k] p[r][k]). Barred entries (p = 0) get 0. grad_x may be grad.
void masked_softmax_backward_rows(const float* p, const float* grad, int64_t rows, int64_t cols, float scale, float* grad_x);
void masked_softmax_backward_rows(const uint16_t* p, const uint16_t* grad, int64_t rows, int64_t cols, float scale,
                                  uint16_t* grad_x);

}  // namespace garden::model
