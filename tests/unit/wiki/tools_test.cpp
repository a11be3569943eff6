// The wiki's operations as agent tools, driven through the agent loop by the scripted model; and
// the chat-model backend of ingest, whose claims count only when the source states them.
#include "garden/wiki/tools.h"

#include <gtest/gtest.h>

#include "garden/agent/loop.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/wiki/wiki.h"
#include "test_files.h"

namespace garden::wiki {
namespace {

namespace fs = std::filesystem;

TEST(WikiTools, AScriptedAgentIngestsQueriesAndLints) {
  testing::TempDir dir;
  const auto space = dir.path();
  init_wiki(space / "kb");
  write_file_atomic(space / "news.md", "2021-04-01 — Regional bulletin\nBramwick elected Ada Morrow as mayor.\n");
  agent::ToolBox tools;
  add_wiki_tools(tools, space, space / "kb", "2026-01-02");
  agent::ScriptedModel model({agent::scripted_call("wiki_ingest", {{"path", "news.md"}}, "c1"),
                              agent::scripted_call("wiki_query", {{"question", "Who is the current mayor of Bramwick?"}}, "c2"),
                              agent::scripted_call("wiki_lint", Json::object(), "c3"), Json{{"role", "assistant"}, {"content", "Ada Morrow"}}});
  agent::PermissionEngine permissions(agent::Mode::accept_edits, {space}, {agent::Rule::parse("allow wiki_lint"),
                                                                           agent::Rule::parse("allow wiki_ingest")});
  agent::Transcript transcript(space / "t.jsonl", "s");
  agent::AgentLoop loop(model, tools, permissions, transcript);
  std::vector<agent::Message> history = {{"system", "Keep the wiki.", {}, ""}, {"user", "Ingest news.md and answer.", {}, ""}};
  const auto result = loop.run(history);
  EXPECT_EQ(result.reason, agent::StopReason::final);
  const auto& seen = model.seen();
  EXPECT_NE(seen[1].back().content.find("source [[news]]: 1 claims"), std::string::npos) << seen[1].back().content;
  EXPECT_NE(seen[2].back().content.find("answer: Ada Morrow"), std::string::npos) << seen[2].back().content;
  EXPECT_NE(seen[3].back().content.find("0 problem(s)"), std::string::npos) << seen[3].back().content;
  EXPECT_TRUE(fs::exists(space / "kb/raw/news.md"));
}

TEST(WikiTools, IngestOfAPathOutsideTheWorkspaceIsDenied) {
  testing::TempDir dir, outside;
  const auto space = dir.path();
  init_wiki(space / "kb");
  write_file_atomic(outside.path() / "secret.md", "2021-04-01 — x\nBramwick elected Ada Morrow as mayor.\n");
  agent::ToolBox tools;
  add_wiki_tools(tools, space, space / "kb", "2026-01-02");
  for (const auto mode : {agent::Mode::default_mode, agent::Mode::accept_edits, agent::Mode::dont_ask, agent::Mode::bypass}) {
    agent::PermissionEngine permissions(mode, {space}, {});
    for (const auto& path : {(outside.path() / "secret.md").string(), std::string("../") + outside.path().filename().string() + "/secret.md"})
      EXPECT_EQ(permissions.decide("wiki_ingest", {{"path", path}}, tools.find("wiki_ingest")->traits, {}).effect, agent::Effect::deny) << path;
  }
  EXPECT_THROW(add_wiki_tools(tools, space, outside.path(), "2026-01-02"), Error);
}

// A chat model that replies with a fixed text.
class FixedReply final : public agent::ChatModel {
 public:
  explicit FixedReply(std::string text) : text_(std::move(text)) {}
  agent::ModelReply complete(const std::vector<agent::Message>& messages, const Json&) override {
    prompt = messages.back().content;
    agent::ModelReply reply;
    reply.message.role = "assistant";
    reply.message.content = text_;
    return reply;
  }
  std::string prompt;

 private:
  std::string text_;
};

TEST(WikiBackend, TheModelsClaimsAreKeptOnlyWhereTheSourceStatesThem) {
  testing::TempDir dir;
  init_wiki(dir.path() / "kb");
  write_file_atomic(dir.path() / "news.md", "2021-04-01 — Regional bulletin\nThe town of Bramwick has a new mayor, Ada Morrow.\nBramwick lies on the Oska, a slow river.\n");
  FixedReply model(
      "Here are the facts:\n"
      "Bramwick | mayor | Ada Morrow | L2\n"
      "Bramwick | river | Oska | 3\n"
      "Bramwick | twin town | Lyonne | 3\n"      // not in line 3: rejected
      "Bramwick | colour | blue | 2\n"           // unknown attribute: rejected
      "Corford | mayor | Ada Morrow | 2\n");     // entity not on the line: rejected
  const auto r = ingest(dir.path() / "kb", dir.path() / "news.md", Backend{&model}, "2026-01-02");
  EXPECT_NE(model.prompt.find("L2: The town of Bramwick has a new mayor, Ada Morrow."), std::string::npos);
  EXPECT_EQ(r.claims, 2);
  EXPECT_EQ(r.rejected_claims, 3);
  const auto page = read_file(dir.path() / "kb/wiki/entities/bramwick.md");
  EXPECT_NE(page.find("- mayor of Bramwick: Ada Morrow (2021-04-01) ^[news:L2-L2]"), std::string::npos) << page;
  EXPECT_NE(page.find("- river of Bramwick: Oska (2021-04-01) ^[news:L3-L3]"), std::string::npos);
  EXPECT_TRUE(lint(dir.path() / "kb", false, "2026-01-02").problems.empty());
}

}  // namespace
}  // namespace garden::wiki
