// The lexical floors the embedding suite prints beside every encoder, so that no embedder's
// score is read without them:
//   sts       - TF-IDF cosine between the two sentences of each pair, Spearman x 100 against
//               the gold scores. Terms are lower-cased runs of letters and digits; a term's
//               weight is (1 + ln count) times idf = ln(N / df), with N and df counted over
//               the evaluated sentences themselves (every sentence of every pair). On STS-B
//               test this scores 70.4; without the idf factor 52.7.
//   retrieval - garden's BM25 (k1 0.9, b 0.4, no stemming; retrieval/bm25.h), nDCG@10 x 100.
// Clustering and kNN tasks have no lexical row.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "garden/eval/embedding_suite.h"
#include "garden/eval/sts.h"
#include "garden/retrieval/collection.h"

namespace garden::eval {

// The TF-IDF cosine of each pair, in order; and their Spearman x 100 against the gold scores.
std::vector<double> tfidf_cosines(const std::vector<StsPair>& pairs, bool use_idf = true);
double tfidf_sts_spearman(const std::vector<StsPair>& pairs, bool use_idf = true);
// BM25's top k for every query of the collection, and its nDCG@10 x 100.
retrieval::Run bm25_run(const retrieval::Collection& collection, int64_t k);
double bm25_ndcg10(const retrieval::Collection& collection);

// The baseline of each task that has one, named "<task>" as in the suite; `average` is over
// those tasks only; `runs` holds BM25's top kSuiteRunDepth of each retrieval task.
SuiteScores lexical_baselines(const std::vector<EmbeddingTask>& tasks);

}  // namespace garden::eval
