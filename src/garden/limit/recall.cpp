#include "garden/limit/recall.h"

#include <fmt/core.h>
#include <unistd.h>

#include <chrono>

#include "garden/core/error.h"
#include "garden/eval/ir_metrics.h"
#include "garden/retrieval/bm25.h"
#include "garden/retrieval/model_vectors.h"

namespace garden::limit {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The top `k` documents of every query by inner product, as a run.
retrieval::Run dense_run(const retrieval::Collection& c, const torch::Tensor& queries, const torch::Tensor& docs, int64_t k) {
  torch::NoGradGuard no_grad;
  retrieval::Run run;
  const int64_t keep = std::min<int64_t>(k, docs.size(0));
  for (int64_t start = 0; start < queries.size(0); start += 256) {
    const int64_t rows = std::min<int64_t>(256, queries.size(0) - start);
    const auto [scores, index] = queries.narrow(0, start, rows).mm(docs.t()).to(torch::kFloat64).topk(keep, 1);
    for (int64_t r = 0; r < rows; ++r) {
      auto& hits = run[c.queries[static_cast<size_t>(start + r)].id];
      for (int64_t j = 0; j < keep; ++j)
        hits.push_back({c.corpus[static_cast<size_t>(index[r][j].item<int64_t>())].id, scores[r][j].item<double>()});
    }
  }
  return run;
}

// Feature hashing of lower-cased tokens with a sign bit (FNV-1a, so vectors are the same on
// every platform), L2-normalised.
torch::Tensor hashed_bag_of_words(const std::vector<std::string>& texts, int64_t dims) {
  auto out = torch::zeros({static_cast<int64_t>(texts.size()), dims}, torch::kFloat32);
  auto acc = out.accessor<float, 2>();
  for (size_t i = 0; i < texts.size(); ++i)
    for (const std::string& token : retrieval::bm25_tokens(texts[i], "none")) {
      uint64_t h = 1469598103934665603ULL;
      for (unsigned char ch : token) h = (h ^ ch) * 1099511628211ULL;
      acc[static_cast<int64_t>(i)][static_cast<int64_t>(h % static_cast<uint64_t>(dims))] += (h >> 63) ? -1.0f : 1.0f;
    }
  return out.div_(out.norm(2, 1, true).clamp_min(1e-12));
}

}  // namespace

std::vector<LimitEvalRow> evaluate_limit(const retrieval::Collection& c, const std::filesystem::path& dir,
                                         const LimitEvalOptions& o) {
  std::vector<std::string> metrics;
  int64_t max_k = 1;
  for (int64_t k : o.ks) {
    metrics.push_back(fmt::format("recall@{}", k));
    max_k = std::max(max_k, k);
  }
  std::vector<LimitEvalRow> rows;
  auto add_row = [&](const std::string& name, const retrieval::Run& run, const std::string& note, double seconds) {
    const eval::IrEvaluation ev = eval::evaluate_run(run, c.qrels, metrics);
    LimitEvalRow row{name, {}, note, seconds};
    for (size_t i = 0; i < o.ks.size(); ++i) row.recall[o.ks[i]] = ev.mean.at(metrics[i]);
    if (!o.quiet) {
      std::string shown;
      for (const auto& [k, r] : row.recall) shown += fmt::format("  R@{} {:.3f}", k, r);
      fmt::print(stderr, "  {:<28}{}  ({:.1f} s)\n", name, shown, seconds);
    }
    rows.push_back(std::move(row));
  };

  if (o.bm25) {
    const auto started = std::chrono::steady_clock::now();
    const auto index_dir = std::filesystem::temp_directory_path() / fmt::format("garden-limit-bm25-{}", ::getpid());
    retrieval::build_bm25_index(dir, index_dir, retrieval::Bm25Options{});
    retrieval::Run run;
    {
      const retrieval::Bm25Index index(index_dir);
      run = index.search_all(c.queries, max_k);
    }
    std::filesystem::remove_all(index_dir);
    add_row("BM25", run, "k1 0.9, b 0.4, no stemming", seconds_since(started));
  }

  if (!o.free_dims.empty()) {
    std::map<std::string, int64_t> doc_index;
    for (size_t i = 0; i < c.corpus.size(); ++i) doc_index[c.corpus[i].id] = static_cast<int64_t>(i);
    std::vector<int64_t> flat;
    for (const auto& q : c.queries) {
      std::vector<int64_t> relevant;
      const auto judged = c.qrels.find(q.id);
      if (judged != c.qrels.end())
        for (const auto& [doc, grade] : judged->second)
          if (grade > 0 && doc_index.count(doc)) relevant.push_back(doc_index.at(doc));
      if (relevant.size() != 2)
        throw Error(fmt::format("free embeddings need exactly 2 relevant documents per query; query '{}' has {}", q.id,
                                relevant.size()));
      flat.insert(flat.end(), relevant.begin(), relevant.end());
    }
    const auto positives = torch::tensor(flat, torch::kLong).view({-1, 2});
    for (int64_t d : o.free_dims) {
      limit::FreeEmbeddingOptions fo = o.free;
      fo.dims = d;
      const auto r = limit::optimise_free_embeddings(static_cast<int64_t>(c.corpus.size()), positives, fo);
      add_row(fmt::format("free embeddings d={}", d), dense_run(c, r.queries, r.docs, max_k),
              fmt::format("optimised on the test qrels: {} after {} iterations, best top-2 accuracy {:.4f}",
                          r.success ? "solved" : r.stopped_by, r.iterations, r.best_accuracy),
              r.seconds);
    }
  }

  for (const auto& encoder_dir : o.encoders) {
    const auto started = std::chrono::steady_clock::now();
    retrieval::EmbeddingModel encoder(encoder_dir);
    const auto run = retrieval::exact_run_with_model(encoder, c, "", max_k, 64);
    add_row(fmt::format("encoder {}", encoder_dir.string()), run, "garden embedding model, exact cosine search",
            seconds_since(started));
  }

  if (o.hashed_dims > 0) {
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::string> doc_texts, query_texts;
    for (const auto& d : c.corpus) doc_texts.push_back(retrieval::document_text(d));
    for (const auto& q : c.queries) query_texts.push_back(q.text);
    add_row(fmt::format("hashed bag of words d={}", o.hashed_dims),
            dense_run(c, hashed_bag_of_words(query_texts, o.hashed_dims), hashed_bag_of_words(doc_texts, o.hashed_dims), max_k),
            "untrained: signed feature hashing of the tokens, cosine", seconds_since(started));
  }
  return rows;
}

}  // namespace garden::limit
