// LLM2Vec (arXiv:2404.05961) training steps on a garden LM: masked next-token prediction
// under a bidirectional mask (step 2) and unsupervised SimCSE, where a sentence and the same
// sentence under independent dropout form the positive pair (step 3). Step 1, enabling
// bidirectional attention, is the embedder's mask (model::EmbedderConfig::mask). Both steps
// run on the shared Trainer (checkpoints, resume, metrics).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/model/transformer.h"
#include "garden/text/pairs.h"
#include "garden/text/prepare.h"
#include "garden/text/tokenizer.h"
#include "garden/train/base_lm.h"
#include "garden/train/batches.h"
#include "garden/train/objectives/mntp.h"
#include "garden/train/trainer.h"

namespace garden::train {

// MNTP over `windows` (token windows of a text corpus): the corruption of micro-batch i
// is drawn from a generator seeded by (seed, i), so resuming reproduces it; val_loss is the
// MNTP loss of the held-out windows under a fixed corruption. With a process group of
// several ranks, `windows` gives the global batch; each rank corrupts its rank_share of the
// rows with a generator of its own, and the ranks' mean losses are averaged.
Objective mntp_objective(model::Transformer& model, const BatchSource& windows, const MntpOptions& options, uint64_t seed,
                         const std::string& tokenizer_spec, ProcessGroup* group = nullptr);

// MNTP options for a tokenizer: its <mask> piece (or `mask_piece`), its special ids.
MntpOptions mntp_options_for(const text::Tokenizer& tokenizer, double rate, MntpStrategy strategy,
                             const std::string& mask_piece = "<mask>");

// SimCSE pairs: each sentence is its own positive (the two passes differ by dropout only).
std::vector<text::TextPair> simcse_pairs(const std::vector<std::string>& sentences);

// Sentences for SimCSE from plain-text lines: those of min_tokens..max_tokens tokens.
std::vector<std::string> sentences_by_length(const std::vector<std::string>& lines, const text::Tokenizer& tokenizer,
                                             int64_t min_tokens, int64_t max_tokens);

// The LLM2Vec encoder other methods use as a frozen teacher (LLM2Vec-Gen's alignment target):
// a base LM under the bidirectional mask, MNTP (20% BERT-style masking) on the built-in
// corpus's training split, then unsupervised SimCSE on its lines of 4..32 tokens (dropout
// 0.3, temperature 0.05), mean pooling: the LLM2Vec reproduction's best variant, as an
// artifact of recipe "llm2vec-teacher" built once per base and options into the cache.
struct Llm2vecTeacherOptions {
  int64_t steps = 150;  // MNTP and SimCSE each
  int64_t warmup = 10;
  int64_t mntp_batch = 16, mntp_seq = 128;
  int64_t simcse_batch = 64;
  int64_t max_tokens = 128;          // of every text the encoder reads
  int64_t corpus_chars = 0;          // of the corpus MNTP reads (0: all)
  int64_t sentence_lines = 0;        // corpus lines SimCSE draws from (0: all)
  uint64_t seed = 0;
  void validate() const;
  Json to_json() const;
};

struct Llm2vecTeacher {
  std::filesystem::path embedder;  // an embedder folder (model::load_embedder)
  bool built = false;              // this call trained it (false: from the cache)
  double seconds = 0;              // training time (recorded when built)
  double mntp_val_loss = 0;
};

Llm2vecTeacher ensure_llm2vec_teacher(const std::filesystem::path& cache, const BaseLm& base, const text::PreparedCorpus& corpus,
                                      const Llm2vecTeacherOptions& options, bool quiet);

}  // namespace garden::train
