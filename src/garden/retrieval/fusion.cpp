#include "garden/retrieval/fusion.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "garden/core/error.h"

namespace garden::retrieval {

namespace {

// Keeps each query's `depth` best documents, ranked.
Run top(std::map<std::string, std::map<std::string, double>>& fused, int64_t depth) {
  Run run;
  for (auto& [qid, scores] : fused) {
    std::vector<ScoredDoc> docs;
    for (const auto& [doc, score] : scores) docs.push_back({doc, score});
    docs = rank_like_trec_eval(std::move(docs));
    if (static_cast<int64_t>(docs.size()) > depth) docs.resize(static_cast<size_t>(depth));
    run[qid] = std::move(docs);
  }
  return run;
}

// Fusing one run only re-ranks it, which is never what was meant (a --run forgotten).
void check_fusion(const std::vector<Run>& runs, int64_t depth) {
  if (runs.size() < 2) usage_error(fmt::format("fuse needs two or more runs (--run), got {}", runs.size()));
  if (depth < 1) usage_error(fmt::format("fuse: --depth must be >= 1, got {}", depth));
}

}  // namespace

Run reciprocal_rank_fusion(const std::vector<Run>& runs, double k, int64_t depth) {
  check_fusion(runs, depth);
  if (!std::isfinite(k) || k < 0) usage_error(fmt::format("reciprocal rank fusion: --k must be a finite number >= 0, got {}", k));
  std::map<std::string, std::map<std::string, double>> fused;
  for (const auto& run : runs) {
    for (const auto& [qid, docs] : run) {
      const auto ranked = rank_like_trec_eval(docs);
      for (size_t r = 0; r < ranked.size(); ++r) fused[qid][ranked[r].doc_id] += 1.0 / (k + static_cast<double>(r + 1));
    }
  }
  return top(fused, depth);
}

Run weighted_score_fusion(const std::vector<Run>& runs, const std::vector<double>& weights, int64_t depth) {
  check_fusion(runs, depth);
  if (weights.size() != runs.size())
    usage_error("weighted fusion: " + std::to_string(weights.size()) + " weights for " + std::to_string(runs.size()) + " runs");
  for (const double w : weights)
    if (!std::isfinite(w)) usage_error(fmt::format("weighted fusion: --weights must be finite numbers, got {}", w));
  std::map<std::string, std::map<std::string, double>> fused;
  for (size_t i = 0; i < runs.size(); ++i) {
    for (const auto& [qid, docs] : runs[i]) {
      if (docs.empty()) continue;
      const auto [lo, hi] = std::minmax_element(docs.begin(), docs.end(),
                                                [](const ScoredDoc& a, const ScoredDoc& b) { return a.score < b.score; });
      const double span = hi->score - lo->score;
      for (const auto& d : docs) fused[qid][d.doc_id] += weights[i] * (span > 0 ? (d.score - lo->score) / span : 1.0);
    }
  }
  return top(fused, depth);
}

Run fuse_runs(const std::vector<Run>& runs, const FusionOptions& options) {
  if (options.method == "rrf") return reciprocal_rank_fusion(runs, options.k, options.depth);
  if (options.method == "weighted")
    return weighted_score_fusion(runs, options.weights.empty() ? std::vector<double>(runs.size(), 1.0) : options.weights, options.depth);
  usage_error("fusion --method must be rrf or weighted, got '" + options.method + "'");
}

Json FusionOptions::to_json() const { return {{"method", method}, {"k", k}, {"weights", weights}, {"depth", depth}}; }

FusionOptions FusionOptions::from_json(const Json& json, const std::string& where) {
  refuse_unknown_keys(json, Json::array({"method", "k", "weights", "depth"}), where);
  FusionOptions o;
  read_field(json, "method", o.method, where);
  read_field(json, "k", o.k, where);
  read_field(json, "weights", o.weights, where);
  read_field(json, "depth", o.depth, where);
  return o;
}

}  // namespace garden::retrieval
