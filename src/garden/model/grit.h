// GritLM (arXiv:2402.09906): one transformer that embeds and generates, told apart by the
// prompt format and the attention of the call.
//   embedding:  <|user|>\n{instruction}\n<|embed|>\n{text}   (queries; documents: <|embed|>\n{text})
//   generation: <s><|user|>\n{prompt}\n<|assistant|>\n{response}</s>
// The format pieces are user-defined pieces added to the LM's SentencePiece model (new ids,
// new embedding rows), so each is one token. The embedder pools over {text} only (the
// instruction and format tokens are attended to but never pooled). The attention code
// names the mask of (embedding instruction, embedding text[, generation instruction,
// generation text]), B = bidirectional, C = causal: bbcc (GritLM), cccc, and the
// embedding-only bb, cc and cb (instruction causal, text bidirectional).
// A GritLM folder is an embedder folder (model/embedder.h) whose config.json has a "grit"
// section; it loads wherever an embedding model is read, and its backbone generates.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/model/embedder.h"
#include "garden/text/tokenizer.h"

namespace garden::model {

inline constexpr const char* kUserPiece = "<|user|>";
inline constexpr const char* kEmbedPiece = "<|embed|>";
inline constexpr const char* kAssistantPiece = "<|assistant|>";

struct GritAttention {
  std::string code = "bbcc";
  MaskMode embedding = MaskMode::bidirectional;  // bidirectional (bb), causal (cc) or causal_prefix (cb)
  bool generates = true;                         // four letters: the model is also trained to generate (causally)
};
// bbcc | cccc | bb | cc | cb; anything else is a usage error naming the codes.
GritAttention parse_grit_attention(const std::string& code);

// What precedes a query's text: "<|user|>\n{instruction}\n<|embed|>\n", or "<|embed|>\n" without
// an instruction (documents of asymmetric tasks).
std::string grit_embedding_prefix(const std::string& instruction);
// The generation prompt: BOS + "<|user|>\n{prompt}\n<|assistant|>\n" as tokens.
std::vector<int64_t> grit_prompt_tokens(const text::Tokenizer& tokenizer, const std::string& prompt);

// One text as the embedder reads it (make_embedding_batch's row): the prefix's tokens, the
// text's (cut to fit max_tokens), EOS; pooling starts at pool_from, after the prefix.
struct EmbeddingRow {
  std::vector<int64_t> tokens;
  int64_t pool_from = 0;
};
EmbeddingRow grit_embedding_row(const text::Tokenizer& tokenizer, const std::string& prefix, const std::string& text, int64_t max_tokens);

// One forward of a row under `mask` that keeps every layer's keys and values (GritLM's RAG
// caching reuses them in place of reading the text again), and the row's embedding (its
// pooled, normalised states; the model's embedding only under its own mask).
struct RowStates {
  KVCache states;
  torch::Tensor embedding;  // [D] float32 on the CPU
};
RowStates grit_row_states(Embedder& embedder, const EmbeddingRow& row, MaskMode mask);

// GritLM's RAG prompt: the query's embedding row and the document's, in the chosen order,
// then "<|assistant|>\n" (grit_answer_cue), after which the answer is generated. The parts
// are the very rows the embedder reads, so their states from the embedding pass can stand
// in for reading them again.
enum class RagOrder { query_first, doc_first };
RagOrder parse_rag_order(const std::string& name);
std::string to_string(RagOrder order);
std::vector<int64_t> grit_answer_cue(const text::Tokenizer& tokenizer);
std::vector<int64_t> grit_rag_prompt(const EmbeddingRow& query, const EmbeddingRow& document, RagOrder order, const std::vector<int64_t>& cue);

// A copy of `model` whose vocabulary has `vocab` rows (>= its own); the new rows of the token
// embedding (and of an untied output head) start at the mean of the old rows, as tokens that
// mean nothing yet. Every other tensor is copied.
Transformer grow_vocabulary(Transformer& model, int64_t vocab);

bool is_grit_folder(const std::filesystem::path& dir);

struct LoadedGrit {
  Embedder embedder{nullptr};
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::string tokenizer_spec;
  GritAttention attention;
  Transformer& backbone() { return embedder->backbone; }
};

// A GritLM folder: save_embedder's folder plus {"grit": {"attention": code}} in config.json.
void save_grit(const std::filesystem::path& dir, Embedder& embedder, const std::string& tokenizer_spec, const GritAttention& attention);
LoadedGrit load_grit(const std::filesystem::path& dir, torch::Device device = torch::kCPU);

// A new GritLM from a garden LM folder: its SentencePiece model with the three format pieces
// appended is written to `tokenizer_out`, the vocabulary grown to match, and the embedder set
// to the attention's embedding mask, `pooling` and `max_tokens`.
LoadedGrit grit_from_lm(const std::filesystem::path& lm_dir, const GritAttention& attention, Pooling pooling, int64_t max_tokens,
                        const std::filesystem::path& tokenizer_out, torch::Device device = torch::kCPU);

}  // namespace garden::model
