// The append-only transcript (agent/transcript.h): events round-trip with ids chained to their
// parents; a writer killed mid-stream leaves only whole events (its cut last line is skipped by
// replay and dropped before the next append); the old bytes stay a prefix of the file; a
// malformed line elsewhere is an error naming file:line.
#include "garden/agent/transcript.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "garden/core/error.h"
#include "test_files.h"

namespace garden::agent {
namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Transcript, EventsRoundTripWithChainedIdsAndOldBytesStayAPrefix) {
  testing::TempDir dir;
  const auto path = dir.path() / "s" / "transcript.jsonl";
  {
    Transcript t(path, "s1");
    t.append("user", Json{{"content", "find the mayor"}}, 4);
    t.append("assistant", Json{{"content", "searching"}});
  }
  const std::string before = read_all(path);
  {
    Transcript t(path, "s1");
    ASSERT_EQ(t.events().size(), 2u);
    const auto& e = t.append("stop", Json{{"reason", "final"}});
    EXPECT_EQ(e.id, 3);
    EXPECT_EQ(e.parent_id, 2);
  }
  const std::string after = read_all(path);
  EXPECT_EQ(after.substr(0, before.size()), before);
  const auto events = Transcript::replay(path);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "user");
  EXPECT_EQ(events[0].tokens, 4);
  EXPECT_EQ(events[0].payload.at("content"), "find the mayor");
  EXPECT_EQ(events[1].parent_id, 1);
  EXPECT_EQ(events[2].session, "s1");
}

TEST(Transcript, AWriterKilledMidStreamLeavesOnlyWholeEvents) {
  testing::TempDir dir;
  const auto path = dir.path() / "t.jsonl";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Transcript t(path, "k");
    const std::string big(2000, 'x');
    for (int i = 0;; ++i) t.append("tool_result", Json{{"i", i}, {"text", big}});
  }
  usleep(150000);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  const auto events = Transcript::replay(path);
  ASSERT_GE(events.size(), 1u);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].id, static_cast<int64_t>(i) + 1);
  // Reopened, the next event follows the last whole one on a line of its own.
  {
    Transcript t(path, "k");
    t.append("stop", Json{{"reason", "abort"}});
  }
  const auto again = Transcript::replay(path);
  ASSERT_EQ(again.size(), events.size() + 1);
  EXPECT_EQ(again.back().type, "stop");
}

TEST(Transcript, ACutLastLineIsSkippedAndDroppedButAMalformedMiddleLineIsAnError) {
  testing::TempDir dir;
  const auto path = dir.path() / "t.jsonl";
  {
    Transcript t(path, "c");
    t.append("user", Json{{"content", "a"}});
  }
  {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << R"({"id":2,"parent_id":1,"ts":"x","sess)";  // a write cut by a kill
  }
  EXPECT_EQ(Transcript::replay(path).size(), 1u);
  {
    Transcript t(path, "c");
    EXPECT_EQ(t.append("user", Json{{"content", "b"}}).id, 2);
  }
  EXPECT_EQ(Transcript::replay(path).size(), 2u);
  {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << "not json\n" << R"({"id":4,"parent_id":3,"ts":"x","session":"c","type":"user","payload":{},"tokens":0})" << "\n";
  }
  testing::expect_error_containing([&] { Transcript::replay(path); }, "t.jsonl:3: not a transcript event");
  testing::expect_error_containing([&] { Transcript::replay(dir.path() / "none.jsonl"); }, "no such transcript");
  // Someone else's file of one unterminated line is not cut: opening it is refused, bytes kept.
  const auto foreign = dir.path() / "notes.txt";
  {
    std::ofstream out(foreign, std::ios::binary);
    out << "my notes, no newline";
  }
  testing::expect_error_containing([&] { Transcript t(foreign, "x"); }, "not a transcript");
  EXPECT_EQ(read_all(foreign), "my notes, no newline");
}

TEST(Transcript, ReplayHistoryRebuildsTheMessagesTheLoopSawWithoutGrants) {
  testing::TempDir dir;
  const auto path = dir.path() / "t.jsonl";
  {
    Transcript t(path, "r");
    t.append("system", Json{{"role", "system"}, {"content", "You are an agent."}});
    t.append("user", Json{{"role", "user"}, {"content", "Notes: a"}, {"pinned", true}});
    t.append("user", Json{{"role", "user"}, {"content", "save a note"}});
    t.append("assistant", Json{{"role", "assistant"}, {"content", ""},
                               {"tool_calls", Json::array({{{"id", "c1"}, {"type", "function"},
                                                            {"function", {{"name", "write_note"}, {"arguments", R"({"name":"a","content":"x"})"}}}}})}});
    t.append("tool_call", Json{{"id", "c1"}, {"name", "write_note"}});
    t.append("permission", Json{{"id", "c1"}, {"effect", "allow"}, {"reason", "approved for the session"}});
    t.append("tool_result", Json{{"id", "c1"}, {"content", "note exists"}, {"error", true}});
    t.append("stop", Json{{"reason", "final"}});
  }
  const auto history = replay_history(path);
  ASSERT_EQ(history.size(), 5u);
  EXPECT_EQ(history[0].role, "system");
  EXPECT_TRUE(history[1].pinned);
  EXPECT_FALSE(history[2].pinned);
  ASSERT_EQ(history[3].tool_calls.size(), 1u);
  EXPECT_EQ(history[3].tool_calls[0].name, "write_note");
  EXPECT_EQ(history[3].tool_calls[0].arguments.at("name"), "a");
  EXPECT_EQ(history[4].role, "tool");
  EXPECT_EQ(history[4].tool_call_id, "c1");
  EXPECT_EQ(history[4].content, "error: note exists");
}

}  // namespace
}  // namespace garden::agent
