#include "garden/agent/messages.h"

#include <fmt/core.h>

namespace garden::agent {

namespace {

const std::string kOpen = "<tool_call>", kClose = "</tool_call>";

// The call object {"name", "arguments"} read leniently: arguments may be an object or a string
// holding one.
ToolCall read_call(const Json& object) {
  ToolCall call;
  if (!object.is_object()) {
    call.error = "a tool call must be a JSON object";
    return call;
  }
  const Json* fn = &object;
  if (const auto f = object.find("function"); f != object.end() && f->is_object()) fn = &*f;  // native shape
  if (const auto id = object.find("id"); id != object.end() && id->is_string()) call.id = id->get<std::string>();
  const auto name = fn->find("name");
  if (name == fn->end() || !name->is_string() || name->get<std::string>().empty()) {
    call.error = "a tool call needs a string 'name'";
    return call;
  }
  call.name = name->get<std::string>();
  const auto args = fn->find("arguments");
  if (args == fn->end() || args->is_null()) return call;
  if (args->is_object()) {
    call.arguments = *args;
    return call;
  }
  if (args->is_string()) {
    const std::string text = args->get<std::string>();
    if (text.empty()) return call;
    const Json parsed = Json::parse(text, nullptr, false);
    if (parsed.is_discarded()) {
      call.error = fmt::format("the arguments of {} are not valid JSON", call.name);
    } else if (!parsed.is_object()) {
      call.error = fmt::format("the arguments of {} must be a JSON object", call.name);
    } else {
      call.arguments = parsed;
    }
    return call;
  }
  call.error = fmt::format("the arguments of {} must be a JSON object", call.name);
  return call;
}

}  // namespace

Json Message::to_json() const {
  Json j = {{"role", role}, {"content", content}};
  if (!tool_calls.empty()) {
    Json calls = Json::array();
    for (const auto& c : tool_calls)
      calls.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments.dump()}}}});
    j["tool_calls"] = calls;
  }
  if (!tool_call_id.empty()) j["tool_call_id"] = tool_call_id;
  return j;
}

std::vector<ToolCall> parse_text_tool_calls(const std::string& content, std::string* prose) {
  std::vector<ToolCall> calls;
  std::string rest;
  size_t at = 0;
  while (true) {
    const size_t open = content.find(kOpen, at);
    if (open == std::string::npos) {
      rest += content.substr(at);
      break;
    }
    rest += content.substr(at, open - at);
    const size_t body = open + kOpen.size();
    const size_t close = content.find(kClose, body);
    if (close == std::string::npos) {
      ToolCall call;
      call.error = "a <tool_call> block is not closed";
      calls.push_back(call);
      break;
    }
    const Json parsed = Json::parse(content.substr(body, close - body), nullptr, false);
    if (parsed.is_discarded()) {
      ToolCall call;
      call.error = "a <tool_call> block does not hold valid JSON";
      calls.push_back(call);
    } else {
      calls.push_back(read_call(parsed));
    }
    at = close + kClose.size();
  }
  if (prose) *prose = rest;
  return calls;
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
    for (const auto& c : *native) m.tool_calls.push_back(read_call(c));
  std::string prose;
  for (auto& c : parse_text_tool_calls(text, &prose)) m.tool_calls.push_back(std::move(c));
  m.content = prose;
  int n = 0;
  for (auto& c : m.tool_calls)
    if (c.id.empty()) c.id = fmt::format("call_{}", n++);
  return m;
}

std::string text_tool_call(const std::string& name, const Json& arguments) {
  return kOpen + Json{{"name", name}, {"arguments", arguments}}.dump() + kClose;
}

}  // namespace garden::agent
