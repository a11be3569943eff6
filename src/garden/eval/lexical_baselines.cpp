#include "garden/eval/lexical_baselines.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <unordered_map>

#include <fmt/core.h>

#include "garden/eval/ir_metrics.h"
#include "garden/retrieval/bm25.h"

namespace garden::eval {

namespace {

using TermCounts = std::map<std::string, int>;

TermCounts term_counts(const std::string& text) {
  TermCounts counts;
  std::string term;
  for (const char c : text + " ") {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      term.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!term.empty()) {
      ++counts[term];
      term.clear();
    }
  }
  return counts;
}

}  // namespace

std::vector<double> tfidf_cosines(const std::vector<StsPair>& pairs, bool use_idf) {
  // Document frequencies over every sentence of the pairs, as often as it occurs.
  std::unordered_map<std::string, double> df;
  double n = 0;
  for (const auto& p : pairs)
    for (const auto* s : {&p.first, &p.second}) {
      for (const auto& [term, count] : term_counts(*s)) df[term] += 1;
      n += 1;
    }
  const auto weights = [&](const std::string& s) {
    std::map<std::string, double> w;
    for (const auto& [term, count] : term_counts(s))
      w[term] = (1 + std::log(static_cast<double>(count))) * (use_idf ? std::log(n / df.at(term)) : 1.0);
    return w;
  };
  std::vector<double> cosines;
  for (const auto& p : pairs) {
    const auto a = weights(p.first), b = weights(p.second);
    double dot = 0, na = 0, nb = 0;
    for (const auto& [term, w] : a) {
      na += w * w;
      const auto it = b.find(term);
      if (it != b.end()) dot += w * it->second;
    }
    for (const auto& [term, w] : b) nb += w * w;
    cosines.push_back(na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0.0);
  }
  return cosines;
}

double tfidf_sts_spearman(const std::vector<StsPair>& pairs, bool use_idf) {
  std::vector<double> gold;
  for (const auto& p : pairs) gold.push_back(p.score);
  return 100 * spearman(tfidf_cosines(pairs, use_idf), gold);
}

retrieval::Run bm25_run(const retrieval::Collection& collection, int64_t k) {
  // Xapian indexes a collection folder: the collection is written to a private temporary one.
  static std::atomic<int> counter{0};
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("garden-lexical-{}-{}", ::getpid(), counter++);
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir};
  retrieval::write_beir_collection(collection, dir / "collection");
  retrieval::build_bm25_index(dir / "collection", dir / "bm25", retrieval::Bm25Options{});
  const retrieval::Bm25Index index(dir / "bm25");
  return index.search_all(collection.queries, k);
}

double bm25_ndcg10(const retrieval::Collection& collection) {
  return 100 * evaluate_run(bm25_run(collection, 10), collection.qrels, {"ndcg@10"}).mean.at("ndcg@10");
}

SuiteScores lexical_baselines(const std::vector<EmbeddingTask>& tasks) {
  SuiteScores out;
  double sum = 0;
  for (const auto& t : tasks) {
    if (t.kind == EmbeddingTask::Kind::sts && t.pairs) {
      // Spearman is undefined when every cosine is the same (no two sentences share a term):
      // such a set has no floor rather than a made-up one.
      const auto cosines = tfidf_cosines(*t.pairs);
      if (std::adjacent_find(cosines.begin(), cosines.end(), std::not_equal_to<>()) == cosines.end()) continue;
      out.scores.emplace_back(t.name, tfidf_sts_spearman(*t.pairs));
    } else if (t.kind == EmbeddingTask::Kind::retrieval && t.collection) {
      auto run = bm25_run(*t.collection, kSuiteRunDepth);
      out.scores.emplace_back(t.name, 100 * evaluate_run(run, t.collection->qrels, {"ndcg@10"}).mean.at("ndcg@10"));
      out.runs[t.name] = std::move(run);
    } else {
      continue;
    }
    sum += out.scores.back().second;
  }
  out.average = out.scores.empty() ? 0 : sum / static_cast<double>(out.scores.size());
  return out;
}

}  // namespace garden::eval
