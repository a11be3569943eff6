// What `garden serve` does with a request, apart from HTTP: the models and indexes loaded
// once, each endpoint a function from the request body (JSON) to the response body, errors
// thrown as ApiError before any byte is sent. Generation runs through model/generation with
// the sampling the request asks for; embeddings through the embedder, in passes shared by
// concurrent requests (serve/embedding_batcher.h); search through the retriever interface
// (retrieval/retriever.h). The transport (serve/server.h) only moves bytes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/serve/api.h"

namespace garden::serve {

struct ServiceOptions {
  std::filesystem::path model;                 // a garden LM (model or run folder); empty: none
  std::filesystem::path embedder;              // an embedding model; empty: none
  std::vector<std::filesystem::path> indexes;  // index folders (bm25, dense, fusion)
  std::string device = "cpu";
  int64_t max_generations = 2;  // generation requests decoded at once; the others wait their turn
  int64_t batch_rows = 64;      // texts per shared embedding pass at most
  int64_t batch_wait_ms = 5;    // how long a request waits for others to share its pass
};

// A checked generation request, ready to run: its prompts tokenised, its limits applied.
struct GenerationJob;

class Service {
 public:
  explicit Service(const ServiceOptions& options);  // loads everything; errors name the input
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // The served models' ids: the names of the --model and --embedder folders.
  std::vector<std::string> model_ids() const;
  Json models() const;
  Json model(const std::string& id) const;  // 404 when not served
  Json embeddings(const Json& body);
  Json search(const Json& body);

  // /v1/completions and /v1/chat/completions: checked, then run whole or streamed. stream
  // writes server-sent events through `write` (false: the client has gone, stop), ending
  // with "data: [DONE]".
  std::shared_ptr<GenerationJob> prepare_completion(const Json& body);
  std::shared_ptr<GenerationJob> prepare_chat(const Json& body);
  bool streams(const GenerationJob& job) const;
  Json run(GenerationJob& job);
  void stream(GenerationJob& job, const std::function<bool(const std::string&)>& write);

  std::string describe() const;  // one line: what is served

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace garden::serve
