// Generative representational instruction tuning (GritLM, arXiv:2402.09906) of a garden LM:
// every step draws an embedding batch (queries with groups of passages, all from one
// dataset so that in-batch negatives share its task) and a generative batch (prompt ->
// response rows), and minimises lambda_rep x L_rep + lambda_gen x L_gen (objectives/grit.h).
// The modes train the same model three ways: unified (both losses), embedding (L_rep alone)
// and generative (L_gen alone). Embedding batches run under the attention code's embedding
// mask and pool the text only; generative batches run causally. Batches are a pure function
// of the micro-batch index, so a resumed run sees the same ones.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/model/grit.h"
#include "garden/text/pairs.h"
#include "garden/train/objectives/grit.h"
#include "garden/train/trainer.h"

namespace garden::train {

enum class GritMode { unified, embedding, generative };
GritMode parse_grit_mode(const std::string& name);
std::string to_string(GritMode mode);

// One embedding dataset: its pairs and the instruction its queries are read with.
struct GritDataset {
  std::string name, instruction;
  std::vector<text::TextPair> pairs;
};

// A prompt and the response the model learns to give. With a document, the row is a RAG
// prompt (model::grit_rag_prompt): the prompt is the query, read with `instruction` in its
// embedding row, and the document's row comes before or after it as `order` says.
struct GritGeneration {
  std::string prompt, response;
  std::string document, instruction;
  model::RagOrder order = model::RagOrder::query_first;
};
// JSONL, one {"prompt": ..., "response": ...} a line, optionally "document", "instruction" and
// "order" (query-first | doc-first); strict like the pairs reader.
std::vector<GritGeneration> read_grit_generations(const std::filesystem::path& path);
void write_grit_generations(const std::filesystem::path& path, const std::vector<GritGeneration>& rows);

// "FILE" or "FILE::INSTRUCTION": a pairs file read as one dataset (named after the file),
// its queries prefixed by the instruction.
GritDataset read_grit_dataset(const std::string& argument);

struct GritOptions {
  GritMode mode = GritMode::unified;
  int64_t group_size = 2;        // passages per query: the positive and group_size - 1 negatives
  double temperature = 0.05;
  int64_t gen_batch = 4;         // generative rows per step (the embedding batch is the trainer's batch)
  double lambda_rep = 1.0, lambda_gen = 1.0;  // the 7B script's weights
  GenLossAggregation gen_loss = GenLossAggregation::mixed;
  int64_t gen_sub_batch = 32;
  int64_t query_tokens = 16, passage_tokens = 48, gen_tokens = 96;
  int64_t embed_max_tokens = 0;  // a new GritLM embeds texts cut here later (0: the backbone's context)
  void validate() const;
  Json to_json() const;
};

// The losses of the first step and of the last evaluation window, shared with the caller.
struct GritLossLog {
  double first_rep = 0, first_gen = 0;  // step 1 (0 when the mode skips the loss)
  double rep_sum = 0, gen_sum = 0;      // since the last evaluation
  int64_t micro_steps = 0;
};

// Builds the Trainer objective on `model` (the embedder; its backbone generates). `held_out_pairs`
// and `held_out_generations` (either may be empty) give val_rep_loss and val_gen_loss at each
// evaluation; val_loss is their weighted sum. `embed_batch` is the number of queries per step.
Objective grit_objective(model::LoadedGrit& model, const std::vector<GritDataset>& datasets, const std::vector<GritGeneration>& generations,
                         const std::vector<text::TextPair>& held_out_pairs, const std::vector<GritGeneration>& held_out_generations,
                         const GritOptions& options, int64_t embed_batch, uint64_t seed, std::shared_ptr<GritLossLog> log, bool quiet);

// Generative rows as the model reads them, right-padded: BOS + the chat-formatted prompt (or a
// RAG prompt for a row with a document), then the response and EOS, cut to gen_tokens by
// shortening the response. `counted` marks the response and EOS: the tokens whose prediction
// the loss counts (the prompt's targets are ignored, as labels of -100 in GritLM's code).
struct GritGenerationBatch {
  torch::Tensor tokens, attention_mask, counted;  // [B,T] int64
};
GritGenerationBatch grit_generation_batch(const text::Tokenizer& tokenizer, const std::vector<const GritGeneration*>& rows,
                                          const GritOptions& options);

// Mean nats per response token of `rows` (the token-level loss, the perplexity's log), read
// causally as in training, `batch` rows at a time, without gradients.
double mean_response_loss(model::LoadedGrit& model, const std::vector<GritGeneration>& rows, const GritOptions& options, int64_t batch);

// A whole run: a GritLM from `model` (a garden LM, or a GritLM to go on training) trained into
// `out` with `train` (its batch is the embedding batch), resumable.
struct GritRun {
  TrainResult result;
  GritLossLog losses;
};
GritRun train_grit(const std::filesystem::path& model, const std::string& attention, const std::string& pooling,
                   const std::vector<GritDataset>& datasets, const std::vector<GritGeneration>& generations,
                   const std::vector<text::TextPair>& held_out_pairs, const std::vector<GritGeneration>& held_out_generations,
                   const GritOptions& options, const TrainConfig& train, const std::filesystem::path& out, bool resume, bool quiet,
                   torch::Device device = torch::kCPU);

}  // namespace garden::train
