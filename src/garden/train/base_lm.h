// The shared base LMs that the embedding reproductions start from (llm2vec.md, nv-embed.md,
// matryoshka.md): causal RoPE transformers over a SentencePiece 8k vocabulary with a
// reserved <mask> piece. v1 is tiny (d=128, 4 layers, ~2M parameters, a few minutes on the
// built-in corpus plus tiny-shakespeare and wikitext-2 test); v2 is larger and trained on
// more English (docs/base-lm.md). Each is built once per configuration hash into the
// artifact cache (DESIGN.md), so later runs load it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "garden/core/json.h"

namespace garden::train {

// A recipe: v1 (the original tiny base) or v2 (larger, on more English, bf16; see
// base_lm_recipe). Every field is part of the cache key.
struct BaseLmOptions {
  std::string recipe = "v1";
  int64_t vocab = 8000;
  int64_t steps = 600;   // about 4 minutes on 2 cores
  int64_t batch = 16;
  int64_t seq = 128;
  double lr = 3e-3;
  double dropout = 0.1;
  uint64_t seed = 0;
  int64_t tokenizer_sentences = 300000;  // lines SentencePiece reads at most
  int64_t d_model = 128, layers = 4, heads = 4;
  bool bf16 = false;  // bf16 autocast (fp32 master weights)
  Json to_json() const;
};

// The named recipe's options: "v1" (d=128, 4 layers; built-in corpus, tiny-shakespeare and
// wikitext-2 test) or "v2" (d=384, 4 layers, ~10M parameters, 256-token windows, bf16 on
// the built-in and documentation corpora and tiny-shakespeare, never on any held-out line or
// on wikitext-2) or "kjv" (v1's shape, 2,000 pieces, the built-in corpus alone: the
// model-collapse reproduction's pretrained model). Throws on another name.
BaseLmOptions base_lm_recipe(const std::string& name);

// The pretraining text of a recipe: its sources' training parts, one string, with every
// line that also occurs in a held-out split (v2) removed; and the held-out text its loss is
// reported on. Exposed for the test that no held-out line reaches training.
struct BaseLmText {
  std::string train, valid;
  std::string sources;  // what it is, for reports
  std::vector<std::pair<std::string, std::filesystem::path>> files;  // every input file, hashed into the key
};
BaseLmText base_lm_text(const std::filesystem::path& cache, const std::optional<std::filesystem::path>& data_root,
                        const BaseLmOptions& options);

struct BaseLm {
  std::filesystem::path model;      // a model folder (model::load_model)
  std::filesystem::path tokenizer;  // the SentencePiece .model (also named in the model's config)
  std::string sources;              // what it was pretrained on, for reports
  std::string recipe;               // v1 | v2 (base_lm_recipe), for reports
  bool built = false;               // true when this call trained it (false: from the cache)
  bool shipped = false;             // true when this call installed the repository's copy
  double val_loss = 0;
  int64_t parameters = 0;
  bool bf16 = false;                // pretrained under bf16 autocast (the recipe's precision)
};

// The mask piece reserved in the tokenizer, for masked next-token prediction.
inline constexpr const char* kMaskPiece = "<mask>";

// Raised whenever a change to this recipe's code changes the model it builds, so that cached
// entries of the old code are not reused. 2: the model folder holds its tokenizer (version 1
// named it by an absolute path outside the folder); the weights are the same.
inline constexpr int kBaseLmRecipeVersion = 2;

// Returns the cached base LM for these options and sources, building it first when absent,
// partial or corrupt (or when `rebuild`): an artifact of recipe "base-lm" (core/artifact_cache.h).
// A shipped copy under core::shipped_artifacts_dir() with the same key is installed instead
// of training.
BaseLm ensure_base_lm(const std::filesystem::path& cache, const std::optional<std::filesystem::path>& data_root,
                      const BaseLmOptions& options, bool rebuild = false, bool quiet = false);

// Writes a shipped copy of the cached base LM `lm` (ensure_base_lm) into `shipped` (an
// artifacts/ folder): its model folder with every weight rounded to bf16 (half the bytes:
// base v2 is 20 MB instead of 41), its tokenizer, training record and log. Returns the
// copy's folder.
std::filesystem::path ship_base_lm(const BaseLm& lm, const std::filesystem::path& shipped);

}  // namespace garden::train
