// Training pairs for embedders that use no test labels (spec llm2vec.md / nv-embed.md):
// pseudo-queries from BEIR collections, the title as the query and the body as the positive
// (with a leading copy of the title removed, as Cranfield-style corpora repeat it).
#pragma once

#include <string>
#include <vector>

#include "garden/retrieval/collection.h"

namespace garden::retrieval {

struct TextPair {
  std::string query, positive, doc_id;
};

// Documents whose title has at least `min_title_words` words and whose remaining body has
// at least `min_body_words`; in corpus order.
std::vector<TextPair> title_body_pairs(const Collection& collection, size_t min_title_words = 3, size_t min_body_words = 8);

}  // namespace garden::retrieval
