// The language-model path of "AI models collapse when trained on recursively generated data"
// (model-collapse.md): generation 0 fine-tunes a pretrained model on real text; generation n
// fine-tunes again (from generation 0's best model, the pretrained one or generation n - 1)
// on a synthetic set of the same size, made by cutting the real training text into blocks
// and letting generation n - 1 continue every block (beam search of width 5, or sampling at
// temperature 1 as the control), with a fraction rho of the blocks real. Each generation
// keeps its best epoch by perplexity on the real validation text.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/model/transformer.h"
#include "garden/text/tokenizer.h"

namespace garden::train {

struct LmCollapseOptions {
  int64_t generations = 5;           // after generation 0
  double real_fraction = 0;          // rho: the share of blocks taken from the real text
  std::string start_from = "gen0-best";  // gen0-best | pretrained | previous
  std::string decoding = "beam";     // beam (width beam_width) | sample (temperature 1)
  int64_t beam_width = 5;
  int64_t block = 64;                // prompt tokens, and the tokens of each continuation
  int64_t epochs = 3;                // per generation; the best one is kept
  int64_t batch = 16;
  double lr = 1e-3;
  int64_t decode_batch = 32;         // prompts decoded together
  uint64_t seed = 0;
  void validate() const;
  Json to_json() const;
};

// Token streams of the real text (the tokenizer's newline tokens between lines).
struct LmCollapseData {
  std::vector<int32_t> train, valid, test;
  int64_t bos = 0;
};
// The real text of the experiment: tiny-shakespeare (input.txt) under the data root, else the
// docs corpus's training split (prepared into the cache), with a description for reports.
struct CollapseText {
  std::filesystem::path file;
  std::string description;
};
CollapseText default_collapse_text(const std::filesystem::path& cache, const std::optional<std::filesystem::path>& data_root);

// A text split by lines: the first 90% trains (its first `train_tokens` tokens; 0 = all),
// the next 5% validates, the last 5% tests (each its first `eval_tokens` tokens; 0 = all).
LmCollapseData split_collapse_text(const text::Tokenizer& tokenizer, const std::string& text, int64_t train_tokens,
                                   int64_t eval_tokens = 0);

struct GenerationStats {
  int64_t generation = 0;
  double val_ppl = 0, test_ppl = 0;  // of the kept epoch, on the real validation and test text
  int64_t best_epoch = 0;            // 1-based
  int64_t real_blocks = 0, blocks = 0;
  // Each training block's perplexity under generation 0's model (generation 0: the real
  // blocks), in block order.
  std::vector<double> sequence_ppl;
  std::vector<double> distinct;      // distinct-1, -2, -3 over the training blocks' tokens
  double seconds = 0;
  Json to_json() const;
};

// Runs generations 0..options.generations from the model folder `pretrained`; each
// generation's training run and kept model go to out/gen-<n>/. `on_generation` sees each
// generation's figures as they are ready.
std::vector<GenerationStats> run_lm_collapse(const std::filesystem::path& pretrained, const LmCollapseData& data,
                                             const LmCollapseOptions& options, const std::filesystem::path& out, bool quiet,
                                             const std::function<void(const GenerationStats&)>& on_generation = {});

// Helpers, exposed for tests. The real text cut into consecutive blocks of `block` tokens
// (a shorter tail is dropped).
std::vector<std::vector<int64_t>> cut_blocks(const std::vector<int32_t>& tokens, int64_t block);
// Perplexity of each block on its own (after BOS), under `model`.
std::vector<double> block_perplexities(model::Transformer& model, const std::vector<std::vector<int64_t>>& blocks, int64_t bos,
                                       int64_t batch = 64);
// Unique n-grams over all n-grams within the blocks (0 when there are none).
double distinct_n(const std::vector<std::vector<int64_t>>& blocks, int64_t n);
// The synthetic set: continuation i, except for round(rho * blocks) blocks chosen by `seed`,
// which are the real block i instead. Returns the set and the number of real blocks.
std::pair<std::vector<std::vector<int64_t>>, int64_t> mix_real_blocks(const std::vector<std::vector<int64_t>>& continuations,
                                                                      const std::vector<std::vector<int64_t>>& real,
                                                                      double real_fraction, uint64_t seed);

}  // namespace garden::train
