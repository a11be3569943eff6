#include "garden/train/rl_jobs.h"

#include <fmt/core.h>

#include <algorithm>

#include <random>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/model_folder.h"
#include "garden/train/countdown_models.h"
#include "garden/train/run_folder.h"

namespace garden::train {

namespace fs = std::filesystem;
namespace cd = text::countdown;

namespace {

const char* const kCountdown = "countdown-3";

Json task_row(const cd::Problem& p) {
  return {{"task", kCountdown}, {"numbers", {p.a, p.b, p.c}}, {"target", p.target}, {"prompt", cd::prompt(p)}};
}

bool is_task_file(const fs::path& file) {
  bool ok = true;
  int64_t rows = 0;
  for_each_jsonl_object(file, [&](const Json& row, int64_t) {
    ok = ok && row.contains("task") && row.contains("prompt");
    ++rows;
  });
  return ok && rows > 0;
}

}  // namespace

void generate_tasks(const TaskGeneration& job) {
  if (job.task != kCountdown) usage_error(fmt::format("--task '{}' is not one garden generates (countdown-3)", job.task));
  if (job.count < 1) usage_error(fmt::format("--count {} must be >= 1", job.count));
  if (job.traces != "none" && job.traces != "noisy" && job.traces != "oracle")
    usage_error(fmt::format("--traces '{}' must be none, noisy or oracle", job.traces));
  if (!(job.hit_rate >= 0 && job.hit_rate <= 1)) usage_error(fmt::format("--hit-rate {} must be in [0, 1]", job.hit_rate));
  if (job.split != "training" && job.split != "held-out") usage_error(fmt::format("--split '{}' must be training or held-out", job.split));
  if (job.out.empty()) usage_error("--out is required");
  refuse_foreign_output_file(job.out, "an earlier task file", is_task_file);
  if (job.withheld_only < 0) usage_error(fmt::format("--withheld-only {} must be >= 0", job.withheld_only));
  // The held-out set of this seed (seed 0: the reproduction's); a training file never holds
  // one of its problems, nor one of a smaller held-out file with the same --withheld-only.
  CountdownSplit split;
  split.seed += job.seed;
  split.withheld_only = std::min(job.withheld_only, split.held_out);
  std::vector<cd::Problem> problems;
  if (job.split == "held-out") {
    split.held_out = job.count;
    split.withheld_only = std::min(job.withheld_only, job.count);
    problems = split.held_out_problems();
  } else {
    problems = cd::training_problems(job.count, job.seed, split.held_out_problems());
  }
  std::mt19937_64 rng(job.seed + 1);
  std::string text;
  for (const auto& p : problems) {
    Json row = task_row(p);
    if (job.traces == "noisy") row["completion"] = cd::trace(cd::noisy_answer(rng, p, job.hit_rate, cd::without_withheld()), p);
    if (job.traces == "oracle") row["completion"] = cd::trace(cd::oracle_answer(rng, p), p);
    text += row.dump() + "\n";
  }
  write_file_atomic(job.out, text);
}

VerifiableTask read_task_file(const fs::path& path) {
  std::vector<cd::Problem> problems;
  for_each_jsonl_object(path, [&](const Json& row, int64_t line) {
    const auto where = fmt::format("{}:{}", path.string(), line);
    const std::string task = row.value("task", "");
    if (task != kCountdown) throw Error(fmt::format("{}: task '{}' has no verifier (countdown-3)", where, task));
    const auto& numbers = row.value("numbers", Json::array());
    if (!numbers.is_array() || numbers.size() != 3 || !row.contains("target") || !row["target"].is_number_integer())
      throw Error(fmt::format("{}: a countdown-3 row needs \"numbers\" (three digits) and an integer \"target\"", where));
    for (const auto& d : numbers)
      if (!d.is_number_integer()) throw Error(fmt::format("{}: \"numbers\" must be digits 1..9", where));
    try {
      auto p = cd::make_problem(numbers[0].get<int>(), numbers[1].get<int>(), numbers[2].get<int>(), row["target"].get<int64_t>());
      if (row.contains("prompt") && row["prompt"] != cd::prompt(p))
        throw Error(fmt::format("prompt '{}' is not the problem's ('{}')", row["prompt"].get<std::string>(), cd::prompt(p)));
      problems.push_back(std::move(p));
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", where, e.what()));
    }
  });
  if (problems.empty()) throw Error(fmt::format("{}: no problems", path.string()));
  return countdown_task(problems);
}

Json rl_train_defaults() {
  TrainConfig tc;
  tc.steps = 150;
  tc.lr = 1e-4;
  tc.warmup = 8;
  tc.min_lr_ratio = 1.0;
  tc.weight_decay = 0.0;
  tc.eval_every = 50;
  tc.checkpoint_every = 50;
  return tc.to_json();
}

RlResult train_rl_job(const RlJob& job) {
  if (job.model.empty()) usage_error("--model is required: RL starts from a trained model");
  if (job.tasks.empty()) usage_error("--tasks is required");
  Json train_json = rl_train_defaults();
  refuse_unknown_keys(job.train_overrides, train_json, "rl train flags");
  train_json.update(job.train_overrides);
  // The default warm-up of 8 steps shrinks to a tenth of a shorter run, so a short run needs no
  // --warmup of its own.
  if (!job.train_overrides.contains("warmup"))
    train_json["warmup"] = std::min<std::int64_t>(train_json["warmup"].get<std::int64_t>(), train_json["steps"].get<std::int64_t>() / 10);
  auto config = TrainConfig::from_json(train_json, "rl train");
  config.stop_after = job.run.stop_after;
  config.validate("rl train");
  const auto task = read_task_file(job.tasks);
  const VerifiableTask held_out = job.held_out.empty() ? VerifiableTask{{}, task.verify} : read_task_file(job.held_out);
  // A resumed run continues the model of its checkpoint; a fresh one starts from --model.
  claim_run_folder(job.run.out, "garden rl train", job.run.resume);
  auto loaded = model::load_model(model_folder(job.model), job.device);
  fmt::print(stderr, "rl: {} from {} ({} parameters) on {} problems; {} x {} rollouts a step\n", to_string(job.options.advantage),
             job.model, loaded.model->parameter_count(), task.prompts.size(), job.options.prompts, job.options.group);
  return train_rl(loaded.model, loaded.tokenizer_spec, task, held_out, job.options, config, job.run.out, job.run.resume, false);
}

}  // namespace garden::train
