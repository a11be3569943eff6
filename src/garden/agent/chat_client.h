// A ChatModel over any OpenAI-compatible endpoint (agent-design.md, "ChatClient"): POST
// <base>/chat/completions with the messages and, in native mode, the tools; retries with
// exponential backoff on no response, HTTP 429 and 5xx; reads the reply's native tool_calls and
// text-protocol blocks, finish_reason and usage (with cached prompt tokens when the server
// reports them). In text mode (for servers or models without native tool calling) the tools
// are described in the system message instead, earlier calls are sent as text blocks and tool
// results as user messages.
#pragma once

#include <string>

#include "garden/agent/loop.h"

namespace garden::agent {

struct ChatClientOptions {
  std::string base_url;  // e.g. http://127.0.0.1:8000/v1
  std::string model, api_key;
  int64_t max_tokens = 256;
  double temperature = 0;
  int timeout_seconds = 120;
  int retries = 3;          // further tries after a failed one
  int backoff_ms = 250;     // before the first retry; doubled each time
  bool native_tools = true;  // false: the text protocol
};

class ChatClient final : public ChatModel {
 public:
  explicit ChatClient(ChatClientOptions options);
  ModelReply complete(const std::vector<Message>& messages, const Json& tools) override;
  // The request body complete() sends (tested; the wire format of both modes).
  Json request_body(const std::vector<Message>& messages, const Json& tools) const;
  int64_t requests_sent() const { return requests_; }

 private:
  ChatClientOptions options_;
  std::string origin_, path_;
  int64_t requests_ = 0;
};

}  // namespace garden::agent
