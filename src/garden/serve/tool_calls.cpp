#include "garden/serve/tool_calls.h"

#include <fmt/core.h>

namespace garden::serve {

namespace {

const std::string kOpen = "<tool_call>", kClose = "</tool_call>";

}  // namespace

ToolCall read_tool_call(const Json& object) {
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
      calls.push_back(read_tool_call(parsed));
    }
    at = close + kClose.size();
  }
  if (prose) *prose = rest;
  return calls;
}

std::string text_tool_call(const std::string& name, const Json& arguments) {
  return kOpen + Json{{"name", name}, {"arguments", arguments}}.dump() + kClose;
}

std::string tool_protocol_prompt(const Json& tools) {
  std::string out =
      "You can call tools. To call one, write a block of this form and nothing after it:\n"
      "<tool_call>{\"name\": \"<tool>\", \"arguments\": {...}}</tool_call>\n"
      "The result comes back in the next message. Answer without a block when you are done.\nTools:\n";
  for (const auto& t : tools) {
    const Json& fn = t.contains("function") ? t.at("function") : t;
    out += fmt::format("- {}: {} Arguments: {}\n", fn.value("name", std::string("?")), fn.value("description", std::string("")),
                       fn.value("parameters", Json::object()).dump());
  }
  return out;
}

Json tool_call_json(const ToolCall& call) {
  return {{"id", call.id}, {"type", "function"}, {"function", {{"name", call.name}, {"arguments", call.arguments.dump()}}}};
}

}  // namespace garden::serve
