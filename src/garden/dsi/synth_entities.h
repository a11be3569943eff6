// The `synth-entities` collection of the DSI reproduction (dsi.md, "Small-scale
// reproduction"): N documents, each describing one made-up entity,
//   "<Name> is a <sub> <category> from <region> known for <t1>, <t2> and <t3>",
// with 20 categories of 5 sub-categories, 30 regions and a trait list per category. Every
// category, sub-category, region and trait word has two synonyms; a query names two or three
// of its entity's fields, each in a form drawn from the word and its synonyms ("which <cat-syn>
// from <region> is known for <t2-syn>?"), so exact-term BM25 is not trivially perfect. Words
// are seeded syllables (text/syllables.h), so no other collection shares the vocabulary.
//
// Split (DSI's generalisation test): a share of the documents (80% by default) gets 3
// training queries each (qrels/train.tsv); the rest are indexed only. Test queries
// (qrels/test.tsv): one held-out query per indexed-only document, and one held-out
// paraphrase, never equal to a training query of its document, for as many documents with
// training queries. With no indexed-only share (ANCE's variant, ance.md), every document has
// training queries and one held-out paraphrase.
#pragma once

#include <cstdint>
#include <filesystem>

#include "garden/core/json.h"
#include "garden/retrieval/collection.h"

namespace garden::dsi {

struct SynthEntitiesOptions {
  int64_t documents = 1000;          // N in dsi.md
  double indexed_only_share = 0.2;   // 200 of 1000 in dsi.md; 0: none (ance.md)
  int64_t train_queries = 3;         // per document with training queries
  uint64_t seed = 0;
  void validate() const;
  Json to_json() const;
};

struct EntityCollection {
  retrieval::Collection collection;  // the corpus, every query, and the test judgements
  retrieval::Qrels train_qrels;      // the training queries' judgements
};

EntityCollection generate_synth_entities(const SynthEntitiesOptions& options);

// Writes the collection as a BEIR folder with qrels/train.tsv and qrels/test.tsv, atomically.
void write_entity_collection(const EntityCollection& entities, const std::filesystem::path& dir);

}  // namespace garden::dsi
