// LLM2Vec-Gen's training (arXiv:2603.10913, v2): on unlabeled queries only, the special
// tokens and projections of a GenerativeEmbedder (model/generative_embedder.h) learn to
// compress the frozen backbone's own answer (reconstruction through the frozen LM) and to
// match an unsupervised teacher's embedding of that answer (alignment):
//   L = lambda_rec L_rec + lambda_align L_align   (the paper's weights: 1 and 1),
// run by the shared Trainer (schedule, checkpoints, resume). Batches are a pure function of
// the micro-batch index (the per-epoch permutation of embedder training).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "garden/model/embedder.h"
#include "garden/model/generative_embedder.h"
#include "garden/text/tokenizer.h"
#include "garden/train/train_config.h"
#include "garden/train/trainer.h"

namespace garden::train {

struct GenerativeExample {
  std::vector<int64_t> query;     // the query's tokens, without special tokens
  std::vector<int64_t> response;  // the backbone's own answer to it, ending with EOS
  std::vector<float> teacher;     // the teacher's embedding of that answer [d_T]
};

// ---- data: the backbone's own answers and the teacher's embedding of each ----

struct GenerativeAnswer {
  std::vector<int64_t> tokens;  // the answer's tokens, ending with EOS (added when it was cut)
  std::string text;             // the answer without EOS
};

struct AnswerOptions {
  int64_t max_new_tokens = 32;
  int64_t batch = 64;     // prompts decoded at once (kv-cache, left padding)
  std::string cue;        // what follows each query in the prompt (garden's WordNet chat model: wordnet_chat.h's kAnswerCue)
};

// The backbone's greedy answers: prompt i is BOS + the tokens of queries[i] + cue; batches of prompts
// decode together. `progress` (optional) is told how many are done.
std::vector<GenerativeAnswer> backbone_answers(model::Transformer& backbone, const text::Tokenizer& tokenizer,
                                               const std::vector<std::string>& queries, const AnswerOptions& options,
                                               const std::function<void(int64_t)>& progress = {});

// LLM2Vec-Gen's training data from unlabeled queries (the paper's response generation): each
// query with the backbone's answer and the teacher's embedding of that answer (its pooled
// features before normalisation, the raw embedding the paper's MSE reads).
struct PreparedQuery {
  std::string query;
  GenerativeAnswer answer;
  std::vector<float> teacher;
};
std::vector<PreparedQuery> prepare_generative_data(model::Transformer& backbone, const text::Tokenizer& tokenizer, model::Embedder& teacher,
                                                   const text::Tokenizer& teacher_tokenizer, const std::vector<std::string>& queries,
                                                   const AnswerOptions& options, const std::function<void(int64_t)>& progress = {});

// JSONL, one query a line: {"query", "response" (text, for reading), "response_ids" (ending
// with EOS), "teacher"}; written atomically (bytes of the response text that are not UTF-8
// become U+FFFD; the ids are exact).
void write_generative_data(const std::filesystem::path& path, const std::vector<PreparedQuery>& data);
// Reads such a file into training examples (each query as `config` reads it:
// model::generative_query_row);
// errors name the file and line (malformed JSON, a missing field, an empty response, a
// response id outside the vocabulary, teacher vectors of different sizes or not finite).
std::vector<GenerativeExample> read_generative_examples(const std::filesystem::path& path, const text::Tokenizer& tokenizer,
                                                       const model::GenerativeEmbedderConfig& config);

// `garden llm2vec-gen prepare`: queries (one a line, or JSONL objects with "text" such as a
// BEIR queries.jsonl) answered by `backbone` (a language model folder or run) and embedded
// by `teacher` (an embedder folder or run), written to `out` (write_generative_data) with a
// progress bar. `out` may replace only such a file. Returns the number of queries.
struct GenerativePrepareJob {
  std::string backbone, teacher, queries, out;
  AnswerOptions answers;
};
int64_t prepare_generative_file(const GenerativePrepareJob& job);

// `garden llm2vec-gen decode`: the generative embedder of `model` (a folder or run) loaded and
// each text's soft prompt decoded (model::decode_soft_prompts).
std::vector<std::string> decode_generative(const std::string& model, const std::vector<std::string>& texts, const std::string& instruction,
                                           int64_t max_new_tokens);

struct GenerativeLossWeights {
  double reconstruction = 1.0;  // lambda_rec (0: the align-only ablation)
  double alignment = 1.0;       // lambda_align (0: the reconstruction-only ablation)
  // A usage error for a negative or non-finite weight, or both zero.
  void validate() const;
};

struct GenerativeLosses {
  torch::Tensor total, reconstruction, alignment;  // scalars; a part whose weight is 0 is not computed (undefined)
};
GenerativeLosses generative_batch_losses(model::GenerativeEmbedder& model, const std::vector<const GenerativeExample*>& batch,
                                         const GenerativeLossWeights& weights);

// The Trainer's objective over `train` in batches of config.batch; `held_out` (may be empty)
// gives, at each evaluation, both losses, their weighted total as val_loss, and the mean
// cosine of each embedding with its own teacher vector against that with the next
// example's. Checkpoints are generative embedder folders. The references must outlive training.
Objective generative_embedding_objective(model::GenerativeEmbedder& model, const std::vector<GenerativeExample>& train,
                                         const std::vector<GenerativeExample>& held_out, const GenerativeLossWeights& weights,
                                         const TrainConfig& config, const std::string& tokenizer_spec);

}  // namespace garden::train
