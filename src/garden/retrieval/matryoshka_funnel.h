// Matryoshka adaptive retrieval (Kusupati et al., arXiv:2205.13147, section 5.3): shortlist
// K_1 candidates with the first D_s dimensions, then re-rank the list with ever longer
// prefixes D_r,1 < D_r,2 < ... of the same vectors, cutting it to K_2 > K_3 > ... between
// stages and to k after the last. Each prefix is re-normalised before scoring when the
// metric is cosine (the official reranking notebook does the same). One stage is the
// paper's "adaptive retrieval"; several are its "funnel".
#pragma once

#include <cstdint>
#include <vector>

#include "garden/retrieval/dense.h"
#include "garden/retrieval/vectors.h"

namespace garden::retrieval {

struct FunnelPlan {
  std::vector<int64_t> rerank_dims;  // increasing prefix lengths, one per stage
  std::vector<int64_t> shortlist;    // list length entering each stage (K_1 from the index), non-increasing
  // Throws a usage error unless both lists have the same non-zero length, the widths
  // increase within [1, vector_dims] and every list length is at least k.
  void validate(int64_t vector_dims, int64_t k) const;
};

// Re-ranks each query's `candidates` (rows of `base`, e.g. an index's shortlist) through the
// plan's stages and returns the best k per query. `base` and `queries` hold full vectors.
std::vector<std::vector<Hit>> rerank_cascade(const Matrix& base, const Matrix& queries,
                                             const std::vector<std::vector<Hit>>& candidates, const FunnelPlan& plan, int64_t k,
                                             bool cosine);

// Multiply-adds per query: N x D_s for the shortlist by exhaustive search plus sum_i K_i x D_r,i.
int64_t funnel_flops(int64_t base_rows, int64_t shortlist_dims, const FunnelPlan& plan);

}  // namespace garden::retrieval
