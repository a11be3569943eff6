// garden agent run: the agent loop (agent/loop.h) against an OpenAI-compatible endpoint, over a
// workspace folder, with the permission engine, staged compaction and an append-only transcript
// (docs/agent.md).
#include <fmt/core.h>
#include <unistd.h>

#include <iostream>

#include "garden/agent/chat_client.h"
#include "garden/agent/loop.h"
#include "garden/cli/common.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/wiki/tools.h"

namespace garden::cli {

namespace {

namespace fs = std::filesystem;

struct AgentCommand {
  agent::ChatClientOptions client;
  std::string workspace = ".", task, system = "You are a careful research agent. Use the tools to find facts in the workspace and its "
                                               "indexes, save what matters with write_note, and answer briefly when you are done.";
  std::string mode = "default", transcript, session, wiki;
  std::vector<std::string> rules, indexes;
  int max_turns = 20;
  int64_t context_budget = 4000, turn_budget = 0;
  bool text_protocol = false, resume = false;
};

// Asks on the terminal when there is one; otherwise every ask is denied.
agent::PermissionEngine::Answer ask_on_terminal(const std::string& tool, const Json& arguments, const std::string& reason) {
  if (::isatty(STDIN_FILENO) == 0) return agent::PermissionEngine::Answer::deny;
  fmt::print(stderr, "agent wants {} {} ({}). Allow? [y]es / [n]o / [a]lways this session: ", tool, arguments.dump(), reason);
  std::string line;
  if (!std::getline(std::cin, line) || line.empty()) return agent::PermissionEngine::Answer::deny;
  if (line[0] == 'a' || line[0] == 'A') return agent::PermissionEngine::Answer::allow_session;
  return line[0] == 'y' || line[0] == 'Y' ? agent::PermissionEngine::Answer::allow_once : agent::PermissionEngine::Answer::deny;
}

void run_agent(AgentCommand& c) {
  const fs::path workspace = fs::path(c.workspace);
  if (!fs::is_directory(workspace)) throw Error(fmt::format("--workspace {}: no such folder", c.workspace));
  std::vector<agent::Rule> rules;
  for (const auto& r : c.rules) rules.push_back(agent::Rule::parse(r));
  agent::PermissionEngine permissions(agent::parse_mode(c.mode), {workspace}, rules);
  std::map<std::string, fs::path> indexes;
  for (const auto& spec : c.indexes) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) usage_error(fmt::format("--index {}: expected NAME=FOLDER", spec));
    indexes[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  c.client.native_tools = !c.text_protocol;
  agent::ChatClient model(c.client);
  agent::RefStore refs;
  agent::ToolBox tools;
  agent::add_workspace_tools(tools, workspace, refs);
  if (!indexes.empty()) agent::add_search_tool(tools, indexes);
  if (!c.wiki.empty()) wiki::add_wiki_tools(tools, workspace, c.wiki, today_utc());
  const fs::path transcript_path = c.transcript.empty() ? workspace / ".agent" / "transcript.jsonl" : fs::path(c.transcript);
  if (fs::exists(transcript_path) && !c.resume)
    throw Error(fmt::format("{}: a transcript exists; continue it with --resume or name another with --transcript", transcript_path.string()));
  std::vector<agent::Message> history;
  if (c.resume) {
    if (!fs::exists(transcript_path)) throw Error(fmt::format("{}: no transcript to resume", transcript_path.string()));
    history = agent::replay_history(transcript_path);
  }
  agent::Transcript transcript(transcript_path, c.session.empty() ? transcript_path.stem().string() : c.session);
  std::vector<agent::Message> fresh;
  if (history.empty()) {
    fresh.push_back({"system", c.system, {}, ""});
    // Project instructions and the notes index are user context, pinned against compaction.
    if (fs::is_regular_file(workspace / "AGENT.md")) {
      agent::Message instructions{"user", "Project instructions (AGENT.md):\n" + read_file(workspace / "AGENT.md"), {}, ""};
      instructions.pinned = true;
      fresh.push_back(instructions);
    }
    if (fs::is_directory(workspace / "notes")) {
      std::string list;
      for (const auto& e : fs::directory_iterator(workspace / "notes"))
        if (e.is_regular_file()) list += "- " + e.path().filename().string() + "\n";
      if (!list.empty()) {
        agent::Message notes{"user", "Notes so far (read them with read_file notes/NAME):\n" + list, {}, ""};
        notes.pinned = true;
        fresh.push_back(notes);
      }
    }
  }
  if (c.task.empty() && history.empty()) usage_error("give the task with --task");
  if (!c.task.empty()) fresh.push_back({"user", c.task, {}, ""});
  agent::LoopOptions options;
  options.max_turns = c.max_turns;
  options.token_budget = c.turn_budget;
  agent::AgentLoop loop(model, tools, permissions, transcript, options);
  loop.approver = ask_on_terminal;
  loop.compaction = agent::CompactionOptions{c.context_budget};
  loop.refs = &refs;
  // Only the new messages are logged as such: the replayed ones are in the transcript already.
  const auto result = loop.run(history, fresh);
  fmt::print("{}\n", result.answer);
  fmt::print(stderr, "agent: stopped ({}) after {} turns; transcript {}\n", agent::to_string(result.reason), result.turns, transcript_path.string());
  if (result.reason != agent::StopReason::final) throw Error(fmt::format("the agent stopped without an answer: {}", agent::to_string(result.reason)));
}

}  // namespace

void register_agent(CLI::App& app) {
  auto* agent_cmd = app.add_subcommand("agent", "the agent runtime: a tool-using loop against an OpenAI-compatible endpoint");
  agent_cmd->require_subcommand(1);
  auto c = std::make_shared<AgentCommand>();
  auto* run = agent_cmd->add_subcommand("run", "run a task in a workspace (docs/agent.md)");
  run->add_option("--endpoint", c->client.base_url, "the server's base URL, e.g. http://127.0.0.1:8000/v1")->required();
  run->add_option("--model", c->client.model, "the model name requests carry")->required();
  run->add_option("--api-key", c->client.api_key, "sent as Authorization: Bearer KEY");
  run->add_option("--task", c->task, "what to do (a new user message; with --resume, optional)");
  run->add_option("--workspace", c->workspace, "the only folder the tools may read and write (notes in notes/)")->capture_default_str();
  run->add_option("--system", c->system, "the system prompt");
  run->add_option("--mode", c->mode, "plan | default | accept_edits | dont_ask | bypass")->capture_default_str();
  run->add_option("--rule", c->rules, "a permission rule, e.g. 'deny write_note(name:secret*)' (repeatable)");
  run->add_option("--index", c->indexes, "NAME=FOLDER: a garden index the search tool may use (repeatable)");
  run->add_option("--wiki", c->wiki, "a garden wiki inside the workspace: adds the wiki_query, wiki_file_answer, wiki_ingest and wiki_lint tools");
  run->add_option("--max-turns", c->max_turns)->capture_default_str();
  run->add_option("--context-budget", c->context_budget, "tokens of history before compaction runs")->capture_default_str();
  run->add_option("--turn-budget", c->turn_budget, "stop when a turn's prompt exceeds this many tokens (0 = no limit)")->capture_default_str();
  run->add_option("--max-tokens", c->client.max_tokens, "tokens per model reply")->capture_default_str();
  run->add_option("--temperature", c->client.temperature)->capture_default_str();
  run->add_option("--retries", c->client.retries, "further tries after no response, 429 or 5xx")->capture_default_str();
  run->add_flag("--text-protocol", c->text_protocol, "describe the tools in the system message instead of sending them natively");
  run->add_option("--transcript", c->transcript, "the JSONL transcript (default: WORKSPACE/.agent/transcript.jsonl)");
  run->add_option("--session", c->session, "the session name events carry");
  run->add_flag("--resume", c->resume, "continue the transcript's session (permissions granted before are asked again)");
  run->callback([c] { run_agent(*c); });
}

}  // namespace garden::cli
