// Plain loops for the lean decode steps (model/decode_step.cpp), where a step is a few hundred
// tensor operations of a few microseconds each and per-call costs, not arithmetic, set the
// speed: RMSNorm was six libtorch calls, RoPE seven per tensor, one query's attention seven.
// Kept free of libtorch so that they compile with -O3 -fno-math-errno (std::exp and
// std::sqrt without an errno branch; loops that vectorise), like train/adamw_kernel.cpp.
// float32, contiguous rows.
#pragma once

#include <cstdint>

namespace garden::model {

// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight for each of `rows` rows of `dim` floats
// (RMSNormImpl::forward's arithmetic; the mean is summed in another order). out may be x.
void rms_norm_rows(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out);

// RoPE of `vectors` vectors of `dim` floats at one position, in place: with half = dim / 2,
// x[i] * cos[i] - x[i + half] * sin[i] for i < half and x[i] * cos[i] + x[i - half] * sin[i]
// above (RopeAngles::apply's arithmetic, rotate-half form; cos and sin hold dim values).
void rope_in_place(float* x, const float* cos, const float* sin, int64_t vectors, int64_t dim);

// out[0, dim) = sum_s softmax_s(query . key_s / sqrt(dim)) value_s over `positions` cached
// positions, key_s at keys + s * key_stride and value_s at values + s * value_stride (dim
// contiguous floats each). scratch holds `positions` floats.
void one_query_attention(const float* query, const float* keys, int64_t key_stride, const float* values, int64_t value_stride,
                         int64_t positions, int64_t dim, float* scratch, float* out);

}  // namespace garden::model
