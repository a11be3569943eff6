// The free-embedding experiment of LIMIT (Weller et al., arXiv:2508.21038): query and
// document vectors optimised directly on the test qrels, the best case for any single-vector
// retriever. Per-positive InfoNCE over all documents at temperature 0.1, Adam, rows
// re-normalised after every step, top-k accuracy every 50 iterations, early stopping on the
// loss; the critical-n search (gallop + binary search with a per-n cache), the cubic fit of
// critical-n against d, and the moment-curve construction that realises every top-2 set in
// d = 4 (the caveat: the critical-n belongs to the optimiser, not to the geometry).
#pragma once

#include <torch/torch.h>

#include <array>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "garden/core/json.h"

namespace garden::limit {

// Every pair {a < b} of n documents in lexicographic order: C(n,2) x 2, int64.
torch::Tensor all_pairs(int64_t n);

struct InfoNceValue {
  double loss = 0;
  torch::Tensor grad_queries, grad_docs;
};

// Per-positive InfoNCE: -1/P sum over (query i, positive j) of log softmax_j(u_i . v / tau),
// P = number of positives; every query has the same number of positives (columns of
// `positives`). Gradients are exact and computed in query chunks of `chunk` rows, so memory
// stays at chunk x docs whatever the number of queries.
InfoNceValue per_positive_infonce(const torch::Tensor& queries, const torch::Tensor& docs, const torch::Tensor& positives,
                                  double temperature, int64_t chunk = 16384);

// Relevant documents found in each query's top-k (k = positives per query), over m k; ties
// go to the lower document index. Chunked like the loss.
double topk_accuracy(const torch::Tensor& queries, const torch::Tensor& docs, const torch::Tensor& positives,
                     int64_t chunk = 16384);

// Stops after `patience` consecutive values that are not below best - min_delta.
class EarlyStopping {
 public:
  EarlyStopping(int64_t patience, double min_delta) : patience_(patience), min_delta_(min_delta) {}
  bool update(double loss);  // true: stop now
  int64_t waited() const { return waited_; }

 private:
  int64_t patience_;
  double min_delta_;
  double best_ = std::numeric_limits<double>::infinity();
  int64_t waited_ = 0;
};

// Queries per block of the logit matrix so that one block stays near 16 MB. Larger blocks
// are slower, not faster: on 1,000 queries x 50,000 documents one 200 MB block per step ran
// 6.5x slower than blocks of 80 queries (most of the time went to page faults on buffers
// that glibc maps and unmaps afresh on every step).
int64_t query_chunk_for(int64_t docs, torch::Dtype dtype);

struct FreeEmbeddingOptions {
  int64_t dims = 8;
  double temperature = 0.1;
  double lr = 0.01;
  int64_t max_iterations = 100000;
  int64_t eval_every = 50;
  int64_t patience = 1000;
  double min_delta = 1e-5;
  int64_t query_chunk = 0;  // 0: query_chunk_for(docs, dtype)
  uint64_t seed = 42;
  torch::Dtype dtype = torch::kFloat32;
  torch::Device device = torch::kCPU;
};

struct FreeEmbeddingResult {
  bool success = false;  // best accuracy seen reached 1.0
  double best_accuracy = 0, final_loss = 0;
  int64_t iterations = 0;
  std::string stopped_by;  // "solved" | "early stopping" | "max iterations"
  double seconds = 0;
  torch::Tensor queries, docs;  // the final unit-norm embeddings
};

FreeEmbeddingResult optimise_free_embeddings(int64_t docs, const torch::Tensor& positives, const FreeEmbeddingOptions& options);

// The critical-n search of the paper: from n0, gallop up (n0+1, n0+3, n0+7, ...) while n
// succeeds, or down the same way while it fails, binary search inside the bracket; the
// critical n is the largest successful one. With `record`, n-4..n+5 are evaluated too.
// `succeeds` is called at most once per n (the cache).
struct CriticalNSearch {
  int64_t critical_n = 0;
  std::vector<std::pair<int64_t, bool>> trials;  // in the order they ran
};
CriticalNSearch find_critical_n(const std::function<bool(int64_t)>& succeeds, int64_t n0, int64_t min_n, bool record);

// One dimension's critical n with the free-embedding optimiser on all pairs (k = 2); n0 = 0
// starts at the paper's fit. `on_trial` sees each evaluated n as it finishes.
struct NTrial {
  int64_t n = 0;
  bool success = false;
  double best_accuracy = 0, final_loss = 0, seconds = 0;
  int64_t iterations = 0;
  std::string stopped_by;
};
struct CriticalNResult {
  int64_t dims = 0, n0 = 0, critical_n = 0;
  double seconds = 0;
  std::vector<NTrial> trials;
  Json to_json() const;
  static CriticalNResult from_json(const Json& json);
};
CriticalNResult critical_n_for_dims(int64_t dims, int64_t n0, bool record, const FreeEmbeddingOptions& options,
                                    const std::function<void(const NTrial&)>& on_trial = {});

// The paper's fit: critical-n = -10.5322 + 4.0309 d + 0.0520 d^2 + 0.0037 d^3.
double paper_critical_n(double d);

struct CubicFit {
  std::array<double, 4> coefficients{};  // c0 + c1 d + c2 d^2 + c3 d^3
  double r2 = 0;
  double at(double d) const;
};
CubicFit fit_cubic(const std::vector<double>& d, const std::vector<double>& critical_n);

// Documents on the trigonometric moment curve in d = 4 and, for each pair {a,b}, the query
// -(1 - cos(t - t_a))(1 - cos(t - t_b)) written as a linear functional: every top-2 set is
// realised exactly in real arithmetic. Checks it in the given precision.
struct MomentCurveCheck {
  int64_t n = 0;
  double accuracy = 0;    // top-2 accuracy over all C(n,2) queries
  double min_margin = 0;  // min over queries of (2nd positive score - best negative score)
  int64_t failed_queries = 0;
};
MomentCurveCheck check_moment_curve(int64_t n, torch::Dtype dtype, int64_t chunk = 16384);

}  // namespace garden::limit
