// Staged compaction of the agent's context (agent-design.md, "Context and memory"): when the
// history is over its token budget B, shapers run cheapest first and stop as soon as it fits:
//   1. offload: a tool result over R tokens becomes its head and tail around a ref:N that
//      read_ref reads back;
//   2. snip: tool results older than the last N turns become one-line stubs (with their ref);
//   3. summarise: the oldest span of whole turns (an assistant message with all its results,
//      never one without the other) becomes one summary message, written by the summariser (a
//      model call, or an extractive one in tests).
// Never touched: the system prompt, the task (the first user message), pinned messages and the
// last K turns. Compaction only runs when the history is over budget, so between compactions
// the prompt grows by appending and its prefix stays byte-identical (the server's prefix cache
// hits).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "garden/agent/messages.h"
#include "garden/agent/tools.h"
#include "garden/core/json.h"

namespace garden::agent {

using TokenCounter = std::function<int64_t(const std::string& text)>;
int64_t approximate_tokens(const std::string& text);  // bytes / 4, at least 1 for non-empty text
int64_t history_tokens(const std::vector<Message>& history, const TokenCounter& count);

using Summariser = std::function<std::string(const std::vector<Message>& span)>;
// An extractive summariser: the first line of every assistant text, call and tool result in the
// span, newest kept when over `max_bytes` (the oldest lines are dropped first).
std::string extractive_summary(const std::vector<Message>& span, size_t max_bytes = 1200);

struct CompactionOptions {
  int64_t budget = 4000;        // B, tokens
  int64_t result_tokens = 400;  // R: larger results are offloaded
  int snip_after_turns = 4;     // N: results older than this many turns are snipped
  int keep_turns = 2;           // K: the last turns are never touched
  int64_t excerpt_tokens = 60;  // head and tail kept of an offloaded result, each
};

struct CompactionReport {
  int64_t before = 0, after = 0;
  int offloaded = 0, snipped = 0, summarised_messages = 0;
  bool summariser_called = false;
  Json to_json() const;
};

// Compacts `history` in place when it is over budget; a no-op otherwise.
CompactionReport compact(std::vector<Message>& history, const CompactionOptions& options, RefStore& refs, const Summariser& summarise,
                         const TokenCounter& count = approximate_tokens);

}  // namespace garden::agent
