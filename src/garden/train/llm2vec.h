// LLM2Vec (arXiv:2404.05961) training steps on a garden LM: masked next-token prediction
// under a bidirectional mask (step 2) and unsupervised SimCSE, where a sentence and the same
// sentence under independent dropout form the positive pair (step 3). Step 1, enabling
// bidirectional attention, is the embedder's mask (model::EmbedderConfig::mask). Both steps
// run on the shared Trainer (checkpoints, resume, metrics).
#pragma once

#include <string>
#include <vector>

#include "garden/model/transformer.h"
#include "garden/text/pairs.h"
#include "garden/text/tokenizer.h"
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

}  // namespace garden::train
