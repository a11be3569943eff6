// Training pairs from retrieval collections and their hard negatives. Pairs without test
// labels (spec llm2vec.md / nv-embed.md): pseudo-queries from BEIR collections, the title as
// the query and the body as the positive (with a leading copy of the title removed, as
// Cranfield-style corpora repeat it), the lead sentence and the rest, or two independent
// crops of one document. Their hard negatives come from mining.h.
#pragma once

#include <cstdint>
#include <filesystem>
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

// Contriever's independent cropping (Izacard et al. 2022): two spans of the same document,
// drawn independently (they may overlap), as query and positive. Each span covers a share of
// the document's words drawn uniformly from [min_ratio, max_ratio], clamped to
// [min_words, max_words]; documents shorter than 2 x min_words are skipped. Seeded.
struct CropOptions {
  int64_t per_document = 1;
  double min_ratio = 0.1, max_ratio = 0.5;  // Contriever's
  size_t min_words = 5, max_words = 64;
  uint64_t seed = 0;
};
std::vector<text::TextPair> independent_crop_pairs(const Collection& collection, const CropOptions& options);

// The inverse cloze task (Lee et al. 2019, ORQA): a sentence of a document as the query and
// the words around it as the positive, the sentence itself removed from that context except in
// a `keep_sentence` share of pairs (ORQA keeps it in 10%, so that lexical overlap still counts).
// Sentences end at a word ending in '.', '?' or '!'; a query sentence has min_query_words to
// max_query_words words; the context is up to context_words words, as many before the sentence
// as after where the document allows. Documents of fewer than two sentences are skipped. Seeded.
struct IctOptions {
  int64_t per_document = 1;
  double keep_sentence = 0.1;
  size_t min_query_words = 4, max_query_words = 40, context_words = 96, min_context_words = 8;
  uint64_t seed = 0;
};
std::vector<text::TextPair> inverse_cloze_pairs(const Collection& collection, const IctOptions& options);

// The document's text with a leading copy of its title removed: the positive of a title-body
// pair, and how mined negatives are written.
std::string body_without_title(const Document& doc);

}  // namespace garden::retrieval
