// The garden transformer: a pre-norm decoder stack whose attention mask is chosen per call,
// so one set of weights serves as a causal LM, a bidirectional encoder (LLM2Vec), a prefix LM
// (instruction both ways, generation causal) or GritLM's `cb` embedder (instruction causal,
// text both ways).
//
// Conventions for the whole library (stated here once):
//   B batch, T new tokens, S keys (kv-cache length + T), C d_model, H query heads,
//   Hkv key/value heads, D head dim = C/H, F FFN width, V vocabulary, L layers.
//   Batch-first. Token ids are int64. Parameters are float32 (float64 in gradient tests).
//   Padding is on the right; an attention_mask [B,T] holds 1 for real tokens, 0 for padding.
//   Boolean masks are "allowed" masks: true = may attend.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "garden/model/attention.h"
#include "garden/model/config.h"
#include "garden/model/kv_cache.h"
#include "garden/model/layers.h"

namespace garden::model {

// prefix: the first prefix_lengths tokens attend to each other both ways, the rest causally.
// causal_prefix: the first prefix_lengths tokens attend causally, every later token attends
// to every token (GritLM's `cb` attention, arXiv:2402.09906 Table 6).
enum class MaskMode { causal, bidirectional, prefix, causal_prefix };
MaskMode parse_mask_mode(const std::string& s);
std::string to_string(MaskMode mode);

struct ForwardOptions {
  MaskMode mask = MaskMode::causal;
  // prefix and causal_prefix modes: [B] int64, the number of leading tokens set apart.
  torch::Tensor prefix_lengths;
  // [B,T] (1 = real token, 0 = padding); undefined = no padding.
  torch::Tensor attention_mask;
  bool return_hidden_states = false;  // embeddings + the output of every block
  bool return_attentions = false;     // softmax probabilities of every layer
  bool return_gates = false;          // gate scores of every layer (gated models)
  bool return_values = false;         // value states of every layer (attention-sink statistics)
  bool compute_logits = true;         // embedders need only the final hidden states
  KVCache* cache = nullptr;           // incremental decoding: keys/values appended here
  // [B,T,C]: the input vectors in place of the token embeddings (soft prompts, trainable
  // special tokens, a prompt embedded elsewhere); forward's tokens are then not read and may
  // be undefined. Positions, masks and the cache apply as to tokens.
  torch::Tensor input_embeddings;
};

struct TransformerOutput {
  torch::Tensor logits;                     // [B,T,V] (when compute_logits)
  torch::Tensor hidden;                     // [B,T,C] after the final norm
  std::vector<torch::Tensor> hidden_states; // L+1 tensors [B,T,C], before the final norm
  std::vector<torch::Tensor> attentions;    // L tensors [B,H,T,S]
  std::vector<torch::Tensor> gates;         // L tensors [B,T,H,D|1]
  std::vector<torch::Tensor> values;        // L tensors [B,Hkv,T,D]
};

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const TransformerConfig& config);
  NormLayer norm_attention{nullptr}, norm_mlp{nullptr};
  Attention attention{nullptr};
  FeedForward mlp{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(Block);

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const TransformerConfig& config);
  // tokens: [B,T] int64 (or options.input_embeddings).
  TransformerOutput forward(const torch::Tensor& tokens, const ForwardOptions& options = {});
  // The output head on final hidden states [...,C] -> [...,V]: what forward applies when it
  // computes logits. Objectives scored at a few positions call it on those alone.
  torch::Tensor logits(const torch::Tensor& hidden);
  const TransformerConfig& config() const { return config_; }
  int64_t parameter_count() const;
  // Sets every dropout of the model to p (SimCSE trains with more dropout than pretraining).
  void set_dropout(double p);

  torch::nn::Embedding token_embedding{nullptr};     // [V,C]
  torch::nn::Embedding position_embedding{nullptr};  // [max_seq,C], learned positions only
  torch::nn::ModuleList blocks{nullptr};
  NormLayer final_norm{nullptr};
  torch::nn::Linear lm_head{nullptr};  // only when embeddings are not tied
  torch::nn::Dropout embedding_dropout{nullptr};

 private:
  void init_weights();
  TransformerConfig config_;
};
TORCH_MODULE(Transformer);

// The [B,1,T,S] allowed mask for new tokens at absolute positions offset..offset+T-1
// against keys 0..S-1. key_real: [B,S] bool (false = padding key).
torch::Tensor build_attention_mask(MaskMode mode, int64_t t, int64_t s, int64_t offset, const torch::Tensor& key_real,
                                   const torch::Tensor& prefix_lengths);

}  // namespace garden::model
