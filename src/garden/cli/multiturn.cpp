// garden eval multiturn: the lost-in-conversation simulator (conversation/evaluation.h) with a
// garden model or any OpenAI-compatible chat endpoint as the assistant; garden data listspec:
// the reproduction's sharded instructions.
#include <fmt/core.h>

#include <cstdlib>
#include <memory>
#include <sstream>

#include "garden/cli/common.h"
#include "garden/conversation/assistants.h"
#include "garden/conversation/evaluation.h"
#include "garden/conversation/task.h"
#include "garden/core/files.h"
#include "garden/core/runtime.h"
#include "garden/train/run_folder.h"

namespace garden::cli {

void register_eval_multiturn(CLI::App& eval) {
  struct Options {
    std::string tasks, model, endpoint, endpoint_model, api_key, modes = "full,concat,sharded", out;
    int64_t max_tokens = 32, batch = 256, concurrency = 4;
    bool in_order = false, verbatim = false;
    conversation::MultiturnOptions run;
    RuntimeOptions runtime;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = eval.add_subcommand("multiturn", "simulate sharded instructions in FULL, CONCAT, SHARDED, RECAP and SNOWBALL conversations "
                                               "with a garden model or an OpenAI-compatible endpoint; P, A, U per mode");
  cmd->add_option("--tasks", o->tasks, "sharded instructions: JSONL of {task_id, task, shards: [{shard_id, shard}], ...}")->required();
  cmd->add_option("--model", o->model, "the assistant: a garden chat model (model or run folder)");
  cmd->add_option("--endpoint", o->endpoint, "the assistant: an OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1");
  cmd->add_option("--endpoint-model", o->endpoint_model, "with --endpoint: the model name its requests carry");
  cmd->add_option("--api-key", o->api_key, "with --endpoint: sent as a bearer token (default: $OPENAI_API_KEY)");
  cmd->add_option("--modes", o->modes, "comma-separated: full, concat, sharded, recap, snowball")->capture_default_str();
  cmd->add_option("--runs", o->run.simulation.runs, "simulations per instruction (N)")->capture_default_str();
  cmd->add_option("--temperature", o->run.simulation.temperature, "the assistant's; 0 = greedy")->capture_default_str();
  cmd->add_option("--seed", o->run.simulation.seed, "the user's choices and the assistant's sampling")->capture_default_str();
  cmd->add_option("--limit", o->run.limit, "the first N instructions; 0 = all")->capture_default_str();
  cmd->add_option("--max-tokens", o->max_tokens, "tokens per assistant reply")->capture_default_str();
  cmd->add_option("--batch", o->batch, "with --model: conversations decoded together")->capture_default_str();
  cmd->add_option("--concurrency", o->concurrency, "with --endpoint: requests in flight at once")->capture_default_str();
  cmd->add_flag("--in-order", o->in_order, "the user reveals shards in their order (default: shuffled after shard 1)");
  cmd->add_flag("--verbatim", o->verbatim, "the user says shards as written (default: one of the task's paraphrases)");
  cmd->add_option("--out", o->out, "folder for logs/<mode>.jsonl and results.json")->required();
  add_runtime_options(*cmd, o->runtime);
  cmd->callback([o] {
    configure_threads(o->runtime.threads);
    if (o->model.empty() == o->endpoint.empty()) usage_error("give the assistant: --model DIR or --endpoint URL (one of them)");
    auto run = o->run;
    run.tasks = o->tasks;
    run.out = o->out;
    run.shuffle = !o->in_order;
    run.paraphrase = !o->verbatim;
    run.modes.clear();
    std::stringstream modes(o->modes);
    for (std::string mode; std::getline(modes, mode, ',');) run.modes.push_back(conversation::parse_mode(mode));
    std::unique_ptr<conversation::Assistant> assistant;
    if (!o->model.empty()) {
      assistant = std::make_unique<conversation::ModelAssistant>(train::model_folder(o->model), o->max_tokens, o->batch,
                                                                 resolve_device(o->runtime.device));
    } else {
      conversation::EndpointOptions endpoint;
      endpoint.base_url = o->endpoint;
      endpoint.model = o->endpoint_model;
      const char* key = std::getenv("OPENAI_API_KEY");
      endpoint.api_key = !o->api_key.empty() ? o->api_key : key ? key : "";
      endpoint.max_tokens = o->max_tokens;
      endpoint.concurrency = o->concurrency;
      assistant = std::make_unique<conversation::EndpointAssistant>(endpoint);
    }
    const auto result = conversation::evaluate_multiturn(run, *assistant);
    fmt::print("{} instructions x {} runs, assistant {}, temperature {}\n", result.instructions, run.simulation.runs, result.assistant,
               run.simulation.temperature);
    bool with_full = false;
    for (const auto& m : result.modes) with_full = with_full || m.mode == conversation::Mode::full;
    fmt::print("{:<10} {:>7} {:>7} {:>7} {:>8} {:>16}\n", "mode", "P", "A", "U", "turns", "drop from FULL");
    for (const auto& m : result.modes)
      fmt::print("{:<10} {:7.1f} {:7.1f} {:7.1f} {:8.2f} {:>16}\n", conversation::to_string(m.mode), m.stats.performance,
                 m.stats.aptitude, m.stats.unreliability, m.mean_assistant_turns,
                 !with_full || m.mode == conversation::Mode::full ? "-" : fmt::format("{:.1f}%", 100 * m.drop_from_full));
    fmt::print("logs: {}/logs/<mode>.jsonl; results: {}/results.json\n", o->out, o->out);
  });
}

void register_data_listspec(CLI::App& data) {
  struct Options {
    int64_t count = 300;
    uint64_t seed = 0;
    std::string out;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = data.add_subcommand("listspec", "sharded instructions of the listspec task (lost in conversation), as JSONL");
  cmd->add_option("--count", o->count, "instructions")->capture_default_str();
  cmd->add_option("--seed", o->seed)->capture_default_str();
  cmd->add_option("--out", o->out, "the JSONL file to write")->required();
  cmd->callback([o] {
    if (o->count < 1) usage_error("--count must be >= 1");
    refuse_foreign_output_file(o->out, "a sharded-instructions file", [](const std::filesystem::path& file) {
      return !conversation::read_sharded_instructions(file).empty();
    });
    conversation::write_sharded_instructions(o->out, conversation::listspec_instructions(o->count, o->seed));
    fmt::print("wrote {} listspec instructions to {}\n", o->count, o->out);
  });
}

}  // namespace garden::cli
