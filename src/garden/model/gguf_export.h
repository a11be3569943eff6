// A garden LM as a GGUF file for llama.cpp's "llama" architecture (RMSNorm, RoPE, SwiGLU,
// grouped-query attention, tied or separate output embedding), with its SentencePiece
// tokenizer in the metadata. docs/serve.md lists what maps to what.
//
// Two conversions make llama.cpp compute what garden computes:
//   * garden rotates "halves" (dims i and i + D/2 form a RoPE pair, as GPT-NeoX and Hugging
//     Face LLaMA do) while llama.cpp's llama rotates adjacent dims (2i, 2i+1); the rows of
//     W_q and W_k are permuted within each head so that pairs land side by side. Q and K
//     move together, so every attention score is unchanged.
//   * torch stores a Linear weight as [out, in] row-major, which is ggml's {in, out}.
// What llama.cpp cannot express is refused: LayerNorm, learned positions, GELU MLPs and the
// attention output gate of gated attention (llama.cpp has no sigmoid gate on SDPA output).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "garden/core/gguf.h"
#include "garden/model/transformer.h"

namespace garden::model {

enum class GgufDtype { f32, f16 };
GgufDtype parse_gguf_dtype(const std::string& s);

// Throws a usage error naming the first setting of `config` that llama.cpp's llama
// architecture cannot express.
void check_llama_expressible(const TransformerConfig& config);

struct GgufExport {
  gguf::File file;
  std::vector<std::string> warnings;  // e.g. a unigram tokenizer, which llama.cpp segments differently
};

// `tokenizer_spec` is the model's SentencePiece .model file ("bytes" is refused: llama.cpp's
// SentencePiece tokenizer cannot stand in for garden's byte tokenizer). Matrices are written
// as `dtype`; norm weights stay f32, as llama.cpp's own converter keeps them.
GgufExport llama_gguf(Transformer& model, const std::string& tokenizer_spec, GgufDtype dtype, const std::string& name);

struct GgufExportSummary {
  int64_t tensors = 0, parameters = 0, vocab = 0;
  uint64_t bytes = 0;
  std::vector<std::string> warnings;
};
// `garden export gguf`: the model folder `model_dir` as a GGUF file `out`, written atomically.
// `out` may replace only an earlier export of garden (a GGUF file with garden.config), never
// another file; that is checked before any work.
GgufExportSummary export_gguf(const std::filesystem::path& model_dir, const std::filesystem::path& out, GgufDtype dtype);

// RoPE "halves" -> "adjacent pairs": row j*D/2 + i of each head moves to row 2i + j.
// weight: [heads * D, in].
torch::Tensor rope_rows_to_adjacent_pairs(const torch::Tensor& weight, int64_t heads);

}  // namespace garden::model
