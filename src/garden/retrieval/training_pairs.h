// Training pairs from retrieval collections and their hard negatives. Pairs without test
// labels (spec llm2vec.md / nv-embed.md): pseudo-queries from BEIR collections, the title as
// the query and the body as the positive (with a leading copy of the title removed, as
// Cranfield-style corpora repeat it). Mining: a teacher ranks candidates, a rule picks.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "garden/retrieval/collection.h"
#include "garden/text/pairs.h"

namespace garden::retrieval {

// Documents whose title has at least `min_title_words` words and whose remaining body has
// at least `min_body_words`; in corpus order.
std::vector<text::TextPair> title_body_pairs(const Collection& collection, size_t min_title_words = 3, size_t min_body_words = 8);

// For collections without titles (MED, NPL): the lead sentence as the query (up to the first
// word ending in a full stop, at most `max_query_words` words; at least 3) and the rest of
// the text as the positive (at least `min_body_words` words).
std::vector<text::TextPair> lead_sentence_pairs(const Collection& collection, size_t max_query_words = 12, size_t min_body_words = 8);

// Hard-negative mining (NV-Embed, after NV-Retriever, arXiv:2407.15831): a teacher ranks
// candidates for each query and a rule picks the negatives among them, never the pair's own
// (labelled) document:
//   naive-topk    - the teacher's top k;
//   pos-perc:p    - the top k whose score is below p x the positive's score (TopK-PercPos;
//                   NV-Embed uses 0.95), dropping likely unlabelled positives;
//   pos-abs:x     - the top k whose score is below the positive's score minus x.
struct NegativeRule {
  enum class Kind { naive_topk, pos_perc, pos_abs } kind = Kind::pos_perc;
  double value = 0.95;
  static NegativeRule parse(const std::string& text);  // usage error naming the text otherwise
  std::string to_string() const;
  bool keeps(double candidate_score, double positive_score) const;
};

struct ScoredCandidate {
  std::string doc_id;
  double score;
};

// The first k candidates (ranked best first) that are not the pair's document and that the
// rule keeps; fewer when the list runs out. `dropped` (optional) counts the candidates the
// rule skipped on the way.
std::vector<std::string> pick_negatives(const std::vector<ScoredCandidate>& ranked, const std::string& own_doc_id, double positive_score,
                                        const NegativeRule& rule, int64_t k, int64_t* dropped = nullptr);

struct MiningReport {
  int64_t pairs = 0;
  int64_t short_pairs = 0;  // pairs that got fewer than k negatives
  int64_t dropped = 0;      // candidates the rule skipped before k were found (likely positives)
};

// A teacher for mining: for pair i, its top `depth` documents (best first) and the score of
// the pair's own document.
struct MiningTeacher {
  std::function<std::vector<ScoredCandidate>(size_t pair, int64_t depth)> rank;
  std::function<double(size_t pair)> positive_score;
};

// Replaces each pair's negatives by the rule's picks among the teacher's candidates, written
// as bodies without titles (like the title-body positives). Every pair needs a doc_id in
// `collection` (`collection_name` names it in errors).
MiningReport mine_negatives(std::vector<text::TextPair>& pairs, const Collection& collection, const std::string& collection_name,
                            const MiningTeacher& teacher, const NegativeRule& rule, int64_t k, int64_t depth = 100);

// BM25 over the collection (its index at `index_dir`, built there when absent) as the
// teacher: candidates are its top `depth` documents for the query, the positive's score is
// BM25 of the pair's own document (0 when it does not match the query).
MiningReport mine_bm25_negatives(std::vector<text::TextPair>& pairs, const std::filesystem::path& collection_dir,
                                 const std::filesystem::path& index_dir, const NegativeRule& rule, int64_t k, int64_t depth = 100);

}  // namespace garden::retrieval
