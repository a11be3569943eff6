// The OpenAI request rules and response shapes: each field's accepted forms, every refusal
// a 400 naming the parameter, the documented objects, base64 floats, SSE framing.
#include "garden/serve/api.h"
#include "garden/serve/tool_calls.h"

#include <gtest/gtest.h>

namespace garden::serve {
namespace {

// The ApiError `fn` throws (a test failure when it throws none).
template <typename Fn>
ApiError refusal(Fn fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no ApiError thrown";
  return ApiError(0, "");
}

TEST(Api, MalformedOrNonObjectBodiesAre400) {
  const auto bad = refusal([] { parse_body("{\"model\": "); });
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.code, "invalid_json");
  EXPECT_EQ(refusal([] { parse_body("[1, 2]"); }).status, 400);
  EXPECT_EQ(parse_body("{\"a\": 1}")["a"], 1);
  // A number beyond a double: nlohmann's parser throws out_of_range, not parse_error (found
  // by the serve_api fuzz target); still a 400, not a dropped connection.
  const auto huge = refusal([] { parse_body("{\"max_tokens\": 4E44444}"); });
  EXPECT_EQ(huge.status, 400);
  EXPECT_EQ(huge.code, "invalid_json");
}

TEST(Api, ErrorBodyHasOpenAIsFourFields) {
  const Json body = error_body(ApiError(400, "bad n", "invalid_request_error", "n"));
  EXPECT_EQ(body["error"]["message"], "bad n");
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_EQ(body["error"]["param"], "n");
  EXPECT_TRUE(body["error"]["code"].is_null());
  EXPECT_EQ(transport_error(413).status, 413);
  EXPECT_EQ(transport_error(404).code, "unknown_url");
}

TEST(Api, CompletionPromptForms) {
  auto r = parse_completion_request(Json{{"model", "lm"}, {"prompt", "hi"}});
  ASSERT_EQ(r.prompts.size(), 1u);
  EXPECT_EQ(r.prompts[0].text, "hi");
  EXPECT_FALSE(r.sampling.max_tokens.has_value());
  EXPECT_EQ(r.sampling.temperature, 1.0);
  r = parse_completion_request(Json{{"model", "lm"}, {"prompt", {"a", "b"}}});
  EXPECT_EQ(r.prompts.size(), 2u);
  r = parse_completion_request(Json{{"model", "lm"}, {"prompt", {5, 6, 7}}});
  ASSERT_EQ(r.prompts.size(), 1u);
  EXPECT_TRUE(r.prompts[0].is_tokens);
  EXPECT_EQ(r.prompts[0].tokens, (std::vector<int64_t>{5, 6, 7}));
  r = parse_completion_request(Json{{"model", "lm"}, {"prompt", {{1, 2}, {3}}}});
  EXPECT_EQ(r.prompts.size(), 2u);
  EXPECT_EQ(refusal([] { parse_completion_request(Json{{"model", "lm"}, {"prompt", Json::array()}}); }).param, "prompt");
  EXPECT_EQ(refusal([] { parse_completion_request(Json{{"model", "lm"}, {"prompt", 3}}); }).param, "prompt");
  EXPECT_EQ(refusal([] { parse_completion_request(Json{{"model", "lm"}, {"prompt", {1, -2}}}); }).param, "prompt");
  EXPECT_EQ(refusal([] { parse_completion_request(Json{{"prompt", "x"}}); }).param, "model");
  EXPECT_EQ(refusal([] { parse_completion_request(Json{{"model", 7}, {"prompt", "x"}}); }).param, "model");
}

TEST(Api, SamplingFieldsAndTheirLimits) {
  const Json ok = {{"model", "lm"}, {"prompt", "x"}, {"max_tokens", 5}, {"temperature", 0}, {"top_p", 0.5}, {"stop", "\n"},
                   {"seed", 3},     {"n", 2},         {"stream", true}, {"stream_options", {{"include_usage", true}}}};
  const auto s = parse_completion_request(ok).sampling;
  EXPECT_EQ(*s.max_tokens, 5);
  EXPECT_EQ(s.temperature, 0.0);
  EXPECT_EQ(s.top_p, 0.5);
  EXPECT_EQ(s.stop, std::vector<std::string>{"\n"});
  EXPECT_EQ(s.seed, 3u);
  EXPECT_EQ(s.n, 2);
  EXPECT_TRUE(s.stream);
  EXPECT_TRUE(s.include_usage);
  // max_completion_tokens wins over the older max_tokens; null means "not given".
  Json both = {{"model", "lm"}, {"prompt", "x"}, {"max_tokens", 5}, {"max_completion_tokens", 9}, {"temperature", nullptr}};
  EXPECT_EQ(*parse_completion_request(both).sampling.max_tokens, 9);
  EXPECT_EQ(parse_completion_request(both).sampling.temperature, 1.0);
  const std::vector<std::pair<Json, std::string>> bad = {
      {{{"temperature", 2.5}}, "temperature"},  {{{"temperature", "hot"}}, "temperature"}, {{{"top_p", 0}}, "top_p"},
      {{{"max_tokens", 0}}, "max_tokens"},      {{{"max_tokens", 1.5}}, "max_tokens"},     {{{"n", 0}}, "n"},
      {{{"stop", {"a", "b", "c", "d", "e"}}}, "stop"}, {{{"stop", {""}}}, "stop"},          {{{"stream", "yes"}}, "stream"},
      {{{"stream_options", {{"include_usage", true}}}}, "stream_options"},                  {{{"seed", "x"}}, "seed"},
      {{{"echo", true}}, "echo"},               {{{"logprobs", 2}}, "logprobs"},           {{{"best_of", 3}}, "best_of"}};
  for (const auto& [extra, param] : bad) {
    Json body = {{"model", "lm"}, {"prompt", "x"}};
    body.update(extra);
    const auto e = refusal([&] { parse_completion_request(body); });
    EXPECT_EQ(e.status, 400) << extra.dump();
    EXPECT_EQ(e.param, param) << extra.dump();
  }
  Json defaults = {{"model", "lm"}, {"prompt", "x"}, {"echo", false}, {"best_of", 1}, {"logit_bias", Json::object()}};
  EXPECT_NO_THROW(parse_completion_request(defaults));
}

TEST(Api, ChatMessages) {
  const Json body = {{"model", "lm"},
                     {"messages", {{{"role", "system"}, {"content", "be brief"}},
                                   {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "hel"}}, {{"type", "text"}, {"text", "lo"}}}}}}}};
  const auto r = parse_chat_request(body);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "hello");
  EXPECT_EQ(refusal([] { parse_chat_request(Json{{"model", "lm"}, {"messages", Json::array()}}); }).param, "messages");
  EXPECT_EQ(refusal([] { parse_chat_request(Json{{"model", "lm"}, {"messages", {{{"role", "robot"}, {"content", "x"}}}}}); }).param,
            "messages[0].role");
  EXPECT_EQ(refusal([] { parse_chat_request(Json{{"model", "lm"}, {"messages", {{{"role", "user"}, {"content", 5}}}}}); }).param,
            "messages[0].content");
  EXPECT_EQ(refusal([] {
              parse_chat_request(Json{{"model", "lm"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}, {"tools", {{{"type", "function"}}}}});
            }).param,
            "tools[0]");
}

TEST(Api, ChatWithToolsTakesToolMessagesAndReturnsTextBlocksAsToolCalls) {
  const Json tools = Json::parse(R"([{"type":"function","function":{"name":"search","description":"Search.","parameters":{"type":"object"}}}])");
  const Json body = {{"model", "lm"},
                     {"tools", tools},
                     {"tool_choice", "auto"},
                     {"messages", Json::parse(R"([{"role":"user","content":"find it"},
        {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"search","arguments":"{\"q\":\"x\"}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"found x"}])")}};
  const auto r = parse_chat_request(body);
  EXPECT_EQ(r.tools, tools);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[1].content, text_tool_call("search", Json{{"q", "x"}}));  // the call as the model would write it
  EXPECT_EQ(r.messages[2].role, "tool");
  EXPECT_EQ(r.messages[2].tool_call_id, "c1");
  auto none = body;
  none["tool_choice"] = "none";
  EXPECT_TRUE(parse_chat_request(none).tools.empty());
  auto forced = body;
  forced["tool_choice"] = "required";
  EXPECT_EQ(refusal([&] { parse_chat_request(forced); }).param, "tool_choice");
  auto streaming = body;
  streaming["stream"] = true;
  EXPECT_EQ(refusal([&] { parse_chat_request(streaming); }).param, "stream");
  auto orphan = body;
  orphan["messages"][2].erase("tool_call_id");
  EXPECT_EQ(refusal([&] { parse_chat_request(orphan); }).param, "messages[2].tool_call_id");
  // The reply: a readable block becomes a native call; prose stays the content.
  const std::string text = "Looking. " + text_tool_call("search", Json{{"q", "y"}});
  const Json reply = chat_response("chatcmpl-1", 7, "lm", {{text, "stop"}, {"plain answer", "stop"}, {"<tool_call>{bad</tool_call>", "stop"}}, 4, 2, true);
  const auto& first = reply["choices"][0];
  EXPECT_EQ(first["finish_reason"], "tool_calls");
  EXPECT_EQ(first["message"]["content"], "Looking. ");
  EXPECT_EQ(first["message"]["tool_calls"][0]["function"]["name"], "search");
  EXPECT_EQ(Json::parse(first["message"]["tool_calls"][0]["function"]["arguments"].get<std::string>()), (Json{{"q", "y"}}));
  EXPECT_EQ(first["message"]["tool_calls"][0]["id"], "call_0_0");
  EXPECT_EQ(reply["choices"][1]["finish_reason"], "stop");
  EXPECT_FALSE(reply["choices"][1]["message"].contains("tool_calls"));
  EXPECT_EQ(reply["choices"][2]["message"]["content"], "<tool_call>{bad</tool_call>");  // unreadable: left as text
  // The protocol prompt names every tool with its arguments.
  const auto prompt = tool_protocol_prompt(tools);
  EXPECT_NE(prompt.find("<tool_call>"), std::string::npos);
  EXPECT_NE(prompt.find("- search: Search. Arguments: {\"type\":\"object\"}"), std::string::npos);
}

TEST(Api, EmbeddingInputsDimensionsAndFormat) {
  auto r = parse_embedding_request(Json{{"model", "emb"}, {"input", {"a", "b"}}, {"dimensions", 8}, {"encoding_format", "base64"}});
  EXPECT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(r.dimensions, 8);
  EXPECT_TRUE(r.base64);
  r = parse_embedding_request(Json{{"model", "emb"}, {"input", {{1, 2}, {3}}}});
  EXPECT_TRUE(r.inputs[1].is_tokens);
  EXPECT_EQ(refusal([] { parse_embedding_request(Json{{"model", "emb"}, {"input", ""}}); }).param, "input");
  EXPECT_EQ(refusal([] { parse_embedding_request(Json{{"model", "emb"}, {"input", {"a", 3}}}); }).param, "input");
  EXPECT_EQ(refusal([] { parse_embedding_request(Json{{"model", "emb"}, {"input", "a"}, {"dimensions", 0}}); }).param, "dimensions");
  EXPECT_EQ(refusal([] { parse_embedding_request(Json{{"model", "emb"}, {"input", "a"}, {"encoding_format", "int8"}}); }).param,
            "encoding_format");
  EXPECT_EQ(refusal([] { parse_embedding_request(Json{{"model", "emb"}, {"input", Json(std::vector<std::string>(2049, "a"))}}); }).param,
            "input");
}

TEST(Api, SearchRequest) {
  const auto r = parse_search_request(Json{{"query", "wing"}, {"k", 3}, {"kind", "hybrid"}});
  EXPECT_EQ(r.query, "wing");
  EXPECT_EQ(r.k, 3);
  EXPECT_EQ(r.kind, "hybrid");
  EXPECT_EQ(parse_search_request(Json{{"query", "wing"}}).kind, "");  // the server's default
  EXPECT_EQ(refusal([] { parse_search_request(Json{{"query", ""}}); }).param, "query");
  EXPECT_EQ(refusal([] { parse_search_request(Json{{"query", "w"}, {"k", 0}}); }).param, "k");
  EXPECT_EQ(refusal([] { parse_search_request(Json{{"query", "w"}, {"kind", "sparse"}}); }).param, "kind");
}

// 1.0f is 00 00 80 3F little-endian -> "AACAPw=="; two floats (8 bytes) end with one '='.
TEST(Api, Base64FloatsAreLittleEndianFloat32) {
  EXPECT_EQ(base64_floats({1.0f}), "AACAPw==");
  EXPECT_EQ(base64_floats({1.0f, -2.0f}), "AACAPwAAAMA=");
  EXPECT_EQ(base64_floats({}), "");
}

TEST(Api, ResponseShapes) {
  const Json e = embedding_response({{0.5f, 0.25f}}, "emb", false, 3);
  EXPECT_EQ(e["object"], "list");
  EXPECT_EQ(e["data"][0]["object"], "embedding");
  EXPECT_EQ(e["data"][0]["embedding"][1], 0.25);
  EXPECT_EQ(e["usage"]["total_tokens"], 3);
  const Json c = completion_response("cmpl-1", 7, "lm", {{"abc", "length"}}, 4, 3);
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_EQ(c["choices"][0]["text"], "abc");
  EXPECT_EQ(c["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(c["usage"], (Json{{"prompt_tokens", 4}, {"completion_tokens", 3}, {"total_tokens", 7}}));
  const Json chat = chat_response("chatcmpl-1", 7, "lm", {{"hi", "stop"}, {"yo", "length"}}, 4, 2);
  EXPECT_EQ(chat["object"], "chat.completion");
  EXPECT_EQ(chat["choices"][1]["index"], 1);
  EXPECT_EQ(chat["choices"][1]["message"]["role"], "assistant");
  EXPECT_EQ(chat["choices"][1]["message"]["content"], "yo");
  const Json first = chat_chunk("c", 7, "lm", 0, "", "", true);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  const Json last = chat_chunk("c", 7, "lm", 0, "", "stop", false);
  EXPECT_TRUE(last["choices"][0]["delta"].empty());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(completion_chunk("c", 7, "lm", 2, "x", "")["choices"][0]["index"], 2);
  const Json usage = usage_chunk("c", 7, "lm", true, 3, 4);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["total_tokens"], 7);
  const Json models = model_list({"lm", "emb"}, 7);
  EXPECT_EQ(models["data"][1]["id"], "emb");
  EXPECT_EQ(models["data"][1]["object"], "model");
  const Json s = search_response("q", "bm25", {{"d1", 2.5, "text one"}});
  EXPECT_EQ(s["data"][0]["id"], "d1");
  EXPECT_EQ(s["data"][0]["rank"], 1);
  EXPECT_EQ(s["data"][0]["text"], "text one");
}

TEST(Api, SseFramingAndInvalidUtf8) {
  EXPECT_EQ(sse_event(Json{{"a", 1}}), "data: {\"a\":1}\n\n");
  EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
  EXPECT_EQ(dump_json(Json("a\xC3")), "\"a\xEF\xBF\xBD\"");  // a cut character becomes U+FFFD, no exception
}

}  // namespace
}  // namespace garden::serve
