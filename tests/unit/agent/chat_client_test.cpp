// The agent's chat client (agent/chat_client.h) against a stub endpoint: retries after 503 with
// backoff, reads native calls, text blocks, finish_reason and usage with cached tokens; sends
// tools natively or, in text mode, describes them in the system message and sends calls and
// results as text; a 400 is an error naming the endpoint and its message, not retried.
#include "garden/agent/chat_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <thread>

#include "garden/core/error.h"
#include "test_files.h"

namespace garden::agent {
namespace {

struct StubEndpoint {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::vector<Json> bodies;
  std::vector<std::pair<int, Json>> replies;  // served in order; the last repeats
  size_t next = 0;
  StubEndpoint() {
    server.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      bodies.push_back(Json::parse(req.body));
      const auto& [status, body] = replies[std::min(next++, replies.size() - 1)];
      res.status = status;
      res.set_content(body.dump(), "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~StubEndpoint() {
    server.stop();
    thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }
};

const Json kTools = Json::parse(R"([{"type":"function","function":{"name":"read_file","description":"Read.","parameters":{"type":"object"}}}])");

std::vector<Message> conversation() {
  Message call{"assistant", "", {}, ""};
  call.tool_calls.push_back(ToolCall{"c1", "read_file", Json{{"path", "a.txt"}}, ""});
  return {{"system", "Be careful.", {}, ""}, {"user", "Read a.txt", {}, ""}, call, {"tool", "1: hello", {}, "c1"}};
}

TEST(ChatClient, RetriesServerErrorsAndReadsCallsFinishAndUsage) {
  StubEndpoint stub;
  stub.replies = {{503, Json{{"error", {{"message", "busy"}}}}},
                  {200, Json::parse(R"({"choices":[{"message":{"role":"assistant","content":"Checking <tool_call>{\"name\":\"grep\",\"arguments\":{\"pattern\":\"x\"}}</tool_call>",
                     "tool_calls":[{"id":"n1","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"b.txt\"}"}}]},"finish_reason":"tool_calls"}],
                     "usage":{"prompt_tokens":120,"completion_tokens":9,"prompt_tokens_details":{"cached_tokens":96}}})")}};
  ChatClient client({stub.url(), "lm", "", 64, 0, 5, 2, 1, true});
  const auto reply = client.complete(conversation(), kTools);
  EXPECT_EQ(client.requests_sent(), 2);
  ASSERT_EQ(reply.message.tool_calls.size(), 2u);
  EXPECT_EQ(reply.message.tool_calls[0].id, "n1");
  EXPECT_EQ(reply.message.tool_calls[0].arguments.at("path"), "b.txt");
  EXPECT_EQ(reply.message.tool_calls[1].name, "grep");
  EXPECT_EQ(reply.message.content, "Checking ");
  EXPECT_EQ(reply.finish_reason, "tool_calls");
  EXPECT_EQ(reply.prompt_tokens, 120);
  EXPECT_EQ(reply.cached_prompt_tokens, 96);
  // Native mode: the tools and the call/result messages in the OpenAI shape.
  const Json& sent = stub.bodies.back();
  EXPECT_EQ(sent["tools"], kTools);
  EXPECT_EQ(sent["messages"][2]["content"], nullptr);
  EXPECT_EQ(sent["messages"][2]["tool_calls"][0]["function"]["name"], "read_file");
  EXPECT_EQ(sent["messages"][3]["role"], "tool");
  EXPECT_EQ(sent["messages"][3]["tool_call_id"], "c1");
}

TEST(ChatClient, TextModeDescribesToolsAndSendsCallsAndResultsAsText) {
  ChatClient client({"http://127.0.0.1:9/v1", "lm", "", 64, 0, 5, 0, 1, false});
  const Json body = client.request_body(conversation(), kTools);
  EXPECT_FALSE(body.contains("tools"));
  const std::string system = body["messages"][0]["content"];
  EXPECT_EQ(system.rfind("Be careful.", 0), 0u);
  EXPECT_NE(system.find("- read_file: Read."), std::string::npos);
  EXPECT_EQ(body["messages"][2]["content"], text_tool_call("read_file", Json{{"path", "a.txt"}}));
  EXPECT_EQ(body["messages"][3]["role"], "user");
  EXPECT_EQ(body["messages"][3]["content"], "Result of tool call c1:\n1: hello");
}

TEST(ChatClient, ClientErrorsAreNotRetriedAndNoServerGivesUpAfterItsTries) {
  StubEndpoint stub;
  stub.replies = {{400, Json{{"error", {{"message", "'tool_choice' must be auto"}}}}}};
  ChatClient client({stub.url(), "lm", "", 64, 0, 5, 3, 1, true});
  testing::expect_error_containing([&] { client.complete(conversation(), kTools); }, "HTTP 400: 'tool_choice' must be auto");
  EXPECT_EQ(client.requests_sent(), 1);
  ChatClient nobody({"http://127.0.0.1:9/v1", "lm", "", 64, 0, 1, 2, 1, true});
  testing::expect_error_containing([&] { nobody.complete(conversation(), kTools); }, "after 3 tries");
  ChatClientOptions ftp;
  ftp.base_url = "ftp://x";
  ftp.model = "lm";
  EXPECT_THROW(ChatClient{ftp}, Error);
}

}  // namespace
}  // namespace garden::agent
