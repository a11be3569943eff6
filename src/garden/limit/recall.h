// Recall@k of LIMIT-style collections (every query has exactly two relevant documents) for
// the retrievers the LIMIT paper compares: BM25, free embeddings optimised on the test
// qrels (the best case for a single vector of d dimensions), trained garden embedding
// models (exact cosine search), and a hashed bag-of-words vector as a dense baseline that
// needs no training.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "garden/retrieval/collection.h"
#include "garden/limit/free_embedding.h"

namespace garden::limit {

struct LimitEvalOptions {
  std::vector<int64_t> ks = {2, 10, 20, 100};
  bool bm25 = true;
  std::vector<int64_t> free_dims = {8, 16};
  int64_t hashed_dims = 512;  // 0: no hashed bag-of-words row
  std::vector<std::filesystem::path> encoders;  // trained garden embedding models, one row each
  limit::FreeEmbeddingOptions free;
  bool quiet = false;
};

struct LimitEvalRow {
  std::string retriever;
  std::map<int64_t, double> recall;  // k -> mean recall@k
  std::string note;
  double seconds = 0;
};

// `dir` holds the collection (BM25 indexes it into a temporary folder).
std::vector<LimitEvalRow> evaluate_limit(const retrieval::Collection& collection, const std::filesystem::path& dir,
                                         const LimitEvalOptions& options);

}  // namespace garden::limit
