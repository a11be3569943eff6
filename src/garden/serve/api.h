// The OpenAI API's shapes (platform.openai.com/docs/api-reference) as garden serves them:
// requests parsed and checked into plain structs, responses, stream chunks and error
// objects built from plain values. JSON in, JSON out: no model, no socket, so every rule
// here is unit-tested (tests/unit/serve/api_test.cpp). What the server does with a request
// is serve/service.h; the transport is serve/server.h.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "garden/core/json.h"

namespace garden::serve {

// A request the server refuses, answered with HTTP `status` and OpenAI's error object
// {"error": {"message", "type", "param", "code"}} (param and code null when empty).
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message, std::string type = "invalid_request_error", std::string param = "",
           std::string code = "")
      : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)), code(std::move(code)) {}
  int status;
  std::string type, param, code;
};
// 400 invalid_request_error naming the offending parameter.
[[noreturn]] void bad_request(const std::string& message, const std::string& param, const std::string& code = "");
Json error_body(const ApiError& error);
// The error object for a status the transport produced itself (unknown route, body too large).
ApiError transport_error(int status);

// The request body as a JSON object; malformed JSON or another type is a 400.
Json parse_body(const std::string& body);

// The OpenAI default and limits for the sampling parameters.
struct SamplingRequest {
  std::optional<int64_t> max_tokens;  // max_tokens or max_completion_tokens; none: the endpoint's default
  double temperature = 1.0;           // [0, 2]; 0 = greedy
  double top_p = 1.0;                 // (0, 1]
  std::vector<std::string> stop;      // up to 4 non-empty strings; the text ends before the first found
  uint64_t seed = 0;                  // sample i of a prompt draws with seed + i (garden's default 0: repeatable)
  int64_t n = 1;                      // [1, 128] choices per prompt
  bool stream = false;
  bool include_usage = false;         // stream_options.include_usage: a last chunk with usage
};

// A prompt given as text or as token ids.
struct Prompt {
  std::string text;
  std::vector<int64_t> tokens;
  bool is_tokens = false;
};

struct CompletionRequest {
  std::string model;
  std::vector<Prompt> prompts;  // "prompt": a string, strings, token ids, or arrays of token ids
  SamplingRequest sampling;
};
CompletionRequest parse_completion_request(const Json& body);

struct ChatMessage {
  std::string role;  // system | developer | user | assistant | tool
  std::string content;  // an assistant's tool calls are in it as text-protocol blocks
  std::string tool_call_id;  // tool: the call it answers
};
struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  SamplingRequest sampling;
  // The OpenAI "tools" array (functions only); empty when none were given or tool_choice is
  // "none". garden's models have no native tool calling: the server tells them the text
  // protocol (tool_calls.h) and returns the blocks they write as tool_calls.
  Json tools = Json::array();
};
ChatRequest parse_chat_request(const Json& body);

struct EmbeddingRequest {
  std::string model;
  std::vector<Prompt> inputs;  // "input": a string, strings, token ids, or arrays of token ids
  int64_t dimensions = 0;      // 0: all of the model's
  bool base64 = false;         // encoding_format base64: little-endian float32 bytes, base64-encoded
};
EmbeddingRequest parse_embedding_request(const Json& body);

struct SearchRequest {
  std::string query;
  int64_t k = 10;              // [1, 1000]
  std::string kind = "bm25";   // bm25 | dense | hybrid
};
SearchRequest parse_search_request(const Json& body);

// --- responses ---

Json model_object(const std::string& id, int64_t created);
Json model_list(const std::vector<std::string>& ids, int64_t created);

Json usage_object(int64_t prompt_tokens, int64_t completion_tokens);

// Each row a vector of the same length; usage counts prompt tokens only.
Json embedding_response(const std::vector<std::vector<float>>& rows, const std::string& model, bool base64, int64_t prompt_tokens);
// Little-endian float32 bytes in standard base64 (with padding).
std::string base64_floats(const std::vector<float>& values);

struct Choice {
  std::string text;
  std::string finish_reason;  // stop | length
};
Json completion_response(const std::string& id, int64_t created, const std::string& model, const std::vector<Choice>& choices,
                         int64_t prompt_tokens, int64_t completion_tokens);
// With `tools`, text-protocol blocks in a choice become its message's tool_calls (finish_reason
// "tool_calls", the prose around them the content); blocks that cannot be read stay text.
Json chat_response(const std::string& id, int64_t created, const std::string& model, const std::vector<Choice>& choices,
                   int64_t prompt_tokens, int64_t completion_tokens, bool tools = false);
// Stream chunks: a piece of choice `index`'s text, or (finish_reason set) its end. The first
// chat chunk of a choice carries the role. usage_chunk: the last, with no choices.
Json completion_chunk(const std::string& id, int64_t created, const std::string& model, int64_t index, const std::string& text,
                      const std::string& finish_reason);
Json chat_chunk(const std::string& id, int64_t created, const std::string& model, int64_t index, const std::string& text,
                const std::string& finish_reason, bool first);
Json usage_chunk(const std::string& id, int64_t created, const std::string& model, bool chat, int64_t prompt_tokens,
                 int64_t completion_tokens);
// One server-sent event "data: <json>\n\n"; the stream ends with sse_done().
std::string sse_event(const Json& data);
std::string sse_done();

struct SearchHit {
  std::string id;
  double score = 0;
  std::string text;
};
Json search_response(const std::string& query, const std::string& kind, const std::vector<SearchHit>& hits);

// JSON text with invalid UTF-8 (a model may emit a partial character) replaced by U+FFFD.
std::string dump_json(const Json& value);

}  // namespace garden::serve
