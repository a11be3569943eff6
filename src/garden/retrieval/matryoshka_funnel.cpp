#include "garden/retrieval/matryoshka_funnel.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "garden/core/error.h"

namespace garden::retrieval {

void FunnelPlan::validate(int64_t vector_dims, int64_t k) const {
  if (rerank_dims.empty() || rerank_dims.size() != shortlist.size())
    usage_error(fmt::format("the funnel needs one --shortlist length per --rerank-dims width, got {} and {}", shortlist.size(),
                            rerank_dims.size()));
  for (size_t i = 0; i < rerank_dims.size(); ++i) {
    if (rerank_dims[i] < 1 || rerank_dims[i] > vector_dims)
      usage_error(fmt::format("--rerank-dims must be in [1, {}], got {}", vector_dims, rerank_dims[i]));
    if (i > 0 && rerank_dims[i] <= rerank_dims[i - 1]) usage_error("--rerank-dims must increase from stage to stage");
    if (shortlist[i] < k) usage_error(fmt::format("--shortlist lengths must be at least k ({}), got {}", k, shortlist[i]));
    if (i > 0 && shortlist[i] > shortlist[i - 1]) usage_error("--shortlist lengths must not grow from stage to stage");
  }
}

std::vector<std::vector<Hit>> rerank_cascade(const Matrix& base, const Matrix& queries,
                                             const std::vector<std::vector<Hit>>& candidates, const FunnelPlan& plan, int64_t k,
                                             bool cosine) {
  if (base.cols != queries.cols) throw Error(fmt::format("query vectors have {} dimensions, the index {}", queries.cols, base.cols));
  if (static_cast<int64_t>(candidates.size()) != queries.rows)
    throw Error(fmt::format("{} candidate lists for {} queries", candidates.size(), queries.rows));
  plan.validate(base.cols, k);
  auto prefix_dot = [&](const float* a, const float* b, int64_t m) {
    double dot = 0, na = 0, nb = 0;
    for (int64_t j = 0; j < m; ++j) {
      dot += static_cast<double>(a[j]) * b[j];
      na += static_cast<double>(a[j]) * a[j];
      nb += static_cast<double>(b[j]) * b[j];
    }
    if (!cosine) return dot;
    return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0.0;
  };
  std::vector<std::vector<Hit>> out;
  out.reserve(candidates.size());
  for (int64_t q = 0; q < queries.rows; ++q) {
    std::vector<Hit> list = candidates[static_cast<size_t>(q)];
    for (size_t stage = 0; stage < plan.rerank_dims.size(); ++stage) {
      if (static_cast<int64_t>(list.size()) > plan.shortlist[stage]) list.resize(static_cast<size_t>(plan.shortlist[stage]));
      for (auto& hit : list) hit.score = static_cast<float>(prefix_dot(base.row(hit.row), queries.row(q), plan.rerank_dims[stage]));
      // Ties go to the lower row, as in exact_search, so one stage at full width with the
      // whole collection as candidates reproduces exact search.
      std::stable_sort(list.begin(), list.end(),
                       [](const Hit& a, const Hit& b) { return a.score != b.score ? a.score > b.score : a.row < b.row; });
    }
    if (static_cast<int64_t>(list.size()) > k) list.resize(static_cast<size_t>(k));
    out.push_back(std::move(list));
  }
  return out;
}

int64_t funnel_flops(int64_t base_rows, int64_t shortlist_dims, const FunnelPlan& plan) {
  int64_t flops = base_rows * shortlist_dims;
  for (size_t i = 0; i < plan.rerank_dims.size(); ++i) flops += std::min(plan.shortlist[i], base_rows) * plan.rerank_dims[i];
  return flops;
}

}  // namespace garden::retrieval
