#include "garden/retrieval/retriever.h"

#include <fmt/core.h>

#include <algorithm>
#include <optional>
#include <set>
#include <unordered_map>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/retrieval/bm25.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/matryoshka_funnel.h"

namespace garden::retrieval {

namespace {

void refuse_unpaired(const std::vector<Query>& queries, const std::vector<std::string>& doc_ids) {
  if (queries.size() != doc_ids.size())
    throw Error(fmt::format("score_pairs: {} queries for {} documents (one document per query)", queries.size(), doc_ids.size()));
}

class Bm25Retriever : public Retriever {
 public:
  explicit Bm25Retriever(const std::filesystem::path& dir) : index_(dir) {}
  explicit Bm25Retriever(const std::vector<std::filesystem::path>& shards) : index_(shards) {}
  std::string kind() const override { return "bm25"; }
  Run search(const std::vector<Query>& queries, int64_t k) override { return index_.search_all(queries, k); }
  std::vector<std::optional<double>> score_pairs(const std::vector<Query>& queries, const std::vector<std::string>& doc_ids) override {
    refuse_unpaired(queries, doc_ids);
    std::vector<std::optional<double>> scores;
    for (size_t i = 0; i < queries.size(); ++i) scores.push_back(index_.score(queries[i].text, doc_ids[i]));
    return scores;
  }

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
    std::vector<std::string> ids;
    for (const auto& q : queries) ids.push_back(q.id);
    const Matrix vectors = query_vectors(queries);
    if (!plan) return search_vectors(vectors, ids, k);
    const int64_t rows = static_cast<int64_t>(index_.ids().size());
    exhaustive_flops_ = rows * vectors.cols;
    flops_ = funnel_flops(rows, index_.manifest().value("dims", vectors.cols), *plan);
    return hits_to_run(index_.funnel(vectors, k, *plan), ids, index_.ids());
  }
  std::vector<std::optional<double>> score_pairs(const std::vector<Query>& queries, const std::vector<std::string>& doc_ids) override {
    refuse_unpaired(queries, doc_ids);
    if (row_of_.empty())
      for (size_t r = 0; r < index_.ids().size(); ++r) row_of_[index_.ids()[r]] = static_cast<int64_t>(r);
    std::vector<Query> known;
    std::vector<int64_t> rows;
    std::vector<size_t> where;
    for (size_t i = 0; i < queries.size(); ++i) {
      const auto it = row_of_.find(doc_ids[i]);
      if (it == row_of_.end()) continue;  // not in the index: no score
      known.push_back(queries[i]);
      rows.push_back(it->second);
      where.push_back(i);
    }
    std::vector<std::optional<double>> scores(queries.size());
    if (known.empty()) return scores;
    const auto found = index_.score(query_vectors(known), rows);
    for (size_t j = 0; j < where.size(); ++j) scores[where[j]] = found[j];
    return scores;
  }
  int64_t flops_per_query() const override { return flops_; }
  int64_t exhaustive_flops_per_query() const override { return exhaustive_flops_; }

  // Plain search with the queries' vectors already made (a sharded index encodes them once).
  Run search_vectors(const Matrix& vectors, const std::vector<std::string>& query_ids, int64_t k) {
    exhaustive_flops_ = static_cast<int64_t>(index_.ids().size()) * vectors.cols;
    flops_ = 0;
    return hits_to_run(index_.search(vectors, k), query_ids, index_.ids());
  }
  // One vector per query: from the model, or the rows of the query-vector file in order.
  Matrix query_vectors(const std::vector<Query>& queries) {
    if (options_.model != nullptr) {
      std::vector<std::string> texts;
      for (const auto& q : queries) texts.push_back(q.text);
      return encode_with_model(*options_.model, texts, options_.model->query_instruction(options_.instruction), options_.batch, "encode");
    }
    Matrix vectors = read_vectors(options_.query_vectors);
    if (vectors.rows != static_cast<int64_t>(queries.size()))
      throw Error(options_.query_vectors.string() + ": " + std::to_string(vectors.rows) + " query vectors for " +
                  std::to_string(queries.size()) + " queries");
    return vectors;
  }


 private:
  DenseIndex index_;
  std::unordered_map<std::string, int64_t> row_of_;
  SearchOptions options_;
  int64_t flops_ = 0, exhaustive_flops_ = 0;
};

class FusedRetriever : public Retriever {
 public:
  FusedRetriever(std::vector<std::unique_ptr<Retriever>> members, FusionOptions options)
      : members_(std::move(members)), options_(std::move(options)) {
    if (members_.size() < 2) usage_error(fmt::format("a fusion needs two or more retrievers, got {}", members_.size()));
  }
  std::string kind() const override { return "fusion"; }
  Run search(const std::vector<Query>& queries, int64_t k) override {
    if (k < 1) usage_error(fmt::format("search: --k must be >= 1, got {}", k));
    std::vector<Run> runs;
    for (auto& member : members_) runs.push_back(member->search(queries, options_.depth));
    auto options = options_;
    options.depth = std::min(k, options_.depth);
    return fuse_runs(runs, options);
  }

 private:
  std::vector<std::unique_ptr<Retriever>> members_;
  FusionOptions options_;
};

// Dense indexes over disjoint shards of one corpus, searched as one: the queries are encoded
// once, every shard returns its top k, and the lists merge by score (ties in shard order).
// For exact (flat) shards the result is that of one index over all the vectors.
class ShardedDenseRetriever : public Retriever {
 public:
  explicit ShardedDenseRetriever(std::vector<std::unique_ptr<DenseRetriever>> shards) : shards_(std::move(shards)) {}
  std::string kind() const override { return "shards"; }
  Run search(const std::vector<Query>& queries, int64_t k) override {
    if (k < 1) usage_error(fmt::format("search: --k must be >= 1, got {}", k));
    std::vector<std::string> ids;
    for (const auto& q : queries) ids.push_back(q.id);
    const Matrix vectors = shards_.front()->query_vectors(queries);
    Run merged;
    for (auto& shard : shards_)
      for (auto& [query, hits] : shard->search_vectors(vectors, ids, k)) {
        auto& list = merged[query];
        list.insert(list.end(), hits.begin(), hits.end());
      }
    for (auto& [query, hits] : merged) {
      std::stable_sort(hits.begin(), hits.end(), [](const ScoredDoc& a, const ScoredDoc& b) { return a.score > b.score; });
      if (static_cast<int64_t>(hits.size()) > k) hits.resize(static_cast<size_t>(k));
    }
    return merged;
  }
  std::vector<std::optional<double>> score_pairs(const std::vector<Query>& queries, const std::vector<std::string>& doc_ids) override {
    refuse_unpaired(queries, doc_ids);
    std::vector<std::optional<double>> scores(queries.size());
    for (auto& shard : shards_) {
      const auto found = shard->score_pairs(queries, doc_ids);
      for (size_t i = 0; i < found.size(); ++i)
        if (found[i] && !scores[i]) scores[i] = found[i];
    }
    return scores;
  }

 private:
  std::vector<std::unique_ptr<DenseRetriever>> shards_;
};

std::vector<std::filesystem::path> shard_folders(const std::filesystem::path& dir) {
  const auto where = (dir / "manifest.json").string();
  const Json manifest = read_json_file(dir / "manifest.json");
  refuse_unknown_keys(manifest, Json::array({"kind", "members", "member_kind"}), where);
  std::vector<std::string> members;
  read_field(manifest, "members", members, where);
  if (members.empty()) throw Error(where + ": a shards index lists no members");
  std::vector<std::filesystem::path> folders;
  for (const auto& member : members) folders.push_back(dir / member);
  return folders;
}

std::unique_ptr<Retriever> open_shards(const std::filesystem::path& dir, const SearchOptions& options) {
  const auto folders = shard_folders(dir);
  if (index_kind(folders.front()) == "bm25") {
    if (options.model != nullptr || !options.query_vectors.empty() || !options.shortlist.empty())
      usage_error("index " + dir.string() + " shards BM25 indexes: query vectors, --model and the funnel are for dense indexes");
    return std::make_unique<Bm25Retriever>(folders);
  }
  if (!options.shortlist.empty()) usage_error("index " + dir.string() + " is sharded: the funnel is for one dense index");
  std::vector<std::unique_ptr<DenseRetriever>> shards;
  for (const auto& folder : folders) shards.push_back(std::make_unique<DenseRetriever>(folder, options));
  return std::make_unique<ShardedDenseRetriever>(std::move(shards));
}

// A fusion's members, opened with the options that fit each: the dense ones get the query
// vectors' source, a BM25 member none.
std::unique_ptr<Retriever> open_fusion(const std::filesystem::path& dir, const SearchOptions& options) {
  const auto where = (dir / "manifest.json").string();
  const Json manifest = read_json_file(dir / "manifest.json");
  refuse_unknown_keys(manifest, Json::array({"kind", "members", "fusion"}), where);
  if (!options.shortlist.empty()) usage_error("index " + dir.string() + " is a fusion: the funnel is for one dense index");
  std::vector<std::string> members;
  read_field(manifest, "members", members, where);
  const auto fusion = FusionOptions::from_json(manifest.value("fusion", Json::object()), where);
  std::vector<std::unique_ptr<Retriever>> retrievers;
  for (const auto& member : members) {
    const auto member_dir = dir / member;
    retrievers.push_back(index_kind(member_dir) == "bm25" ? open_index(member_dir) : open_index(member_dir, options));
  }
  return fuse_retrievers(std::move(retrievers), fusion);
}

}  // namespace

std::vector<std::optional<double>> Retriever::score_pairs(const std::vector<Query>&, const std::vector<std::string>&) {
  throw Error("a " + kind() + " retriever gives no score for a given document (mine with one of its parts instead)");
}

std::unique_ptr<Retriever> open_index(const std::filesystem::path& dir, const SearchOptions& options) {
  const std::string kind = index_kind(dir);
  if (kind == "bm25") {
    if (options.model != nullptr || !options.query_vectors.empty() || !options.shortlist.empty())
      usage_error("index " + dir.string() + " is a BM25 index: query vectors, --model and the funnel are for dense indexes");
    return std::make_unique<Bm25Retriever>(dir);
  }
  if (kind == "flat" || kind == "hnsw" || kind == "ivfpq") return std::make_unique<DenseRetriever>(dir, options);
  if (kind == "fusion") return open_fusion(dir, options);
  if (kind == "shards") return open_shards(dir, options);
  throw Error("index " + dir.string() + ": unknown kind '" + kind + "' in manifest.json");
}

std::string index_kind(const std::filesystem::path& dir) {
  const auto manifest_file = dir / "manifest.json";
  if (!std::filesystem::exists(manifest_file)) throw Error("index " + dir.string() + ": no manifest.json (not an index folder)");
  return read_json_file(manifest_file).value("kind", "");
}

std::filesystem::path index_corpus(const std::filesystem::path& dir) {
  if (index_kind(dir) == "shards") return {};  // each shard has its own
  if (index_kind(dir) != "fusion") return read_json_file(dir / "manifest.json").value("corpus", "");
  std::vector<std::string> members;
  read_field(read_json_file(dir / "manifest.json"), "members", members, (dir / "manifest.json").string());
  return members.empty() ? std::filesystem::path() : index_corpus(dir / members.front());
}

std::unique_ptr<Retriever> fuse_retrievers(std::vector<std::unique_ptr<Retriever>> members, const FusionOptions& options) {
  return std::make_unique<FusedRetriever>(std::move(members), options);
}

void build_fusion_index(const std::vector<std::filesystem::path>& members, const std::filesystem::path& out, const FusionOptions& options) {
  if (members.size() < 2) usage_error(fmt::format("a fusion index needs two or more --member indexes, got {}", members.size()));
  fuse_runs(std::vector<Run>(members.size()), options);  // refuses a bad method, k, depth or weight before anything is written
  if (!options.weights.empty() && options.weights.size() != members.size())
    usage_error(fmt::format("--weights: {} weights for {} members", options.weights.size(), members.size()));
  Json relative = Json::array();
  const auto out_abs = std::filesystem::absolute(out).lexically_normal();
  for (const auto& member : members) {
    const std::string kind = index_kind(member);
    if (kind == "fusion") usage_error("--member " + member.string() + " is itself a fusion: name its members instead");
    if (kind != "bm25" && kind != "flat" && kind != "hnsw" && kind != "ivfpq")
      throw Error("index " + member.string() + ": unknown kind '" + kind + "' in manifest.json");
    // Relative to the fusion folder, so folders moved together still open.
    relative.push_back(std::filesystem::absolute(member).lexically_normal().lexically_relative(out_abs).string());
  }
  const auto staged = staging_path(out);
  std::filesystem::create_directories(staged);
  write_json_atomic(staged / "manifest.json", Json{{"kind", "fusion"}, {"members", relative}, {"fusion", options.to_json()}});
  replace_dir_atomic(staged, out);
}

}  // namespace garden::retrieval

namespace garden::retrieval {

void build_shard_index(const std::vector<std::filesystem::path>& members, const std::filesystem::path& out) {
  if (members.empty()) usage_error("a shards index needs one or more --member indexes");
  const auto out_abs = std::filesystem::absolute(out).lexically_normal();
  Json relative = Json::array();
  Json first;
  std::set<std::filesystem::path> folders;
  std::unordered_map<std::string, std::string> shard_of;  // dense: document id -> the member holding it
  for (const auto& member : members) {
    if (!folders.insert(std::filesystem::weakly_canonical(member)).second)
      usage_error("--member " + member.string() + " is given twice: each shard once");
    const std::string kind = index_kind(member);
    if (kind != "bm25" && kind != "flat" && kind != "hnsw" && kind != "ivfpq")
      usage_error(fmt::format("--member {} is a {} index: shards are bm25 or dense (flat, hnsw, ivfpq) indexes", member.string(), kind));
    const Json manifest = read_json_file(member / "manifest.json");
    if (first.is_null()) {
      first = manifest;
    } else {
      // Scores merge across shards only on one scale: one kind of index, one metric and width, one model.
      const bool dense = kind != "bm25";
      const auto differs = [&](const char* key) { return manifest.value(key, Json()) != first.value(key, Json()); };
      if ((kind == "bm25") != (first.value("kind", "") == "bm25") ||
          (dense && (differs("vector_dims") || differs("model_sha256") ||
                     manifest.value("options", Json::object()).value("metric", "") != first.value("options", Json::object()).value("metric", ""))) ||
          (!dense && differs("parameters")))
        usage_error(fmt::format("--member {} does not match {}: shards need the same kind (bm25 or dense), the same BM25 "
                                "settings, or the same metric, width and model",
                                member.string(), members.front().string()));
    }
    // Shards split one corpus: a document in two would be found twice. (BM25 shards are
    // checked when opened, where their ids are read anyway.)
    if (kind != "bm25")
      for (const auto& id : read_json_file(member / "ids.json"))
        if (const auto [it, fresh] = shard_of.emplace(id.get<std::string>(), member.string()); !fresh)
          usage_error(fmt::format("--member {} holds document '{}', as does {}: shards must not overlap", member.string(), it->first, it->second));
    relative.push_back(std::filesystem::absolute(member).lexically_normal().lexically_relative(out_abs).string());
  }
  const auto staged = staging_path(out);
  std::filesystem::create_directories(staged);
  write_json_atomic(staged / "manifest.json",
                    Json{{"kind", "shards"}, {"members", relative}, {"member_kind", first.value("kind", "") == "bm25" ? "bm25" : "dense"}});
  replace_dir_atomic(staged, out);
}

}  // namespace garden::retrieval
