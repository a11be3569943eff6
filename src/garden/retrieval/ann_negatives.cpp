#include "garden/retrieval/ann_negatives.h"

#include <faiss/IndexFlat.h>
#include <fmt/core.h>

#include <algorithm>
#include <random>
#include <unordered_set>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"

namespace garden::retrieval {

std::vector<int64_t> sample_negatives(const std::vector<int64_t>& candidates, const std::vector<int64_t>& positives, int64_t per_query,
                                      uint64_t seed) {
  std::vector<int64_t> shuffled = candidates;
  std::mt19937_64 rng(seed);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  std::unordered_set<int64_t> seen(positives.begin(), positives.end());
  std::vector<int64_t> kept;
  for (int64_t id : shuffled) {
    if (static_cast<int64_t>(kept.size()) >= per_query) break;
    if (seen.insert(id).second) kept.push_back(id);
  }
  return kept;
}

uint64_t negative_draw_seed(uint64_t seed, int64_t source_step, int64_t query) {
  // splitmix64 over the three parts: neighbouring queries and steps get unrelated streams.
  uint64_t x = seed ^ (static_cast<uint64_t>(source_step) * 0x9E3779B97F4A7C15ULL) ^ (static_cast<uint64_t>(query) * 0xD1B54A32D192ED03ULL);
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::vector<std::vector<int64_t>> flat_top_k(const Matrix& docs, const Matrix& queries, int64_t k) {
  if (docs.cols != queries.cols)
    throw Error(fmt::format("flat search: documents have {} dimensions, queries {}", docs.cols, queries.cols));
  if (k < 1) throw Error("flat search: k must be at least 1");
  k = std::min(k, docs.rows);
  // Candidates beyond k too: near-ties at the cut are settled by the re-scoring below.
  const int64_t fetched = std::min(docs.rows, 2 * k + 8);
  faiss::IndexFlatIP index(static_cast<int>(docs.cols));
  index.add(docs.rows, docs.data.data());
  std::vector<float> scores(static_cast<size_t>(queries.rows * fetched));
  std::vector<faiss::Index::idx_t> ids(static_cast<size_t>(queries.rows * fetched));
  if (queries.rows > 0) index.search(queries.rows, queries.data.data(), fetched, scores.data(), ids.data());
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(queries.rows));
  for (int64_t q = 0; q < queries.rows; ++q) {
    // FAISS's scores come from blocked float products, so two copies of one document may score
    // a rounding error apart; the candidates are re-scored in double, as exact_search does, and
    // equal scores put the lower row first.
    std::vector<std::pair<float, int64_t>> hits;
    for (int64_t i = 0; i < fetched; ++i) {
      const auto row = ids[static_cast<size_t>(q * fetched + i)];
      if (row < 0) continue;
      double dot = 0;
      for (int64_t j = 0; j < docs.cols; ++j) dot += static_cast<double>(docs.row(row)[j]) * queries.row(q)[j];
      hits.emplace_back(static_cast<float>(dot), static_cast<int64_t>(row));
    }
    std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    hits.resize(std::min<size_t>(hits.size(), static_cast<size_t>(k)));
    for (const auto& hit : hits) out[static_cast<size_t>(q)].push_back(hit.second);
  }
  return out;
}

NegativeTable sample_table(const std::string& source, int64_t source_step, const std::vector<std::vector<int64_t>>& ranked,
                           const std::vector<std::vector<int64_t>>& positives, int64_t depth, int64_t per_query, int64_t corpus_size,
                           uint64_t seed) {
  if (ranked.size() != positives.size())
    throw Error(fmt::format("negative table: {} ranked lists for {} queries", ranked.size(), positives.size()));
  NegativeTable table{source, source_step, depth, per_query, corpus_size, {}};
  table.negatives.reserve(ranked.size());
  for (size_t q = 0; q < ranked.size(); ++q) {
    const auto& list = ranked[q];
    const std::vector<int64_t> top(list.begin(), list.begin() + std::min<std::ptrdiff_t>(depth, static_cast<std::ptrdiff_t>(list.size())));
    table.negatives.push_back(sample_negatives(top, positives[q], per_query, negative_draw_seed(seed, source_step, static_cast<int64_t>(q))));
  }
  return table;
}

void write_negative_table(const std::filesystem::path& path, const NegativeTable& table) {
  std::string text = Json{{"source", table.source},
                          {"source_step", table.source_step},
                          {"depth", table.depth},
                          {"per_query", table.per_query},
                          {"corpus_size", table.corpus_size},
                          {"queries", table.negatives.size()}}
                         .dump() +
                     "\n";
  for (size_t q = 0; q < table.negatives.size(); ++q) text += Json{{"query", q}, {"negatives", table.negatives[q]}}.dump() + "\n";
  write_file_atomic(path, text);
}

NegativeTable read_negative_table(const std::filesystem::path& path) {
  NegativeTable table;
  int64_t queries = -1;
  for_each_jsonl_object(path, [&](const Json& line, int64_t number) {
    const std::string where = fmt::format("{}:{}", path.string(), number);
    if (queries < 0) {
      refuse_unknown_keys(line, Json{"source", "source_step", "depth", "per_query", "corpus_size", "queries"}, where);
      read_field(line, "source", table.source, where);
      read_field(line, "source_step", table.source_step, where);
      read_field(line, "depth", table.depth, where);
      read_field(line, "per_query", table.per_query, where);
      read_field(line, "corpus_size", table.corpus_size, where);
      read_field(line, "queries", queries, where);
      if (queries < 0 || table.corpus_size < 1) throw Error(where + ": not a negatives file header (queries, corpus_size)");
      return;
    }
    int64_t query = -1;
    std::vector<int64_t> negatives;
    read_field(line, "query", query, where);
    read_field(line, "negatives", negatives, where);
    if (query != static_cast<int64_t>(table.negatives.size()))
      throw Error(fmt::format("{}: expected query {}, found {}", where, table.negatives.size(), query));
    for (int64_t row : negatives)
      if (row < 0 || row >= table.corpus_size) throw Error(fmt::format("{}: document row {} outside the corpus of {}", where, row, table.corpus_size));
    table.negatives.push_back(std::move(negatives));
  });
  if (queries < 0) throw Error(path.string() + ": empty negatives file");
  if (static_cast<int64_t>(table.negatives.size()) != queries)
    throw Error(fmt::format("{}: the header announces {} queries, the file has {} (truncated?)", path.string(), queries, table.negatives.size()));
  return table;
}

double negative_overlap(const std::vector<std::vector<int64_t>>& training_negatives,
                        const std::vector<std::vector<int64_t>>& top_non_relevant) {
  if (training_negatives.size() != top_non_relevant.size())
    throw Error(fmt::format("negative overlap: {} queries of training negatives, {} of top documents", training_negatives.size(),
                            top_non_relevant.size()));
  double sum = 0;
  int64_t counted = 0;
  for (size_t q = 0; q < training_negatives.size(); ++q) {
    if (training_negatives[q].empty()) continue;
    const std::unordered_set<int64_t> top(top_non_relevant[q].begin(), top_non_relevant[q].end());
    const auto shared = std::count_if(training_negatives[q].begin(), training_negatives[q].end(), [&](int64_t id) { return top.count(id) > 0; });
    sum += static_cast<double>(shared) / static_cast<double>(training_negatives[q].size());
    ++counted;
  }
  return counted > 0 ? sum / static_cast<double>(counted) : 0;
}

std::vector<std::vector<int64_t>> drop_positives(const std::vector<std::vector<int64_t>>& ranked,
                                                 const std::vector<std::vector<int64_t>>& positives, int64_t k) {
  if (ranked.size() != positives.size())
    throw Error(fmt::format("dropping positives: {} ranked lists for {} queries", ranked.size(), positives.size()));
  std::vector<std::vector<int64_t>> out(ranked.size());
  for (size_t q = 0; q < ranked.size(); ++q) {
    const std::unordered_set<int64_t> relevant(positives[q].begin(), positives[q].end());
    for (int64_t id : ranked[q]) {
      if (static_cast<int64_t>(out[q].size()) >= k) break;
      if (!relevant.count(id)) out[q].push_back(id);
    }
  }
  return out;
}

}  // namespace garden::retrieval
