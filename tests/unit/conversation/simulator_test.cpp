// The conversation simulator on a 3-shard instruction with a scripted assistant: each mode
// builds the conversation lost-in-conversation.md describes, SHARDED stops at the first
// correct attempt and scores the last evaluated one, RECAP appends exactly one exchange, logs
// round-trip, and the turn classifier's rules.
#include "garden/conversation/simulator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "garden/core/files.h"

namespace garden::conversation {
namespace {

// Answers are "ANSWER n", scored n; "ANSWER 100" is correct. Paraphrases: "P1: shard", "P2: shard".
class CountingTask final : public Task {
 public:
  std::string name() const override { return "counting"; }
  std::string full_prompt(const ShardedInstruction&) const override { return "FULL"; }
  std::vector<std::string> paraphrases(const ShardedInstruction& instruction, const Shard& shard) const override {
    if (shard.id == instruction.shards.front().id) return {shard.text};
    return {"P1: " + shard.text, "P2: " + shard.text};
  }
  std::vector<std::string> answer_candidates(const std::string& reply) const override {
    std::vector<std::string> found;
    for (size_t at = reply.find("ANSWER "); at != std::string::npos; at = reply.find("ANSWER ", at + 1))
      found.push_back(reply.substr(at, reply.find_first_of(" ;", at + 7) - at));
    return found;
  }
  double evaluate(const std::string& answer, const ShardedInstruction&) const override { return std::stod(answer.substr(7)); }
};

// Replies with script[k] at its k-th assistant turn of a conversation (the last entry after
// that), recording every seed it was given.
class ScriptedAssistant final : public Assistant {
 public:
  explicit ScriptedAssistant(std::vector<std::string> script) : script_(std::move(script)) {}
  std::string name() const override { return "scripted"; }
  std::vector<std::string> reply(const std::vector<std::vector<Message>>& conversations, const std::vector<uint64_t>& seeds,
                                 double) override {
    std::vector<std::string> replies;
    for (size_t i = 0; i < conversations.size(); ++i) {
      size_t turn = 0;
      for (const auto& m : conversations[i]) turn += m.role == "assistant";
      replies.push_back(script_[std::min(turn, script_.size() - 1)]);
      seeds_seen.push_back(seeds[i]);
    }
    return replies;
  }
  std::vector<uint64_t> seeds_seen;

 private:
  std::vector<std::string> script_;
};

ShardedInstruction three_shards(const std::string& id = "t1") {
  ShardedInstruction instruction;
  instruction.task_id = id;
  instruction.task = "counting";
  instruction.shards = {{1, "intent"}, {2, "detail two"}, {3, "detail three"}};
  instruction.fields = instruction.to_json();
  return instruction;
}

std::vector<ConversationLog> run(Mode mode, std::vector<std::string> script, int64_t runs = 1, uint64_t seed = 0) {
  CountingTask task;
  ScriptedAssistant assistant(std::move(script));
  SimulationOptions options;
  options.runs = runs;
  options.seed = seed;
  return simulate(task, {three_shards()}, mode, assistant, RuleBasedUser(), options);
}

TEST(Simulator, FullAndConcatAreOneTurnOfTheWholeInstruction) {
  const auto full = run(Mode::full, {"ANSWER 40"});
  ASSERT_EQ(full.size(), 1u);
  ASSERT_EQ(full[0].turns.size(), 2u);
  EXPECT_EQ(full[0].turns[0].content, "FULL");
  EXPECT_EQ(full[0].turns[0].shards, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_DOUBLE_EQ(full[0].score, 40);
  EXPECT_EQ(full[0].first_attempt, 1);
  const auto concat = run(Mode::concat, {"no list here"});
  EXPECT_EQ(concat[0].turns[0].content, "- intent\n- detail two\n- detail three");
  EXPECT_EQ(concat[0].turns[1].label, "discussion");
  EXPECT_DOUBLE_EQ(concat[0].score, 0);
  EXPECT_EQ(concat[0].first_attempt, 0);
}

TEST(Simulator, ShardedStartsVerbatimAndRevealsEveryShardOnce) {
  for (uint64_t seed = 0; seed < 6; ++seed) {
    const auto logs = run(Mode::sharded, {"let me think"}, 1, seed);
    const auto& turns = logs[0].turns;
    ASSERT_EQ(turns.size(), 6u);  // user, assistant x 3: the conversation ends after the reply to the last shard
    EXPECT_EQ(turns[0].content, "intent");
    std::multiset<int64_t> revealed;
    for (size_t i = 0; i < turns.size(); ++i) {
      EXPECT_EQ(turns[i].role, i % 2 == 0 ? "user" : "assistant");
      if (turns[i].role != "user") continue;
      ASSERT_EQ(turns[i].shards.size(), 1u);
      revealed.insert(turns[i].shards[0]);
      if (i > 0) {
        const std::string shard = turns[i].shards[0] == 2 ? "detail two" : "detail three";
        EXPECT_TRUE(turns[i].content == "P1: " + shard || turns[i].content == "P2: " + shard) << turns[i].content;
      }
    }
    EXPECT_EQ(revealed, (std::multiset<int64_t>{1, 2, 3}));
    EXPECT_DOUBLE_EQ(logs[0].score, 0);
    EXPECT_FALSE(logs[0].correct);
  }
}

TEST(Simulator, ShardedStopsAtTheFirstCorrectAttempt) {
  const auto logs = run(Mode::sharded, {"ANSWER 30", "ANSWER 100", "ANSWER 50"});
  ASSERT_EQ(logs[0].turns.size(), 4u);  // a shard is left, but the answer was correct
  EXPECT_TRUE(logs[0].correct);
  EXPECT_DOUBLE_EQ(logs[0].score, 100);
  EXPECT_EQ(logs[0].first_attempt, 1);
  EXPECT_DOUBLE_EQ(*logs[0].turns[1].score, 30);
}

TEST(Simulator, TheScoreIsTheLastEvaluatedAttempt) {
  auto logs = run(Mode::sharded, {"ANSWER 70", "ANSWER 40", "hmm, which one?"});
  ASSERT_EQ(logs[0].turns.size(), 6u);
  EXPECT_EQ(logs[0].turns[5].label, "clarification");
  EXPECT_FALSE(logs[0].turns[5].score.has_value());
  EXPECT_DOUBLE_EQ(logs[0].score, 40);
  logs = run(Mode::sharded, {"thinking", "ANSWER 20", "ANSWER 60"});
  EXPECT_DOUBLE_EQ(logs[0].score, 60);
  EXPECT_EQ(logs[0].first_attempt, 2);
}

TEST(Simulator, SnowballRestatesWhatWasSaidBeforeTheNewShard) {
  for (uint64_t seed = 0; seed < 4; ++seed) {
    const auto snowball = run(Mode::snowball, {"no"}, 1, seed);
    const auto sharded = run(Mode::sharded, {"no"}, 1, seed);
    const auto& turns = snowball[0].turns;
    ASSERT_EQ(turns.size(), 6u);
    EXPECT_EQ(turns[0].content, "intent");
    // Turn k restates the user's turns 1..k-1 as said, then adds turn k's shard as SHARDED says it.
    EXPECT_EQ(turns[2].content, snowball_message({"intent"}, sharded[0].turns[2].content));
    EXPECT_EQ(turns[4].content, snowball_message({"intent", sharded[0].turns[2].content}, sharded[0].turns[4].content));
    EXPECT_EQ(turns[4].shards.size(), 3u);
  }
  EXPECT_EQ(snowball_message({"a", "b"}, "c"), "Just to reiterate,\n- a\n- b\n\nAlso,\n\nc\n");
}

TEST(Simulator, RecapAppendsExactlyOneUserAndOneAssistantTurn) {
  CountingTask task;
  ScriptedAssistant first({"ANSWER 10", "ANSWER 20", "ANSWER 30"});
  SimulationOptions options;
  options.runs = 3;
  const auto instruction = three_shards();
  const auto sharded = simulate(task, {instruction}, Mode::sharded, first, RuleBasedUser(), options);
  ScriptedAssistant second({"ANSWER 90"});
  const auto recapped = recap(task, {instruction}, sharded, second, options);
  ASSERT_EQ(recapped.size(), sharded.size());
  for (size_t i = 0; i < sharded.size(); ++i) {
    const auto& r = recapped[i];
    ASSERT_EQ(r.turns.size(), sharded[i].turns.size() + 2);
    for (size_t t = 0; t < sharded[i].turns.size(); ++t) EXPECT_EQ(r.turns[t].content, sharded[i].turns[t].content);
    EXPECT_EQ(r.turns[r.turns.size() - 2].content, recap_message(task.concat_prompt(instruction)));
    EXPECT_EQ(r.turns.back().role, "assistant");
    EXPECT_DOUBLE_EQ(r.score, 90);  // only the recap reply counts
    EXPECT_EQ(r.mode, "recap");
    EXPECT_EQ(r.source_conv_id, sharded[i].conv_id);
    EXPECT_EQ(r.first_attempt, 1);
  }
  EXPECT_THROW(recap(task, {instruction}, recapped, second, options), Error);  // only SHARDED logs extend
}

TEST(Simulator, RunsAreSeededDistinctAndRepeatable) {
  const auto a = run(Mode::sharded, {"no"}, 10);
  const auto b = run(Mode::sharded, {"no"}, 10);
  std::set<std::string> orders;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].to_json(), b[i].to_json());
    EXPECT_EQ(a[i].run, static_cast<int64_t>(i));
    orders.insert(a[i].turns[2].content + "|" + a[i].turns[4].content);
  }
  EXPECT_GT(orders.size(), 2u);  // order and paraphrase differ between runs
  ScriptedAssistant assistant({"no"});
  CountingTask task;
  SimulationOptions options;
  options.runs = 4;
  simulate(task, {three_shards()}, Mode::sharded, assistant, RuleBasedUser(), options);
  const std::set<uint64_t> distinct(assistant.seeds_seen.begin(), assistant.seeds_seen.end());
  EXPECT_EQ(distinct.size(), assistant.seeds_seen.size());  // one seed per conversation and turn
  for (auto seed : assistant.seeds_seen) EXPECT_LT(seed, uint64_t{1} << 63);  // an endpoint's signed seed
}

TEST(Simulator, TheRuleBasedUserInOrderWithoutParaphrases) {
  const auto logs = [] {
    CountingTask task;
    ScriptedAssistant assistant({"no"});
    return simulate(task, {three_shards()}, Mode::sharded, assistant, RuleBasedUser(false, false), SimulationOptions{});
  }();
  for (const auto& log : logs) {
    EXPECT_EQ(log.turns[2].content, "detail two");
    EXPECT_EQ(log.turns[4].content, "detail three");
  }
}

TEST(Simulator, LogsRoundTrip) {
  const auto logs = run(Mode::sharded, {"ANSWER 10", "which one? and why?", ""}, 2);
  const auto dir = std::filesystem::temp_directory_path() / ("garden-logs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_logs(dir / "sharded.jsonl", logs);
  const auto back = read_logs(dir / "sharded.jsonl");
  ASSERT_EQ(back.size(), logs.size());
  for (size_t i = 0; i < logs.size(); ++i) EXPECT_EQ(back[i].to_json(), logs[i].to_json());
  EXPECT_EQ(back[0].turns[3].label, "interrogation");
  EXPECT_EQ(back[0].turns[5].label, "missing");
  write_file_atomic(dir / "bad.jsonl", "{\"conv_id\": \"x\", \"task_id\": \"t\", \"mode\": \"sideways\", \"score\": 0, \"trace\": []}\n");
  EXPECT_THROW(read_logs(dir / "bad.jsonl"), Error);
  std::filesystem::remove_all(dir);
}

TEST(TurnClassifier, SevenLabelsByRule) {
  CountingTask task;
  EXPECT_EQ(classify_turn(task, "  \n"), "missing");
  EXPECT_EQ(classify_turn(task, "here: ANSWER 5"), "answer_attempt");
  EXPECT_EQ(classify_turn(task, "ANSWER 5; or ANSWER 6"), "hedge");
  EXPECT_EQ(classify_turn(task, "Sorry, I cannot do that"), "refuse");
  EXPECT_EQ(classify_turn(task, "How long? Which order?"), "interrogation");
  EXPECT_EQ(classify_turn(task, "How long should it be?"), "clarification");
  EXPECT_EQ(classify_turn(task, "Lists are nice."), "discussion");
  EXPECT_EQ(parse_mode("snowball"), Mode::snowball);
  EXPECT_THROW(parse_mode("sideways"), Error);
}

}  // namespace
}  // namespace garden::conversation
