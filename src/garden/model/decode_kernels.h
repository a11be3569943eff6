// Plain loops for decoding (model/decode_step.cpp, model/generation.cpp), where a step is a
// few hundred tensor operations of a few microseconds each and per-call costs, not
// arithmetic, set the speed: RMSNorm was six libtorch calls, RoPE seven per tensor, one
// query's attention seven. Kept free of libtorch so that they compile with -O3
// -fno-math-errno -fno-trapping-math (loops that vectorise, with their own exp), -march=native
// where GARDEN_NATIVE is on, and -fopenmp (the loops over rows split between OpenMP's threads, as many as the calling
// thread's omp_get_max_threads(): torch::set_num_threads sets it), like train/adamw_kernel.cpp.
// float32 unless said, contiguous rows.
#pragma once

#include <cstdint>

namespace garden::model {

// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight for each of `rows` rows of `dim` floats
// (RMSNormImpl::forward's arithmetic; the mean is summed in another order). out may be x.
void rms_norm_rows(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out);

// out[r, f] = silu(gate_up[r, f]) * gate_up[r, width + f] for `rows` rows of 2 * width floats
// (a SwiGLU layer's gate and up projections side by side), silu(g) = g / (1 + exp(-g)).
void swiglu_rows(const float* gate_up, int64_t rows, int64_t width, float* out);

// x[i] = gelu(x[i]) = x[i] / 2 * (1 + erf(x[i] / sqrt(2))) for n floats, in place (torch::gelu's exact form).
void gelu_in_place(float* x, int64_t n);

// x[i] += y[i] for n floats (a residual connection).
void add_in_place(float* x, const float* y, int64_t n);

// RoPE of `vectors` vectors of `dim` floats at one position, in place: with half = dim / 2,
// x[i] * cos[i] - x[i + half] * sin[i] for i < half and x[i] * cos[i] + x[i - half] * sin[i]
// above (RopeAngles::apply's arithmetic, rotate-half form; cos and sin hold dim values).
void rope_in_place(float* x, const float* cos, const float* sin, int64_t vectors, int64_t dim);

// scores[s] = query . key_s / sqrt(dim) for `positions` keys, key_s at keys + s * key_stride.
void attention_scores(const float* query, const float* keys, int64_t key_stride, int64_t positions, int64_t dim,
                      float* scores);

// out[0, dim) = sum_s weights[s] value_s over `positions` values, value_s at values + s * value_stride.
void weighted_values(const float* weights, const float* values, int64_t value_stride, int64_t positions, int64_t dim,
                     float* out);

// Cached keys or values [rows, kv heads, positions, dim] by their first element and strides
// (dim contiguous), as a KVCache's room holds them.
struct CachedRows {
  const float* data;
  int64_t row_stride, head_stride, position_stride;
};

// One new query per row (N samples decoded together) against its row's cache, query head h
// reading key and value head h / group: out [rows, heads, dim] from queries [rows, heads,
// dim], each (row, head) pair by one_query_attention, the pairs split between threads.
void rows_attention(const float* queries, const CachedRows& keys, const CachedRows& values, int64_t rows, int64_t heads,
                    int64_t group, int64_t positions, int64_t dim, float* out);

// The floats one_query_attention's scratch holds for `positions` positions: rounded up to a
// multiple of 16.
int64_t padded_positions(int64_t positions);

// out[0, dim) = sum_s softmax_s(query . key_s / sqrt(dim)) value_s over `positions` cached
// positions, key_s at keys + s * key_stride and value_s at values + s * value_stride (dim
// contiguous floats each). scratch holds padded_positions(positions) floats.
void one_query_attention(const float* query, const float* keys, int64_t key_stride, const float* values, int64_t value_stride,
                         int64_t positions, int64_t dim, float* scratch, float* out);

// out[i] = exp(x[i] - shift) for n floats (within 2 ulp of std::exp up to 88.3; 0 below exp(-87.3),
// and for -inf), returning their sum in double. out may be x.
double shifted_exp(const float* x, int64_t n, float shift, float* out);

// One draw per row from softmax(logits[r]) (`rows` rows of `vocab` logits, -inf for tokens
// never drawn), by the inverse CDF of the row's exp(logit - max): out[r] = the first token
// whose cumulative weight is strictly above uniforms[r] * the row's total, as
// inverse_cdf_rows draws, without writing the probabilities out; -1 where the row holds a
// NaN or no logit above -inf. Rows are split between threads.
void softmax_sample_rows(const float* logits, int64_t rows, int64_t vocab, const double* uniforms, int64_t* out);

// Inverse-CDF sampling of `rows` rows of `vocab` probabilities (float32 or double; need not
// sum to 1): out[r] = the first token whose cumulative mass (in double) is strictly above
// uniforms[r] * the row's total, or -1 where the row has no positive finite total. Where
// rounding leaves the walk short of the target, the last token with mass is drawn, never a
// token of zero mass. Rows are split between threads.
void inverse_cdf_rows(const float* probs, int64_t rows, int64_t vocab, const double* uniforms, int64_t* out);
void inverse_cdf_rows(const double* probs, int64_t rows, int64_t vocab, const double* uniforms, int64_t* out);

}  // namespace garden::model
