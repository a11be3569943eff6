// Fusing rankings of the same queries from several retrievers (e.g. BM25 + dense):
//   reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009):
//     score(d) = sum over runs of 1 / (k + rank(d)), rank from 1, k = 60 as in the paper;
//     a document a run did not retrieve contributes nothing from that run;
//   weighted sum of min-max-normalised scores: per query and run, s' = (s - min) / (max - min)
//     (1 when all scores are equal), then score(d) = sum of weight * s'; missing = 0.
// Ranks are trec_eval's (score descending, ties by document id descending).
#pragma once

#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/retrieval/trec.h"

namespace garden::retrieval {

Run reciprocal_rank_fusion(const std::vector<Run>& runs, double k = 60.0, int64_t depth = 1000);
Run weighted_score_fusion(const std::vector<Run>& runs, const std::vector<double>& weights, int64_t depth = 1000);

// Which fusion and its settings, as `garden fuse` and a fusion index take them.
struct FusionOptions {
  std::string method = "rrf";   // rrf | weighted
  double k = 60;                // rrf constant
  std::vector<double> weights;  // weighted: one per run; empty = all 1
  int64_t depth = 1000;         // documents kept per query
  Json to_json() const;
  // The options a manifest records; errors name `where`.
  static FusionOptions from_json(const Json& json, const std::string& where);
};
Run fuse_runs(const std::vector<Run>& runs, const FusionOptions& options);

}  // namespace garden::retrieval
