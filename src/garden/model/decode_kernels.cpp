#include "garden/model/decode_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "garden/model/vector_math.h"

namespace garden::model {

namespace {

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

// Sixteen floats (or 32-bit integers) as one value of GCC's and Clang's vector extension: one
// AVX-512 register here, split by the compiler where the target is narrower. Used where GCC
// leaves the equivalent loop over sixteen array lanes scalar (a max, a NaN count, shuffles).
using Floats16 = float __attribute__((vector_size(64)));
using Ints16 = int32_t __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;

Floats16 load16(const float* x) {
  Floats16 v;
  std::memcpy(&v, x, sizeof v);
  return v;
}

// The largest of n floats, NaNs aside, and how many are NaN: a running max over a row of 8k
// logits stayed scalar, each step waiting for the one before.
float max_and_nans(const float* x, int64_t n, int& nans) {
  Floats16 highest = Floats16{} - std::numeric_limits<float>::infinity();
  Ints16 nan_lanes = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    const Floats16 v = load16(x + j);
    highest = highest < v ? v : highest;
    nan_lanes -= v != v;  // true is -1
  }
  float result = -std::numeric_limits<float>::infinity();
  nans = 0;
  for (int lane = 0; lane < kLanes; ++lane) {
    result = std::max(result, highest[lane]);
    nans += nan_lanes[lane];
  }
  for (; j < n; ++j) {
    result = result < x[j] ? x[j] : result;
    nans += x[j] != x[j];
  }
  return result;
}

// Lane p of the result is the sum of v[p]'s sixteen lanes: four rounds of pairwise
// two-register shuffles and additions, each halving the registers and doubling the vectors
// each holds (a horizontal sum per vector is four dependent shuffle-adds). v is overwritten.
// Inlined: called from a template, GCC kept it out of line and passed the sixteen vectors
// through memory.
[[gnu::always_inline]] inline Floats16 lane_sums(Floats16 v[kLanes]) {
  for (int i = 0; i < 8; ++i)
    v[i] = __builtin_shufflevector(v[2 * i], v[2 * i + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
           __builtin_shufflevector(v[2 * i], v[2 * i + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  for (int i = 0; i < 4; ++i)
    v[i] = __builtin_shufflevector(v[2 * i], v[2 * i + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
           __builtin_shufflevector(v[2 * i], v[2 * i + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  for (int i = 0; i < 2; ++i)
    v[i] = __builtin_shufflevector(v[2 * i], v[2 * i + 1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29) +
           __builtin_shufflevector(v[2 * i], v[2 * i + 1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
  return __builtin_shufflevector(v[0], v[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) +
         __builtin_shufflevector(v[0], v[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

int64_t block_count(int64_t vocab) { return (vocab + kSamplingBlock - 1) / kSamplingBlock; }

// One row of inverse_cdf_rows, given the mass of each block of 64 tokens (`blocks`): only the
// block holding the target is walked token by token (a sequential sum over the whole row was
// a chain of 8k dependent additions per row and step).
template <typename Scalar>
int64_t inverse_cdf(const Scalar* row, int64_t vocab, double u, const double* blocks) {
  double total = 0;
  for (int64_t b = 0; b < block_count(vocab); ++b) total += blocks[b];
  if (!(total > 0) || !std::isfinite(total)) return -1;
  const double target = u * total;
  double mass = 0;
  for (int64_t b = 0; b < block_count(vocab); ++b) {
    if (!(mass + blocks[b] > target)) {
      mass += blocks[b];
      continue;
    }
    int64_t last_with_mass = -1;
    for (int64_t j = b * kSamplingBlock; j < std::min((b + 1) * kSamplingBlock, vocab); ++j) {
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
int64_t inverse_cdf(const Scalar* row, int64_t vocab, double u) {
  std::vector<double> blocks(static_cast<size_t>(block_count(vocab)));
  for (int64_t b = 0; b < block_count(vocab); ++b)
    blocks[static_cast<size_t>(b)] = block_mass(row + b * kSamplingBlock, std::min(kSamplingBlock, vocab - b * kSamplingBlock));
  return inverse_cdf(row, vocab, u, blocks.data());
}

template <typename Scalar>
void inverse_cdf_rows_of(const Scalar* probs, int64_t rows, int64_t vocab, const double* uniforms, int64_t* out) {
  // From 8 rows up: below that a fork-join costs about what the walk does.
#pragma omp parallel for schedule(static) if (rows >= 8)
  for (int64_t r = 0; r < rows; ++r) out[r] = inverse_cdf(probs + r * vocab, vocab, uniforms[r]);
}

}  // namespace

int64_t padded_positions(int64_t positions) { return (positions + kLanes - 1) / kLanes * kLanes; }

void rms_norm_rows(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * dim;
    float* result = out + r * dim;
    const float inverse_rms = 1.0f / std::sqrt(dot(row, row, dim) / static_cast<float>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) result[i] = row[i] * inverse_rms * weight[i];
  }
}

void swiglu_rows(const float* gate_up, int64_t rows, int64_t width, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* gate = gate_up + r * 2 * width;
    const float* up = gate + width;
    float* result = out + r * width;
    for (int64_t f = 0; f < width; ++f) result[f] = gate[f] / (1.0f + vector_exp(-gate[f])) * up[f];
  }
}

void gelu_in_place(float* x, int64_t n) {
  constexpr float kInverseSqrt2 = 0.70710678118654752f;
  for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kInverseSqrt2));
}

void add_in_place(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
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

namespace {

// attention_scores for a head width of Dim floats (a multiple of 16) known when compiling: the
// query held in registers and each key's products unrolled, where a loop over the width
// left each position waiting on its key's load and the loop's own bookkeeping (the scores
// took about 40% of the attention's time at 32 dimensions). Sixteen positions at a time: each
// position's products summed lane-wise, then the sixteen horizontal sums at once
// (lane_sums). The last, partial block too: its missing positions read the last key again
// and their scores are dropped.
template <int64_t Dim>
void scores_of_width(const float* query, const float* keys, int64_t key_stride, int64_t positions, float inverse_scale,
                     float* scores) {
  constexpr int64_t kParts = Dim / kLanes;
  Floats16 q[kParts];
  for (int64_t i = 0; i < kParts; ++i) q[i] = load16(query + i * kLanes);
  for (int64_t s = 0; s < positions; s += kLanes) {
    Floats16 products[kLanes];
    for (int64_t p = 0; p < kLanes; ++p) {
      const float* key = keys + std::min(s + p, positions - 1) * key_stride;
      Floats16 sum = q[0] * load16(key);
      for (int64_t i = 1; i < kParts; ++i) sum += q[i] * load16(key + i * kLanes);
      products[p] = sum;
    }
    const Floats16 row = lane_sums(products) * inverse_scale;
    std::memcpy(scores + s, &row, static_cast<size_t>(std::min(kLanes, positions - s)) * sizeof(float));
  }
}

}  // namespace

void attention_scores(const float* query, const float* keys, int64_t key_stride, int64_t positions, int64_t dim,
                      float* scores) {
  const auto inverse_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dim)));
  switch (dim) {
    case 16: return scores_of_width<16>(query, keys, key_stride, positions, inverse_scale, scores);
    case 32: return scores_of_width<32>(query, keys, key_stride, positions, inverse_scale, scores);
    case 64: return scores_of_width<64>(query, keys, key_stride, positions, inverse_scale, scores);
    case 128: return scores_of_width<128>(query, keys, key_stride, positions, inverse_scale, scores);
    default:
      for (int64_t s = 0; s < positions; ++s) scores[s] = dot(query, keys + s * key_stride, dim) * inverse_scale;
  }
}

namespace {

// weighted_values for a head width of Dim floats (a multiple of 16) known when compiling: the
// sums in registers, unrolled over the width (the same additions, in the same order, as the
// loop over 32 dimensions at a time below).
template <int64_t Dim>
void weighted_of_width(const float* weights, const float* values, int64_t value_stride, int64_t positions, float* out) {
  constexpr int64_t kParts = Dim / kLanes;
  Floats16 even[kParts] = {}, odd[kParts] = {};
  int64_t s = 0;
  for (; s + 2 <= positions; s += 2) {
    const float* value = values + s * value_stride;
    const float* next = value + value_stride;
    for (int64_t i = 0; i < kParts; ++i) {
      even[i] += weights[s] * load16(value + i * kLanes);
      odd[i] += weights[s + 1] * load16(next + i * kLanes);
    }
  }
  if (s < positions)
    for (int64_t i = 0; i < kParts; ++i) even[i] += weights[s] * load16(values + s * value_stride + i * kLanes);
  for (int64_t i = 0; i < kParts; ++i) {
    const Floats16 sum = even[i] + odd[i];
    std::memcpy(out + i * kLanes, &sum, sizeof sum);
  }
}

}  // namespace

void weighted_values(const float* weights, const float* values, int64_t value_stride, int64_t positions, int64_t dim,
                     float* out) {
  switch (dim) {
    case 16: return weighted_of_width<16>(weights, values, value_stride, positions, out);
    case 32: return weighted_of_width<32>(weights, values, value_stride, positions, out);
    case 64: return weighted_of_width<64>(weights, values, value_stride, positions, out);
    case 128: return weighted_of_width<128>(weights, values, value_stride, positions, out);
    default: break;
  }
  // 32 dimensions at a time summed in registers over every position, even and odd positions
  // apart: adding into `out` made each position wait for the previous one's store.
  constexpr int64_t kChunk = 32;
  int64_t i = 0;
  for (; i + kChunk <= dim; i += kChunk) {
    float even[kChunk] = {}, odd[kChunk] = {};
    int64_t s = 0;
    for (; s + 2 <= positions; s += 2) {
      const float first = weights[s], second = weights[s + 1];
      const float* value = values + s * value_stride + i;
      const float* next = value + value_stride;
      for (int64_t lane = 0; lane < kChunk; ++lane) {
        even[lane] += first * value[lane];
        odd[lane] += second * next[lane];
      }
    }
    if (s < positions)
      for (int64_t lane = 0; lane < kChunk; ++lane) even[lane] += weights[s] * values[s * value_stride + i + lane];
    for (int64_t lane = 0; lane < kChunk; ++lane) out[i + lane] = even[lane] + odd[lane];
  }
  for (; i < dim; ++i) {
    float sum = 0;
    for (int64_t s = 0; s < positions; ++s) sum += weights[s] * values[s * value_stride + i];
    out[i] = sum;
  }
}

void one_query_attention(const float* query, const float* keys, int64_t key_stride, const float* values, int64_t value_stride,
                         int64_t positions, int64_t dim, float* scratch, float* out) {
  attention_scores(query, keys, key_stride, positions, dim, scratch);
  // Padded to whole registers with scores of -inf (weights of 0): the maximum and the
  // exponentials then run without a scalar tail, which at a few dozen positions was as long
  // as their vector part.
  const int64_t padded = padded_positions(positions);
  std::fill(scratch + positions, scratch + padded, -std::numeric_limits<float>::infinity());
  int nans = 0;
  const float highest = max_and_nans(scratch, padded, nans);
  const auto inverse_total = static_cast<float>(1.0 / shifted_exp(scratch, padded, highest, scratch));
  weighted_values(scratch, values, value_stride, positions, dim, out);
  for (int64_t i = 0; i < dim; ++i) out[i] *= inverse_total;
}

double shifted_exp(const float* x, int64_t n, float shift, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = vector_exp(x[i] - shift);
  return block_mass(out, n);
}

void softmax_sample_rows(const float* logits, int64_t rows, int64_t vocab, const double* uniforms, int64_t* out) {
#pragma omp parallel if (rows >= 8)
  {
    std::vector<float> weights(static_cast<size_t>(vocab));
    std::vector<double> blocks(static_cast<size_t>(block_count(vocab)));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = logits + r * vocab;
      int nans = 0;
      const float highest = max_and_nans(row, vocab, nans);
      // A NaN, or no token above -inf: no distribution to draw from.
      if (nans > 0 || !std::isfinite(highest)) {
        out[r] = -1;
        continue;
      }
      // The weights and each block's mass (shifted_exp sums them by block_mass).
      for (int64_t b = 0; b < block_count(vocab); ++b) {
        const int64_t start = b * kSamplingBlock;
        blocks[static_cast<size_t>(b)] = shifted_exp(row + start, std::min(kSamplingBlock, vocab - start), highest, weights.data() + start);
      }
      out[r] = inverse_cdf(weights.data(), vocab, uniforms[r], blocks.data());
    }
  }
}

void rows_attention(const float* queries, const CachedRows& keys, const CachedRows& values, int64_t rows, int64_t heads,
                    int64_t group, int64_t positions, int64_t dim, float* out) {
#pragma omp parallel
  {
    std::vector<float> scratch(static_cast<size_t>(padded_positions(positions)));
#pragma omp for schedule(static)
    for (int64_t pair = 0; pair < rows * heads; ++pair) {
      const int64_t row = pair / heads, kv_head = pair % heads / group;
      one_query_attention(queries + pair * dim, keys.data + row * keys.row_stride + kv_head * keys.head_stride, keys.position_stride,
                          values.data + row * values.row_stride + kv_head * values.head_stride, values.position_stride,
                          positions, dim, scratch.data(), out + pair * dim);
    }
  }
}

void inverse_cdf_rows(const float* probs, int64_t rows, int64_t vocab, const double* uniforms, int64_t* out) {
  inverse_cdf_rows_of(probs, rows, vocab, uniforms, out);
}

void inverse_cdf_rows(const double* probs, int64_t rows, int64_t vocab, const double* uniforms, int64_t* out) {
  inverse_cdf_rows_of(probs, rows, vocab, uniforms, out);
}

}  // namespace garden::model
