// Dense indexes over embedding vectors, all answering inner-product top-k:
//   flat  - FAISS IndexFlatIP, exact (the ground truth the others are measured against);
//   hnsw  - hnswlib's HNSW graph (header-only; Malkov & Yashunin, arXiv:1603.09320);
//   ivfpq - FAISS IVF with product quantisation (Jegou et al., TPAMI 2011).
// Metric `cosine` L2-normalises vectors (and queries) first; `ip` uses them as they are.
// Matryoshka (Kusupati et al., arXiv:2205.13147): `dims` builds the index on the first m
// dimensions (re-normalised for cosine); the funnel shortlists with the index and re-ranks
// the shortlist exactly with longer prefixes of the stored full vectors.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/retrieval/trec.h"
#include "garden/retrieval/vectors.h"

namespace garden::retrieval {

struct DenseOptions {
  std::string kind = "flat";      // flat | hnsw | ivfpq
  std::string metric = "cosine";  // cosine | ip
  int64_t dims = 0;               // Matryoshka prefix used by the index; 0 = all
  int64_t hnsw_m = 16;            // HNSW links per node (M); 16 as in hnswlib's examples
  int64_t ef_construction = 200;  // HNSW build beam; 200 as in hnswlib's examples
  int64_t ef_search = 64;         // HNSW search beam (raised to k when smaller)
  int64_t nlist = 0;              // IVF lists; 0 = about 4 sqrt(N)
  int64_t nprobe = 8;             // IVF lists visited per query
  int64_t pq_m = 8;               // PQ sub-quantisers (must divide dims), 8 bits each
  uint64_t seed = 0;
  void validate(int64_t vector_dims) const;
  Json to_json() const;
};

struct FunnelPlan;

struct Hit {
  int64_t row;  // position in the indexed matrix
  float score;  // inner product
};

// Exhaustive inner-product search written plainly (ties: lower row first); the reference
// every index is tested against.
std::vector<std::vector<Hit>> exact_search(const Matrix& base, const Matrix& queries, int64_t k);

// Document ids, one a non-blank line (row i of the vectors is the i-th id); an id given twice
// is refused with both line numbers, since search could not tell its two rows apart.
std::vector<std::string> read_id_list(const std::filesystem::path& path);

// Writes IDX/{index.faiss|index.hnsw, vectors.npy, ids.json, manifest.json} as one folder.
// `provenance` is merged into the manifest (e.g. the corpus fingerprint, the model).
void build_dense_index(const Matrix& vectors, const std::vector<std::string>& ids, const std::filesystem::path& out,
                       const DenseOptions& options, const Json& provenance);

class DenseIndex {
 public:
  explicit DenseIndex(const std::filesystem::path& dir);
  ~DenseIndex();
  // queries: full-dimension vectors; they are cut to the index's prefix (and normalised).
  std::vector<std::vector<Hit>> search(const Matrix& queries, int64_t k) const;
  // Matryoshka funnel: shortlist plan.shortlist[0] with the index, then re-rank through the
  // plan's stages with prefixes of the stored full vectors (matryoshka_funnel.h).
  std::vector<std::vector<Hit>> funnel(const Matrix& queries, int64_t k, const FunnelPlan& plan) const;
  // The score search gives row rows[i] for queries.row(i) (the same prefix and metric).
  std::vector<float> score(const Matrix& queries, const std::vector<int64_t>& rows) const;
  const std::vector<std::string>& ids() const;
  const Json& manifest() const { return manifest_; }
  void set_ef_search(int64_t ef);
  void set_nprobe(int64_t nprobe);

 private:
  struct State;
  std::unique_ptr<State> state_;
  Json manifest_;
};

// Hits -> TREC run with the given query ids and the index's document ids.
Run hits_to_run(const std::vector<std::vector<Hit>>& hits, const std::vector<std::string>& query_ids,
                const std::vector<std::string>& doc_ids);

}  // namespace garden::retrieval
