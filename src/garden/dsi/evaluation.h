// DSI's evaluation harness (dsi.md, "Evaluation"): a BEIR collection with training and test
// judgements, Hits@1 and Hits@10 split into test queries whose document had training queries
// ("seen in retrieval training") and those whose document was only indexed, the share of
// decoded docids that are invalid, memorisation (indexing Hits@1), and the two references in
// the same harness: BM25 and a dual encoder trained on the same query-document pairs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/dsi/docids.h"
#include "garden/dsi/model.h"
#include "garden/model/embedder.h"
#include "garden/train/train_config.h"

namespace garden::dsi {

struct TestQuery {
  std::string id, text;
  std::set<int64_t> relevant;  // document indices
  bool seen = false;           // a relevant document had training queries
};

// A collection as DSI reads it: qrels/train.tsv gives the training queries (retrieval
// examples), qrels/<split>.tsv the test queries.
struct DsiData {
  std::vector<std::string> doc_ids, documents;                // corpus order; text = title + text
  std::vector<std::pair<std::string, int64_t>> train_queries;  // (text, document index)
  std::vector<TestQuery> test;
};
DsiData read_dsi_data(const std::filesystem::path& collection, const std::string& split = "test");

// The docid map's documents must be the collection's, in the same order.
void check_docids_match(const DocidMap& docids, const DsiData& data, const std::string& where);

// Ranked document indices per query, best first; -1 marks an invalid docid.
using Ranking = std::vector<int64_t>;

struct HitsRow {
  int64_t queries = 0;
  double hits1 = 0, hits10 = 0;  // shares in [0, 1]
  Json to_json() const;
};
struct DsiScores {
  HitsRow all, seen, indexed_only;
  double invalid_share = 0;  // invalid entries among all returned docids
  Json to_json() const;
};
// Hits@k: the share of queries with a relevant document among their first k entries.
double hits_at(const std::vector<Ranking>& ranked, const std::vector<TestQuery>& queries, int64_t k);
DsiScores score_rankings(const std::vector<Ranking>& ranked, const std::vector<TestQuery>& queries);

// The model's rankings of the test queries.
std::vector<Ranking> dsi_rankings(DsiModel& model, const std::vector<TestQuery>& queries, const SearchOptions& options);
// Memorisation: the share of documents whose indexing input decodes to their own docid first
// (constrained beam search).
double indexing_hits1(DsiModel& model, const DsiData& data, int64_t beam);

// BM25 (retrieval/bm25.h, garden's defaults) over the collection folder.
std::vector<Ranking> bm25_rankings(const std::filesystem::path& collection, const DsiData& data, int64_t k,
                                   const std::filesystem::path& scratch);

// A dual encoder of the DSI model's size (same tokenizer, d_model, layers, heads, FFN; mean
// pooling, bidirectional) trained from random weights on the training (query, document) pairs
// with in-batch negatives at temperature 0.05 (dsi.md), then exact cosine search.
struct DualEncoderJob {
  DsiModelOptions model;
  train::TrainConfig train;
  int64_t max_tokens = 48;
  uint64_t seed = 0;
};
// Random initial weights from libtorch's global generator (seed it first).
model::Embedder new_dual_encoder(int64_t vocab, const DualEncoderJob& job);
// Trains `embedder` in run folder `out`, then ranks the test queries' top k documents.
std::vector<Ranking> dual_encoder_rankings(model::Embedder& embedder, const std::string& tokenizer_spec, const DsiData& data,
                                           const DualEncoderJob& job, int64_t k, const std::filesystem::path& out, bool quiet);

// Trains the text tokenizer of a DSI model (SentencePiece BPE, `vocab` pieces) on the
// documents and the training queries only, written to `out`.
void train_dsi_tokenizer(const DsiData& data, int64_t vocab, const std::filesystem::path& out);

}  // namespace garden::dsi
