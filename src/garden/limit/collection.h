// LIMIT-style collections (Weller et al., arXiv:2508.21038, construction steps 1-7): people
// who "like" attributes, queries "Who likes <attribute>?" with exactly k = 2 relevant
// people each, laid out by a qrel pattern. Attributes are single-word WordNet noun lemmas
// (Debian's wordnet-base), kept only when their English stem is unique, so that a query
// attribute is one BM25 token that no other attribute shares; names are seeded syllable
// names. Guarantee (checked by generate_limit_collection before it returns): every query
// attribute appears in exactly its relevant documents, and distractors hold none.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "garden/retrieval/collection.h"
#include "garden/text/prepare.h"

namespace garden::limit {

enum class QrelPattern { dense, random, cycle, disjoint };
QrelPattern parse_qrel_pattern(const std::string& name);
std::string to_string(QrelPattern pattern);

struct LimitDataOptions {
  QrelPattern pattern = QrelPattern::dense;
  int64_t queries = 1000;
  int64_t docs = 0;  // 0: only the relevant documents (LIMIT-small style); more adds distractors
  int64_t k = 2;
  int64_t attributes_per_doc = 45;  // relevant documents are topped up to this many
  uint64_t seed = 0;
  std::filesystem::path wordnet_dir = text::kWordnetDir;
};

// Documents the pattern needs: dense: the smallest n with C(n,2) >= queries; cycle and
// random: queries; disjoint: 2 x queries.
int64_t relevant_docs_needed(QrelPattern pattern, int64_t queries);
// The relevant pairs (document indices) of each query, as the pattern lays them out.
std::vector<std::pair<int64_t, int64_t>> qrel_pairs(QrelPattern pattern, int64_t queries, uint64_t seed);

std::vector<std::string> wordnet_single_word_nouns(const std::filesystem::path& wordnet_dir);

retrieval::Collection generate_limit_collection(const LimitDataOptions& options);

}  // namespace garden::limit
