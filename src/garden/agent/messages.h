// Chat messages as the agent loop sees them. An assistant message from an OpenAI-compatible
// endpoint carries native `tool_calls` and, for models without native tool calling,
// text-protocol blocks in its content (serve/tool_calls.h); both become the message's calls.
#pragma once

#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/serve/tool_calls.h"

namespace garden::agent {

using serve::parse_text_tool_calls;
using serve::text_tool_call;
using serve::ToolCall;

struct Message {
  std::string role;  // system | user | assistant | tool
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant
  std::string tool_call_id;          // tool: the call it answers
  bool pinned = false;               // kept whole by compaction (pinned notes); not sent
  Json to_json() const;              // the OpenAI wire form
};

// An assistant message of a chat completion response (choices[i].message): native calls first,
// then text-protocol calls, with ids "call_<n>" given to calls that lack one.
Message parse_assistant_message(const Json& message);

}  // namespace garden::agent
