// garden tasks generate | eval passk | rl train (rlvr-passk.md).
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/cli/training.h"
#include "garden/core/error.h"
#include "garden/core/runtime.h"
#include "garden/eval/passk_job.h"
#include "garden/train/rl_jobs.h"

namespace garden::cli {

namespace {

std::vector<int64_t> parse_ks(const std::string& text) {
  std::vector<int64_t> ks;
  if (text.empty()) return ks;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    try {
      size_t used = 0;
      ks.push_back(std::stoll(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      usage_error(fmt::format("--k '{}': expected whole numbers separated by commas, e.g. 1,2,4,8", text));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return ks;
}

void add_sampling_options(CLI::App& app, train::SamplingOptions& options) {
  app.add_option("--temperature", options.temperature, "0 = greedy")->capture_default_str();
  app.add_option("--top-p", options.top_p, "nucleus threshold; 1 = off")->capture_default_str();
  app.add_option("--max-new-tokens", options.max_new_tokens)->capture_default_str();
  app.add_option("--batch-rows", options.batch_rows, "completions decoded together")->capture_default_str();
}

}  // namespace

void register_rl(CLI::App& app) {
  // ---- tasks generate ----
  auto* tasks = app.add_subcommand("tasks", "verifiable task files (countdown-3) for pass@k and RL");
  tasks->require_subcommand(1);
  auto gen = std::make_shared<train::TaskGeneration>();
  auto* generate = tasks->add_subcommand("generate", "write problems (and solution traces) as JSONL");
  generate->add_option("--task", gen->task, "countdown-3")->capture_default_str();
  generate->add_option("--count", gen->count, "problems")->capture_default_str();
  generate->add_option("--seed", gen->seed)->capture_default_str();
  generate->add_option("--split", gen->split, "training (none of the held-out set) | held-out (the reproduction's held-out set)")
      ->capture_default_str();
  generate->add_option("--withheld-only", gen->withheld_only, "held-out: problems solvable by a*(b+c) alone")->capture_default_str();
  generate->add_option("--traces", gen->traces,
                       "none | noisy (a hitting template with probability --hit-rate, never a*(b+c)) | oracle (a hitting template)")
      ->capture_default_str();
  generate->add_option("--hit-rate", gen->hit_rate, "noisy traces: probability of a right template")->capture_default_str();
  generate->add_option("--out", gen->out, "JSONL file")->required();
  generate->callback([gen] {
    train::generate_tasks(*gen);
    fmt::print("{} {} problems written to {}\n", gen->count, gen->task, gen->out);
  });

  // ---- eval passk ----
  auto* eval = app.get_subcommand("eval");
  struct PassK {
    RuntimeOptions runtime;
    eval::PassAtKJob job;
    std::string ks;
  };
  auto pk = std::make_shared<PassK>();
  auto* passk = eval->add_subcommand("passk", "pass@k of a model on a task file: n seeded samples a problem, verified exactly");
  passk->add_option("--model", pk->job.model, "model or run folder")->required();
  passk->add_option("--tasks", pk->job.tasks, "task file (garden tasks generate)")->required();
  passk->add_option("--n", pk->job.n, "samples per problem")->capture_default_str();
  passk->add_option("--k", pk->ks, "k values, e.g. 1,2,4 (default: powers of two up to n, and n)");
  passk->add_option("--seed", pk->job.seed, "sample j of problem i uses seed + i*n + j")->capture_default_str();
  passk->add_option("--out", pk->job.out, "per-problem correct counts (JSONL)");
  passk->add_option("--samples-out", pk->job.samples_out, "every sample with its verdict (JSONL; prompt/completion rows; bytes that are not UTF-8 become U+FFFD)");
  add_sampling_options(*passk, pk->job.sampling);
  add_runtime_options(*passk, pk->runtime);
  passk->callback([pk] {
    configure_threads(pk->runtime.threads);
    pk->job.device = resolve_device(pk->runtime.device);
    pk->job.ks = parse_ks(pk->ks);
    const auto report = eval::run_pass_at_k(pk->job);
    for (size_t i = 0; i < report.ks.size(); ++i) fmt::print("pass@{}\t{:.4f}\n", report.ks[i], report.pass_at_k[i]);
    fmt::print("coverage\t{:.4f}\n", report.coverage);
    fmt::print(stderr, "{} problems x {} samples in {:.1f} s\n", report.problems, report.samples, report.seconds);
  });

  // ---- rl train ----
  auto* rl = app.add_subcommand("rl", "reinforcement learning with verifiable rewards");
  rl->require_subcommand(1);
  struct RlTrain {
    RuntimeOptions runtime;
    train::RlJob job;
    std::string algo = "grpo", aggregation = "token";
    std::map<std::string, std::string> train_flags;
  };
  auto cmd = std::make_shared<RlTrain>();
  auto& o = cmd->job.options;
  auto* train_cmd = rl->add_subcommand("train", "GRPO / RLOO / Reinforce++ on a task file, from a trained model");
  train_cmd->add_option("--model", cmd->job.model, "the start model (or a run folder)")->required();
  train_cmd->add_option("--tasks", cmd->job.tasks, "training problems (garden tasks generate)")->required();
  train_cmd->add_option("--held-out", cmd->job.held_out, "problems whose pass@1 is logged at each evaluation");
  train_cmd->add_option("--algo", cmd->algo, "grpo | rloo | reinforce++")->capture_default_str();
  train_cmd->add_option("--group", o.group, "responses per prompt (G)")->capture_default_str();
  train_cmd->add_option("--prompts", o.prompts, "prompts per step")->capture_default_str();
  train_cmd->add_option("--rollout-temperature", o.temperature)->capture_default_str();
  train_cmd->add_option("--rollout-top-p", o.top_p)->capture_default_str();
  train_cmd->add_option("--max-new-tokens", o.max_new_tokens)->capture_default_str();
  train_cmd->add_option("--clip-low", o.clip_low, "ratio clipped below at 1 - this")->capture_default_str();
  train_cmd->add_option("--clip-high", o.clip_high, "ratio clipped above at 1 + this (DAPO: 0.28)")->capture_default_str();
  train_cmd->add_option("--loss-aggregation", cmd->aggregation, "token (mean over tokens) | sequence (mean of response means)")
      ->capture_default_str();
  train_cmd->add_option("--kl", o.kl, "coefficient of the KL to the start model (0 = none)")->capture_default_str();
  train_cmd->add_flag("--dynamic-sampling", o.dynamic_sampling, "DAPO: resample prompts whose rewards are all equal");
  train_cmd->add_option("--eval-samples", o.eval_samples, "held-out samples per problem at each evaluation")->capture_default_str();
  train_cmd->add_option("--eval-problems", o.eval_problems, "held-out problems read at each evaluation")->capture_default_str();
  train_cmd->add_option("--keep-at", o.save_at, "also keep the model of these steps as <out>/model-step-N");
  add_json_flags(*train_cmd, train::rl_train_defaults(), cmd->train_flags, "Training");
  add_run_folder_spec_options(*train_cmd, cmd->job.run);
  add_runtime_options(*train_cmd, cmd->runtime);
  train_cmd->callback([cmd] {
    configure_threads(cmd->runtime.threads);
    cmd->job.options.advantage = train::parse_advantage(cmd->algo);
    cmd->job.options.aggregation = train::parse_loss_aggregation(cmd->aggregation);
    cmd->job.device = resolve_device(cmd->runtime.device);
    apply_json_flags(cmd->train_flags, train::rl_train_defaults(), cmd->job.train_overrides);
    const auto result = train::train_rl_job(cmd->job);
    if (result.train.interrupted) {
      fmt::print("stopped at step {} with a checkpoint; continue with --resume --out {}\n", result.train.steps_done, cmd->job.run.out);
      return;
    }
    fmt::print("step {}: {} completion tokens trained, {:.0f} s\nrun folder: {} (metrics.jsonl: reward, entropy, held_out_pass1)\n",
               result.train.steps_done, result.trained_tokens, result.train.seconds, cmd->job.run.out);
  });
}

}  // namespace garden::cli
