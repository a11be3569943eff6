// ANCE's negative construction (Xiong et al., arXiv:2007.00808; the official inferencer's
// GenerateNegativePassaageID): a checkpoint ranks the whole corpus for each training query
// with an exact inner-product index; the top `depth` documents are shuffled with a seeded
// RNG and walked, skipping the query's judged positives and repeated ids, and the first
// `per_query` kept. The same sampler draws from BM25's top `depth` (the warm-up's
// negatives) and, with the whole corpus as its candidates, uniformly random negatives.
// Documents are rows 0..N-1 of the corpus, queries rows of the training queries.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "garden/retrieval/vectors.h"

namespace garden::retrieval {

// The first `per_query` ids of a seeded shuffle of `candidates` that are not in `positives`
// and not repeated; fewer when the candidates run out.
std::vector<int64_t> sample_negatives(const std::vector<int64_t>& candidates, const std::vector<int64_t>& positives, int64_t per_query,
                                      uint64_t seed);

// The seed of one query's draw, from the run's seed, the step of the checkpoint that ranked
// the candidates and the query's row: two refreshes draw independently, a rebuilt refresh
// draws the same.
uint64_t negative_draw_seed(uint64_t seed, int64_t source_step, int64_t query);

// The top `k` rows of `docs` by inner product for each row of `queries`, best first (ties:
// lower row first), exact: FAISS IndexFlatIP shortlists 2k + 8, re-scored in double as
// exact_search does.
std::vector<std::vector<int64_t>> flat_top_k(const Matrix& docs, const Matrix& queries, int64_t k);

// The negatives of every training query from one source at one point of training: what a
// refresh writes, and what the trainer draws its negatives from until the next one.
struct NegativeTable {
  std::string source;        // ance | bm25 | random
  int64_t source_step = 0;   // ance: the training step of the checkpoint that built the index
  int64_t depth = 0;         // K: candidates per query (the mining depth)
  int64_t per_query = 0;     // n: negatives kept per query
  int64_t corpus_size = 0;   // N
  std::vector<std::vector<int64_t>> negatives;  // per training query, document rows
};

// A table from ranked candidates (best first, per query; only the first `depth` count) and
// each query's judged positives, every query drawn with negative_draw_seed.
NegativeTable sample_table(const std::string& source, int64_t source_step, const std::vector<std::vector<int64_t>>& ranked,
                           const std::vector<std::vector<int64_t>>& positives, int64_t depth, int64_t per_query, int64_t corpus_size,
                           uint64_t seed);

// JSONL: a header {"source", "source_step", "depth", "per_query", "corpus_size", "queries"},
// then one {"query": i, "negatives": [rows]} per query, written atomically. The reader is
// strict: a malformed line, a row outside the corpus or a missing query is an error naming
// the file and line.
void write_negative_table(const std::filesystem::path& path, const NegativeTable& table);
NegativeTable read_negative_table(const std::filesystem::path& path);

// The share of each query's training negatives that are among the model's own top-k
// non-relevant documents (`top_non_relevant`, per query), averaged over the queries that have
// negatives: 1 when the training negatives are the model's hardest, about k / N for random ones.
double negative_overlap(const std::vector<std::vector<int64_t>>& training_negatives,
                        const std::vector<std::vector<int64_t>>& top_non_relevant);

// Each query's ranked rows without its judged positives, cut to k.
std::vector<std::vector<int64_t>> drop_positives(const std::vector<std::vector<int64_t>>& ranked,
                                                 const std::vector<std::vector<int64_t>>& positives, int64_t k);

}  // namespace garden::retrieval
