#include "garden/agent/loop.h"

#include <fmt/core.h>

#include <map>

namespace garden::agent {

std::string to_string(StopReason reason) {
  switch (reason) {
    case StopReason::final: return "final";
    case StopReason::max_turns: return "max_turns";
    case StopReason::budget: return "budget";
    case StopReason::abort: return "abort";
    case StopReason::loop_detected: return "loop_detected";
  }
  return "?";
}

Json scripted_call(const std::string& name, const Json& arguments, const std::string& id) {
  return {{"role", "assistant"},
          {"content", ""},
          {"tool_calls", Json::array({{{"id", id}, {"type", "function"}, {"function", {{"name", name}, {"arguments", arguments.dump()}}}}})}};
}

ModelReply ScriptedModel::complete(const std::vector<Message>& messages, const Json&) {
  seen_.push_back(messages);
  ModelReply reply;
  int64_t chars = 0;
  for (const auto& m : messages) chars += static_cast<int64_t>(m.content.size());
  reply.prompt_tokens = chars / 4;  // the scripted model's stand-in for a tokenizer
  if (next_ < script_.size()) {
    reply.message = parse_assistant_message(script_[next_++]);
  } else {
    ++next_;
    reply.message.role = "assistant";
    reply.message.content = "done";
  }
  reply.finish_reason = reply.message.tool_calls.empty() ? "stop" : "tool_calls";
  return reply;
}

LoopResult AgentLoop::run(std::vector<Message>& history) {
  std::vector<Message> fresh;
  fresh.swap(history);
  return run(history, fresh);
}

LoopResult AgentLoop::run(std::vector<Message>& history, const std::vector<Message>& fresh) {
  LoopResult result;
  std::map<std::string, int> repeats;  // name + arguments -> times called
  const auto stop = [&](StopReason reason) {
    result.reason = reason;
    transcript_.append("stop", Json{{"reason", to_string(reason)}, {"turns", result.turns}});
    return result;
  };
  for (const auto& m : fresh) {
    Json payload = m.to_json();
    if (m.pinned) payload["pinned"] = true;
    transcript_.append(m.role == "system" ? "system" : "user", payload);
    history.push_back(m);
  }
  while (true) {
    if (abort && abort->load()) return stop(StopReason::abort);
    if (result.turns >= options_.max_turns) return stop(StopReason::max_turns);
    ++result.turns;
    if (compaction && refs) {
      const auto report = compact(history, *compaction, *refs, summarise);
      if (report.before > compaction->budget) transcript_.append("compaction", report.to_json());
    }
    ModelReply reply;
    try {
      reply = model_.complete(history, tools_.schemas());
    } catch (const std::exception& e) {
      // The session can be resumed; the transcript says why it ended here.
      transcript_.append("error", Json{{"message", e.what()}, {"turn", result.turns}});
      throw;
    }
    transcript_.append("assistant", reply.message.to_json(), reply.completion_tokens);
    history.push_back(reply.message);
    if (options_.token_budget > 0 && reply.prompt_tokens > options_.token_budget) {
      // Calls of this turn are answered without running, so no call is left without its result.
      for (const auto& call : reply.message.tool_calls) {
        transcript_.append("tool_result", Json{{"id", call.id}, {"content", "not run: the token budget is spent"}, {"error", true}});
        history.push_back(Message{"tool", "error: not run: the token budget is spent", {}, call.id});
      }
      return stop(StopReason::budget);
    }
    if (reply.message.tool_calls.empty()) {
      result.answer = reply.message.content;
      return stop(StopReason::final);
    }
    bool looping = false;
    for (const auto& call : reply.message.tool_calls) {
      transcript_.append("tool_call", Json{{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}, {"error", call.error}});
      ToolResult outcome;
      if (!call.error.empty()) {
        outcome = {"your tool call could not be read: " + call.error, true};
      } else if (const Tool* tool = tools_.find(call.name); !tool) {
        outcome = tools_.run(call.name, call.arguments);  // the unknown-tool message
      } else {
        const auto verdict = permissions_.decide(call.name, call.arguments, tool->traits, approver);
        transcript_.append("permission", Json{{"id", call.id}, {"effect", to_string(verdict.effect)}, {"reason", verdict.reason}});
        outcome = verdict.effect == Effect::allow ? tools_.run(call.name, call.arguments)
                                                  : ToolResult{fmt::format("permission denied: {}", verdict.reason), true};
      }
      if (++repeats[call.name + "\t" + call.arguments.dump()] >= options_.repeat_limit) looping = true;
      transcript_.append("tool_result", Json{{"id", call.id}, {"content", outcome.content}, {"error", outcome.error}});
      Message answer;
      answer.role = "tool";
      answer.tool_call_id = call.id;
      answer.content = outcome.error ? "error: " + outcome.content : outcome.content;
      history.push_back(answer);
    }
    if (looping) return stop(StopReason::loop_detected);
  }
}

}  // namespace garden::agent
