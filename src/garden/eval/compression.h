// Compression rate of a corpus under a language model (resist-alignment.md): the ideal code
// length -log2 p summed over the corpus's tokens, per token and per UTF-8 byte of the text it
// encodes. For prompt-response data only the responses (and their end of text) are coded,
// the prompts being given. The resist-alignment reproduction reads a fine-tune's perturbation
// as the change of these rates on the pre-training and alignment sets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/model/transformer.h"
#include "garden/text/tokenizer.h"
#include "garden/train/batches.h"

namespace garden::eval {

struct CompressionRate {
  double bits_per_token = 0, bits_per_byte = 0;
  int64_t tokens = 0, bytes = 0;
  Json to_json() const;
};

// The counted tokens of `rows`, coded by `model`; `bytes` is the UTF-8 size of their text.
CompressionRate compression_rate(model::Transformer& model, const std::vector<train::TokenRow>& rows, int64_t bytes, int64_t batch = 64);
// Each line as BOS + its tokens + end of text, every token but BOS coded.
CompressionRate compression_rate_of_lines(model::Transformer& model, const text::Tokenizer& tokenizer, const std::vector<std::string>& lines,
                                          int64_t batch = 64);
// The completions (and their end of text) given their prompts.
CompressionRate compression_rate_of_responses(model::Transformer& model, const text::Tokenizer& tokenizer,
                                              const std::vector<std::string>& prompts, const std::vector<std::string>& completions,
                                              int64_t batch = 64);

struct CompressionJob {
  std::string model, input;
  std::string format = "text";  // text (one document a line; .jsonl: --field) | prompt-completion
  std::string field = "text";
  int64_t batch = 64;
  torch::Device device = torch::kCPU;
};
CompressionRate run_compression(const CompressionJob& job);

}  // namespace garden::eval
