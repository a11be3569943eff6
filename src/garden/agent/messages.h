// Chat messages and tool calls as the agent loop sees them (agent-design.md, "ChatClient"): an
// assistant message from an OpenAI-compatible endpoint carries native `tool_calls` (arguments
// as a JSON string, or an object from lenient servers) and, for models without native tool
// calling, text-protocol blocks in its content:
//   <tool_call>{"name": "search", "arguments": {"query": "..."}}</tool_call>
// A call that cannot be read (bad JSON, no name, arguments not an object) is kept with an
// error, so the loop can answer it with an error result instead of failing.
#pragma once

#include <string>
#include <vector>

#include "garden/core/json.h"

namespace garden::agent {

struct ToolCall {
  std::string id, name;
  Json arguments = Json::object();
  std::string error;  // non-empty: the call could not be read, and why
};

struct Message {
  std::string role;  // system | user | assistant | tool
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant
  std::string tool_call_id;          // tool: the call it answers
  bool pinned = false;               // kept whole by compaction (pinned notes); not sent
  Json to_json() const;              // the OpenAI wire form
};

// The calls in text-protocol blocks of `content`; `prose` (when given) receives the content
// with the blocks removed. An unclosed block is a call with an error.
std::vector<ToolCall> parse_text_tool_calls(const std::string& content, std::string* prose = nullptr);

// An assistant message of a chat completion response (choices[i].message): native calls first,
// then text-protocol calls, with ids "call_<n>" given to calls that lack one.
Message parse_assistant_message(const Json& message);

// The text-protocol block of one call, as a model without native tool calls is asked to write it.
std::string text_tool_call(const std::string& name, const Json& arguments);

}  // namespace garden::agent
