// Contrastive objectives for embedders. InfoNCE with temperature tau over cosine scores:
//   L = mean_i -log( e^{s(q_i,p_i)/tau} / (e^{s(q_i,p_i)/tau} + sum_{n in N(i)} e^{s(q_i,n)/tau}) )
// N(i) = the other queries' positives (in-batch negatives, switchable) plus q_i's own hard
// negatives. Positive-aware filtering (NV-Embed) drops a negative whose score is at least
// margin x the positive's score (a likely unlabelled positive); scores for the filter are
// detached. Matryoshka (arXiv:2205.13147) sums the loss over nested prefixes of the
// embedding, each prefix re-normalised, with one weight per width.
// Scores are cosines by default; with `cosine` off they are raw inner products (ANCE and DPR
// score dot products; the spec's in-batch arm uses temperature 1 on them).
// Pairwise NLL (ANCE, arXiv:2007.00808): each triple (q, d+, d-) is a 2-way softmax over its
// two inner products, l = -log(e^{f+} / (e^{f+} + e^{f-})) = softplus(f- - f+); no in-batch
// negatives.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace garden::train {

struct ContrastiveOptions {
  double temperature = 0.05;
  bool in_batch = true;
  double filter_margin = 0;  // 0: off; NV-Embed's positive-aware mining uses 0.95
  bool cosine = true;        // false: raw inner products
};

// queries, positives: [B,C]; hard_negatives: [B,K,C] or undefined. Inputs need not be
// normalised: scores are cosines. Returns the mean loss (a scalar).
torch::Tensor info_nce(const torch::Tensor& queries, const torch::Tensor& positives, const torch::Tensor& hard_negatives,
                       const ContrastiveOptions& options);

// queries, positives, negatives: [B,C] (one negative per triple) -> the per-triple losses
// softplus(<q,d-> - <q,d+>), [B]. Inner products, no normalisation or temperature.
torch::Tensor pairwise_nll(const torch::Tensor& queries, const torch::Tensor& positives, const torch::Tensor& negatives);

// ANCE's "NCE Neg" baseline: for each query (row of queries, [B,C]) the index of the batch
// positive it scores highest by inner product among the other examples', skipping the pairs
// `excluded` marks ([B,B] bool: a positive judged relevant to that query too); the diagonal
// is always skipped. -1 where nothing is left. Returns [B] int64.
torch::Tensor hardest_in_batch(const torch::Tensor& queries, const torch::Tensor& positives, const torch::Tensor& excluded);

// Sum over widths m of weight_m x info_nce on the first m dimensions. Widths must be
// increasing and at most C; empty weights mean 1 each.
torch::Tensor matryoshka_info_nce(const torch::Tensor& queries, const torch::Tensor& positives,
                                  const torch::Tensor& hard_negatives, const std::vector<int64_t>& widths,
                                  const std::vector<double>& weights, const ContrastiveOptions& options);

}  // namespace garden::train
