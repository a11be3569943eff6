// Unique-hard-attention transformers (UHAT) with exact integer weights, compiled from B-RASP.
//
// The residual stream holds one 0/1 coordinate per B-RASP vector plus a constant-1 coordinate
// and scratch coordinates; every coordinate is written once. Position-wise formulas become
// ReLU layers (AND = ReLU(sum - (k-1)), OR = ReLU(sum) - ReLU(sum - 1), IFF = 1 - ReLU(a-b)
// - ReLU(b-a)). An attention operation whose score is a conjunction of literals and i/j
// equivalences becomes one head with score sum_e (2a_e(i)-1)(2b_e(j)-1) + sum_l lit_l(j),
// which is maximal exactly where the score holds, so the tie-break picks the position
// B-RASP picks. Two ReLU layers then check that the attended position truly satisfies the
// score (else, or when the mask is empty, the default is taken).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "garden/core/json.h"
#include "garden/succinct/brasp.h"

namespace garden::succinct {

// out[r] = bias[r] + sum of weight * in[column] over rows[r]; row r is added to the residual
// coordinate writes[r] where the map writes to the residual stream.
struct SparseAffine {
  std::vector<std::vector<std::pair<int32_t, int64_t>>> rows;
  std::vector<int64_t> bias;
  std::vector<int32_t> writes;

  int32_t add_row(std::vector<std::pair<int32_t, int64_t>> terms, int64_t bias_value, int32_t write = -1);
  int64_t row(size_t r, const int64_t* in) const;  // exact; throws on overflow
  int64_t nonzeros() const;
  int64_t max_abs() const;
};

struct UhatHead {
  Mask mask = Mask::all;
  TieBreak tie = TieBreak::leftmost;
  SparseAffine query, key, value;  // value.writes: residual coordinates of the output
};

struct UhatSublayer {
  enum class Kind { attention, feed_forward };
  Kind kind = Kind::attention;
  std::vector<UhatHead> heads;  // attention
  SparseAffine hidden;          // feed-forward: residual -> hidden, then ReLU
  SparseAffine output;          // feed-forward: hidden -> residual (output.writes)
};

struct UhatSize {
  int attention_layers = 0, feed_forward_layers = 0, heads = 0, hidden_units = 0;
  int width = 0;
  int64_t nonzero_weights = 0;
  int64_t largest_weight = 0;  // |w|
  int largest_weight_bits = 0;  // bits of |w|, sign not counted
};

class Uhat {
 public:
  // Throws when an attention score has another form than the one described above.
  static Uhat compile(const Program& program);

  // Accepted iff 2 * x_last[output] - 1 > 0 (a linear test on the last position's vector).
  bool accepts(std::string_view word) const;
  UhatSize size() const;
  Json to_json() const;
  const std::string& alphabet() const { return alphabet_; }

 private:
  std::string alphabet_;
  int width_ = 0;
  std::vector<std::vector<std::pair<int32_t, int64_t>>> embedding_;  // per symbol
  std::vector<UhatSublayer> sublayers_;
  SparseAffine acceptance_;
  friend class UhatCompiler;
};

}  // namespace garden::succinct
