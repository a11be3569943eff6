// Staged compaction (agent/compaction.h): nothing happens under budget; offloading alone fits
// when it can (no summariser call) and read_ref gets the whole result back; snipping comes
// next; the summariser runs only when the first two stages are not enough; afterwards the
// history fits, the system prompt, task, pinned notes and last K turns are byte-identical, and
// every call keeps its result. In the loop, turns without compaction send prompts that extend
// the previous one (the prefix is stable).
#include "garden/agent/compaction.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <set>

#include "garden/agent/loop.h"
#include "garden/core/files.h"
#include "test_files.h"

namespace garden::agent {
namespace {

Message assistant_call(const std::string& id, const std::string& query) {
  Message m;
  m.role = "assistant";
  m.tool_calls.push_back(ToolCall{id, "search", Json{{"query", query}}, ""});
  return m;
}

Message result(const std::string& id, const std::string& content) {
  Message m;
  m.role = "tool";
  m.tool_call_id = id;
  m.content = content;
  return m;
}

// System, task, a pinned note, then `turns` turns of one call each with results of `size` bytes.
std::vector<Message> session(int turns, size_t size) {
  std::vector<Message> h = {{"system", "You are an agent.", {}, ""}, {"user", "Collect facts about rivers.", {}, ""}};
  Message pinned{"user", "Pinned note: the Wey flows north.", {}, ""};
  pinned.pinned = true;
  h.push_back(pinned);
  for (int t = 0; t < turns; ++t) {
    const std::string id = fmt::format("c{}", t);
    h.push_back(assistant_call(id, fmt::format("river {}", t)));
    h.push_back(result(id, fmt::format("fact {}: {}", t, std::string(size, static_cast<char>('a' + t % 26)))));
  }
  return h;
}

void expect_calls_keep_results(const std::vector<Message>& h) {
  std::set<std::string> open;
  for (const auto& m : h) {
    for (const auto& c : m.tool_calls) open.insert(c.id);
    if (m.role == "tool") {
      EXPECT_EQ(open.erase(m.tool_call_id), 1u) << "result without its call: " << m.tool_call_id;
    }
  }
  EXPECT_TRUE(open.empty()) << "a call lost its result";
}

TEST(Compaction, UnderBudgetNothingChanges) {
  auto h = session(3, 100);
  const auto before = h;
  RefStore refs;
  const auto report = compact(h, CompactionOptions{100000}, refs, [](const std::vector<Message>& span) { return extractive_summary(span); });
  EXPECT_EQ(report.before, report.after);
  ASSERT_EQ(h.size(), before.size());
  for (size_t i = 0; i < h.size(); ++i) EXPECT_EQ(h[i].to_json(), before[i].to_json());
}

TEST(Compaction, OffloadingAloneFitsWhenItCanAndRefsGiveTheResultBack) {
  auto h = session(6, 4000);  // six results of ~1,000 tokens
  const std::string original = h[4].content;
  RefStore refs;
  int calls = 0;
  const auto summarise = [&](const std::vector<Message>& span) {
    ++calls;
    return extractive_summary(span);
  };
  CompactionOptions options{3000, 400, 4, 2, 60};
  const auto report = compact(h, options, refs, summarise);
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(report.summariser_called);
  EXPECT_EQ(report.offloaded, 4);  // the two last turns are kept whole
  EXPECT_EQ(report.snipped, 0);
  EXPECT_LE(report.after, options.budget);
  const auto at = h[4].content.find("read_ref ref:");
  ASSERT_NE(at, std::string::npos);
  const std::string id = h[4].content.substr(at + 9, h[4].content.find(' ', at + 9) - at - 9);
  ASSERT_NE(refs.get(id), nullptr);
  EXPECT_EQ(*refs.get(id), original);
  expect_calls_keep_results(h);
}

TEST(Compaction, TheSummariserRunsOnlyWhenOffloadAndSnipAreNotEnough) {
  auto h = session(40, 300);  // forty small results: offloading finds nothing, snipping is not enough
  const auto before = h;
  RefStore refs;
  int calls = 0;
  const auto summarise = [&](const std::vector<Message>& span) {
    ++calls;
    for (const auto& m : span) EXPECT_FALSE(m.pinned);
    return extractive_summary(span);
  };
  CompactionOptions options{800, 400, 4, 2, 60};
  const auto report = compact(h, options, refs, summarise);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(report.summariser_called);
  EXPECT_GT(report.snipped, 0);
  EXPECT_LE(report.after, options.budget);
  // Kept byte for byte: system, task, the pinned note, the last two turns.
  EXPECT_EQ(h[0].to_json(), before[0].to_json());
  EXPECT_EQ(h[1].to_json(), before[1].to_json());
  EXPECT_EQ(h[2].content, before[2].content);
  EXPECT_TRUE(h[2].pinned);
  for (size_t k = 1; k <= 4; ++k) EXPECT_EQ(h[h.size() - k].to_json(), before[before.size() - k].to_json());
  EXPECT_NE(h[3].content.find("[summary of"), std::string::npos);
  expect_calls_keep_results(h);
  // A second compaction over budget no longer needs the summariser when it fits.
  const auto again = compact(h, options, refs, summarise);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(again.before, again.after);
}

TEST(Compaction, TurnsWithoutCompactionKeepThePromptPrefixByteIdentical) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "a.txt", std::string(3000, 'x') + "\n");
  RefStore refs;
  ToolBox tools;
  add_workspace_tools(tools, dir.path(), refs);
  std::vector<Json> script;
  for (int i = 0; i < 8; ++i)
    script.push_back({{"role", "assistant"},
                      {"content", ""},
                      {"tool_calls", Json::array({{{"id", "c" + std::to_string(i)},
                                                   {"type", "function"},
                                                   {"function", {{"name", "read_file"}, {"arguments", Json{{"path", "a.txt"}, {"offset", 1}, {"limit", i + 1}}.dump()}}}}})}});
  ScriptedModel model(script);
  PermissionEngine permissions(Mode::plan, {dir.path()}, {});
  Transcript transcript(dir.path() / "t.jsonl", "s");
  AgentLoop loop(model, tools, permissions, transcript);
  loop.compaction = CompactionOptions{2000, 400, 3, 1, 60};
  loop.refs = &refs;
  std::vector<Message> history = {{"system", "sys", {}, ""}, {"user", "read a.txt", {}, ""}};
  loop.run(history);
  const auto wire = [](const std::vector<Message>& ms) {
    std::string s;
    for (const auto& m : ms) s += m.to_json().dump() + "\n";
    return s;
  };
  int stable = 0, compacted = 0;
  const auto& seen = model.seen();
  for (size_t t = 1; t < seen.size(); ++t) {
    const std::string prev = wire(seen[t - 1]), cur = wire(seen[t]);
    if (cur.compare(0, prev.size(), prev) == 0) ++stable;
    else ++compacted;
  }
  EXPECT_GT(stable, 0);
  EXPECT_GT(compacted, 0);  // the budget forced at least one compaction
  int events = 0;
  for (const auto& e : Transcript::replay(dir.path() / "t.jsonl")) events += e.type == "compaction" ? 1 : 0;
  EXPECT_EQ(events, compacted);  // every change of prefix is a logged compaction
}

}  // namespace
}  // namespace garden::agent
