#include "garden/retrieval/retriever.h"

#include <optional>

#include "garden/core/error.h"
#include "garden/core/json.h"
#include "garden/retrieval/bm25.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/matryoshka_funnel.h"

namespace garden::retrieval {

namespace {

class Bm25Retriever : public Retriever {
 public:
  explicit Bm25Retriever(const std::filesystem::path& dir) : index_(dir) {}
  std::string kind() const override { return "bm25"; }
  Run search(const std::vector<Query>& queries, int64_t k) override { return index_.search_all(queries, k); }

 private:
  Bm25Index index_;
};

class DenseRetriever : public Retriever {
 public:
  DenseRetriever(const std::filesystem::path& dir, const SearchOptions& options) : index_(dir), options_(options) {
    if ((options.model == nullptr) == options.query_vectors.empty())
      usage_error("dense index " + dir.string() + " is searched with query vectors from a file or from a model, one of the two");
    if (options.model != nullptr) refuse_other_model(index_.manifest(), dir, options.model->path());
    if (options.ef_search > 0) index_.set_ef_search(options.ef_search);
    if (options.nprobe > 0) index_.set_nprobe(options.nprobe);
    if (options.shortlist.empty() && !options.rerank_dims.empty()) usage_error("--rerank-dims needs --shortlist");
  }
  std::string kind() const override { return index_.manifest().value("kind", "dense"); }

  Run search(const std::vector<Query>& queries, int64_t k) override {
    const int64_t vector_dims = index_.manifest().value("vector_dims", int64_t{0});
    std::optional<FunnelPlan> plan;
    if (!options_.shortlist.empty()) {
      plan = FunnelPlan{options_.rerank_dims.empty() ? std::vector<int64_t>{vector_dims} : options_.rerank_dims, options_.shortlist};
      plan->validate(vector_dims, k);  // before encoding the queries
    }
    std::vector<std::string> ids, texts;
    for (const auto& q : queries) {
      ids.push_back(q.id);
      texts.push_back(q.text);
    }
    const Matrix vectors = options_.model != nullptr
                               ? encode_with_model(*options_.model, texts, options_.instruction, options_.batch, "encode")
                               : read_vectors(options_.query_vectors);
    if (vectors.rows != static_cast<int64_t>(queries.size()))
      throw Error(options_.query_vectors.string() + ": " + std::to_string(vectors.rows) + " query vectors for " +
                  std::to_string(queries.size()) + " queries");
    const int64_t rows = static_cast<int64_t>(index_.ids().size());
    exhaustive_flops_ = rows * vectors.cols;
    if (!plan) {
      flops_ = 0;
      return hits_to_run(index_.search(vectors, k), ids, index_.ids());
    }
    flops_ = funnel_flops(rows, index_.manifest().value("dims", vectors.cols), *plan);
    return hits_to_run(index_.funnel(vectors, k, *plan), ids, index_.ids());
  }
  int64_t flops_per_query() const override { return flops_; }
  int64_t exhaustive_flops_per_query() const override { return exhaustive_flops_; }

 private:
  DenseIndex index_;
  SearchOptions options_;
  int64_t flops_ = 0, exhaustive_flops_ = 0;
};

}  // namespace

std::unique_ptr<Retriever> open_index(const std::filesystem::path& dir, const SearchOptions& options) {
  const auto manifest_file = dir / "manifest.json";
  if (!std::filesystem::exists(manifest_file)) throw Error("index " + dir.string() + ": no manifest.json (not an index folder)");
  const std::string kind = read_json_file(manifest_file).value("kind", "");
  if (kind == "bm25") {
    if (options.model != nullptr || !options.query_vectors.empty() || !options.shortlist.empty())
      usage_error("index " + dir.string() + " is a BM25 index: query vectors, --model and the funnel are for dense indexes");
    return std::make_unique<Bm25Retriever>(dir);
  }
  if (kind == "flat" || kind == "hnsw" || kind == "ivfpq") return std::make_unique<DenseRetriever>(dir, options);
  throw Error("index " + dir.string() + ": unknown kind '" + kind + "' in manifest.json");
}

}  // namespace garden::retrieval
