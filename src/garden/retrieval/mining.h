// Hard-negative mining (NV-Embed, after NV-Retriever, arXiv:2407.15831): a teacher retriever
// ranks candidates for each pair's query and a rule picks the negatives among them, never the
// pair's own (labelled) document:
//   naive-topk    - the teacher's top k;
//   pos-perc:p    - the top k whose score is below p x the positive's score (TopK-PercPos;
//                   NV-Embed uses 0.95), dropping likely unlabelled positives;
//   pos-abs:x     - the top k whose score is below the positive's score minus x.
// The teacher is any retriever (retriever.h) that scores a given document: BM25 or a dense
// index built with an embedding model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "garden/retrieval/collection.h"
#include "garden/retrieval/model_vectors.h"
#include "garden/retrieval/retriever.h"
#include "garden/text/pairs.h"

namespace garden::retrieval {

struct NegativeRule {
  enum class Kind { naive_topk, pos_perc, pos_abs } kind = Kind::pos_perc;
  double value = 0.95;
  static NegativeRule parse(const std::string& text);  // usage error naming the text otherwise
  std::string to_string() const;
  bool keeps(double candidate_score, double positive_score) const;
};

// The first k candidates (ranked best first) that are not the pair's document and that the
// rule keeps; fewer when the list runs out. `dropped` (optional) counts the candidates the
// rule skipped on the way.
std::vector<std::string> pick_negatives(const std::vector<ScoredDoc>& ranked, const std::string& own_doc_id, double positive_score,
                                        const NegativeRule& rule, int64_t k, int64_t* dropped = nullptr);

struct MiningReport {
  int64_t pairs = 0;
  int64_t short_pairs = 0;  // pairs that got fewer than k negatives
  int64_t dropped = 0;      // candidates the rule skipped before k were found (likely positives)
};

// Replaces each pair's negatives by the rule's picks among the teacher's top `depth`
// documents for its query, written as bodies without titles (like the title-body
// positives). The positive's score is the teacher's score of the pair's own document (0 when
// it does not match the query: then nothing scores below it). Every pair needs a doc_id in
// `collection` (`collection_name` names it in errors).
MiningReport mine_negatives(std::vector<text::TextPair>& pairs, const Collection& collection, const std::string& collection_name,
                            Retriever& teacher, const NegativeRule& rule, int64_t k, int64_t depth = 100);

// The teacher's index of the collection in `index_dir`, built there unless it already holds
// one of this collection (and, for the dense teacher, of this model); then mine_negatives.
//   BM25: garden's default BM25 settings.
//   dense: a flat (exact) index of the documents embedded by `teacher`.
MiningReport mine_bm25_negatives(std::vector<text::TextPair>& pairs, const std::filesystem::path& collection_dir,
                                 const std::filesystem::path& index_dir, const NegativeRule& rule, int64_t k, int64_t depth = 100);
MiningReport mine_dense_negatives(std::vector<text::TextPair>& pairs, const std::filesystem::path& collection_dir,
                                  const std::filesystem::path& index_dir, EmbeddingModel& teacher, const NegativeRule& rule, int64_t k,
                                  int64_t depth = 100);

}  // namespace garden::retrieval
