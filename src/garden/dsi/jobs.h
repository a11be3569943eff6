// The `garden dsi` commands as library calls (the CLI only parses and prints):
//   build-ids  a docid map for a collection (atomic | naive | semantic)
//   train      a DSI model on a collection with training queries
//   search     decode the test queries' docids and score them (Hits@1/10, seen vs indexed only)
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "garden/dsi/docids.h"
#include "garden/dsi/evaluation.h"
#include "garden/dsi/model.h"

namespace garden::dsi {

struct BuildIdsOptions {
  DocidScheme scheme = DocidScheme::semantic;
  SemanticOptions semantic;
  std::string embedder = "tfidf";  // tfidf (TF-IDF + SVD) or an embedding model folder
  int64_t dims = 64;               // SVD dimensions of the tfidf vectors
  uint64_t seed = 0;               // arbitrary assignments (atomic, naive) and k-means
};
DocidMap build_docids(const DsiData& data, const BuildIdsOptions& options);

struct TrainDsiRequest {
  std::filesystem::path collection, ids, out;
  std::string tokenizer;    // a SentencePiece model; empty: train one into <out>/tokenizer.model
  int64_t vocab = 2000;     // pieces of that tokenizer (dsi.md: 2k)
  DsiTrainJob job;
  bool resume = false, quiet = false;
};
struct TrainDsiOutcome {
  train::TrainResult result;
  std::filesystem::path model;  // the final checkpoint, usable as --model
  int64_t documents = 0, training_queries = 0;
  int64_t parameters = 0;
};
TrainDsiOutcome train_dsi_request(const TrainDsiRequest& request);

struct SearchDsiRequest {
  std::filesystem::path model, collection;
  std::string split = "test";
  SearchOptions search;
  std::filesystem::path run_out;  // a TREC run of the valid docids (optional)
  bool memorisation = false;      // also indexing Hits@1 over every document
};
struct SearchDsiOutcome {
  DsiScores scores;
  double indexing_hits1 = -1;  // when asked
  int64_t queries = 0;
  double seconds = 0;
};
SearchDsiOutcome search_dsi_request(const SearchDsiRequest& request);

}  // namespace garden::dsi
