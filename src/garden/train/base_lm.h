// The shared tiny base LM that every embedding reproduction starts from (llm2vec.md,
// nv-embed.md, matryoshka.md): a causal 4-layer, d=128, 4-head RoPE transformer (~2M
// parameters) over a SentencePiece 8k vocabulary with a reserved <mask> piece, pretrained
// for a few minutes on the built-in corpus (King James Bible + WordNet glosses) plus
// tiny-shakespeare and wikitext-2 when the data root has them. It is built once per
// configuration hash into the artifact cache (DESIGN.md), so later runs load it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "garden/core/json.h"

namespace garden::train {

struct BaseLmOptions {
  int64_t vocab = 8000;
  int64_t steps = 600;   // about 4 minutes on 2 cores
  int64_t batch = 16;
  int64_t seq = 128;
  double lr = 3e-3;
  double dropout = 0.1;
  uint64_t seed = 0;
  int64_t tokenizer_sentences = 300000;  // lines SentencePiece reads at most
  Json to_json() const;
};

struct BaseLm {
  std::filesystem::path model;      // a model folder (model::load_model)
  std::filesystem::path tokenizer;  // the SentencePiece .model (also named in the model's config)
  std::string sources;              // what it was pretrained on, for reports
  bool built = false;               // true when this call trained it (false: from the cache)
  double val_loss = 0;
};

// The mask piece reserved in the tokenizer, for masked next-token prediction.
inline constexpr const char* kMaskPiece = "<mask>";

// Raised whenever a change to this recipe's code changes the model it builds, so that cached
// entries of the old code are not reused. 2: the model folder holds its tokenizer (version 1
// named it by an absolute path outside the folder); the weights are the same.
inline constexpr int kBaseLmRecipeVersion = 2;

// Returns the cached base LM for these options and sources, building it first when absent,
// partial or corrupt (or when `rebuild`): an artifact of recipe "base-lm" (core/artifact_cache.h).
BaseLm ensure_base_lm(const std::filesystem::path& cache, const std::optional<std::filesystem::path>& data_root,
                      const BaseLmOptions& options, bool rebuild = false, bool quiet = false);

}  // namespace garden::train
