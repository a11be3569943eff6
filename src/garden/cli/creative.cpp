// garden creative generate | train | eval (roll-the-dice.md).
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/cli/training.h"
#include "garden/core/error.h"
#include "garden/core/runtime.h"
#include "garden/eval/creativity_job.h"
#include "garden/train/creative_jobs.h"

namespace garden::cli {

void register_creative(CLI::App& app) {
  auto* creative = app.add_subcommand("creative", "open-ended tasks (sibling, triangle, circle, line): data, multi-token objectives, creativity");
  creative->require_subcommand(1);

  // ---- creative generate ----
  struct Generate {
    text::creative::TaskOptions options;
    std::string task = "sibling", out;
  };
  auto gen = std::make_shared<Generate>();
  auto& o = gen->options;
  auto* generate = creative->add_subcommand("generate", "write a task folder: task.json, train.jsonl, test.jsonl");
  generate->add_option("--task", gen->task, "sibling | triangle | circle | line")->capture_default_str();
  generate->add_option("--train", o.train_examples, "training examples")->capture_default_str();
  generate->add_option("--test", o.test_prompts, "test prompts (fresh hashes)")->capture_default_str();
  generate->add_option("--hash-length", o.hash_length, "characters of [a-z0-9] in a hash")->capture_default_str();
  generate->add_option("--parents", o.parents, "sibling: parents")->capture_default_str();
  generate->add_option("--children", o.children, "sibling: children per parent and slot")->capture_default_str();
  generate->add_option("--held-out", o.held_out_share, "sibling: share of the triplets never trained on")->capture_default_str();
  generate->add_option("--vertices", o.vertices, "triangle: vertices of the graph")->capture_default_str();
  generate->add_option("--degree", o.degree, "triangle: minimum degree")->capture_default_str();
  generate->add_option("--triangles", o.triangles, "triangle: triangles per vertex")->capture_default_str();
  generate->add_option("--circle-entities", o.circle_entities, "circle: entities")->capture_default_str();
  generate->add_option("--cycle-vertices", o.circle_vertices, "circle: vertices of each cycle")->capture_default_str();
  generate->add_option("--line-entities", o.line_entities, "line: entities")->capture_default_str();
  generate->add_option("--line-vertices", o.line_vertices, "line: vertices of each path")->capture_default_str();
  generate->add_option("--seed", o.seed)->capture_default_str();
  generate->add_option("--out", gen->out, "task folder")->required();
  generate->callback([gen] {
    gen->options.task = text::creative::parse_task(gen->task);
    train::generate_creative_task(gen->options, gen->out);
    fmt::print("{}: {} training examples and {} test prompts written to {}\n", gen->task, gen->options.train_examples, gen->options.test_prompts,
               gen->out);
  });

  // ---- creative train ----
  struct Train {
    RuntimeOptions runtime;
    train::CreativeTrainJob job;
    std::string objective = "ntp", prefix = "hash";
    std::map<std::string, std::string> train_flags;
  };
  auto cmd = std::make_shared<Train>();
  auto* train_cmd = creative->add_subcommand("train", "train a small model on a task folder");
  train_cmd->add_option("--task-dir", cmd->job.task, "task folder (garden creative generate)")->required();
  train_cmd->add_option("--objective", cmd->objective, "ntp | teacherless (hybrid with NTP rows) | diffusion (masked)")->capture_default_str();
  train_cmd->add_option("--prefix", cmd->prefix, "hash (seed-conditioning) | null")->capture_default_str();
  train_cmd->add_option("--teacherless-share", cmd->job.options.teacherless_share, "teacherless: share of teacherless rows (1 = pure)")
      ->capture_default_str();
  train_cmd->add_option("--d-model", cmd->job.options.d_model)->capture_default_str();
  train_cmd->add_option("--n-layers", cmd->job.options.layers)->capture_default_str();
  train_cmd->add_option("--n-heads", cmd->job.options.heads)->capture_default_str();
  add_json_flags(*train_cmd, train::creative_train_defaults(), cmd->train_flags, "Training");
  add_run_folder_spec_options(*train_cmd, cmd->job.run);
  add_runtime_options(*train_cmd, cmd->runtime);
  train_cmd->callback([cmd] {
    configure_threads(cmd->runtime.threads);
    cmd->job.options.objective = train::parse_creative_objective(cmd->objective);
    cmd->job.options.prefix = train::parse_prefix_kind(cmd->prefix);
    cmd->job.device = resolve_device(cmd->runtime.device);
    apply_json_flags(cmd->train_flags, train::creative_train_defaults(), cmd->job.train_overrides);
    const auto result = train::train_creative_job(cmd->job);
    if (result.interrupted) {
      fmt::print("stopped at step {} with a checkpoint; continue with --resume --out {}\n", result.steps_done, cmd->job.run.out);
      return;
    }
    fmt::print("step {}: loss {:.4f}, {:.0f} s\nrun folder: {}\n", result.steps_done, result.final_train_loss, result.seconds, cmd->job.run.out);
  });

  // ---- creative eval ----
  struct Eval {
    RuntimeOptions runtime;
    eval::CreativityJob job;
  };
  auto ev = std::make_shared<Eval>();
  auto* eval_cmd = creative->add_subcommand("eval", "one answer to every test prompt; coherence, memorisation, diversity, creativity");
  eval_cmd->add_option("--model", ev->job.model, "model or run folder (garden creative train)")->required();
  eval_cmd->add_option("--task-dir", ev->job.task, "task folder (default: the model's own task)");
  eval_cmd->add_option("--temperature", ev->job.sampling.temperature, "0 = greedy")->capture_default_str();
  eval_cmd->add_option("--seed", ev->job.sampling.seed, "prompt i samples with seed + i")->capture_default_str();
  eval_cmd->add_option("--diffusion-steps", ev->job.sampling.diffusion_steps, "diffusion: unmasking steps (0 = one position a step)")
      ->capture_default_str();
  eval_cmd->add_option("--train-prompts", ev->job.train_prompts, "also reproduce this many training examples (train memorisation)")
      ->capture_default_str();
  eval_cmd->add_option("--out", ev->job.out, "every answer with its verdicts (JSONL)");
  add_runtime_options(*eval_cmd, ev->runtime);
  eval_cmd->callback([ev] {
    configure_threads(ev->runtime.threads);
    ev->job.device = resolve_device(ev->runtime.device);
    const auto report = eval::run_creativity(ev->job);
    const auto& s = report.scores;
    fmt::print("coherence\t{:.4f}\nmemorization\t{:.4f}\ndiversity\t{:.4f}\ncreativity\t{:.4f}\n", s.coherence, s.memorization, s.diversity,
               s.creativity);
    if (report.train_memorization >= 0) fmt::print("train_memorization\t{:.4f}\n", report.train_memorization);
  });
}

}  // namespace garden::cli
