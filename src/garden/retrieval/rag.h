// Retrieval-augmented generation with one GritLM as retriever and reader (arXiv:2402.09906
// Sec. 4): the query's embedding pass retrieves the top document from a dense index built
// with the same model, and the answer is generated after the RAG prompt
// (model::grit_rag_prompt: the query's and the document's embedding rows, then
// "<|assistant|>\n"). Caching reuses key/value states instead of reading a part again:
//   none       - the whole prompt is read (plain RAG, in either order);
//   query      - the query's states from its embedding pass (query first);
//   doc        - the document's states stored in the index at indexing time (document first);
//   query-doc  - both cached, query first; doc-query - both cached, document first (the two
//                parts were computed apart and never attended to each other).
// States come from the embedding pass (GritLM: bidirectional under bbcc, so not the causal
// states the generator was trained on) or, with causal states, from a causal pass over the
// same row, which makes query and doc caching exactly equal to plain RAG.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "garden/model/grit.h"
#include "garden/model/kv_cache.h"
#include "garden/retrieval/dense.h"

namespace garden::retrieval {

enum class RagCache { none, query, doc, query_doc, doc_query };
RagCache parse_rag_cache(const std::string& name);
std::string to_string(RagCache cache);

// Which forward cached states come from: the model's embedding pass (its embedding mask)
// or a causal pass over the same tokens.
enum class StatesAttention { embedding, causal };
StatesAttention parse_states_attention(const std::string& name);
std::string to_string(StatesAttention attention);
model::MaskMode states_mask(const model::LoadedGrit& model, StatesAttention attention);

// Per-document states beside a dense index: <index>/kv/<row>.safetensors for the document at
// row `row` of the index, and kv/manifest.json {"attention", "dtype", "max_tokens",
// "documents"}. Written by `garden index build --store-kv`.
struct StatesStoreOptions {
  StatesAttention attention = StatesAttention::embedding;
  torch::ScalarType dtype = torch::kBFloat16;
  int64_t max_tokens = 0;  // 0: the embedder's
};
void store_document_states(model::LoadedGrit& model, const std::vector<std::string>& documents, const std::filesystem::path& index_dir,
                           const StatesStoreOptions& options, bool progress);
bool has_document_states(const std::filesystem::path& index_dir);
Json document_states_manifest(const std::filesystem::path& index_dir);
model::KVCache load_document_states(const std::filesystem::path& index_dir, int64_t row, torch::Device device = torch::kCPU);

struct RagOptions {
  RagCache cache = RagCache::none;
  model::RagOrder order = model::RagOrder::query_first;  // for cache none (the others fix it)
  bool retrieve = true;           // false: no document at all (the "No RAG" baseline)
  std::string instruction;        // the query's embedding instruction
  StatesAttention query_states = StatesAttention::embedding;
  int64_t max_new_tokens = 16;
  int64_t query_tokens = 0, document_tokens = 0;  // rows are cut here (0: the embedder's max_tokens)
  bool first_logits = false;  // also return the first answer token's logits (one more prompt forward)
  bool stop_at_eos = true;    // false: always max_new_tokens (latency comparisons decode the same number)
};
// The prompt order a cache mode implies (query, query-doc: query first; doc, doc-query:
// document first; none: options.order).
model::RagOrder rag_order(const RagOptions& options);

struct RagAnswer {
  std::string answer;
  int64_t document = -1;  // index row of the document read (-1: none)
  std::vector<int64_t> tokens;
  torch::Tensor first_logits;  // [V] with RagOptions::first_logits: what the first answer token is drawn from
  double seconds = 0;          // query embedding, retrieval, states, prompt and decoding
};

// The corpus is the index's documents in row order (their texts); the index folder must
// have stored states for the doc-cached modes.
class GritRag {
 public:
  GritRag(model::LoadedGrit& model, const std::filesystem::path& index_dir, std::vector<std::string> documents);
  // Greedy answer to `query`; with `document` >= 0 that document is read instead of the
  // retrieved one (the latency benchmark and the exactness check fix it).
  RagAnswer answer(const std::string& query, const RagOptions& options, int64_t document = -1);

 private:
  model::LoadedGrit& model_;
  std::filesystem::path index_dir_;
  std::unique_ptr<DenseIndex> index_;
  std::vector<std::string> documents_;
};

}  // namespace garden::retrieval
