#include "garden/conversation/assistants.h"

#include <fmt/core.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

#include "garden/model/generation.h"
#include "garden/model/model_folder.h"
#include "garden/serve/chat_template.h"
#include "garden/serve/endpoint_url.h"
#include "garden/serve/text_stream.h"

namespace garden::conversation {

ModelAssistant::ModelAssistant(const std::filesystem::path& model_dir, int64_t max_tokens, int64_t batch, torch::Device device)
    : max_tokens_(max_tokens), batch_(batch) {
  auto loaded = model::load_model(model_dir, device);
  if (loaded.tokenizer_spec.empty()) throw Error(model_dir.string() + ": the model has no tokenizer to chat with");
  model_ = loaded.model;
  model_->eval();
  tokenizer_ = text::load_tokenizer(loaded.tokenizer_spec);
  name_ = model_dir.filename().string();
  if (max_tokens_ < 1 || batch_ < 1) usage_error("the assistant's --max-tokens and batch must be >= 1");
}

ModelAssistant::ModelAssistant(model::Transformer model, std::shared_ptr<text::Tokenizer> tokenizer, std::string name,
                               int64_t max_tokens, int64_t batch)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), name_(std::move(name)), max_tokens_(max_tokens), batch_(batch) {
  model_->eval();
  if (max_tokens_ < 1 || batch_ < 1) usage_error("the assistant's --max-tokens and batch must be >= 1");
}

std::vector<std::string> ModelAssistant::reply(const std::vector<std::vector<Message>>& conversations, const std::vector<uint64_t>& seeds,
                                               double temperature) {
  std::vector<std::vector<int64_t>> prompts;
  std::vector<serve::ChatPrompt> rendered;
  for (const auto& conversation : conversations) {
    std::vector<serve::ChatMessage> messages;
    for (const auto& m : conversation) messages.push_back({m.role, m.content, ""});
    rendered.push_back(serve::render_chat(*tokenizer_, messages));
    std::vector<int64_t> ids{tokenizer_->bos_id()};
    const auto body = tokenizer_->encode(rendered.back().text);
    ids.insert(ids.end(), body.begin(), body.end());
    prompts.push_back(std::move(ids));
  }
  // Conversations of similar length decode together, so a batch pads little.
  std::vector<size_t> order(prompts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return prompts[a].size() < prompts[b].size(); });
  std::vector<std::string> replies(prompts.size());
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_)) {
    const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_));
    std::vector<std::vector<int64_t>> chunk;
    std::vector<uint64_t> chunk_seeds;
    for (size_t k = start; k < end; ++k) {
      chunk.push_back(prompts[order[k]]);
      chunk_seeds.push_back(seeds[order[k]]);
    }
    model::GenerateOptions options;
    options.max_new_tokens = max_tokens_;
    options.temperature = temperature;
    // Every template's stop pieces and EOS (the same template for the whole batch).
    options.stop_tokens = rendered[order[start]].stop_tokens;
    options.stop_tokens.push_back(tokenizer_->eos_id());
    const auto completions = model::generate_batch(model_, chunk, chunk_seeds, options);
    for (size_t k = start; k < end; ++k) {
      const auto& prompt = rendered[order[k]];
      serve::TextStream stream(*tokenizer_, prompt.stop_strings, options.stop_tokens);
      for (auto token : completions[k - start].tokens)
        if (stream.add(token)) break;
      replies[order[k]] = stream.finish();
    }
  }
  return replies;
}

EndpointAssistant::EndpointAssistant(EndpointOptions options) : options_(std::move(options)) {
  const auto endpoint = serve::chat_endpoint(options_.base_url);
  origin_ = endpoint.origin;
  path_ = endpoint.path;
  if (options_.model.empty()) usage_error("an endpoint needs the model name its requests carry (--endpoint-model)");
  if (options_.max_tokens < 1 || options_.concurrency < 1) usage_error("--max-tokens and --concurrency must be >= 1");
}

std::string EndpointAssistant::complete(const std::vector<Message>& conversation, uint64_t seed, double temperature) const {
  Json body = {{"model", options_.model}, {"temperature", temperature}, {"max_tokens", options_.max_tokens},
               {"seed", seed & 0x7fffffffffffffffULL}, {"messages", Json::array()}};
  for (const auto& m : conversation) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  httplib::Client client(origin_);
  client.set_connection_timeout(options_.timeout_seconds);
  client.set_read_timeout(options_.timeout_seconds);
  httplib::Headers headers;
  if (!options_.api_key.empty()) headers.emplace("Authorization", "Bearer " + options_.api_key);
  const auto response = client.Post(path_, headers, body.dump(), "application/json");
  const std::string where = origin_ + path_;
  if (!response) throw Error(fmt::format("{}: no response ({})", where, httplib::to_string(response.error())));
  Json answer;
  try {
    answer = Json::parse(response->body);
  } catch (const Json::exception&) {
    throw Error(fmt::format("{}: HTTP {} with a body that is not JSON", where, response->status));
  }
  if (response->status != 200) {
    const std::string message = answer.contains("error") && answer["error"].is_object() ? answer["error"].value("message", "") : "";
    throw Error(fmt::format("{}: HTTP {}{}", where, response->status, message.empty() ? "" : ": " + message));
  }
  try {
    const auto& content = answer.at("choices").at(0).at("message").at("content");
    return content.is_null() ? std::string() : content.get<std::string>();
  } catch (const Json::exception&) {
    throw Error(where + ": the response has no choices[0].message.content");
  }
}

std::vector<std::string> EndpointAssistant::reply(const std::vector<std::vector<Message>>& conversations,
                                                  const std::vector<uint64_t>& seeds, double temperature) {
  std::vector<std::string> replies(conversations.size());
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  const auto work = [&] {
    for (size_t i = next++; i < conversations.size(); i = next++) {
      try {
        replies[i] = complete(conversations[i], seeds[i], temperature);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = conversations.size();  // the others stop taking work
      }
    }
  };
  std::vector<std::thread> threads;
  const auto count = std::min<size_t>(static_cast<size_t>(options_.concurrency), conversations.size());
  for (size_t t = 0; t < count; ++t) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
  return replies;
}

retrieval::HydeGenerator endpoint_hyde_generator(EndpointOptions options) {
  auto assistant = std::make_shared<EndpointAssistant>(std::move(options));
  return [assistant](const std::vector<std::string>& prompts, const retrieval::HydeSampling& sampling) {
    sampling.validate();
    std::vector<std::vector<Message>> conversations;
    std::vector<uint64_t> seeds;
    for (size_t i = 0; i < prompts.size(); ++i)
      for (int64_t k = 0; k < sampling.n; ++k) {
        conversations.push_back({{"user", prompts[i]}});
        seeds.push_back(sampling.seed + static_cast<uint64_t>(i) * static_cast<uint64_t>(sampling.n) + static_cast<uint64_t>(k));
      }
    const auto replies = assistant->reply(conversations, seeds, sampling.temperature);
    std::vector<std::vector<std::string>> out(prompts.size());
    for (size_t j = 0; j < replies.size(); ++j) out[j / static_cast<size_t>(sampling.n)].push_back(retrieval::cut_at_stop(replies[j], sampling.stop));
    return out;
  };
}

}  // namespace garden::conversation
