// Training pairs and labelled texts: the records embedder training reads (spec llm2vec.md,
// nv-embed.md), their JSONL files, and the pairs built from text resources (WordNet, STS,
// labelled examples).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "garden/text/prepare.h"

namespace garden::text {

struct TextPair {
  std::string query, positive, doc_id;
  std::vector<std::string> negatives;  // hard negatives, best first (may be empty)
};

// WordNet definition -> lemma pairs: the gloss is the query, "lemma, lemma, ..." the
// positive (one per synset, in the order given).
std::vector<TextPair> wordnet_definition_pairs(const std::vector<text::WordNetSynset>& synsets);

// NV-Embed's non-retrieval tasks as triples. STS: each pair scored >= min_score gives (a -> b)
// and (b -> a); doc_id is the positive sentence's position in `sentences` (the unique
// sentences, in first-seen order), so negatives can be mined over them.
struct StsTriples {
  std::vector<TextPair> pairs;
  std::vector<std::string> sentences;
};
StsTriples sts_pairs(const std::vector<std::pair<std::string, std::string>>& texts, const std::vector<double>& scores,
                     double min_score = 4.0);

// Example-based classification / clustering (NV-Embed-v2): each example is a query whose
// positive is another example of its class and whose `negatives` are examples of other
// classes, drawn with `seed`. Classes with one example give no pair.
std::vector<TextPair> example_pairs(const std::vector<std::string>& texts, const std::vector<int64_t>& labels, int64_t negatives,
                                    uint64_t seed);

// Pairs files are JSONL, one {"query": ..., "positive": ..., "negatives": [...]} a line
// ("negatives" and "id" optional). The reader is strict: a malformed line, a missing or
// empty query/positive, or a non-string negative is an error naming the file and line.
std::vector<TextPair> read_training_pairs(const std::filesystem::path& path);

// Labelled texts for classification heads: JSONL {"text": ..., "label": ...}, the label a
// string or an integer (kept as its decimal text). Strict like the pairs reader.
struct LabelledText {
  std::string text, label;
};
std::vector<LabelledText> read_labelled_texts(const std::filesystem::path& path);
void write_training_pairs(const std::filesystem::path& path, const std::vector<TextPair>& pairs);

}  // namespace garden::text
