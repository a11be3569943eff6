// An embedding model: a garden transformer run with a chosen mask (bidirectional by
// default), a pooler, and an optional linear projection (optionally followed by a
// LayerNorm: ANCE's head g(x) = LN(W h + b), arXiv:2007.00808); outputs are unit vectors
// scored by cosine, or (score dot, ANCE) the head's raw output scored by inner product.
// Queries may carry an instruction ("Instruct: {task}\nQuery: "): its tokens are attended
// to but excluded from pooling. Documents get none. An EOS token ends every text.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/model/pooling.h"
#include "garden/model/transformer.h"
#include "garden/text/tokenizer.h"

namespace garden::model {

// What an embedder does to a text's letter case before tokenising it. Collections typed in
// capitals (old telegraph-style abstracts, all-caps queries) fall apart into rare pieces under
// a tokenizer learnt from mixed-case prose, while BM25 lower-cases every term; all_caps
// lower-cases such texts only, all lower-cases every text.
enum class CaseFolding { none, all_caps, all };
CaseFolding parse_case_folding(const std::string& name);
std::string to_string(CaseFolding folding);
// A text counts as written in capitals when it has at least 4 ASCII letters and at least 90% of
// them are upper case. Only ASCII letters change (UTF-8 sequences are left as they are).
std::string fold_case(const std::string& text, CaseFolding folding);

struct EmbedderConfig {
  Pooling pooling = Pooling::mean;
  // causal_prefix (GritLM's `cb`): the tokens before the first pooled one (the instruction)
  // attend causally, the text both ways.
  MaskMode mask = MaskMode::bidirectional;
  LatentAttentionConfig latent;
  int64_t projection = 0;  // 0: none; else a linear head d_model -> projection
  bool projection_layernorm = false;  // a LayerNorm after the projection (ANCE's head)
  // cosine: unit vectors; dot: the head's output as it is (ANCE scores by raw inner
  // product, so the vectors' lengths carry part of the score).
  bool unit_vectors = true;
  int64_t max_tokens = 128;
  CaseFolding case_folding = CaseFolding::none;  // applied to texts, never to instructions
  // Encode under bf16 autocast (model/autocast.h): set for a model trained that way; the
  // vectors' cosines stay within about 1e-4 of float32's at less than half the time.
  bool bf16 = false;
  Json to_json() const;
  static EmbedderConfig from_json(const Json& json, const std::string& where);
};

class EmbedderImpl : public torch::nn::Module {
 public:
  EmbedderImpl(Transformer backbone, const EmbedderConfig& config);
  // tokens, attention_mask, pool_mask: [B,T] -> [B,D] before the final L2 normalisation (the
  // projection's output, or the pooled vector): the representation a classifier head reads.
  torch::Tensor features(const torch::Tensor& tokens, const torch::Tensor& attention_mask, const torch::Tensor& pool_mask);
  // tokens, attention_mask, pool_mask: [B,T] -> [B,D]: unit vectors, or with unit_vectors off
  // the features themselves.
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& attention_mask, const torch::Tensor& pool_mask);
  const EmbedderConfig& config() const { return config_; }
  void set_bf16(bool on) { config_.bf16 = on; }
  int64_t dims() const;
  Transformer backbone{nullptr};
  LatentAttentionPooler latent{nullptr};
  torch::nn::Linear projection{nullptr};
  torch::nn::LayerNorm projection_norm{nullptr};

 private:
  EmbedderConfig config_;
};
TORCH_MODULE(Embedder);

struct EmbeddingBatch {
  torch::Tensor tokens, attention_mask, pool_mask;  // [B,T]
};
// Tokenises `instruction + fold_case(text)` + EOS for each text, truncated to max_tokens (the
// text is cut, never the instruction or EOS), right-padded; the pool mask covers text and EOS.
EmbeddingBatch make_embedding_batch(const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                                    const std::string& instruction, int64_t max_tokens, CaseFolding folding);

// Rows of token ids right-padded with pad_id into one batch; the pool mask covers each row
// from position pool_from on (after an instruction's tokens).
EmbeddingBatch pad_embedding_rows(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id, int64_t pool_from);

// Rows already tokenised without an instruction (text tokens + EOS, at most max_tokens each;
// longer ones are refused), embedded in batches of similar length: [N,D] (forward's vectors),
// float32 on the CPU, in input order. What encode_texts computes for the texts they encode.
torch::Tensor encode_token_rows(Embedder& embedder, const std::vector<std::vector<int64_t>>& rows, int64_t pad_id, int64_t batch_size);

// Embeds many texts in batches of similar length (sorted, then restored to input order);
// `progress` (optional) is told how many are done. Returns [N,D] float32 on the CPU.
torch::Tensor encode_texts(Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                           const std::string& instruction, int64_t batch_size,
                           const std::function<void(int64_t)>& progress = {});

// As encode_texts without an instruction, but the representation before the final L2
// normalisation (EmbedderImpl::features): what a classifier head or a linear probe reads.
torch::Tensor encode_features(Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                              int64_t batch_size);

// A model folder (model/model_folder.h): model.safetensors + config.json {"model": backbone,
// "embedder": ..., "tokenizer": spec} + the tokenizer. For a training run folder, load
// train::model_folder(run).
void save_embedder(const std::filesystem::path& dir, Embedder& embedder, const std::string& tokenizer_spec);
struct LoadedEmbedder {
  Embedder embedder{nullptr};
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::string tokenizer_spec;
};
LoadedEmbedder load_embedder(const std::filesystem::path& path, torch::Device device = torch::kCPU);

}  // namespace garden::model
