// Fusing rankings of the same queries from several retrievers (e.g. BM25 + dense):
//   reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009):
//     score(d) = sum over runs of 1 / (k + rank(d)), rank from 1, k = 60 as in the paper;
//     a document a run did not retrieve contributes nothing from that run;
//   weighted sum of min-max-normalised scores: per query and run, s' = (s - min) / (max - min)
//     (1 when all scores are equal), then score(d) = sum of weight * s'; missing = 0.
// Ranks are trec_eval's (score descending, ties by document id descending).
#pragma once

#include <vector>

#include "garden/retrieval/trec.h"

namespace garden::retrieval {

Run reciprocal_rank_fusion(const std::vector<Run>& runs, double k = 60.0, int64_t depth = 1000);
Run weighted_score_fusion(const std::vector<Run>& runs, const std::vector<double>& weights, int64_t depth = 1000);

}  // namespace garden::retrieval
