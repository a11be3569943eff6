// The training stream of a DSI model (dsi.md, "Method"): indexing examples (document text ->
// its docid) for every document, and retrieval examples (training query -> its document's
// docid), mixed at ratio r = indexing / retrieval examples.
//   multitask       every batch mixes both, each example indexing with probability r / (r + 1)
//   sequential      indexing only for the first half of the steps, then retrieval only (the
//                   paper's ablation: clearly worse than multitask)
//   index-only      indexing examples only (zero-shot DSI)
//   retrieval-only  retrieval examples only (no indexing: indexed-only documents are never
//                   seen)
// A document is represented (dsi.md, "Document representation") by its first L tokens
// (direct, the paper's choice), by its distinct words without stop words, first L tokens
// (set), or by a random contiguous window of L tokens drawn per example (chunk).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/text/tokenizer.h"

namespace garden::dsi {

enum class StreamMode { multitask, sequential, index_only, retrieval_only };
StreamMode parse_stream_mode(const std::string& name);
std::string to_string(StreamMode mode);

enum class DocRepresentation { direct, set, chunk };
DocRepresentation parse_doc_representation(const std::string& name);
std::string to_string(DocRepresentation representation);

struct StreamOptions {
  StreamMode mode = StreamMode::multitask;
  double ratio = 8;  // r; dsi.md's core comparison uses 8 (the paper's best, at NQ scale, 32)
  DocRepresentation representation = DocRepresentation::direct;
  int64_t doc_tokens = 24;    // L; dsi.md: 24 for synth-entities (the paper: 32)
  int64_t query_tokens = 32;  // queries are cut here
  void validate() const;
  Json to_json() const;
};

// The set representation's text: lower-cased words in first-seen order, each once, without
// Lucene's English stop words.
std::string set_representation(const std::string& text);

struct StreamExample {
  bool indexing = false;
  int64_t doc = 0;             // index into the documents (the target docid's owner)
  std::vector<int64_t> input;  // text tokens of the document or query, already cut
};

class TrainingStream {
 public:
  // `documents`: every document's text; `queries`: training queries with their documents'
  // indices. The tokenizer must outlive the stream.
  TrainingStream(const text::Tokenizer& tokenizer, const std::vector<std::string>& documents,
                 const std::vector<std::pair<std::string, int64_t>>& queries, const StreamOptions& options, uint64_t seed);
  // The examples of micro-batch `index` (a pure function of it and the seed), for optimizer
  // step `step` of `steps` (sequential mode switches at half).
  std::vector<StreamExample> batch(int64_t index, int64_t batch_size, int64_t step, int64_t steps) const;
  // The indexing input of document `doc` as the model sees it when asked to recall its docid
  // (the direct or set representation; for chunk, the first window).
  const std::vector<int64_t>& indexing_input(int64_t doc) const { return doc_inputs_[static_cast<size_t>(doc)]; }
  int64_t documents() const { return static_cast<int64_t>(doc_inputs_.size()); }
  int64_t queries() const { return static_cast<int64_t>(query_inputs_.size()); }

 private:
  StreamOptions options_;
  uint64_t seed_;
  std::vector<std::vector<int64_t>> doc_inputs_;   // the representation, cut to L (chunk: the whole text)
  std::vector<std::vector<int64_t>> doc_tokens_;   // every token of each document (chunk windows)
  std::vector<std::vector<int64_t>> query_inputs_;
  std::vector<int64_t> query_docs_;
};

}  // namespace garden::dsi
