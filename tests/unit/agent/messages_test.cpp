// Tool-call parsing (agent/messages.h): native calls with string or object arguments, text-
// protocol blocks (several per message, prose kept), malformed calls kept with an error, and
// random bytes never crash the parser.
#include "garden/agent/messages.h"

#include <gtest/gtest.h>

#include <random>

namespace garden::agent {
namespace {

TEST(ToolCalls, NativeCallsReadStringOrObjectArguments) {
  const Json message = Json::parse(R"({"role":"assistant","content":null,"tool_calls":[
    {"id":"c1","type":"function","function":{"name":"search","arguments":"{\"query\":\"mayor\",\"k\":3}"}},
    {"id":"c2","type":"function","function":{"name":"read_file","arguments":{"path":"a.txt"}}}]})");
  const auto m = parse_assistant_message(message);
  ASSERT_EQ(m.tool_calls.size(), 2u);
  EXPECT_EQ(m.tool_calls[0].id, "c1");
  EXPECT_EQ(m.tool_calls[0].name, "search");
  EXPECT_EQ(m.tool_calls[0].arguments.at("k"), 3);
  EXPECT_TRUE(m.tool_calls[0].error.empty());
  EXPECT_EQ(m.tool_calls[1].arguments.at("path"), "a.txt");
  // The wire form carries arguments as a JSON string and reads back the same.
  const auto again = parse_assistant_message(m.to_json());
  EXPECT_EQ(again.tool_calls[1].arguments, m.tool_calls[1].arguments);
}

TEST(ToolCalls, TextProtocolBlocksAreCallsAndTheRestIsProse) {
  const std::string content = "Let me look. " + text_tool_call("search", Json{{"query", "river"}}) + " and " +
                              text_tool_call("grep", Json{{"pattern", "Ash"}}) + " done.";
  std::string prose;
  const auto calls = parse_text_tool_calls(content, &prose);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].name, "search");
  EXPECT_EQ(calls[1].arguments.at("pattern"), "Ash");
  EXPECT_EQ(prose, "Let me look.  and  done.");
  const auto m = parse_assistant_message(Json{{"role", "assistant"}, {"content", content}});
  ASSERT_EQ(m.tool_calls.size(), 2u);
  EXPECT_EQ(m.tool_calls[0].id, "call_0");
  EXPECT_EQ(m.tool_calls[1].id, "call_1");
  EXPECT_EQ(m.content, prose);
}

TEST(ToolCalls, MalformedCallsAreKeptWithAnError) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"<tool_call>{not json}</tool_call>", "does not hold valid JSON"},
      {"<tool_call>{\"name\":\"x\",\"arguments\":\"{oops\"}</tool_call>", "arguments of x are not valid JSON"},
      {"<tool_call>{\"arguments\":{}}</tool_call>", "needs a string 'name'"},
      {"<tool_call>{\"name\":\"x\",\"arguments\":[1]}</tool_call>", "must be a JSON object"},
      {"<tool_call>[1,2]</tool_call>", "must be a JSON object"},
      {"text <tool_call>{\"name\":\"x\"}", "is not closed"},
  };
  for (const auto& [content, error] : cases) {
    const auto calls = parse_text_tool_calls(content);
    ASSERT_EQ(calls.size(), 1u) << content;
    EXPECT_NE(calls[0].error.find(error), std::string::npos) << content << " -> " << calls[0].error;
  }
  const auto native = parse_assistant_message(Json::parse(R"({"tool_calls":[{"function":{"name":"x","arguments":"[1]"}}]})"));
  ASSERT_EQ(native.tool_calls.size(), 1u);
  EXPECT_FALSE(native.tool_calls[0].error.empty());
  EXPECT_FALSE(parse_assistant_message(Json("not an object")).tool_calls.at(0).error.empty());
}

TEST(ToolCalls, RandomBytesNeverCrashTheParser) {
  std::mt19937 rng(11);
  const std::vector<std::string> pieces = {"<tool_call>", "</tool_call>", "{", "}", "\"name\"", ":", "\"x\"", ",", "\"arguments\"", "[", "]", "\\"};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string s;
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) s += rng() % 2 ? pieces[rng() % pieces.size()] : std::string(1, static_cast<char>(rng() % 256));
    const auto calls = parse_text_tool_calls(s);
    for (const auto& c : calls) EXPECT_TRUE(!c.error.empty() || !c.name.empty());
  }
}

}  // namespace
}  // namespace garden::agent
