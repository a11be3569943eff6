// LLM2Vec-Gen's encoder (arXiv:2603.10913, v2 recipe): an embedding of what a frozen causal
// LM would answer. K trainable special tokens follow the query (vectors read in place of
// token embeddings, ForwardOptions::input_embeddings: the same as K new rows of the embedding
// table whose rows alone train); the last-layer states H [B,K,C] of those positions become
// a soft prompt S = P_r(H) [B,K,C] (reconstruction projection) from which the frozen LM can
// decode the answer, and embedding tokens E = P_a(S) [B,K,d_T] (alignment projection) whose
// mean over the K tokens is the embedding e [B,d_T]. The backbone never trains.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/model/transformer.h"
#include "garden/text/tokenizer.h"

namespace garden::model {

struct GenerativeEmbedderConfig {
  int64_t special_tokens = 10;  // K: v2 uses 10, all compression tokens
  int64_t embedding_dims = 0;   // d_T, the teacher's width (0: the backbone's d_model)
  int64_t max_tokens = 128;     // query tokens kept (the last ones), before the K special tokens
  // Text read after every query, before the special tokens: the cue a chat backbone answers
  // after (garden's WordNet chat model: " Answer:"), so that the special tokens follow the
  // point where the answer begins. Empty: the query alone, as the paper's encoder reads it.
  std::string query_suffix;
  Json to_json() const;
  static GenerativeEmbedderConfig from_json(const Json& json, const std::string& where);
};

struct GenerativeEncoding {
  torch::Tensor soft_prompt;  // S [B,K,C]
  torch::Tensor embedding;    // e [B,d_T], the mean of P_a(S) over the K tokens
};

class GenerativeEmbedderImpl : public torch::nn::Module {
 public:
  // Freezes `backbone` (requires_grad off on every parameter).
  GenerativeEmbedderImpl(Transformer backbone, const GenerativeEmbedderConfig& config);
  // Queries as token ids (no special tokens; longer than max_tokens keeps the last ones), left
  // padded to one length, each followed by the K special tokens, under the causal mask.
  GenerativeEncoding encode(const std::vector<std::vector<int64_t>>& queries);
  // The decoder's loss: mean over response tokens of -log p(r_t | S, r_<t), the frozen LM
  // reading only the soft prompt and the response so far (responses right padded).
  torch::Tensor reconstruction_loss(const torch::Tensor& soft_prompt, const std::vector<std::vector<int64_t>>& responses);
  const GenerativeEmbedderConfig& config() const { return config_; }

  Transformer backbone{nullptr};
  torch::Tensor special_tokens;               // [K,C], the only input vectors that train
  torch::nn::Linear reconstruction{nullptr};  // P_r: C -> C, with bias
  torch::nn::Linear alignment{nullptr};       // P_a: C -> d_T, with bias

 private:
  GenerativeEmbedderConfig config_;
};
TORCH_MODULE(GenerativeEmbedder);

// The alignment loss ||e - t||^2 / d_T, averaged over the batch: e and t [B,d_T].
torch::Tensor alignment_loss(const torch::Tensor& embedding, const torch::Tensor& teacher);

// What documents are read with (the paper's corpus instruction): a generative embedder embeds
// what the backbone would answer, and the answer to a passage is its summary.
inline constexpr const char* kDocumentInstruction = "Summarize the following passage: ";

// Texts embedded in batches: BOS, then the instruction, the text and the config's
// query_suffix as one string (the query's last max_tokens tokens are kept), then the
// special tokens; unit vectors [N,d_T],
// float32 on the CPU, in input order, in eval mode. `progress` (optional) is told how many
// are done.
torch::Tensor encode_generative_texts(GenerativeEmbedder& model, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                                      const std::string& instruction, int64_t batch_size,
                                      const std::function<void(int64_t)>& progress = {});

// The text each soft prompt decodes into: the texts read as encode_generative_texts reads
// them, each one's soft prompt S fed alone to the frozen backbone and decoded greedily up to
// max_new_tokens or EOS (the paper's interpretability probe). Special tokens are not in the
// vocabulary, so they can never be decoded.
std::vector<std::string> decode_soft_prompts(GenerativeEmbedder& model, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                                             const std::string& instruction, int64_t max_new_tokens);

// BOS + the tokens of instruction + text + the model's query_suffix: what the model reads
// before its special tokens.
std::vector<int64_t> generative_query_row(const GenerativeEmbedderConfig& config, const text::Tokenizer& tokenizer,
                                          const std::string& instruction, const std::string& text);

// A model folder (model/model_folder.h) of a generative embedder: model.safetensors with the
// backbone, the special tokens and the projections; config.json {"kind":
// "generative_embedder", "model": the backbone's config, "generative": its config,
// "tokenizer"}.
void save_generative_embedder(const std::filesystem::path& dir, GenerativeEmbedder& model, const std::string& tokenizer_spec);
struct LoadedGenerativeEmbedder {
  GenerativeEmbedder model{nullptr};
  std::string tokenizer_spec;
};
// True when `dir`'s config.json says it holds a generative embedder (and not an LM or an
// embedder), so that callers pick the loader.
bool is_generative_embedder_folder(const std::filesystem::path& dir);
// Errors name the folder and what is missing, or that it holds another kind of model.
LoadedGenerativeEmbedder load_generative_embedder(const std::filesystem::path& dir, torch::Device device = torch::kCPU);

}  // namespace garden::model
