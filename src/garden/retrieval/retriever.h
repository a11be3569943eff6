// One interface over every kind of index folder (DESIGN.md, "Retrieval"): open_index reads
// the folder's manifest and returns the retriever of its kind (bm25, flat, hnsw, ivfpq, and
// the Matryoshka funnel over a dense index); search(queries, k) returns a TREC run. Callers
// never look at the manifest themselves.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "garden/retrieval/collection.h"
#include "garden/retrieval/model_vectors.h"
#include "garden/retrieval/trec.h"

namespace garden::retrieval {

struct SearchOptions {
  // Dense indexes: the queries' vectors come from `model` (the one the index was built with;
  // another is refused) with `instruction` before each query, or from the file
  // `query_vectors` (row i = the i-th query searched).
  EmbeddingModel* model = nullptr;
  std::string instruction;
  int64_t batch = 32;
  std::filesystem::path query_vectors;
  int64_t ef_search = 0, nprobe = 0;  // 0: the index's own
  // The Matryoshka funnel: list length entering each stage and each stage's prefix length
  // (empty rerank_dims: all dimensions); no shortlist, plain search.
  std::vector<int64_t> shortlist, rerank_dims;
};

class Retriever {
 public:
  virtual ~Retriever() = default;
  virtual std::string kind() const = 0;
  // The top k documents of every query, by score.
  virtual Run search(const std::vector<Query>& queries, int64_t k) = 0;
  // Multiply-adds per query of the last search where the index counts them (the funnel).
  virtual int64_t flops_per_query() const { return 0; }
  // Those of exhaustive search over all dimensions, for the same index.
  virtual int64_t exhaustive_flops_per_query() const { return 0; }
};

// The index in `dir`; errors name the folder (no manifest, an unknown kind, options that do
// not fit the kind, a dense index without a way to get query vectors, another model).
std::unique_ptr<Retriever> open_index(const std::filesystem::path& dir, const SearchOptions& options = {});

}  // namespace garden::retrieval
