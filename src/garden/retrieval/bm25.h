// BM25 over a persistent Xapian database. Xapian stores the inverted index; search() scores
// from a copy of its postings in memory (exhaustive, term at a time), and score() runs
// Xapian's matcher with garden's own Xapian::Weight. Both compute the textbook Okapi BM25
// the reference runs use:
//   score(q, d) = sum over query tokens t (with repetition) of
//                 idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl)),
//   idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
// (Xapian's built-in BM25Weight uses a different idf and query-term saturation.)
// Tokens: lower-case runs of [a-z0-9]; optionally without English stop words, and
// Snowball-stemmed (Xapian::Stem). A document is title + " " + text.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/core/shard.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/trec.h"

namespace garden::retrieval {

struct Bm25Options {
  double k1 = 0.9;            // term-frequency saturation; 0.9 as in Anserini/Pyserini's BEIR runs
  double b = 0.4;             // length normalisation; 0.4 likewise
  std::string stem = "none";  // none | english (Snowball, via Xapian::Stem)
  bool stopwords = false;     // drop Lucene's 33 English stop words (EnglishAnalyzer's default set)
  void validate() const;
  Json to_json() const;
};

std::vector<std::string> bm25_tokens(const std::string& text, const std::string& stem, bool stopwords = false);

// Writes IDX/xapian (the database) and IDX/manifest.json (kind, parameters, corpus sha256,
// document count), atomically as one folder. `verbose`: a progress bar and a warning about
// empty documents on stderr (off for a scratch index of a corpus the caller reports on).
// `shard`: only that rank's share of the documents (core/shard.h), to be searched with the
// other shards as one (retriever.h: build_shard_index).
void build_bm25_index(const std::filesystem::path& corpus_dir, const std::filesystem::path& out, const Bm25Options& options,
                      bool verbose = true, const ShardSpec& shard = {});

class Bm25Index {
 public:
  explicit Bm25Index(const std::filesystem::path& dir);
  // Several BM25 indexes of the same settings searched as one: Xapian combines the databases
  // natively (document count, frequencies and average length over all of them), and ties
  // fall in shard order, so results equal one index of the concatenated corpora.
  explicit Bm25Index(const std::vector<std::filesystem::path>& shards);
  ~Bm25Index();
  std::vector<ScoredDoc> search(const std::string& query, int64_t k) const;
  // The BM25 score of one document for `query`; nothing when the document does not match.
  std::optional<double> score(const std::string& query, const std::string& doc_id) const;
  Run search_all(const std::vector<Query>& queries, int64_t k) const;
  const Json& manifest() const { return manifest_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  Json manifest_;
};

}  // namespace garden::retrieval
