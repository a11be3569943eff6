#include "garden/retrieval/training_pairs.h"

#include <fmt/core.h>

#include <cctype>
#include <cmath>
#include <map>
#include <random>
#include <sstream>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/retrieval/bm25.h"

namespace garden::retrieval {

namespace {

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

namespace {

// The document's body words with a leading copy of the title dropped (compared word by
// word, ignoring case).
std::vector<std::string> body_words(const Document& doc, const std::vector<std::string>& title) {
  auto body = words_of(doc.text);
  bool repeats = !title.empty() && body.size() >= title.size();
  for (size_t i = 0; repeats && i < title.size(); ++i) repeats = lower(body[i]) == lower(title[i]);
  if (repeats) body.erase(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(title.size()));
  return body;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out.append(out.empty() ? "" : " ").append(w);
  return out;
}

}  // namespace

std::vector<text::TextPair> title_body_pairs(const Collection& collection, size_t min_title_words, size_t min_body_words) {
  std::vector<text::TextPair> pairs;
  for (const Document& doc : collection.corpus) {
    const auto title = words_of(doc.title);
    if (title.size() < min_title_words) continue;
    const auto body = body_words(doc, title);
    if (body.size() < min_body_words) continue;
    pairs.push_back({joined(title), joined(body), doc.id, {}});
  }
  return pairs;
}

std::vector<text::TextPair> lead_sentence_pairs(const Collection& collection, size_t max_query_words, size_t min_body_words) {
  std::vector<text::TextPair> pairs;
  for (const Document& doc : collection.corpus) {
    const auto words = words_of(doc.text);
    size_t cut = std::min(max_query_words, words.size());
    for (size_t i = 0; i < cut; ++i)
      if (words[i] == "." || (words[i].size() > 1 && words[i].back() == '.')) {
        cut = words[i] == "." ? i : i + 1;  // a detached full stop (MED) is dropped with its sentence
        break;
      }
    const size_t body_start = cut < words.size() && words[cut] == "." ? cut + 1 : cut;
    if (cut < 3 || words.size() - body_start < min_body_words) continue;
    pairs.push_back({joined({words.begin(), words.begin() + static_cast<std::ptrdiff_t>(cut)}),
                     joined({words.begin() + static_cast<std::ptrdiff_t>(body_start), words.end()}), doc.id, {}});
  }
  return pairs;
}

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

std::vector<std::string> pick_negatives(const std::vector<ScoredCandidate>& ranked, const std::string& own_doc_id, double positive_score,
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
                            const MiningTeacher& teacher, const NegativeRule& rule, int64_t k, int64_t depth) {
  if (k < 1) usage_error(fmt::format("negatives per pair must be at least 1, not {}", k));
  if (depth < k + 1) usage_error(fmt::format("the candidate depth ({}) must exceed the negatives asked ({})", depth, k));
  std::map<std::string, const Document*> by_id;
  for (const auto& doc : collection.corpus) by_id[doc.id] = &doc;
  for (const auto& pair : pairs)
    if (!by_id.count(pair.doc_id))
      throw Error(fmt::format("{}: the pair '{}' names document '{}', which is not in the collection", collection_name,
                              pair.query.substr(0, 60), pair.doc_id));
  MiningReport report;
  for (size_t i = 0; i < pairs.size(); ++i) {
    auto& pair = pairs[i];
    const double positive = rule.kind == NegativeRule::Kind::naive_topk ? 0 : teacher.positive_score(i);
    pair.negatives.clear();
    for (const auto& id : pick_negatives(teacher.rank(i, depth), pair.doc_id, positive, rule, k, &report.dropped)) {
      const Document& doc = *by_id.at(id);
      pair.negatives.push_back(joined(body_words(doc, words_of(doc.title))));
    }
    ++report.pairs;
    report.short_pairs += static_cast<int64_t>(pair.negatives.size()) < k ? 1 : 0;
  }
  return report;
}

MiningReport mine_bm25_negatives(std::vector<text::TextPair>& pairs, const std::filesystem::path& collection_dir,
                                 const std::filesystem::path& index_dir, const NegativeRule& rule, int64_t k, int64_t depth) {
  if (!std::filesystem::exists(index_dir / "manifest.json")) build_bm25_index(collection_dir, index_dir, Bm25Options{});
  const Bm25Index index(index_dir);
  MiningTeacher teacher;
  teacher.rank = [&](size_t i, int64_t n) {
    std::vector<ScoredCandidate> ranked;
    for (const auto& hit : index.search(pairs[i].query, n)) ranked.push_back({hit.doc_id, hit.score});
    return ranked;
  };
  // A document that does not match the query at all scores 0: then nothing scores below it.
  teacher.positive_score = [&](size_t i) { return index.score(pairs[i].query, pairs[i].doc_id).value_or(0.0); };
  return mine_negatives(pairs, read_beir_collection(collection_dir), collection_dir.string(), teacher, rule, k, depth);
}

}  // namespace garden::retrieval
