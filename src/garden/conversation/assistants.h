// The assistants a conversation can be simulated with: a garden language model run in this
// process, its prompt rendered by the same chat template `garden serve` uses (serve/
// chat_template.h), a turn of many conversations decoded as one batch; or any OpenAI-
// compatible chat endpoint (`garden serve`, llama.cpp's server, vLLM, a hosted API), one
// /chat/completions request per conversation and turn, with the turn's seed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "garden/conversation/simulator.h"
#include "garden/model/transformer.h"
#include "garden/retrieval/hyde.h"
#include "garden/text/tokenizer.h"

namespace garden::conversation {

class ModelAssistant final : public Assistant {
 public:
  // A model folder (model/model_folder.h) with its tokenizer.
  ModelAssistant(const std::filesystem::path& model_dir, int64_t max_tokens = 32, int64_t batch = 256,
                 torch::Device device = torch::kCPU);
  ModelAssistant(model::Transformer model, std::shared_ptr<text::Tokenizer> tokenizer, std::string name, int64_t max_tokens = 32,
                 int64_t batch = 256);
  std::string name() const override { return name_; }
  std::vector<std::string> reply(const std::vector<std::vector<Message>>& conversations, const std::vector<uint64_t>& seeds,
                                 double temperature) override;

 private:
  model::Transformer model_{nullptr};
  std::shared_ptr<text::Tokenizer> tokenizer_;
  std::string name_;
  int64_t max_tokens_, batch_;
};

struct EndpointOptions {
  std::string base_url;  // e.g. http://127.0.0.1:8000/v1 (the part before /chat/completions)
  std::string model;     // the "model" field of each request
  std::string api_key;   // sent as "Authorization: Bearer KEY" when set
  int64_t max_tokens = 32;
  int64_t concurrency = 4;  // requests in flight at once
  int timeout_seconds = 120;
};

class EndpointAssistant final : public Assistant {
 public:
  explicit EndpointAssistant(EndpointOptions options);
  std::string name() const override { return options_.model + " @ " + options_.base_url; }
  std::vector<std::string> reply(const std::vector<std::vector<Message>>& conversations, const std::vector<uint64_t>& seeds,
                                 double temperature) override;

 private:
  std::string complete(const std::vector<Message>& conversation, uint64_t seed, double temperature) const;
  EndpointOptions options_;
  std::string origin_, path_;  // "http://host:port" and "/v1/chat/completions"
};

// HyDE's generator on an OpenAI-compatible endpoint: each prompt sent as one user message
// n times (sample k of prompt i with seed seed + i n + k, the sampling's temperature,
// options.max_tokens), each reply cut at the first stop string.
retrieval::HydeGenerator endpoint_hyde_generator(EndpointOptions options);

}  // namespace garden::conversation
