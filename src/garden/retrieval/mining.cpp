#include "garden/retrieval/mining.h"

#include <fmt/core.h>

#include <cmath>
#include <map>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/retrieval/bm25.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/manifest.h"
#include "garden/retrieval/training_pairs.h"

namespace garden::retrieval {

namespace {

// Whether `index_dir` holds an index built from this collection (and these extra
// fingerprint fields, e.g. a model's): then mining reuses it.
bool holds_index_of(const std::filesystem::path& index_dir, const Json& fingerprint) {
  const auto manifest_file = index_dir / "manifest.json";
  if (!std::filesystem::exists(manifest_file)) return false;
  const Json manifest = read_json_file(manifest_file);
  for (const auto& [key, value] : fingerprint.items())
    if (!manifest.contains(key) || manifest.at(key) != value) return false;
  return true;
}

// Index folders mining builds belong to the same owner as `garden index build`'s, so either
// may replace the other's; anything else in the folder is refused.
const char* const kIndexOwner = "garden index build";

}  // namespace

NegativeRule NegativeRule::parse(const std::string& text) {
  NegativeRule rule;
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  if (kind == "naive-topk" && colon == std::string::npos) {
    rule.kind = Kind::naive_topk;
    rule.value = 0;
    return rule;
  }
  if ((kind == "pos-perc" || kind == "pos-abs") && colon != std::string::npos) {
    rule.kind = kind == "pos-perc" ? Kind::pos_perc : Kind::pos_abs;
    try {
      size_t used = 0;
      rule.value = std::stod(text.substr(colon + 1), &used);
      if (used == text.size() - colon - 1 && std::isfinite(rule.value) && rule.value >= 0) return rule;
    } catch (const std::exception&) {
    }
  }
  usage_error("--margin must be naive-topk, pos-perc:P or pos-abs:X (P, X >= 0), not '" + text + "'");
}

std::string NegativeRule::to_string() const {
  switch (kind) {
    case Kind::naive_topk: return "naive-topk";
    case Kind::pos_perc: return fmt::format("pos-perc:{}", value);
    case Kind::pos_abs: return fmt::format("pos-abs:{}", value);
  }
  return "";
}

bool NegativeRule::keeps(double candidate_score, double positive_score) const {
  switch (kind) {
    case Kind::naive_topk: return true;
    case Kind::pos_perc: return candidate_score < value * positive_score;
    case Kind::pos_abs: return candidate_score < positive_score - value;
  }
  return false;
}

std::vector<std::string> pick_negatives(const std::vector<ScoredDoc>& ranked, const std::string& own_doc_id, double positive_score,
                                        const NegativeRule& rule, int64_t k, int64_t* dropped) {
  std::vector<std::string> out;
  for (const auto& c : ranked) {
    if (static_cast<int64_t>(out.size()) == k) break;
    if (c.doc_id == own_doc_id) continue;
    if (!rule.keeps(c.score, positive_score)) {
      if (dropped) ++*dropped;
      continue;
    }
    out.push_back(c.doc_id);
  }
  return out;
}

MiningReport mine_negatives(std::vector<text::TextPair>& pairs, const Collection& collection, const std::string& collection_name,
                            Retriever& teacher, const NegativeRule& rule, int64_t k, int64_t depth) {
  if (k < 1) usage_error(fmt::format("negatives per pair must be at least 1, not {}", k));
  if (depth < k + 1) usage_error(fmt::format("the candidate depth ({}) must exceed the negatives asked ({})", depth, k));
  std::map<std::string, const Document*> by_id;
  for (const auto& doc : collection.corpus) by_id[doc.id] = &doc;
  for (const auto& pair : pairs)
    if (!by_id.count(pair.doc_id))
      throw Error(fmt::format("{}: the pair '{}' names document '{}', which is not in the collection", collection_name,
                              pair.query.substr(0, 60), pair.doc_id));
  // Pairs may share a query text; their position is the query id.
  std::vector<Query> queries;
  std::vector<std::string> positives;
  for (size_t i = 0; i < pairs.size(); ++i) {
    queries.push_back({std::to_string(i), pairs[i].query});
    positives.push_back(pairs[i].doc_id);
  }
  const Run ranked = pairs.empty() ? Run{} : teacher.search(queries, depth);
  std::vector<std::optional<double>> positive_scores(pairs.size());
  if (rule.kind != NegativeRule::Kind::naive_topk && !pairs.empty()) positive_scores = teacher.score_pairs(queries, positives);
  MiningReport report;
  for (size_t i = 0; i < pairs.size(); ++i) {
    auto& pair = pairs[i];
    const auto found = ranked.find(queries[i].id);
    const std::vector<ScoredDoc> candidates = found == ranked.end() ? std::vector<ScoredDoc>{} : found->second;
    pair.negatives.clear();
    for (const auto& id : pick_negatives(candidates, pair.doc_id, positive_scores[i].value_or(0.0), rule, k, &report.dropped))
      pair.negatives.push_back(body_without_title(*by_id.at(id)));
    ++report.pairs;
    report.short_pairs += static_cast<int64_t>(pair.negatives.size()) < k ? 1 : 0;
  }
  return report;
}

MiningReport mine_bm25_negatives(std::vector<text::TextPair>& pairs, const std::filesystem::path& collection_dir,
                                 const std::filesystem::path& index_dir, const NegativeRule& rule, int64_t k, int64_t depth) {
  Json fingerprint = corpus_fingerprint(collection_dir);
  fingerprint["kind"] = "bm25";
  if (!holds_index_of(index_dir, fingerprint)) {
    claim_output_dir(index_dir, kIndexOwner);
    build_bm25_index(collection_dir, index_dir, Bm25Options{});
  }
  const auto teacher = open_index(index_dir);
  return mine_negatives(pairs, read_beir_collection(collection_dir), collection_dir.string(), *teacher, rule, k, depth);
}

MiningReport mine_dense_negatives(std::vector<text::TextPair>& pairs, const std::filesystem::path& collection_dir,
                                  const std::filesystem::path& index_dir, EmbeddingModel& teacher, const NegativeRule& rule, int64_t k,
                                  int64_t depth) {
  const auto collection = read_beir_collection(collection_dir);
  Json fingerprint = model_fingerprint(teacher.path());
  fingerprint.update(corpus_fingerprint(collection_dir));
  fingerprint["kind"] = "flat";
  if (!holds_index_of(index_dir, fingerprint)) {
    claim_output_dir(index_dir, kIndexOwner);
    std::vector<std::string> ids, texts;
    for (const auto& doc : collection.corpus) {
      ids.push_back(doc.id);
      texts.push_back(document_text(doc));
    }
    build_dense_index(encode_with_model(teacher, texts, teacher.document_instruction(), 64, "documents"), ids, index_dir, DenseOptions{},
                      fingerprint);
  }
  SearchOptions options;
  options.model = &teacher;
  options.batch = 64;
  const auto retriever = open_index(index_dir, options);
  return mine_negatives(pairs, collection, collection_dir.string(), *retriever, rule, k, depth);
}

}  // namespace garden::retrieval
