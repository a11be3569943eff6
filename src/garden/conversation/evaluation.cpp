#include "garden/conversation/evaluation.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "garden/core/files.h"
#include "garden/core/progress.h"

namespace garden::conversation {

Json MultiturnResult::to_json() const {
  Json modes_json = Json::object();
  for (const auto& m : modes)
    modes_json[to_string(m.mode)] = {{"P", m.stats.performance},      {"A", m.stats.aptitude},
                                      {"U", m.stats.unreliability},    {"conversations", m.conversations},
                                      {"mean_assistant_turns", m.mean_assistant_turns}, {"drop_from_full", m.drop_from_full}};
  return {{"assistant", assistant}, {"instructions", instructions}, {"modes", modes_json}};
}

MultiturnResult evaluate_multiturn(const MultiturnOptions& options, Assistant& assistant) {
  if (options.modes.empty()) usage_error("--modes: name at least one of full, concat, sharded, recap, snowball");
  if (options.limit < 0) usage_error("--limit must be >= 0 (0 = every instruction)");
  if (options.out.empty()) usage_error("--out: a folder for the logs and results is needed");
  // Checked before --out is claimed: the assistant would refuse it only at its first turn.
  const double temperature = options.simulation.temperature;
  if (!(temperature >= 0) || !std::isfinite(temperature))
    usage_error(fmt::format("--temperature must be a finite number >= 0, got {}", temperature));
  if (options.simulation.runs < 1) usage_error("--runs must be >= 1");
  auto instructions = read_sharded_instructions(options.tasks);
  if (options.limit > 0 && static_cast<size_t>(options.limit) < instructions.size()) instructions.resize(static_cast<size_t>(options.limit));
  const std::string task_name = instructions.front().task;
  for (const auto& instruction : instructions)
    if (instruction.task != task_name)
      throw Error(fmt::format("{}: instructions of tasks '{}' and '{}' are mixed; give one task per file", options.tasks.string(),
                              task_name, instruction.task));
  const auto task = make_task(task_name);
  for (const auto& instruction : instructions) task->validate(instruction, options.tasks.string() + ": " + instruction.task_id);
  claim_output_dir(options.out, "garden eval multiturn");
  std::filesystem::create_directories(options.out / "logs");

  // RECAP extends SHARDED conversations: SHARDED runs first whenever RECAP is asked for.
  std::vector<Mode> order;
  for (auto mode : options.modes) {
    if (mode == Mode::recap && std::find(order.begin(), order.end(), Mode::sharded) == order.end()) order.push_back(Mode::sharded);
    if (std::find(order.begin(), order.end(), mode) == order.end()) order.push_back(mode);
  }
  const RuleBasedUser user(options.shuffle, options.paraphrase);
  MultiturnResult result;
  result.assistant = assistant.name();
  result.instructions = static_cast<int64_t>(instructions.size());
  std::vector<ConversationLog> sharded;
  double full_performance = -1;
  for (auto mode : order) {
    // A bar per mode over its conversations, unless the caller watches progress itself.
    auto simulation = options.simulation;
    std::unique_ptr<Progress> bar;
    if (!simulation.progress && !options.quiet) {
      bar = std::make_unique<Progress>(to_string(mode), static_cast<int64_t>(instructions.size()) * simulation.runs, "conv");
      simulation.progress = [&](int64_t done, int64_t) { bar->update(done); };
    }
    auto logs = mode == Mode::recap ? recap(*task, instructions, sharded, assistant, simulation)
                                    : simulate(*task, instructions, mode, assistant, user, simulation);
    if (bar) bar->finish();
    if (mode == Mode::sharded) sharded = logs;
    write_logs(options.out / "logs" / (to_string(mode) + ".jsonl"), logs);
    ModeResult r;
    r.mode = mode;
    r.stats = eval::aggregate_stats(scores_by_instruction(logs));
    r.conversations = static_cast<int64_t>(logs.size());
    for (const auto& log : logs) r.mean_assistant_turns += static_cast<double>(log.assistant_turns());
    r.mean_assistant_turns /= static_cast<double>(logs.size());
    if (mode == Mode::full) full_performance = r.stats.performance;
    result.modes.push_back(r);
  }
  for (auto& r : result.modes) r.drop_from_full = full_performance < 0 ? 0.0 : eval::relative_drop(full_performance, r.stats.performance);
  write_json_atomic(options.out / "results.json", result.to_json());
  return result;
}

}  // namespace garden::conversation
