#include "garden/agent/messages.h"

#include <fmt/core.h>

namespace garden::agent {

Json Message::to_json() const {
  Json j = {{"role", role}, {"content", content}};
  if (!tool_calls.empty()) {
    Json calls = Json::array();
    for (const auto& c : tool_calls) calls.push_back(serve::tool_call_json(c));
    j["tool_calls"] = calls;
  }
  if (!tool_call_id.empty()) j["tool_call_id"] = tool_call_id;
  return j;
}

Message parse_assistant_message(const Json& message) {
  Message m;
  m.role = "assistant";
  if (!message.is_object()) {
    ToolCall call;
    call.error = "the response holds no message object";
    m.tool_calls.push_back(call);
    return m;
  }
  const auto content = message.find("content");
  const std::string text = content != message.end() && content->is_string() ? content->get<std::string>() : "";
  if (const auto native = message.find("tool_calls"); native != message.end() && native->is_array())
    for (const auto& c : *native) m.tool_calls.push_back(serve::read_tool_call(c));
  std::string prose;
  for (auto& c : parse_text_tool_calls(text, &prose)) m.tool_calls.push_back(std::move(c));
  m.content = prose;
  int n = 0;
  for (auto& c : m.tool_calls)
    if (c.id.empty()) c.id = fmt::format("call_{}", n++);
  return m;
}

}  // namespace garden::agent
