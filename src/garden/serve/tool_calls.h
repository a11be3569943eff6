// Tool calls in the OpenAI chat format and the text protocol for models without native tool
// calling (agent-design.md, "ChatClient"). A call is {"name", "arguments"}; in text it is written
//   <tool_call>{"name": "search", "arguments": {"query": "..."}}</tool_call>
// `garden serve` tells a model with tools how to write such blocks and returns the blocks it
// writes as native `tool_calls`; the agent's client reads both forms. A call that cannot be read
// (bad JSON, no name, arguments not an object) is kept with an error, so a loop can answer it
// with an error result instead of failing.
#pragma once

#include <string>
#include <vector>

#include "garden/core/json.h"

namespace garden::serve {

struct ToolCall {
  std::string id, name;
  Json arguments = Json::object();
  std::string error;  // non-empty: the call could not be read, and why
};

// A call object, native ({"id", "function": {"name", "arguments"}}) or text-protocol
// ({"name", "arguments"}); arguments may be an object or a string holding one.
ToolCall read_tool_call(const Json& object);

// The calls in text-protocol blocks of `content`; `prose` (when given) receives the content
// with the blocks removed. An unclosed block is a call with an error.
std::vector<ToolCall> parse_text_tool_calls(const std::string& content, std::string* prose = nullptr);

// The text-protocol block of one call.
std::string text_tool_call(const std::string& name, const Json& arguments);

// What a model without native tool calling is told: the protocol and the tools (the OpenAI
// "tools" array: name, description and parameters of each function).
std::string tool_protocol_prompt(const Json& tools);

// A native call in the OpenAI wire form.
Json tool_call_json(const ToolCall& call);

}  // namespace garden::serve
