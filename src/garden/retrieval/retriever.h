// One interface over every kind of index folder (DESIGN.md, "Retrieval"): open_index reads
// the folder's manifest and returns the retriever of its kind (bm25, flat, hnsw, ivfpq, the
// Matryoshka funnel over a dense index, a fusion of several, and shards of one corpus); search(queries, k) returns
// a TREC run. Callers never look at the manifest themselves.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "garden/retrieval/collection.h"
#include "garden/retrieval/fusion.h"
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
  // The score search gives doc_ids[i] for queries[i], on search's scale; nothing when the
  // document does not match the query. Mining reads the positive's score with it. Kinds
  // without a per-document score (a fusion) throw.
  virtual std::vector<std::optional<double>> score_pairs(const std::vector<Query>& queries, const std::vector<std::string>& doc_ids);
  // Multiply-adds per query of the last search where the index counts them (the funnel).
  virtual int64_t flops_per_query() const { return 0; }
  // Those of exhaustive search over all dimensions, for the same index.
  virtual int64_t exhaustive_flops_per_query() const { return 0; }
};

// The index in `dir`; errors name the folder (no manifest, an unknown kind, options that do
// not fit the kind, a dense index without a way to get query vectors, another model).
std::unique_ptr<Retriever> open_index(const std::filesystem::path& dir, const SearchOptions& options = {});

// The kind an index folder's manifest records (bm25, flat, hnsw, ivfpq, fusion); an error
// when `dir` is no index folder.
std::string index_kind(const std::filesystem::path& dir);

// The corpus.jsonl the index in `dir` was built from, as its manifest records it (a fusion:
// its first member's); empty when none is recorded. Where callers find the documents' text.
std::filesystem::path index_corpus(const std::filesystem::path& dir);

// Fusion as a retriever: every member searches options.depth deep, their runs are fused
// (fusion.h) and the top k kept. E.g. BM25 + dense by reciprocal rank.
std::unique_ptr<Retriever> fuse_retrievers(std::vector<std::unique_ptr<Retriever>> members, const FusionOptions& options);

// A fusion index folder: its manifest names the member index folders (relative to it, so
// they can move together) and the fusion; open_index opens the members, passing the
// query-vector options to the dense ones.
void build_fusion_index(const std::vector<std::filesystem::path>& members, const std::filesystem::path& out, const FusionOptions& options);

// A shards index folder: one corpus split over several member indexes (sharded encoding
// writes one per rank), searched as one. BM25 members share their statistics through
// Xapian's combined database; dense members (one metric, width and model) are searched
// each and merged by score. Exact shards give exactly the unsharded index's ranking.
void build_shard_index(const std::vector<std::filesystem::path>& members, const std::filesystem::path& out);

}  // namespace garden::retrieval
