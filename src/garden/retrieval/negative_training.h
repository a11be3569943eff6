// Dense retriever training on a collection's judged (query, document) pairs with negatives
// from one of several sources, the comparison of ANCE (Xiong et al., arXiv:2007.00808):
//   inbatch          - the other queries' positives only (InfoNCE; "Rand Neg");
//   random           - one uniformly random document per triple;
//   bm25             - one document drawn from BM25's top K (positives removed);
//   ance             - one document drawn from the top K of an index of the whole corpus
//                      encoded by a recent checkpoint of the model being trained;
//   hardest          - the other batch positive the query scores highest (the paper's "NCE
//                      Neg" baseline, the hardest in-batch negative), pairwise NLL;
//   <source>+inbatch - that negative inside InfoNCE with in-batch negatives (bm25+inbatch is
//                      DPR's recipe).
// A single mined source trains the paper's pairwise NLL, a 2-way softmax per triple
// (q, d+, d-) on the embedder's scores, without in-batch negatives.
//
// ANCE's refreshes (the paper's asynchronous inferencer, emulated deterministically): every
// `refresh_every` steps the trainer snapshots the weights (the checkpoint f_k) and a
// background thread re-encodes the corpus and the training queries, searches a flat
// inner-product index and draws each query's negatives, while training goes on with the
// previous table; `lag` steps after the snapshot the trainer swaps to the new table, waiting
// if the worker is not done (the wait is measured). A fixed lag instead of "whenever it is
// ready" keeps runs reproducible and resumable. Lag 0 refreshes synchronously.
// Every table is written to <run>/negatives/ with the step of its source weights (and, for a
// refresh still in flight at a checkpoint, those weights), so a run killed at any point
// resumes from its last checkpoint with the tables it had, rebuilding a missing one.
#pragma once

#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/core/safetensors.h"
#include "garden/model/embedder.h"
#include "garden/retrieval/ann_negatives.h"
#include "garden/retrieval/collection.h"
#include "garden/text/tokenizer.h"
#include "garden/train/jobs.h"
#include "garden/train/trainer.h"

namespace garden::retrieval {

enum class NegativeSource { none, random, bm25, ance, hardest_in_batch };

struct NegativeSampling {
  NegativeSource source = NegativeSource::none;
  bool in_batch = true;         // InfoNCE with in-batch negatives; off: pairwise NLL per triple
  int64_t depth = 0;            // K, candidates per query; 0: scaled to the corpus (depth_for)
  int64_t per_query = 20;       // n, negatives kept per query per refresh (the paper's 20)
  int64_t refresh_every = 100;  // ance: steps between snapshots
  int64_t lag = 0;              // ance: steps from a snapshot to the use of its table (< refresh_every)
  int64_t chunk_factor = 1;     // ance: each refresh re-draws 1/c of the queries (rotating); the rest keep theirs
  double temperature = 0;       // InfoNCE; 0: 1 for an inner-product embedder, 0.05 for a cosine one
  // "inbatch", "hardest", "random", "bm25", "ance", or one of the last three + "+inbatch".
  static NegativeSampling parse(const std::string& name);
  std::string name() const;
  // K = depth when set, else N / 40 within [10, 200]: the spec's 50 of 2,000 documents; the
  // paper's 200 is a tiny share of 8.8M passages, and 200 of a small corpus would be most of it.
  int64_t depth_for(int64_t corpus_size) const;
  void validate() const;
  Json to_json() const;
};

// What the trainer reads: the corpus (rows of every index; the texts negatives show), the
// training queries with their judged positives, and the examples (one per judged pair).
struct RetrievalTrainingSet {
  std::vector<std::string> corpus;
  std::vector<std::string> queries;
  std::vector<std::vector<int64_t>> positives;  // per query, document rows
  struct Example {
    int64_t query = 0, positive = 0;
    std::string positive_text;  // empty: the corpus text of the positive
  };
  std::vector<Example> examples;
  std::string describe() const;
};
// The queries of qrels/<split>.tsv that have a relevant (grade > 0) document, with those
// documents; every query with at least one judged document becomes examples.
RetrievalTrainingSet training_set_from_collection(const Collection& collection, const std::string& collection_name);

// Rankings of the corpus for every training query, best first, the top `depth`: BM25
// (garden's default settings; the index is built in `scratch`, a folder of the caller's).
std::vector<std::vector<int64_t>> bm25_ranked(const RetrievalTrainingSet& set, int64_t depth, const std::filesystem::path& scratch,
                                              bool quiet = false);

// The exact inner-product ranking of the corpus for every training query by `embedder`.
std::vector<std::vector<int64_t>> dense_ranked(model::Embedder& embedder, const text::Tokenizer& tokenizer, const RetrievalTrainingSet& set,
                                               int64_t depth, int64_t batch_size = 64);

// The negative tables of a run and ANCE's refresh schedule (see the top of this file).
class NegativeSupply {
 public:
  struct Stats {
    int64_t refreshes = 0;          // tables built from the model (the initial one included)
    double last_refresh_seconds = 0;  // the worker's time to build the latest table
    double refresh_seconds = 0;     // summed over refreshes (the initial and synchronous ones too)
    double wait_seconds = 0;        // the trainer waiting for a refresh
    int64_t index_age = 0;          // steps since the snapshot of the active table's weights
  };
  // `run` holds negatives/; the references must outlive the supply. BM25 tables are built
  // (or read back) on construction.
  NegativeSupply(model::Embedder& embedder, const text::Tokenizer& tokenizer, const RetrievalTrainingSet& set, NegativeSampling sampling,
                 std::filesystem::path run, uint64_t seed, bool quiet);
  ~NegativeSupply();
  NegativeSupply(const NegativeSupply&) = delete;
  NegativeSupply& operator=(const NegativeSupply&) = delete;
  // The table to draw from at training step `step` (1-based; the weights are those after step
  // - 1), after the refreshes and swaps due then; null for in-batch and random negatives.
  // Steps come in order; the first call may be any step (a resumed run).
  std::shared_ptr<const NegativeTable> table_for_step(int64_t step);
  std::shared_ptr<const NegativeTable> active() const { return active_; }
  // The BM25 table (bm25 negatives, and the comparison negatives of the diagnostics); null
  // when the source is not bm25.
  std::shared_ptr<const NegativeTable> bm25() const { return bm25_; }
  const Stats& stats() const { return stats_; }
  int64_t depth() const { return depth_; }
  // The file of the table whose weights are those after `source_step` steps.
  std::filesystem::path table_path(int64_t source_step) const;
  std::filesystem::path snapshot_path(int64_t source_step) const;

 private:
  struct Pending;
  // The table file of `source_step`, refused unless it is this run's (collection and settings).
  NegativeTable saved_table(int64_t source_step) const;
  NegativeTable build_from(const TensorMap& weights, int64_t source_step, const std::shared_ptr<const NegativeTable>& previous) const;
  TensorMap snapshot() const;
  void start(int64_t step);
  void activate(std::shared_ptr<const NegativeTable> table, int64_t step);
  std::shared_ptr<const NegativeTable> table_of(int64_t source_step, int64_t current_step,
                                                const std::shared_ptr<const NegativeTable>& previous);
  void launch(int64_t source_step, TensorMap weights);

  model::Embedder& embedder_;
  const text::Tokenizer& tokenizer_;
  const RetrievalTrainingSet& set_;
  NegativeSampling sampling_;
  std::filesystem::path dir_;
  uint64_t seed_;
  bool quiet_;
  int64_t depth_;
  std::shared_ptr<const NegativeTable> active_, bm25_;
  std::unique_ptr<Pending> pending_;
  int64_t next_step_ = 0;  // 0: not started
  Stats stats_;
};

// Per-triple diagnostics of the paper's analysis (Sec. 3, Fig. 4) on a fixed sample of
// examples (train_retriever: 128) at the current weights: for each negative type, the mean pairwise NLL and the
// mean norm of its gradient with respect to the last layer (the projection head, with its
// LayerNorm; the last transformer block when there is no head). Types: "inbatch" (another
// sampled example's positive), and "bm25" / "ance" when those tables are given.
struct NegativeDiagnostics {
  std::string type;
  double loss = 0, grad_norm = 0;
};
std::vector<NegativeDiagnostics> negative_diagnostics(model::Embedder& embedder, const text::Tokenizer& tokenizer,
                                                      const RetrievalTrainingSet& set, const std::vector<int64_t>& examples,
                                                      const std::shared_ptr<const NegativeTable>& bm25,
                                                      const std::shared_ptr<const NegativeTable>& ance, uint64_t seed);

// Trains `embedder` on `set` with `sampling` into the run folder `out` (Trainer: schedule,
// checkpoints, resume). Logged every eval_every steps: the refresh statistics (ann_index_age,
// ann_refresh_seconds, ann_wait_share) and the diagnostics (neg_<type>_loss,
// neg_<type>_grad_norm).
struct RetrieverTrainingResult {
  train::TrainResult train;
  NegativeSupply::Stats refresh;
  std::shared_ptr<const NegativeTable> last_table;  // the table drawn from at the end (null: none)
  std::vector<Json> diagnostics;                    // one {"step", "<type>_loss", "<type>_grad_norm", ...} per evaluation
};
RetrieverTrainingResult train_retriever(model::Embedder& embedder, const text::Tokenizer& tokenizer, const std::string& tokenizer_spec,
                                        const RetrievalTrainingSet& set, const NegativeSampling& sampling, const train::TrainConfig& train,
                                        const std::filesystem::path& out, bool resume, bool quiet);

// `garden embed train --negatives ...`: the embedding model `model` trained on the judged
// pairs of a BEIR collection's qrels/<split>.tsv (training settings: the infonce defaults of
// garden embed train, then `train_overrides`).
struct RetrieverJob {
  std::string model, collection, split = "train";
  NegativeSampling sampling;
  Json train_overrides = Json::object();
  train::RunFolderSpec run{"runs/embed", false, 0};
  torch::Device device = torch::kCPU;
};
RetrieverTrainingResult train_retriever_job(const RetrieverJob& job);

}  // namespace garden::retrieval
