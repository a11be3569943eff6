// Decoding with a kv-cache: greedy / temperature / top-k / top-p sampling with a seed per
// sample, many samples of one prompt in one batch, a forced prefix, a logits-processor hook
// (e.g. a docid trie for DSI), stop tokens, soft prompts (vectors in place of the prompt's
// token embeddings); and scoring of a given continuation.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "garden/model/transformer.h"

namespace garden::model {

// Called before sampling each step with logits [N,V] (float32) and the tokens generated so
// far for each of the N samples; may edit logits in place (set -inf to forbid tokens).
using LogitsProcessor = std::function<void(torch::Tensor& logits, const std::vector<std::vector<int64_t>>& generated)>;

struct GenerateOptions {
  int64_t max_new_tokens = 64;
  double temperature = 1.0;  // 0 = greedy (argmax)
  int64_t top_k = 0;         // 0 = off
  double top_p = 1.0;        // nucleus threshold; 1 = off
  int64_t n_samples = 1;     // completions of the same prompt, decoded as one batch (see decode_threads)
  uint64_t seed = 0;         // sample i draws from its own generator seeded seed + i
  std::vector<int64_t> forced_prefix;  // tokens every completion starts with
  std::vector<int64_t> stop_tokens;    // a completion ends after emitting one of these
  MaskMode mask = MaskMode::causal;    // prefix: the prompt attends to itself both ways
  LogitsProcessor logits_processor;
  // Called with each token a running sample emits (forced prefix and stop tokens included),
  // as it is emitted; returning true ends that sample after this token, as a stop token
  // would (finish_reason "stop"; ignored inside the forced prefix). Streaming and stop
  // strings use it.
  std::function<bool(int64_t sample, int64_t token)> on_token;
  // When > 0, each generated token's step records this many of the most likely next tokens
  // with their log-probabilities (of the logits after logits_processor, before temperature
  // and top-k/top-p: the model's own distribution), as OpenAI's top_logprobs do.
  int64_t top_logprobs = 0;
};

struct TokenLogprob {
  int64_t token = 0;
  double logprob = 0.0;  // natural log
};

struct Completion {
  std::vector<int64_t> tokens;  // forced prefix + generated tokens (including a stop token)
  std::string finish_reason;    // "stop" or "length"
  // With GenerateOptions::top_logprobs: one list per generated token (none for the forced
  // prefix), most likely first.
  std::vector<std::vector<TokenLogprob>> top_logprobs;
};

std::vector<Completion> generate(Transformer& model, const std::vector<int64_t>& prompt, const GenerateOptions& options);

// How many threads a decode of `rows` rows (n_samples, or generate_batch's prompts) is split
// between, each thread decoding its consecutive share of the rows as a batch of its own, on
// itself alone: the calling thread's OpenMP thread count, at most one thread per 2 rows where
// the rows decoder runs the model (RowsDecoder::runs) and per 16 rows elsewhere, and
// 1 (one batch on every thread) where the model takes the full forward at each step, on a GPU,
// with a logits processor or on_token (they see the whole batch, on the calling thread), or
// when called inside a parallel region. A row's tokens do not depend on the split.
int64_t decode_threads(Transformer& model, int64_t rows, const GenerateOptions& options);

// The same from a soft prompt: `prompt` [P,C] holds the vectors the model reads in place of
// P token embeddings (a compressed text, trainable special tokens), as ForwardOptions::
// input_embeddings; decoding then goes on from token ids through the kv-cache. The token
// embeddings of a text decode exactly as the text itself.
std::vector<Completion> generate_from_embeddings(Transformer& model, const torch::Tensor& prompt, const GenerateOptions& options);

// Generation that goes on from cached states: `states` hold the keys and values of the
// prompt's beginning, from any forward (causal or bidirectional, one segment or several
// concatenated: GritLM's RAG caching), one row; `continuation` (at least one token) is read
// causally after them at the positions that follow, then decoding goes on as generate's.
std::vector<Completion> generate_from_states(Transformer& model, KVCache states, const std::vector<int64_t>& continuation,
                                             const GenerateOptions& options);
// The next-token logits [V] (float32, CPU) after `states` + `continuation`, as generate_from_states
// would sample its first token from; empty states: after `continuation` alone, as generate.
torch::Tensor next_token_logits(Transformer& model, KVCache states, const std::vector<int64_t>& continuation);

// One completion of each of several prompts (a conversation simulator's turn over many
// conversations), decoded as one batch: prompt i samples with its own generator seeded
// seeds[i] (options.seed and n_samples are not used; n_samples must be 1), under the causal
// mask. Prompts of different lengths are left-padded, which a RoPE model decodes exactly as
// each prompt alone (its attention sees relative positions only); a model with learned
// positions decodes such prompts one at a time.
std::vector<Completion> generate_batch(Transformer& model, const std::vector<std::vector<int64_t>>& prompts,
                                       const std::vector<uint64_t>& seeds, const GenerateOptions& options);

// Turns logits [N,V] into the sampling distribution's logits: divided by temperature,
// everything outside the top-k and outside the smallest set with mass >= top_p set to -inf.
torch::Tensor filter_logits(const torch::Tensor& logits, double temperature, int64_t top_k, double top_p);

// Inverse-CDF sampling of every row at once: row i of probs [N,V] (non-negative, any
// positive total) gets the first token whose cumulative mass exceeds uniforms[i] (in [0, 1))
// times the row's total; tokens of zero mass are never drawn. Returns [N] int64; a row
// without positive finite mass (NaN, all zero) is an Error naming the row.
torch::Tensor sample_rows(const torch::Tensor& probs, const std::vector<double>& uniforms);

// The same draw from softmax(logits) [N,V] (-inf for tokens never drawn) without writing the
// probabilities out: each row's exp(logit - max) feeds the inverse CDF directly, the way
// decoding samples. A row holding a NaN or only -inf is an Error naming the row.
torch::Tensor sample_softmax_rows(const torch::Tensor& logits, const std::vector<double>& uniforms);

// log p(continuation[i] | context, continuation[<i]) for each i, in nats (float64 [n]).
torch::Tensor score_continuation(Transformer& model, const std::vector<int64_t>& context,
                                 const std::vector<int64_t>& continuation);

}  // namespace garden::model
