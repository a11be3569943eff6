#include "garden/serve/service.h"

#include <fmt/core.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <unordered_map>

#include "garden/core/error.h"
#include "garden/core/runtime.h"
#include "garden/model/embedder.h"
#include "garden/model/generation.h"
#include "garden/model/model_folder.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/model_vectors.h"
#include "garden/retrieval/retriever.h"
#include "garden/retrieval/vectors.h"
#include "garden/serve/chat_template.h"
#include "garden/serve/embedding_batcher.h"
#include "garden/serve/fifo_slots.h"
#include "garden/serve/text_stream.h"
#include "garden/serve/tool_calls.h"
#include "garden/text/tokenizer.h"
#include "garden/train/run_folder.h"

namespace garden::serve {

namespace {

// A served model's id: the name of the folder it was given as.
std::string folder_id(std::filesystem::path path) {
  path = path.lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  return path.filename().string();
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A retriever owned by the service, lent to a fusion.
class Borrowed : public retrieval::Retriever {
 public:
  explicit Borrowed(retrieval::Retriever& inner) : inner_(inner) {}
  std::string kind() const override { return inner_.kind(); }
  retrieval::Run search(const std::vector<retrieval::Query>& queries, int64_t k) override { return inner_.search(queries, k); }

 private:
  retrieval::Retriever& inner_;
};

// The kind a /search request names for an index of retrieval kind `kind`.
std::string served_kind(const std::string& kind) {
  if (kind == "bm25") return "bm25";
  if (kind == "fusion") return "hybrid";
  return "dense";  // flat, hnsw, ivfpq
}

void check_token_ids(const std::vector<int64_t>& ids, int64_t vocab, const std::string& param) {
  for (int64_t id : ids)
    if (id >= vocab) bad_request(fmt::format("token id {} is outside the model's vocabulary of {}", id, vocab), param);
}

ApiError context_exceeded(int64_t limit, int64_t prompt, int64_t completion, const std::string& param) {
  return ApiError(400,
                  fmt::format("This model's maximum context length is {} tokens. However, you requested {} tokens ({} in the "
                              "prompt, {} in the completion). Please reduce the length of the prompt or completion.",
                              limit, prompt + completion, prompt, completion),
                  "invalid_request_error", param, "context_length_exceeded");
}

}  // namespace

struct SlotGuard {
  explicit SlotGuard(FifoSlots& slots) : slots(slots) { slots.acquire(); }
  ~SlotGuard() { slots.release(); }
  FifoSlots& slots;
};

struct GenerationJob {
  bool chat = false;
  std::string id, model;
  int64_t created = 0;
  std::vector<std::vector<int64_t>> prompts;  // BOS + tokens, one per prompt
  model::GenerateOptions options;             // n, sampling, length, stop tokens
  std::vector<std::string> stop_strings;
  bool stream = false, include_usage = false;
  bool tools = false;  // a chat with tools: text-protocol blocks in the reply become tool_calls
  int64_t prompt_tokens = 0;
};

struct Service::State {
  ServiceOptions options;
  int64_t created = now_seconds();
  std::atomic<int64_t> requests{0};
  std::unique_ptr<FifoSlots> slots;  // generation requests decoded at once

  std::string lm_id;
  model::Transformer lm{nullptr};
  std::unique_ptr<text::Tokenizer> lm_tokenizer;

  std::string embedder_id;
  std::unique_ptr<retrieval::EmbeddingModel> embedder;
  std::unique_ptr<EmbeddingBatcher> batcher;

  std::map<std::string, std::unique_ptr<retrieval::Retriever>> retrievers;  // by served kind
  std::map<std::string, const std::unordered_map<std::string, std::string>*> texts;  // the documents' text, by served kind
  std::map<std::filesystem::path, std::unordered_map<std::string, std::string>> corpora;
  std::string default_kind;
  FifoSlots search_turn{1};  // Xapian databases and FAISS indexes are searched one query at a time

  std::string next_id(const char* prefix) { return fmt::format("{}-{:x}{:04x}", prefix, created, requests++); }

  void require_lm(const std::string& id) {
    if (id == lm_id && lm) return;
    if (id == embedder_id && embedder)
      throw ApiError(400, fmt::format("'{}' is an embedding model; this endpoint needs the language model '{}'", id, lm_id),
                     "invalid_request_error", "model", "model_not_supported");
    throw ApiError(404, fmt::format("The model '{}' does not exist", id), "invalid_request_error", "model", "model_not_found");
  }
  void require_embedder(const std::string& id) {
    if (id == embedder_id && embedder) return;
    if (id == lm_id && lm)
      throw ApiError(400,
                     embedder ? fmt::format("'{}' is a language model; embeddings come from the embedding model '{}'", id, embedder_id)
                              : fmt::format("'{}' is a language model, and no embedding model is served (--embedder)", id),
                     "invalid_request_error", "model", "model_not_supported");
    throw ApiError(404, fmt::format("The model '{}' does not exist", id), "invalid_request_error", "model", "model_not_found");
  }

  const std::unordered_map<std::string, std::string>* corpus_texts(const std::filesystem::path& index) {
    const auto corpus = retrieval::index_corpus(index);
    if (corpus.empty() || !std::filesystem::exists(corpus)) {
      fmt::print(stderr, "garden serve: index {} names no readable corpus; /search answers without text\n", index.string());
      return nullptr;
    }
    auto [it, added] = corpora.try_emplace(corpus);
    if (added)
      for (const auto& doc : retrieval::read_beir_corpus(corpus)) it->second[doc.id] = retrieval::document_text(doc);
    return &it->second;
  }

  void open_indexes() {
    for (const auto& dir : options.indexes) {
      const std::string kind = served_kind(retrieval::index_kind(dir));
      if (retrievers.count(kind)) usage_error(fmt::format("--index {}: a {} index is served already (one per kind)", dir.string(), kind));
      retrieval::SearchOptions search;
      if (kind != "bm25") {
        if (!embedder) usage_error(fmt::format("--index {} has dense vectors: give --embedder, the model it was built with", dir.string()));
        search.model = embedder.get();
      }
      retrievers[kind] = retrieval::open_index(dir, search);
      texts[kind] = corpus_texts(dir);
      if (default_kind.empty()) default_kind = kind;
    }
    if (!retrievers.count("hybrid") && retrievers.count("bm25") && retrievers.count("dense")) {
      std::vector<std::unique_ptr<retrieval::Retriever>> members;
      members.push_back(std::make_unique<Borrowed>(*retrievers["bm25"]));
      members.push_back(std::make_unique<Borrowed>(*retrievers["dense"]));
      retrievers["hybrid"] = retrieval::fuse_retrievers(std::move(members), retrieval::FusionOptions{});  // RRF, k = 60
      texts["hybrid"] = texts["bm25"];
    }
  }

  // The prompt's tokens after BOS, the limits checked against the model's context.
  std::shared_ptr<GenerationJob> job(bool chat, const std::string& model, const std::vector<std::vector<int64_t>>& prompts,
                                     const SamplingRequest& s, std::vector<int64_t> stop_tokens, std::vector<std::string> stop_strings) {
    auto job = std::make_shared<GenerationJob>();
    job->chat = chat;
    job->id = next_id(chat ? "chatcmpl" : "cmpl");
    job->model = model;
    job->created = now_seconds();
    const int64_t context = lm->config().max_seq;
    int64_t longest = 0;
    for (const auto& p : prompts) {
      std::vector<int64_t> ids{lm_tokenizer->bos_id()};
      ids.insert(ids.end(), p.begin(), p.end());
      longest = std::max<int64_t>(longest, static_cast<int64_t>(ids.size()));
      job->prompt_tokens += static_cast<int64_t>(ids.size());
      job->prompts.push_back(std::move(ids));
    }
    // OpenAI's defaults: 16 tokens for a completion, the rest of the context for a chat reply.
    const int64_t max_tokens = s.max_tokens.value_or(chat ? std::max<int64_t>(1, context - longest) : 16);
    if (longest + max_tokens > context) throw context_exceeded(context, longest, max_tokens, chat ? "messages" : "prompt");
    if (static_cast<int64_t>(prompts.size()) * s.n > 128)
      bad_request(fmt::format("{} prompts x n = {} choices; at most 128 per request", prompts.size(), s.n), "n");
    job->options.max_new_tokens = max_tokens;
    job->options.temperature = s.temperature;
    job->options.top_p = s.top_p;
    job->options.seed = s.seed;
    job->options.n_samples = s.n;
    stop_tokens.push_back(lm_tokenizer->eos_id());
    job->options.stop_tokens = std::move(stop_tokens);
    stop_strings.insert(stop_strings.end(), s.stop.begin(), s.stop.end());
    job->stop_strings = std::move(stop_strings);
    job->stream = s.stream;
    job->include_usage = s.include_usage;
    return job;
  }

  Json chunk(const GenerationJob& job, int64_t index, const std::string& text, const std::string& finish_reason) const {
    return job.chat ? chat_chunk(job.id, job.created, job.model, index, text, finish_reason, false)
                    : completion_chunk(job.id, job.created, job.model, index, text, finish_reason);
  }

  // Decodes every prompt of the job, n samples each, calling `piece(choice, text)` with text as
  // it becomes final (when `stream_pieces`); returns the choices and the completion tokens.
  std::pair<std::vector<Choice>, int64_t> decode(const GenerationJob& job, bool stream_pieces,
                                                 const std::function<bool(int64_t, const std::string&)>& piece) {
    SlotGuard slot(*slots);
    std::vector<Choice> choices;
    int64_t completion_tokens = 0;
    bool gone = false;
    for (const auto& prompt : job.prompts) {
      const int64_t base = static_cast<int64_t>(choices.size());
      std::vector<TextStream> texts;
      for (int64_t i = 0; i < job.options.n_samples; ++i) texts.emplace_back(*lm_tokenizer, job.stop_strings, job.options.stop_tokens);
      auto options = job.options;
      options.on_token = [&](int64_t i, int64_t token) {
        auto& text = texts[static_cast<size_t>(i)];
        const bool ended = text.add(token);
        if (stream_pieces) {
          const std::string ready = text.take();
          if (!ready.empty() && !gone) gone = !piece(base + i, ready);
        }
        return ended || gone;
      };
      const auto completions = model::generate(lm, prompt, options);
      for (size_t i = 0; i < completions.size(); ++i) {
        const std::string rest = texts[i].finish();
        if (stream_pieces && !rest.empty() && !gone) gone = !piece(base + static_cast<int64_t>(i), rest);
        choices.push_back(Choice{texts[i].text(), completions[i].finish_reason});
        completion_tokens += static_cast<int64_t>(completions[i].tokens.size());
      }
      if (gone) break;
    }
    return {choices, completion_tokens};
  }
};

Service::Service(const ServiceOptions& options) : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.options = options;
  if (options.max_generations < 1) usage_error(fmt::format("--max-generations must be at least 1, got {}", options.max_generations));
  if (options.batch_rows < 1) usage_error(fmt::format("--batch-rows must be at least 1, got {}", options.batch_rows));
  if (options.batch_wait_ms < 0) usage_error(fmt::format("--batch-wait-ms must be >= 0, got {}", options.batch_wait_ms));
  s.slots = std::make_unique<FifoSlots>(options.max_generations);
  if (options.model.empty() && options.embedder.empty()) usage_error("serve needs --model, --embedder or both");
  if (!options.model.empty()) {
    auto loaded = model::load_model(train::model_folder(options.model), resolve_device(options.device));
    s.lm = loaded.model;
    s.lm->eval();  // once: requests share the model and never switch its mode
    s.lm_tokenizer = text::load_tokenizer(loaded.tokenizer_spec);
    s.lm_id = folder_id(options.model);
  }
  if (!options.embedder.empty()) {
    s.embedder = std::make_unique<retrieval::EmbeddingModel>(options.embedder);
    s.embedder->loaded().embedder->eval();
    s.embedder_id = folder_id(options.embedder);
    if (s.lm && s.embedder_id == s.lm_id)
      usage_error(fmt::format("--model and --embedder are both named '{}': the API tells models apart by folder name", s.lm_id));
    auto& loaded = s.embedder->loaded();
    s.batcher = std::make_unique<EmbeddingBatcher>(
        [&loaded](const Rows& rows) {
          const auto vectors = model::encode_token_rows(loaded.embedder, rows, loaded.tokenizer->pad_id(), 32).contiguous();
          const int64_t d = vectors.size(1);
          const float* data = vectors.data_ptr<float>();
          Vectors out(rows.size());
          for (size_t i = 0; i < rows.size(); ++i) out[i].assign(data + static_cast<int64_t>(i) * d, data + static_cast<int64_t>(i + 1) * d);
          return out;
        },
        options.batch_rows, std::chrono::milliseconds(options.batch_wait_ms));
  }
  s.open_indexes();
}

Service::~Service() = default;

std::vector<std::string> Service::model_ids() const {
  std::vector<std::string> ids;
  if (state_->lm) ids.push_back(state_->lm_id);
  if (state_->embedder) ids.push_back(state_->embedder_id);
  return ids;
}

Json Service::models() const { return model_list(model_ids(), state_->created); }

Json Service::model(const std::string& id) const {
  for (const auto& served : model_ids())
    if (served == id) return model_object(id, state_->created);
  throw ApiError(404, fmt::format("The model '{}' does not exist", id), "invalid_request_error", "model", "model_not_found");
}

Json Service::embeddings(const Json& body) {
  auto& s = *state_;
  const auto request = parse_embedding_request(body);
  s.require_embedder(request.model);
  auto& loaded = s.embedder->loaded();
  const int64_t max_tokens = loaded.embedder->config().max_tokens, dims = loaded.embedder->dims();
  if (request.dimensions > dims)
    bad_request(fmt::format("'dimensions' is {}, but '{}' has {} dimensions", request.dimensions, request.model, dims), "dimensions");
  Rows rows;
  int64_t tokens = 0;
  for (const auto& input : request.inputs) {
    std::vector<int64_t> ids =
        input.is_tokens ? input.tokens : loaded.tokenizer->encode(model::fold_case(input.text, loaded.embedder->config().case_folding));
    if (input.is_tokens) check_token_ids(ids, loaded.tokenizer->vocab_size(), "input");
    ids.push_back(loaded.tokenizer->eos_id());  // every embedded text ends with EOS
    if (static_cast<int64_t>(ids.size()) > max_tokens)
      throw ApiError(400,
                     fmt::format("This model's maximum context length is {} tokens, however you requested {} tokens in input {} "
                                 "(EOS included). Please reduce your input.",
                                 max_tokens, ids.size(), rows.size()),
                     "invalid_request_error", "input", "context_length_exceeded");
    tokens += static_cast<int64_t>(ids.size());
    rows.push_back(std::move(ids));
  }
  Vectors vectors = s.batcher->embed(std::move(rows));
  if (request.dimensions > 0 && request.dimensions < dims) {
    // A Matryoshka prefix, re-normalised, as `garden embed encode --dims` writes it.
    retrieval::Matrix m{static_cast<int64_t>(vectors.size()), dims, {}};
    for (const auto& v : vectors) m.data.insert(m.data.end(), v.begin(), v.end());
    const auto cut = retrieval::truncate_rows(m, request.dimensions, true);
    for (int64_t i = 0; i < cut.rows; ++i) vectors[static_cast<size_t>(i)].assign(cut.row(i), cut.row(i) + cut.cols);
  }
  return embedding_response(vectors, request.model, request.base64, tokens);
}

std::shared_ptr<GenerationJob> Service::prepare_completion(const Json& body) {
  auto& s = *state_;
  const auto request = parse_completion_request(body);
  s.require_lm(request.model);
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& p : request.prompts) {
    if (p.is_tokens) check_token_ids(p.tokens, s.lm->config().vocab, "prompt");
    prompts.push_back(p.is_tokens ? p.tokens : s.lm_tokenizer->encode(p.text));
  }
  return s.job(false, request.model, prompts, request.sampling, {}, {});
}

std::shared_ptr<GenerationJob> Service::prepare_chat(const Json& body) {
  auto& s = *state_;
  const auto request = parse_chat_request(body);
  s.require_lm(request.model);
  auto messages = request.messages;
  if (!request.tools.empty()) {
    // The protocol goes into the system message (one is added first when there is none).
    const std::string protocol = tool_protocol_prompt(request.tools);
    if (!messages.empty() && (messages.front().role == "system" || messages.front().role == "developer"))
      messages.front().content += "\n\n" + protocol;
    else
      messages.insert(messages.begin(), ChatMessage{"system", protocol, ""});
  }
  const auto prompt = render_chat(*s.lm_tokenizer, messages);
  auto job = s.job(true, request.model, {s.lm_tokenizer->encode(prompt.text)}, request.sampling, prompt.stop_tokens, prompt.stop_strings);
  job->tools = !request.tools.empty();
  return job;
}

bool Service::streams(const GenerationJob& job) const { return job.stream; }

Json Service::run(GenerationJob& job) {
  const auto [choices, completion_tokens] = state_->decode(job, false, {});
  return job.chat ? chat_response(job.id, job.created, job.model, choices, job.prompt_tokens, completion_tokens, job.tools)
                  : completion_response(job.id, job.created, job.model, choices, job.prompt_tokens, completion_tokens);
}

void Service::stream(GenerationJob& job, const std::function<bool(const std::string&)>& write) {
  auto& s = *state_;
  bool gone = false;
  const auto send = [&](const Json& event) {
    if (!gone) gone = !write(sse_event(event));
    return !gone;
  };
  if (job.chat)  // the first chunk of each choice names the role
    for (int64_t i = 0; i < static_cast<int64_t>(job.prompts.size()) * job.options.n_samples; ++i)
      send(chat_chunk(job.id, job.created, job.model, i, "", "", true));
  const auto [choices, completion_tokens] =
      s.decode(job, true, [&](int64_t index, const std::string& text) { return send(s.chunk(job, index, text, "")); });
  for (size_t i = 0; i < choices.size(); ++i) send(s.chunk(job, static_cast<int64_t>(i), "", choices[i].finish_reason));
  if (job.include_usage) send(usage_chunk(job.id, job.created, job.model, job.chat, job.prompt_tokens, completion_tokens));
  if (!gone) write(sse_done());
}

Json Service::search(const Json& body) {
  auto& s = *state_;
  const auto request = parse_search_request(body);
  if (s.retrievers.empty()) throw ApiError(404, "no index is served (start garden serve with --index)", "invalid_request_error", "", "no_index");
  const std::string kind = request.kind.empty() ? s.default_kind : request.kind;
  const auto it = s.retrievers.find(kind);
  if (it == s.retrievers.end()) {
    std::string served;
    for (const auto& [k, r] : s.retrievers) served += (served.empty() ? "" : ", ") + k;
    bad_request(fmt::format("no {} index is served (served: {})", kind, served), "kind");
  }
  retrieval::Run run;
  {
    std::lock_guard turn(s.search_turn);
    run = it->second->search({retrieval::Query{"q", request.query}}, request.k);
  }
  std::vector<SearchHit> hits;
  const auto* texts = s.texts.at(kind);  // at(): concurrent searches must not insert
  for (const auto& doc : run["q"]) {
    std::string text;
    if (texts)
      if (const auto t = texts->find(doc.doc_id); t != texts->end()) text = t->second;
    hits.push_back(SearchHit{doc.doc_id, doc.score, text});
  }
  return search_response(request.query, kind, hits);
}

std::string Service::describe() const {
  const auto& s = *state_;
  std::vector<std::string> parts;
  if (s.lm) parts.push_back(fmt::format("language model '{}' (context {})", s.lm_id, s.lm->config().max_seq));
  if (s.embedder) parts.push_back(fmt::format("embedding model '{}' ({} dimensions)", s.embedder_id, s.embedder->dims()));
  std::vector<std::string> kinds;
  for (const auto& [k, r] : s.retrievers) kinds.push_back(k);
  if (!kinds.empty()) parts.push_back(fmt::format("search: {}", fmt::join(kinds, ", ")));
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace garden::serve
