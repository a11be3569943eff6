#include "garden/retrieval/rag.h"

#include <fmt/core.h>

#include <chrono>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/progress.h"
#include "garden/model/generation.h"

namespace garden::retrieval {

namespace fs = std::filesystem;

RagCache parse_rag_cache(const std::string& name) {
  if (name == "none") return RagCache::none;
  if (name == "query") return RagCache::query;
  if (name == "doc") return RagCache::doc;
  if (name == "query-doc") return RagCache::query_doc;
  if (name == "doc-query") return RagCache::doc_query;
  usage_error(fmt::format("--cache must be none, query, doc, query-doc or doc-query, not '{}'", name));
}

std::string to_string(RagCache cache) {
  switch (cache) {
    case RagCache::none: return "none";
    case RagCache::query: return "query";
    case RagCache::doc: return "doc";
    case RagCache::query_doc: return "query-doc";
    case RagCache::doc_query: return "doc-query";
  }
  return "?";
}

StatesAttention parse_states_attention(const std::string& name) {
  if (name == "embedding") return StatesAttention::embedding;
  if (name == "causal") return StatesAttention::causal;
  usage_error(fmt::format("the states' attention must be embedding or causal, not '{}'", name));
}

std::string to_string(StatesAttention attention) { return attention == StatesAttention::embedding ? "embedding" : "causal"; }

model::MaskMode states_mask(const model::LoadedGrit& model, StatesAttention attention) {
  return attention == StatesAttention::causal ? model::MaskMode::causal : model.embedder->config().mask;
}

namespace {

fs::path states_dir(const fs::path& index_dir) { return index_dir / "kv"; }
fs::path states_file(const fs::path& index_dir, int64_t row) { return states_dir(index_dir) / fmt::format("{}.safetensors", row); }

}  // namespace

void store_document_states(model::LoadedGrit& model, const std::vector<std::string>& documents, const fs::path& index_dir,
                           const StatesStoreOptions& options, bool progress) {
  const int64_t max_tokens = options.max_tokens > 0 ? options.max_tokens : model.embedder->config().max_tokens;
  const auto dir = states_dir(index_dir);
  // Only the command's own earlier states are replaced.
  if (fs::exists(dir) && !fs::exists(dir / "manifest.json"))
    throw Error(fmt::format("{} exists and holds no stored states (no manifest.json); refusing to write into it", dir.string()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto mask = states_mask(model, options.attention);
  std::unique_ptr<Progress> bar;
  if (progress) bar = std::make_unique<Progress>("kv states", static_cast<int64_t>(documents.size()), "docs");
  const auto prefix = model::grit_embedding_prefix("");
  for (size_t i = 0; i < documents.size(); ++i) {
    const auto row = model::grit_embedding_row(*model.tokenizer, prefix, documents[i], max_tokens);
    model::save_states(states_file(index_dir, static_cast<int64_t>(i)), model::grit_row_states(model.embedder, row, mask).states, options.dtype);
    if (bar) bar->update(static_cast<int64_t>(i + 1));
  }
  if (bar) bar->finish();
  // The manifest last: a store without it is one whose writing did not finish.
  write_json_atomic(dir / "manifest.json", Json{{"attention", to_string(options.attention)},
                                                {"mask", model::to_string(mask)},
                                                {"dtype", options.dtype == torch::kBFloat16 ? "bf16" : "float32"},
                                                {"max_tokens", max_tokens},
                                                {"documents", documents.size()}});
}

bool has_document_states(const fs::path& index_dir) { return fs::exists(states_dir(index_dir) / "manifest.json"); }

Json document_states_manifest(const fs::path& index_dir) {
  if (!has_document_states(index_dir))
    throw Error(fmt::format("{} has no stored document states (build it with garden index build --model GRITLM --store-kv)", index_dir.string()));
  return read_json_file(states_dir(index_dir) / "manifest.json");
}

model::KVCache load_document_states(const fs::path& index_dir, int64_t row, torch::Device device) {
  return model::load_states(states_file(index_dir, row), device);
}

model::RagOrder rag_order(const RagOptions& options) {
  switch (options.cache) {
    case RagCache::query:
    case RagCache::query_doc: return model::RagOrder::query_first;
    case RagCache::doc:
    case RagCache::doc_query: return model::RagOrder::doc_first;
    case RagCache::none: break;
  }
  return options.order;
}

GritRag::GritRag(model::LoadedGrit& model, const fs::path& index_dir, std::vector<std::string> documents)
    : model_(model), index_dir_(index_dir), documents_(std::move(documents)) {
  if (!index_dir.empty()) {
    index_ = std::make_unique<DenseIndex>(index_dir);
    if (index_->ids().size() != documents_.size())
      throw Error(fmt::format("{}: the index holds {} documents, the corpus {}", index_dir.string(), index_->ids().size(), documents_.size()));
  }
}

RagAnswer GritRag::answer(const std::string& query, const RagOptions& options, int64_t document) {
  const auto started = std::chrono::steady_clock::now();
  const auto& tokenizer = *model_.tokenizer;
  const int64_t limit = model_.embedder->config().max_tokens;
  const auto query_prefix = model::grit_embedding_prefix(options.instruction);
  const int64_t query_tokens =
      options.query_tokens > 0 ? static_cast<int64_t>(tokenizer.encode(query_prefix).size()) + options.query_tokens + 1 : limit;
  const auto query_row = model::grit_embedding_row(tokenizer, query_prefix, query, query_tokens);
  // The embedding pass: the query's vector for retrieval and, for query caching, its states.
  auto query_pass = model::grit_row_states(model_.embedder, query_row, model_.embedder->config().mask);
  RagAnswer out;
  const auto cue = model::grit_answer_cue(tokenizer);
  model::GenerateOptions generate;
  generate.temperature = 0;
  generate.max_new_tokens = options.max_new_tokens;
  if (options.stop_at_eos) generate.stop_tokens = {tokenizer.eos_id()};
  std::vector<int64_t> continuation;
  model::KVCache states;
  if (!options.retrieve) {
    if (options.cache != RagCache::none) usage_error("without retrieval there is nothing to cache: use --cache none");
    continuation = query_row.tokens;
    continuation.insert(continuation.end(), cue.begin(), cue.end());
  } else {
    if (document < 0) {
      if (!index_) throw Error("retrieval needs an index");
      retrieval::Matrix vector{1, query_pass.embedding.size(0), {}};
      vector.data.assign(query_pass.embedding.data_ptr<float>(), query_pass.embedding.data_ptr<float>() + vector.cols);
      document = index_->search(vector, 1).at(0).at(0).row;
    }
    if (document >= static_cast<int64_t>(documents_.size())) throw Error(fmt::format("document row {} is outside the corpus", document));
    out.document = document;
    const int64_t document_tokens = options.document_tokens > 0 ? options.document_tokens : limit;
    const auto document_row = model::grit_embedding_row(tokenizer, model::grit_embedding_prefix(""), documents_[static_cast<size_t>(document)],
                                                        document_tokens);
    const bool cached_query = options.cache == RagCache::query || options.cache == RagCache::query_doc || options.cache == RagCache::doc_query;
    const bool cached_document = options.cache == RagCache::doc || options.cache == RagCache::query_doc || options.cache == RagCache::doc_query;
    model::KVCache query_states, document_states;
    if (cached_query)
      query_states = options.query_states == StatesAttention::embedding
                         ? std::move(query_pass.states)
                         : model::grit_row_states(model_.embedder, query_row, model::MaskMode::causal).states;
    if (cached_document) {
      if (index_dir_.empty()) throw Error("document caching reads the states stored in the index; none was given");
      document_states = load_document_states(index_dir_, document, model_.embedder->backbone->token_embedding->weight.device());
    }
    const auto order = rag_order(options);
    switch (options.cache) {
      case RagCache::none: continuation = model::grit_rag_prompt(query_row, document_row, order, cue); break;
      case RagCache::query:
        states = std::move(query_states);
        continuation = document_row.tokens;
        continuation.insert(continuation.end(), cue.begin(), cue.end());
        break;
      case RagCache::doc:
        states = std::move(document_states);
        continuation = query_row.tokens;
        continuation.insert(continuation.end(), cue.begin(), cue.end());
        break;
      case RagCache::query_doc: states = model::concat_states(query_states, document_states); continuation = cue; break;
      case RagCache::doc_query: states = model::concat_states(document_states, query_states); continuation = cue; break;
    }
  }
  std::vector<model::Completion> completions;
  auto& backbone = model_.backbone();
  if (options.first_logits) out.first_logits = model::next_token_logits(backbone, states, continuation);
  completions = states.length() > 0 ? model::generate_from_states(backbone, std::move(states), continuation, generate)
                                    : model::generate(backbone, continuation, generate);
  out.tokens = completions.at(0).tokens;
  if (!out.tokens.empty() && out.tokens.back() == tokenizer.eos_id()) out.tokens.pop_back();
  out.answer = tokenizer.decode(out.tokens);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

}  // namespace garden::retrieval
