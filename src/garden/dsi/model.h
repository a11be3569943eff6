// A Differentiable Search Index as a decoder-only prefix LM (dsi.md, "Model": the spec allows
// one in place of T5's encoder-decoder). An example is
//   [IDX] document tokens [DOCID] s1 s2 ... [END]     (indexing)
//   [QRY] query tokens    [DOCID] s1 s2 ... [END]     (retrieval)
// The input (marker, text, [DOCID]) attends both ways (prefix mask), the docid causally, and
// the loss is the cross-entropy of the docid symbols and [END] only (teacher forcing). Search
// decodes docids by beam search, optionally constrained by the prefix trie of the valid docids
// (GENRE); unconstrained, any token may come out and an invalid docid is simply a miss, as in
// the DSI paper.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/dsi/docids.h"
#include "garden/dsi/stream.h"
#include "garden/model/transformer.h"
#include "garden/text/tokenizer.h"
#include "garden/train/train_config.h"
#include "garden/train/trainer.h"

namespace garden::dsi {

struct DsiModel;

// Token ids: the text tokenizer's 0..V-1, four markers, then the S docid symbols.
struct DsiVocab {
  int64_t text = 0;
  int64_t symbols = 0;
  int64_t index_marker() const { return text; }
  int64_t query_marker() const { return text + 1; }
  int64_t docid_start() const { return text + 2; }
  int64_t docid_end() const { return text + 3; }
  int64_t symbol(int64_t s) const { return text + 4 + s; }
  int64_t size() const { return text + 4 + symbols; }
};

// The model's token rows for one example: the input part (marker, text, [DOCID]) and, for
// training, the docid with [END].
std::vector<int64_t> input_row(const DsiVocab& vocab, bool indexing, const std::vector<int64_t>& text);
std::vector<int64_t> target_tokens(const DsiVocab& vocab, const Docid& docid);

// A padded training batch: tokens [B,T], attention mask [B,T], prefix lengths [B], targets
// [B,T] (the next token) and a loss mask [B,T] that is 1 where the target is a docid symbol or
// [END].
struct DsiBatch {
  torch::Tensor tokens, attention_mask, prefix_lengths, targets, loss_mask;
};
DsiBatch make_dsi_batch(const DsiVocab& vocab, const std::vector<StreamExample>& examples, const DocidMap& docids, int64_t pad_id);

// Mean cross-entropy of the docid symbols and [END] (teacher forcing), computing the output
// head at those positions only: equal to the loss-masked cross-entropy over full logits.
torch::Tensor dsi_batch_loss(DsiModel& model, const DsiBatch& batch);

struct DsiModelOptions {
  int64_t d_model = 128, layers = 4, heads = 4, d_ff = 512;  // dsi.md: d 128, 4 heads, FFN 512
  void validate() const;
};
model::TransformerConfig dsi_transformer_config(const DsiModelOptions& options, const DsiVocab& vocab, int64_t max_seq);

// A trained DSI: its transformer, text tokenizer, docid map and stream settings.
struct DsiModel {
  model::Transformer transformer{nullptr};
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::string tokenizer_spec;
  DsiVocab vocab;
  DocidMap docids;
  StreamOptions stream;  // for the document representation and the query cut at search time
};

// A fresh DSI with random initial weights from libtorch's global generator (seed it first);
// max_seq covers the longest input and docid.
DsiModel new_dsi_model(const std::string& tokenizer_spec, const DocidMap& docids, const DsiModelOptions& options,
                       const StreamOptions& stream);

// A model folder: the transformer and tokenizer (model/model_folder.h), dsi.json (vocabulary
// layout, stream settings) and docid_map.tsv.
void save_dsi_model(const std::filesystem::path& dir, DsiModel& model);
DsiModel load_dsi_model(const std::filesystem::path& dir);

struct DsiTrainJob {
  DsiModelOptions model;
  StreamOptions stream;
  train::TrainConfig train;  // steps, batch, lr, warmup, ...; seq is unused
  uint64_t seed = 0;         // initial weights and the stream
};

// Trains a fresh DSI on `documents` (texts in docid-map order) and training `queries` (text,
// document index) with the shared Trainer (checkpoints, resume, metrics.jsonl) in run folder
// `out`; the final model is saved as out/model. The tokenizer must be `tokenizer_spec`'s.
train::TrainResult train_dsi(DsiModel& model, const std::vector<std::string>& documents,
                             const std::vector<std::pair<std::string, int64_t>>& queries, const DsiTrainJob& job,
                             const std::filesystem::path& out, bool resume, bool quiet);

struct SearchOptions {
  int64_t beam = 10;        // beams kept per query (and the longest ranked list)
  bool constrained = true;  // prefix trie over the valid docids (GENRE); off = the DSI paper
  int64_t batch = 64;       // queries decoded together
};

struct RankedDocid {
  int64_t doc = -1;  // document index, or -1 for a decoded sequence that is no valid docid
  double log_prob = 0;
};

// Each input's ranked docids (most likely first, distinct; invalid ones kept as -1 entries so
// that the invalid rate can be counted). `inputs` are text token lists; `indexing` picks the
// marker ([IDX] for memorisation checks, [QRY] for queries).
std::vector<std::vector<RankedDocid>> dsi_search(DsiModel& model, const std::vector<std::vector<int64_t>>& inputs, bool indexing,
                                                 const SearchOptions& options);

// The query's text tokens as training cut them.
std::vector<int64_t> query_input(const DsiModel& model, const std::string& query);
// A document's indexing input as training saw it (direct or set representation; chunk: the
// first window).
std::vector<int64_t> document_input(const DsiModel& model, const std::string& document);

}  // namespace garden::dsi
