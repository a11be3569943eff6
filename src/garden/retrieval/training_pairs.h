// Training pairs for embedders that use no test labels (spec llm2vec.md / nv-embed.md):
// pseudo-queries from BEIR collections, the title as the query and the body as the positive
// (with a leading copy of the title removed, as Cranfield-style corpora repeat it).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "garden/retrieval/collection.h"
#include "garden/text/prepare.h"

namespace garden::retrieval {

struct TextPair {
  std::string query, positive, doc_id;
  std::vector<std::string> negatives;  // hard negatives, best first (may be empty)
};

// Documents whose title has at least `min_title_words` words and whose remaining body has
// at least `min_body_words`; in corpus order.
std::vector<TextPair> title_body_pairs(const Collection& collection, size_t min_title_words = 3, size_t min_body_words = 8);

// WordNet definition -> lemma pairs: the gloss is the query, "lemma, lemma, ..." the
// positive (one per synset, in the order given).
std::vector<TextPair> wordnet_definition_pairs(const std::vector<text::WordNetSynset>& synsets);

// Fills each pair's negatives with BM25's top `k` documents for its query other than the
// pair's own document (doc_id), in rank order, written like the positives (bodies without
// titles): hard negatives as ANCE/NV-Embed mine them, with a lexical retriever. `index_dir` is where the collection's BM25 index is (built
// there when absent).
void add_bm25_negatives(std::vector<TextPair>& pairs, const std::filesystem::path& collection_dir,
                        const std::filesystem::path& index_dir, int64_t k);

// Pairs files are JSONL, one {"query": ..., "positive": ..., "negatives": [...]} a line
// ("negatives" and "id" optional). The reader is strict: a malformed line, a missing or
// empty query/positive, or a non-string negative is an error naming the file and line.
std::vector<TextPair> read_training_pairs(const std::filesystem::path& path);
void write_training_pairs(const std::filesystem::path& path, const std::vector<TextPair>& pairs);

}  // namespace garden::retrieval
