// The agent loop (agent-design.md, "Loop"): call the model, run the tools it asks for through
// the permission engine, append everything to the transcript, repeat. It stops with a reason:
//   final          the model answered without calling a tool
//   max_turns      the turn limit was reached
//   budget         the prompt tokens of a turn exceeded the token budget
//   abort          the caller raised the abort flag
//   loop_detected  the same call with the same arguments for the third time
// Recoverable errors (unreadable calls, unknown tools, arguments that miss the schema, a denied
// call, a tool that throws) become error results the model reads on its next turn.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "garden/agent/compaction.h"
#include "garden/agent/messages.h"
#include "garden/agent/permissions.h"
#include "garden/agent/tools.h"
#include "garden/agent/transcript.h"

namespace garden::agent {

struct ModelReply {
  Message message;
  std::string finish_reason;
  int64_t prompt_tokens = 0, completion_tokens = 0, cached_prompt_tokens = 0;
};

class ChatModel {
 public:
  virtual ~ChatModel() = default;
  virtual ModelReply complete(const std::vector<Message>& messages, const Json& tools) = 0;
};

// A model for tests and reproductions: replays assistant messages (in the OpenAI wire form, so
// native calls and text-protocol blocks both appear) in order, then answers "done".
class ScriptedModel final : public ChatModel {
 public:
  explicit ScriptedModel(std::vector<Json> script) : script_(std::move(script)) {}
  ModelReply complete(const std::vector<Message>& messages, const Json& tools) override;
  size_t calls() const { return next_; }
  const std::vector<std::vector<Message>>& seen() const { return seen_; }  // the messages of each call

 private:
  std::vector<Json> script_;
  size_t next_ = 0;
  std::vector<std::vector<Message>> seen_;
};

// An assistant message (OpenAI wire form) that calls one tool natively: a step of a script.
Json scripted_call(const std::string& name, const Json& arguments, const std::string& id);

enum class StopReason { final, max_turns, budget, abort, loop_detected };
std::string to_string(StopReason reason);

struct LoopOptions {
  int max_turns = 20;
  int64_t token_budget = 0;  // prompt tokens a turn may use; 0 = no limit
  int repeat_limit = 3;      // the same call this many times stops the loop
};

struct LoopResult {
  StopReason reason = StopReason::final;
  std::string answer;  // the final message's text
  int turns = 0;
};

class AgentLoop {
 public:
  AgentLoop(ChatModel& model, const ToolBox& tools, PermissionEngine& permissions, Transcript& transcript, LoopOptions options = {})
      : model_(model), tools_(tools), permissions_(permissions), transcript_(transcript), options_(options) {}

  PermissionEngine::Approver approver;          // asks; none = an ask is denied
  const std::atomic<bool>* abort = nullptr;     // checked before every model call
  // Compaction before every model call when the history is over its budget (compaction.h);
  // offloaded results go to `refs`, which read_ref reads.
  std::optional<CompactionOptions> compaction;
  Summariser summarise = [](const std::vector<Message>& span) { return extractive_summary(span); };
  RefStore* refs = nullptr;

  // Runs from `history` (system prompt, task, ...), which grows with every message; all of it
  // is logged to the transcript first.
  LoopResult run(std::vector<Message>& history);
  // Continues `history` (e.g. replayed from the transcript, so not logged again) after
  // appending and logging `fresh` messages.
  LoopResult run(std::vector<Message>& history, const std::vector<Message>& fresh);

 private:
  ChatModel& model_;
  const ToolBox& tools_;
  PermissionEngine& permissions_;
  Transcript& transcript_;
  LoopOptions options_;
};

}  // namespace garden::agent
