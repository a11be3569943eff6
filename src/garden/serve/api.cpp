#include "garden/serve/api.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "garden/serve/tool_calls.h"

namespace garden::serve {

namespace {

std::string type_name(const Json& value) {
  if (value.is_null()) return "null";
  if (value.is_boolean()) return "a boolean";
  if (value.is_number_integer()) return "an integer";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "an array";
  return "an object";
}

// The field's value when present and not null.
const Json* field(const Json& body, const char* key) {
  const auto it = body.find(key);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::string required_model(const Json& body) {
  const Json* model = field(body, "model");
  if (!model) bad_request("you must provide a model parameter", "model");
  if (!model->is_string() || model->get<std::string>().empty())
    bad_request(fmt::format("'model' must be a non-empty string, got {}", type_name(*model)), "model");
  return model->get<std::string>();
}

int64_t integer_in(const Json& value, const char* key, int64_t lowest, int64_t highest) {
  if (!value.is_number_integer()) bad_request(fmt::format("'{}' must be an integer, got {}", key, type_name(value)), key);
  const auto v = value.get<int64_t>();
  if (v < lowest || v > highest) bad_request(fmt::format("'{}' must be between {} and {}, got {}", key, lowest, highest, v), key);
  return v;
}

double number_in(const Json& value, const char* key, double lowest, double highest, bool lowest_open) {
  if (!value.is_number()) bad_request(fmt::format("'{}' must be a number, got {}", key, type_name(value)), key);
  const double v = value.get<double>();
  if (v > highest || v < lowest || (lowest_open && v == lowest))
    bad_request(fmt::format("'{}' must be in {}{}, {}], got {}", key, lowest_open ? "(" : "[", lowest, highest, v), key);
  return v;
}

bool boolean(const Json& value, const char* key) {
  if (!value.is_boolean()) bad_request(fmt::format("'{}' must be a boolean, got {}", key, type_name(value)), key);
  return value.get<bool>();
}

// Parameters of the OpenAI API that change the answer's meaning and that garden does not
// implement: refused rather than silently ignored when set to anything but their default.
void refuse_unsupported(const Json& body, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    const Json* v = field(body, key);
    if (!v) continue;
    const bool is_default = (v->is_boolean() && !v->get<bool>()) || (v->is_object() && v->empty()) || (v->is_array() && v->empty()) ||
                            (std::strcmp(key, "best_of") == 0 && *v == 1) ||
                            (std::strcmp(key, "response_format") == 0 && v->is_object() && v->value("type", "") == "text");
    if (!is_default) bad_request(fmt::format("garden serve does not support '{}'", key), key);
  }
}

std::vector<int64_t> token_ids(const Json& array, const char* key) {
  std::vector<int64_t> ids;
  for (const auto& v : array) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
      bad_request(fmt::format("'{}': token ids must be integers >= 0, got {}", key, v.dump()), key);
    ids.push_back(v.get<int64_t>());
  }
  return ids;
}

// A string, strings, token ids, or arrays of token ids (the "prompt" and "input" fields).
std::vector<Prompt> prompts(const Json& body, const char* key, size_t most) {
  const Json* value = field(body, key);
  if (!value) bad_request(fmt::format("you must provide '{}'", key), key);
  const auto text = [&](const Json& v) {
    if (v.get<std::string>().empty()) bad_request(fmt::format("'{}' must not contain empty strings", key), key);
    return Prompt{v.get<std::string>(), {}, false};
  };
  std::vector<Prompt> out;
  if (value->is_string()) {
    out.push_back(text(*value));
  } else if (value->is_array() && !value->empty()) {
    const Json& first = value->front();
    if (first.is_number_integer()) {
      out.push_back(Prompt{"", token_ids(*value, key), true});
    } else {
      for (const auto& item : *value) {
        if (item.is_string()) out.push_back(text(item));
        else if (item.is_array() && !item.empty()) out.push_back(Prompt{"", token_ids(item, key), true});
        else bad_request(fmt::format("'{}' must be a string, an array of strings, an array of token ids or an array of such arrays; "
                                     "found an item that is {}", key, item.is_array() ? "an empty array" : type_name(item)), key);
      }
    }
  } else {
    bad_request(fmt::format("'{}' must be a non-empty string or array, got {}", key,
                            value->is_array() ? "an empty array" : type_name(*value)), key);
  }
  if (out.size() > most) bad_request(fmt::format("'{}' holds {} items; at most {} per request", key, out.size(), most), key);
  return out;
}

SamplingRequest sampling(const Json& body) {
  SamplingRequest s;
  for (const char* key : {"max_completion_tokens", "max_tokens"})
    if (const Json* v = field(body, key); v && !s.max_tokens) s.max_tokens = integer_in(*v, key, 1, 1 << 20);
  if (const Json* v = field(body, "temperature")) s.temperature = number_in(*v, "temperature", 0, 2, false);
  if (const Json* v = field(body, "top_p")) s.top_p = number_in(*v, "top_p", 0, 1, true);
  if (const Json* v = field(body, "n")) s.n = integer_in(*v, "n", 1, 128);
  if (const Json* v = field(body, "seed")) {
    if (!v->is_number_integer()) bad_request(fmt::format("'seed' must be an integer, got {}", type_name(*v)), "seed");
    s.seed = v->is_number_unsigned() ? v->get<uint64_t>() : static_cast<uint64_t>(v->get<int64_t>());
  }
  if (const Json* v = field(body, "stop")) {
    const Json list = v->is_string() ? Json::array({*v}) : *v;
    if (!list.is_array() || list.size() > 4)
      bad_request(fmt::format("'stop' must be a string or an array of at most 4 strings, got {}", type_name(*v)), "stop");
    for (const auto& item : list) {
      if (!item.is_string() || item.get<std::string>().empty()) bad_request("'stop' must hold non-empty strings", "stop");
      s.stop.push_back(item.get<std::string>());
    }
  }
  if (const Json* v = field(body, "stream")) s.stream = boolean(*v, "stream");
  if (const Json* v = field(body, "stream_options")) {
    if (!s.stream) bad_request("'stream_options' is only allowed when 'stream' is true", "stream_options");
    if (!v->is_object()) bad_request(fmt::format("'stream_options' must be an object, got {}", type_name(*v)), "stream_options");
    if (const Json* u = field(*v, "include_usage")) s.include_usage = boolean(*u, "stream_options.include_usage");
  }
  return s;
}

Json choices_usage(const std::string& id, const char* object, int64_t created, const std::string& model, Json choices,
                   int64_t prompt_tokens, int64_t completion_tokens) {
  return Json{{"id", id},           {"object", object},           {"created", created},
              {"model", model},     {"choices", std::move(choices)}, {"usage", usage_object(prompt_tokens, completion_tokens)},
              {"system_fingerprint", nullptr}};
}

Json finish(const std::string& reason) { return reason.empty() ? Json(nullptr) : Json(reason); }

}  // namespace

void bad_request(const std::string& message, const std::string& param, const std::string& code) {
  throw ApiError(400, message, "invalid_request_error", param, code);
}

Json error_body(const ApiError& error) {
  const auto or_null = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
  return Json{{"error", {{"message", error.what()}, {"type", error.type}, {"param", or_null(error.param)}, {"code", or_null(error.code)}}}};
}

ApiError transport_error(int status) {
  switch (status) {
    case 404: return ApiError(404, "unknown route: see docs/serve.md for the endpoints", "invalid_request_error", "", "unknown_url");
    case 405: return ApiError(405, "method not allowed on this route", "invalid_request_error", "", "method_not_allowed");
    case 413: return ApiError(413, "the request body is larger than the server accepts (--max-body)", "invalid_request_error", "",
                              "request_too_large");
    default:
      if (status >= 500) return ApiError(status, "the server failed to handle the request", "server_error");
      return ApiError(status, fmt::format("the request was refused (HTTP {})", status));
  }
}

Json parse_body(const std::string& body) {
  Json json;
  try {
    json = Json::parse(body);
  } catch (const Json::exception& e) {
    // parse_error, and out_of_range for a number beyond a double (1e999), which nlohmann's
    // parser throws instead.
    throw ApiError(400, fmt::format("the body is not valid JSON: {}", e.what()), "invalid_request_error", "", "invalid_json");
  }
  if (!json.is_object()) throw ApiError(400, fmt::format("the body must be a JSON object, got {}", type_name(json)));
  return json;
}

CompletionRequest parse_completion_request(const Json& body) {
  CompletionRequest r;
  r.model = required_model(body);
  r.prompts = prompts(body, "prompt", 64);
  refuse_unsupported(body, {"echo", "suffix", "logprobs", "best_of", "logit_bias"});
  r.sampling = sampling(body);
  return r;
}

ChatRequest parse_chat_request(const Json& body) {
  ChatRequest r;
  r.model = required_model(body);
  const Json* messages = field(body, "messages");
  if (!messages || !messages->is_array() || messages->empty())
    bad_request("'messages' must be a non-empty array of {\"role\", \"content\"} objects", "messages");
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& m = (*messages)[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) bad_request(fmt::format("'{}' must be an object, got {}", where, type_name(m)), where);
    const Json* role = field(m, "role");
    if (!role || !role->is_string()) bad_request(fmt::format("'{}.role' must be a string", where), where + ".role");
    const std::string r_name = role->get<std::string>();
    if (r_name != "system" && r_name != "developer" && r_name != "user" && r_name != "assistant" && r_name != "tool")
      bad_request(fmt::format("'{}.role' must be system, developer, user, assistant or tool, got '{}'", where, r_name), where + ".role");
    ChatMessage message{r_name, "", ""};
    const Json* content = field(m, "content");
    const Json* calls = field(m, "tool_calls");
    if (content && content->is_string()) {
      message.content = content->get<std::string>();
    } else if (content && content->is_array()) {
      for (const auto& part : *content) {  // [{"type": "text", "text": ...}]
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          bad_request(fmt::format("'{}.content': only text parts {{\"type\": \"text\", \"text\": ...}} are supported", where),
                      where + ".content");
        message.content += part["text"].get<std::string>();
      }
    } else if (!(r_name == "assistant" && calls && (!content || content->is_null()))) {
      bad_request(fmt::format("'{}.content' must be a string or an array of text parts", where), where + ".content");
    }
    if (calls) {
      if (r_name != "assistant" || !calls->is_array()) bad_request(fmt::format("'{}.tool_calls' must be an array on an assistant message", where), where + ".tool_calls");
      for (const auto& c : *calls) {
        const auto call = read_tool_call(c);
        if (!call.error.empty()) bad_request(fmt::format("'{}.tool_calls': {}", where, call.error), where + ".tool_calls");
        message.content += text_tool_call(call.name, call.arguments);
      }
    }
    if (r_name == "tool") {
      const Json* id = field(m, "tool_call_id");
      if (!id || !id->is_string()) bad_request(fmt::format("'{}.tool_call_id' must be a string on a tool message", where), where + ".tool_call_id");
      message.tool_call_id = id->get<std::string>();
    }
    r.messages.push_back(std::move(message));
  }
  if (const Json* tools = field(body, "tools")) {
    if (!tools->is_array()) bad_request("'tools' must be an array of {\"type\": \"function\", \"function\": {...}} objects", "tools");
    for (size_t i = 0; i < tools->size(); ++i) {
      const Json& t = (*tools)[i];
      const Json* fn = t.is_object() ? field(t, "function") : nullptr;
      if (!t.is_object() || t.value("type", "") != "function" || !fn || !fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string())
        bad_request(fmt::format("'tools[{}]' must be {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}", i), fmt::format("tools[{}]", i));
    }
    r.tools = *tools;
  }
  if (const Json* choice = field(body, "tool_choice")) {
    if (!choice->is_string() || (*choice != "auto" && *choice != "none"))
      bad_request("'tool_choice' must be \"auto\" or \"none\" (garden cannot force a call)", "tool_choice");
    if (*choice == "none") r.tools = Json::array();
  }
  refuse_unsupported(body, {"functions", "logprobs", "top_logprobs", "response_format", "logit_bias", "audio"});
  r.sampling = sampling(body);
  if (!r.tools.empty() && r.sampling.stream) bad_request("'stream' is not supported with 'tools'", "stream");
  return r;
}

EmbeddingRequest parse_embedding_request(const Json& body) {
  EmbeddingRequest r;
  r.model = required_model(body);
  r.inputs = prompts(body, "input", 2048);
  if (const Json* v = field(body, "dimensions")) r.dimensions = integer_in(*v, "dimensions", 1, 1 << 20);
  if (const Json* v = field(body, "encoding_format")) {
    if (!v->is_string() || (*v != "float" && *v != "base64"))
      bad_request(fmt::format("'encoding_format' must be float or base64, got {}", v->dump()), "encoding_format");
    r.base64 = *v == "base64";
  }
  return r;
}

SearchRequest parse_search_request(const Json& body) {
  SearchRequest r;
  const Json* query = field(body, "query");
  if (!query || !query->is_string() || query->get<std::string>().empty()) bad_request("'query' must be a non-empty string", "query");
  r.query = query->get<std::string>();
  if (const Json* v = field(body, "k")) r.k = integer_in(*v, "k", 1, 1000);
  r.kind = "";
  if (const Json* v = field(body, "kind")) {
    if (!v->is_string() || (*v != "bm25" && *v != "dense" && *v != "hybrid"))
      bad_request(fmt::format("'kind' must be bm25, dense or hybrid, got {}", v->dump()), "kind");
    r.kind = v->get<std::string>();
  }
  return r;
}

Json model_object(const std::string& id, int64_t created) {
  return Json{{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "garden"}};
}

Json model_list(const std::vector<std::string>& ids, int64_t created) {
  Json data = Json::array();
  for (const auto& id : ids) data.push_back(model_object(id, created));
  return Json{{"object", "list"}, {"data", data}};
}

Json usage_object(int64_t prompt_tokens, int64_t completion_tokens) {
  return Json{{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens}, {"total_tokens", prompt_tokens + completion_tokens}};
}

std::string base64_floats(const std::vector<float>& values) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static_assert(sizeof(float) == 4);
  std::vector<unsigned char> bytes(values.size() * 4);
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits = 0;
    std::memcpy(&bits, &values[i], 4);
    for (int b = 0; b < 4; ++b) bytes[i * 4 + static_cast<size_t>(b)] = static_cast<unsigned char>(bits >> (8 * b));  // little-endian
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t left = bytes.size() - i;
    const uint32_t chunk = (uint32_t{bytes[i]} << 16) | (left > 1 ? uint32_t{bytes[i + 1]} << 8 : 0) | (left > 2 ? uint32_t{bytes[i + 2]} : 0);
    out += alphabet[(chunk >> 18) & 63];
    out += alphabet[(chunk >> 12) & 63];
    out += left > 1 ? alphabet[(chunk >> 6) & 63] : '=';
    out += left > 2 ? alphabet[chunk & 63] : '=';
  }
  return out;
}

Json embedding_response(const std::vector<std::vector<float>>& rows, const std::string& model, bool base64, int64_t prompt_tokens) {
  Json data = Json::array();
  for (size_t i = 0; i < rows.size(); ++i)
    data.push_back(Json{{"object", "embedding"}, {"index", i}, {"embedding", base64 ? Json(base64_floats(rows[i])) : Json(rows[i])}});
  return Json{{"object", "list"}, {"data", data}, {"model", model}, {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}};
}

Json completion_response(const std::string& id, int64_t created, const std::string& model, const std::vector<Choice>& choices,
                         int64_t prompt_tokens, int64_t completion_tokens) {
  Json list = Json::array();
  for (size_t i = 0; i < choices.size(); ++i)
    list.push_back(Json{{"text", choices[i].text}, {"index", i}, {"logprobs", nullptr}, {"finish_reason", choices[i].finish_reason}});
  return choices_usage(id, "text_completion", created, model, std::move(list), prompt_tokens, completion_tokens);
}

Json chat_response(const std::string& id, int64_t created, const std::string& model, const std::vector<Choice>& choices,
                   int64_t prompt_tokens, int64_t completion_tokens, bool tools) {
  Json list = Json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    Json message = {{"role", "assistant"}, {"content", choices[i].text}, {"refusal", nullptr}};
    std::string finish = choices[i].finish_reason;
    if (tools) {
      std::string prose;
      const auto calls = parse_text_tool_calls(choices[i].text, &prose);
      const bool readable = !calls.empty() && std::all_of(calls.begin(), calls.end(), [](const ToolCall& c) { return c.error.empty(); });
      if (readable) {
        Json native = Json::array();
        for (size_t c = 0; c < calls.size(); ++c) {
          auto call = calls[c];
          call.id = fmt::format("call_{}_{}", i, c);
          native.push_back(tool_call_json(call));
        }
        message["tool_calls"] = native;
        const bool blank = prose.find_first_not_of(" \n\t") == std::string::npos;
        message["content"] = blank ? Json(nullptr) : Json(prose);
        finish = "tool_calls";
      }
    }
    list.push_back(Json{{"index", i}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", finish}});
  }
  return choices_usage(id, "chat.completion", created, model, std::move(list), prompt_tokens, completion_tokens);
}

Json completion_chunk(const std::string& id, int64_t created, const std::string& model, int64_t index, const std::string& text,
                      const std::string& finish_reason) {
  return Json{{"id", id},
              {"object", "text_completion"},
              {"created", created},
              {"model", model},
              {"choices", Json::array({{{"text", text}, {"index", index}, {"logprobs", nullptr}, {"finish_reason", finish(finish_reason)}}})}};
}

Json chat_chunk(const std::string& id, int64_t created, const std::string& model, int64_t index, const std::string& text,
                const std::string& finish_reason, bool first) {
  Json delta = Json::object();
  if (first) delta["role"] = "assistant";
  if (first || !text.empty()) delta["content"] = text;
  return Json{{"id", id},
              {"object", "chat.completion.chunk"},
              {"created", created},
              {"model", model},
              {"choices", Json::array({{{"index", index}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", finish(finish_reason)}}})}};
}

Json usage_chunk(const std::string& id, int64_t created, const std::string& model, bool chat, int64_t prompt_tokens,
                 int64_t completion_tokens) {
  return Json{{"id", id},
              {"object", chat ? "chat.completion.chunk" : "text_completion"},
              {"created", created},
              {"model", model},
              {"choices", Json::array()},
              {"usage", usage_object(prompt_tokens, completion_tokens)}};
}

std::string sse_event(const Json& data) { return "data: " + dump_json(data) + "\n\n"; }
std::string sse_done() { return "data: [DONE]\n\n"; }

Json search_response(const std::string& query, const std::string& kind, const std::vector<SearchHit>& hits) {
  Json data = Json::array();
  for (size_t i = 0; i < hits.size(); ++i)
    data.push_back(Json{{"rank", i + 1}, {"id", hits[i].id}, {"score", hits[i].score}, {"text", hits[i].text}});
  return Json{{"object", "search.result"}, {"query", query}, {"kind", kind}, {"data", data}};
}

std::string dump_json(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace garden::serve
