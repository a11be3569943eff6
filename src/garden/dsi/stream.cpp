#include "garden/dsi/stream.h"

#include <fmt/core.h>

#include <random>
#include <set>

#include "garden/core/error.h"
#include "garden/retrieval/bm25.h"

namespace garden::dsi {

StreamMode parse_stream_mode(const std::string& name) {
  if (name == "multitask") return StreamMode::multitask;
  if (name == "sequential") return StreamMode::sequential;
  if (name == "index-only") return StreamMode::index_only;
  if (name == "retrieval-only") return StreamMode::retrieval_only;
  usage_error(fmt::format("--mode must be multitask, sequential, index-only or retrieval-only, got '{}'", name));
}

std::string to_string(StreamMode mode) {
  switch (mode) {
    case StreamMode::multitask: return "multitask";
    case StreamMode::sequential: return "sequential";
    case StreamMode::index_only: return "index-only";
    case StreamMode::retrieval_only: return "retrieval-only";
  }
  return "?";
}

DocRepresentation parse_doc_representation(const std::string& name) {
  if (name == "direct") return DocRepresentation::direct;
  if (name == "set") return DocRepresentation::set;
  if (name == "chunk") return DocRepresentation::chunk;
  usage_error(fmt::format("--doc-representation must be direct, set or chunk, got '{}'", name));
}

std::string to_string(DocRepresentation representation) {
  switch (representation) {
    case DocRepresentation::direct: return "direct";
    case DocRepresentation::set: return "set";
    case DocRepresentation::chunk: return "chunk";
  }
  return "?";
}

void StreamOptions::validate() const {
  if (!(ratio > 0 && ratio <= 10000)) usage_error(fmt::format("--ratio (r) must be in (0, 10000], got {}", ratio));
  if (doc_tokens < 1 || doc_tokens > 1024) usage_error(fmt::format("--doc-tokens (L) must be 1..1024, got {}", doc_tokens));
  if (query_tokens < 1 || query_tokens > 1024) usage_error(fmt::format("--query-tokens must be 1..1024, got {}", query_tokens));
}

Json StreamOptions::to_json() const {
  return {{"mode", to_string(mode)}, {"ratio", ratio}, {"representation", to_string(representation)},
          {"doc_tokens", doc_tokens}, {"query_tokens", query_tokens}};
}

std::string set_representation(const std::string& text) {
  std::set<std::string> seen;
  std::string out;
  for (const auto& word : retrieval::bm25_tokens(text, "none", true))
    if (seen.insert(word).second) {
      if (!out.empty()) out += ' ';
      out += word;
    }
  return out;
}

namespace {

std::vector<int64_t> cut(std::vector<int64_t> tokens, int64_t length) {
  if (static_cast<int64_t>(tokens.size()) > length) tokens.resize(static_cast<size_t>(length));
  return tokens;
}

}  // namespace

TrainingStream::TrainingStream(const text::Tokenizer& tokenizer, const std::vector<std::string>& documents,
                               const std::vector<std::pair<std::string, int64_t>>& queries, const StreamOptions& options,
                               uint64_t seed)
    : options_(options), seed_(seed) {
  options_.validate();
  if (documents.empty()) throw Error("DSI training stream: no documents");
  for (const auto& text : documents) {
    doc_tokens_.push_back(tokenizer.encode(text));
    doc_inputs_.push_back(cut(options_.representation == DocRepresentation::set ? tokenizer.encode(set_representation(text))
                                                                                : doc_tokens_.back(),
                              options_.doc_tokens));
  }
  if (options_.representation != DocRepresentation::chunk) doc_tokens_.clear();
  for (const auto& [text, doc] : queries) {
    if (doc < 0 || doc >= static_cast<int64_t>(documents.size()))
      throw Error(fmt::format("DSI training stream: query '{}' names document {} of {}", text, doc, documents.size()));
    query_inputs_.push_back(cut(tokenizer.encode(text), options_.query_tokens));
    query_docs_.push_back(doc);
  }
  const bool needs_queries = options_.mode != StreamMode::index_only;
  if (needs_queries && query_inputs_.empty())
    usage_error(fmt::format("DSI training stream: the {} mode needs training queries, and there are none", to_string(options_.mode)));
}

std::vector<StreamExample> TrainingStream::batch(int64_t index, int64_t batch_size, int64_t step, int64_t steps) const {
  std::mt19937_64 rng(seed_ * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(index) * 0xbf58476d1ce4e5b9ULL + 1);
  std::uniform_real_distribution<double> unit(0, 1);
  const double p_indexing = options_.ratio / (options_.ratio + 1);
  std::vector<StreamExample> out;
  for (int64_t b = 0; b < batch_size; ++b) {
    bool indexing = false;
    switch (options_.mode) {
      case StreamMode::multitask: indexing = unit(rng) < p_indexing; break;
      case StreamMode::sequential: indexing = 2 * step <= steps; break;
      case StreamMode::index_only: indexing = true; break;
      case StreamMode::retrieval_only: indexing = false; break;
    }
    StreamExample example;
    example.indexing = indexing;
    if (indexing) {
      example.doc = static_cast<int64_t>(rng() % doc_inputs_.size());
      if (options_.representation == DocRepresentation::chunk) {
        const auto& all = doc_tokens_[static_cast<size_t>(example.doc)];
        const auto length = static_cast<int64_t>(all.size());
        const int64_t start = length > options_.doc_tokens ? static_cast<int64_t>(rng() % static_cast<uint64_t>(length - options_.doc_tokens + 1)) : 0;
        example.input.assign(all.begin() + start, all.begin() + std::min(length, start + options_.doc_tokens));
      } else {
        example.input = doc_inputs_[static_cast<size_t>(example.doc)];
      }
    } else {
      const auto q = rng() % query_inputs_.size();
      example.doc = query_docs_[q];
      example.input = query_inputs_[q];
    }
    out.push_back(std::move(example));
  }
  return out;
}

}  // namespace garden::dsi
