#include "garden/retrieval/dense.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/index_io.h>
#include <fmt/core.h>
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <queue>
#include <unordered_map>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/retrieval/manifest.h"
#include "garden/retrieval/matryoshka_funnel.h"

namespace garden::retrieval {

namespace fs = std::filesystem;

namespace {

Matrix prepare(const Matrix& m, int64_t dims, const std::string& metric) {
  return truncate_rows(m, dims, metric == "cosine");
}

std::vector<Hit> top_k_of(const std::vector<float>& scores, int64_t k) {
  std::vector<int64_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  const auto kk = std::min<size_t>(static_cast<size_t>(k), order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<long>(kk), order.end(), [&](int64_t a, int64_t b) {
    return scores[static_cast<size_t>(a)] != scores[static_cast<size_t>(b)] ? scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)] : a < b;
  });
  std::vector<Hit> hits;
  for (size_t i = 0; i < kk; ++i) hits.push_back({order[i], scores[static_cast<size_t>(order[i])]});
  return hits;
}

}  // namespace

void DenseOptions::validate(int64_t vector_dims) const {
  if (kind != "flat" && kind != "hnsw" && kind != "ivfpq") usage_error("--kind must be flat, hnsw, ivfpq or bm25, got '" + kind + "'");
  if (metric != "cosine" && metric != "ip") usage_error("--metric must be cosine or ip, got '" + metric + "'");
  if (dims < 0 || dims > vector_dims) usage_error(fmt::format("--dims must be in [1, {}] (0 = all), got {}", vector_dims, dims));
  const int64_t d = dims == 0 ? vector_dims : dims;
  if (hnsw_m < 2 || ef_construction < 1 || ef_search < 1) usage_error("HNSW needs --hnsw-m >= 2, --ef-construction >= 1, --ef-search >= 1");
  if (nlist < 0 || nprobe < 1) usage_error("IVF needs --nlist >= 0 and --nprobe >= 1");
  if (kind == "ivfpq" && (pq_m < 1 || d % pq_m != 0)) usage_error(fmt::format("--pq-m must divide the dimension {}, got {}", d, pq_m));
}

Json DenseOptions::to_json() const {
  return Json{{"kind", kind}, {"metric", metric}, {"dims", dims}, {"hnsw_m", hnsw_m}, {"ef_construction", ef_construction},
              {"ef_search", ef_search}, {"nlist", nlist}, {"nprobe", nprobe}, {"pq_m", pq_m}, {"seed", seed}};
}

std::vector<std::vector<Hit>> exact_search(const Matrix& base, const Matrix& queries, int64_t k) {
  if (base.cols != queries.cols) throw Error(fmt::format("query vectors have {} dimensions, the index {}", queries.cols, base.cols));
  std::vector<std::vector<Hit>> all;
  std::vector<float> scores(static_cast<size_t>(base.rows));
  for (int64_t q = 0; q < queries.rows; ++q) {
    for (int64_t i = 0; i < base.rows; ++i) {
      double dot = 0;  // accumulate in double: the reference must not depend on summation order
      for (int64_t j = 0; j < base.cols; ++j) dot += static_cast<double>(base.row(i)[j]) * queries.row(q)[j];
      scores[static_cast<size_t>(i)] = static_cast<float>(dot);
    }
    all.push_back(top_k_of(scores, k));
  }
  return all;
}

struct DenseIndex::State {
  DenseOptions options;
  Matrix full;  // the stored full vectors (for the funnel)
  std::vector<std::string> ids;
  std::unique_ptr<faiss::Index> faiss;
  std::unique_ptr<hnswlib::InnerProductSpace> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
  int64_t dims = 0;
};

std::vector<std::string> read_id_list(const fs::path& path) {
  std::ifstream in(path);
  if (fs::is_directory(path) || !in) throw Error("cannot read " + path.string() + ": no such file or not readable");
  std::vector<std::string> ids;
  std::unordered_map<std::string, int64_t> first_line;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const auto [seen, fresh] = first_line.emplace(line, number);
    if (!fresh) throw Error(fmt::format("{}:{}: document id '{}' is given twice (first on line {})", path.string(), number, line, seen->second));
    ids.push_back(line);
  }
  return ids;
}

void build_dense_index(const Matrix& vectors, const std::vector<std::string>& ids, const fs::path& out,
                       const DenseOptions& options, const Json& provenance) {
  options.validate(vectors.cols);
  if (static_cast<int64_t>(ids.size()) != vectors.rows)
    throw Error(fmt::format("{} ids for {} vectors: the id list and the vectors must have the same rows", ids.size(), vectors.rows));
  const int64_t d = options.dims == 0 ? vectors.cols : options.dims;
  const Matrix base = prepare(vectors, d, options.metric);
  const auto staged = staging_path(out);
  fs::create_directories(staged);
  if (options.kind == "hnsw") {
    hnswlib::InnerProductSpace space(static_cast<size_t>(d));
    hnswlib::HierarchicalNSW<float> graph(&space, static_cast<size_t>(base.rows), static_cast<size_t>(options.hnsw_m),
                                          static_cast<size_t>(options.ef_construction), options.seed);
    for (int64_t i = 0; i < base.rows; ++i) graph.addPoint(base.row(i), static_cast<size_t>(i));
    graph.saveIndex((staged / "index.hnsw").string());
  } else if (options.kind == "flat") {
    faiss::IndexFlatIP index(d);
    index.add(base.rows, base.data.data());
    faiss::write_index(&index, (staged / "index.faiss").c_str());
  } else {
    const int64_t nlist = options.nlist > 0 ? options.nlist : std::max<int64_t>(1, static_cast<int64_t>(4 * std::sqrt(static_cast<double>(base.rows))));
    if (base.rows < nlist) throw Error(fmt::format("ivfpq needs at least nlist={} vectors, got {}", nlist, base.rows));
    faiss::IndexFlatIP quantizer(d);
    faiss::IndexIVFPQ index(&quantizer, d, static_cast<size_t>(nlist), static_cast<size_t>(options.pq_m), 8, faiss::METRIC_INNER_PRODUCT);
    index.cp.seed = static_cast<int>(options.seed);
    index.pq.cp.seed = static_cast<int>(options.seed);
    index.train(base.rows, base.data.data());
    index.add(base.rows, base.data.data());
    faiss::write_index(&index, (staged / "index.faiss").c_str());
  }
  write_npy(staged / "vectors.npy", vectors);
  write_json_atomic(staged / "ids.json", Json(ids));
  Json manifest{{"kind", options.kind}, {"options", options.to_json()}, {"dims", d}, {"vector_dims", vectors.cols},
                {"count", vectors.rows}};
  if (!provenance.is_null()) manifest.update(provenance);
  write_json_atomic(staged / "manifest.json", manifest);
  replace_dir_atomic(staged, out);
}

DenseIndex::DenseIndex(const fs::path& dir) : state_(std::make_unique<State>()) {
  if (!fs::exists(dir / "manifest.json")) throw Error("index " + dir.string() + ": no manifest.json (build it with garden index build)");
  manifest_ = read_json_file(dir / "manifest.json");
  refuse_if_stale(manifest_, dir);
  const auto where = (dir / "manifest.json").string();
  const auto& o = manifest_.at("options");
  auto& opt = state_->options;
  read_field(o, "kind", opt.kind, where);
  read_field(o, "metric", opt.metric, where);
  read_field(o, "ef_search", opt.ef_search, where);
  read_field(o, "nprobe", opt.nprobe, where);
  read_field(manifest_, "dims", state_->dims, where);
  state_->full = read_vectors(dir / "vectors.npy");
  state_->ids = read_json_file(dir / "ids.json").get<std::vector<std::string>>();
  if (opt.kind != "hnsw" && opt.kind != "flat" && opt.kind != "ivfpq")
    throw Error("index " + dir.string() + ": kind '" + opt.kind + "' is not a dense index");
  const auto file = dir / (opt.kind == "hnsw" ? "index.hnsw" : "index.faiss");
  // hnswlib and FAISS report a damaged file with their own words only ("Index seems to be
  // corrupted", a multi-line FAISS assertion); the error names the file and the way out.
  try {
    if (opt.kind == "hnsw") {
      state_->space = std::make_unique<hnswlib::InnerProductSpace>(static_cast<size_t>(state_->dims));
      state_->hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(state_->space.get(), file.string());
    } else {
      state_->faiss.reset(faiss::read_index(file.c_str()));
    }
  } catch (const std::exception& e) {
    std::string reason = e.what();
    std::replace(reason.begin(), reason.end(), '\n', ' ');
    throw Error("index " + dir.string() + ": cannot read " + file.string() + " (missing or damaged; rebuild it with garden index build): " + reason);
  }
  const auto rows = state_->hnsw ? static_cast<int64_t>(state_->hnsw->cur_element_count) : static_cast<int64_t>(state_->faiss->ntotal);
  if (rows != static_cast<int64_t>(state_->ids.size()) || rows != state_->full.rows)
    throw Error(fmt::format("index {}: {} holds {} vectors, ids.json {} and vectors.npy {} (damaged; rebuild it with garden index build)",
                            dir.string(), file.filename().string(), rows, state_->ids.size(), state_->full.rows));
  if (state_->faiss && state_->faiss->d != state_->dims)
    throw Error(fmt::format("index {}: index.faiss holds {}-dimensional vectors, manifest.json says {} (damaged; rebuild it with garden index build)",
                            dir.string(), state_->faiss->d, state_->dims));
  if (state_->hnsw) set_ef_search(opt.ef_search);
  else set_nprobe(opt.nprobe);
}

DenseIndex::~DenseIndex() = default;

const std::vector<std::string>& DenseIndex::ids() const { return state_->ids; }

void DenseIndex::set_ef_search(int64_t ef) {
  state_->options.ef_search = ef;
  if (state_->hnsw) state_->hnsw->setEf(static_cast<size_t>(ef));
}

void DenseIndex::set_nprobe(int64_t nprobe) {
  state_->options.nprobe = nprobe;
  if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(state_->faiss.get())) ivf->nprobe = static_cast<size_t>(nprobe);
}

std::vector<std::vector<Hit>> DenseIndex::search(const Matrix& queries, int64_t k) const {
  if (k < 1) usage_error(fmt::format("search: --k must be >= 1, got {}", k));
  // No more hits exist than documents; a huge k would otherwise size the result buffers.
  k = std::min(k, state_->full.rows);
  if (queries.cols != state_->full.cols)
    throw Error(fmt::format("query vectors have {} dimensions, the index was built from {}-dimensional vectors", queries.cols, state_->full.cols));
  const Matrix q = prepare(queries, state_->dims, state_->options.metric);
  std::vector<std::vector<Hit>> all(static_cast<size_t>(q.rows));
  if (state_->hnsw) {
    state_->hnsw->setEf(static_cast<size_t>(std::max(k, state_->options.ef_search)));
    for (int64_t i = 0; i < q.rows; ++i) {
      auto heap = state_->hnsw->searchKnn(q.row(i), static_cast<size_t>(k));
      auto& hits = all[static_cast<size_t>(i)];
      while (!heap.empty()) {  // a max-heap of distance 1 - ip: pops the worst first
        hits.push_back({static_cast<int64_t>(heap.top().second), 1.0f - heap.top().first});
        heap.pop();
      }
      std::reverse(hits.begin(), hits.end());
    }
    return all;
  }
  std::vector<float> scores(static_cast<size_t>(q.rows * k));
  std::vector<faiss::Index::idx_t> labels(static_cast<size_t>(q.rows * k));
  state_->faiss->search(q.rows, q.data.data(), k, scores.data(), labels.data());
  for (int64_t i = 0; i < q.rows; ++i)
    for (int64_t j = 0; j < k; ++j) {
      const auto label = labels[static_cast<size_t>(i * k + j)];
      if (label >= 0) all[static_cast<size_t>(i)].push_back({label, scores[static_cast<size_t>(i * k + j)]});
    }
  return all;
}

std::vector<std::vector<Hit>> DenseIndex::funnel(const Matrix& queries, int64_t k, const FunnelPlan& plan) const {
  plan.validate(state_->full.cols, k);
  return rerank_cascade(state_->full, queries, search(queries, plan.shortlist.front()), plan, k, state_->options.metric == "cosine");
}

std::vector<float> DenseIndex::score(const Matrix& queries, const std::vector<int64_t>& rows) const {
  if (queries.rows != static_cast<int64_t>(rows.size()))
    throw Error(fmt::format("{} query vectors for {} documents to score", queries.rows, rows.size()));
  if (queries.cols != state_->full.cols)
    throw Error(fmt::format("query vectors have {} dimensions, the index was built from {}-dimensional vectors", queries.cols, state_->full.cols));
  Matrix docs{queries.rows, state_->full.cols, {}};
  docs.data.reserve(static_cast<size_t>(docs.rows * docs.cols));
  for (const int64_t r : rows) {
    if (r < 0 || r >= state_->full.rows) throw Error(fmt::format("row {} is not in the index ({} vectors)", r, state_->full.rows));
    docs.data.insert(docs.data.end(), state_->full.row(r), state_->full.row(r) + state_->full.cols);
  }
  const Matrix q = prepare(queries, state_->dims, state_->options.metric);
  const Matrix d = prepare(docs, state_->dims, state_->options.metric);
  std::vector<float> scores(rows.size());
  for (int64_t i = 0; i < q.rows; ++i) {
    double dot = 0;
    for (int64_t c = 0; c < q.cols; ++c) dot += static_cast<double>(q.row(i)[c]) * d.row(i)[c];
    scores[static_cast<size_t>(i)] = static_cast<float>(dot);
  }
  return scores;
}

Run hits_to_run(const std::vector<std::vector<Hit>>& hits, const std::vector<std::string>& query_ids,
                const std::vector<std::string>& doc_ids) {
  if (hits.size() != query_ids.size()) throw Error(fmt::format("{} query ids for {} query vectors", query_ids.size(), hits.size()));
  Run run;
  for (size_t i = 0; i < hits.size(); ++i)
    for (const auto& hit : hits[i]) run[query_ids[i]].push_back({doc_ids.at(static_cast<size_t>(hit.row)), hit.score});
  return run;
}

}  // namespace garden::retrieval
