#include "garden/agent/chat_client.h"

#include <fmt/core.h>
#include <httplib.h>

#include <chrono>
#include <thread>

#include "garden/core/error.h"
#include "garden/serve/endpoint_url.h"

namespace garden::agent {

ChatClient::ChatClient(ChatClientOptions options) : options_(std::move(options)) {
  const auto endpoint = serve::chat_endpoint(options_.base_url);
  origin_ = endpoint.origin;
  path_ = endpoint.path;
  if (options_.model.empty()) usage_error("the endpoint needs the model name its requests carry");
  if (options_.retries < 0 || options_.backoff_ms < 0) usage_error("retries and backoff must be >= 0");
}

Json ChatClient::request_body(const std::vector<Message>& messages, const Json& tools) const {
  Json body = {{"model", options_.model}, {"temperature", options_.temperature}, {"max_tokens", options_.max_tokens}, {"messages", Json::array()}};
  const bool describe_tools = !options_.native_tools && tools.is_array() && !tools.empty();
  bool described = false;
  for (const auto& m : messages) {
    if (options_.native_tools) {
      Json j = m.to_json();
      if (m.role == "assistant" && !m.tool_calls.empty() && m.content.empty()) j["content"] = nullptr;
      body["messages"].push_back(j);
      continue;
    }
    // The text protocol: calls as blocks in the assistant's text, results as user turns.
    if (m.role == "assistant") {
      std::string text = m.content;
      for (const auto& c : m.tool_calls) text += text_tool_call(c.name, c.arguments);
      body["messages"].push_back({{"role", "assistant"}, {"content", text}});
    } else if (m.role == "tool") {
      body["messages"].push_back({{"role", "user"}, {"content", "Result of tool call " + m.tool_call_id + ":\n" + m.content}});
    } else if (m.role == "system" && describe_tools && !described) {
      body["messages"].push_back({{"role", "system"}, {"content", m.content + "\n\n" + serve::tool_protocol_prompt(tools)}});
      described = true;
    } else {
      body["messages"].push_back({{"role", m.role}, {"content", m.content}});
    }
  }
  if (describe_tools && !described) body["messages"].insert(body["messages"].begin(), Json{{"role", "system"}, {"content", serve::tool_protocol_prompt(tools)}});
  if (options_.native_tools && tools.is_array() && !tools.empty()) body["tools"] = tools;
  return body;
}

ModelReply ChatClient::complete(const std::vector<Message>& messages, const Json& tools) {
  const std::string body = request_body(messages, tools).dump();
  const std::string where = origin_ + path_;
  httplib::Headers headers;
  if (!options_.api_key.empty()) headers.emplace("Authorization", "Bearer " + options_.api_key);
  std::string last_failure;
  for (int attempt = 0; attempt <= options_.retries; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(options_.backoff_ms) << (attempt - 1)));
    httplib::Client client(origin_);
    client.set_connection_timeout(options_.timeout_seconds);
    client.set_read_timeout(options_.timeout_seconds);
    ++requests_;
    const auto response = client.Post(path_, headers, body, "application/json");
    if (!response) {
      last_failure = fmt::format("no response ({})", httplib::to_string(response.error()));
      continue;
    }
    if (response->status == 429 || response->status >= 500) {
      last_failure = fmt::format("HTTP {}", response->status);
      continue;
    }
    const Json answer = Json::parse(response->body, nullptr, false);
    if (answer.is_discarded()) throw Error(fmt::format("{}: HTTP {} with a body that is not JSON", where, response->status));
    if (response->status != 200) {
      const std::string message = answer.contains("error") && answer["error"].is_object() ? answer["error"].value("message", "") : "";
      throw Error(fmt::format("{}: HTTP {}{}", where, response->status, message.empty() ? "" : ": " + message));
    }
    if (!answer.contains("choices") || !answer["choices"].is_array() || answer["choices"].empty())
      throw Error(where + ": the response has no choices");
    const Json& choice = answer["choices"][0];
    ModelReply reply;
    reply.message = parse_assistant_message(choice.value("message", Json()));
    reply.finish_reason = choice.value("finish_reason", std::string());
    if (const auto usage = answer.find("usage"); usage != answer.end() && usage->is_object()) {
      reply.prompt_tokens = usage->value("prompt_tokens", int64_t{0});
      reply.completion_tokens = usage->value("completion_tokens", int64_t{0});
      if (const auto details = usage->find("prompt_tokens_details"); details != usage->end() && details->is_object())
        reply.cached_prompt_tokens = details->value("cached_tokens", int64_t{0});
    }
    return reply;
  }
  throw Error(fmt::format("{}: {} after {} tries", where, last_failure, options_.retries + 1));
}

}  // namespace garden::agent
