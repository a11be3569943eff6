#include "garden/train/countdown_models.h"

#include <fmt/core.h>

#include <random>

#include "garden/core/artifact_cache.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/model_folder.h"
#include "garden/train/run_folder.h"

namespace garden::train {

namespace fs = std::filesystem;
namespace cd = text::countdown;

namespace {
// Raised whenever the code below changes what it builds.
constexpr int kCountdownModelsVersion = 1;
constexpr int64_t kMaxSeq = 48;  // BOS + "9 9 9 to 162:" + " (9+9)*9=18*9=162" + EOS fits with room

TrainConfig pretrain_config(const CountdownModelOptions& o, int64_t examples, double lr, uint64_t seed) {
  return inner_run_config(examples / o.batch, o.batch, lr, seed);
}
}  // namespace

std::vector<cd::Problem> CountdownSplit::held_out_problems() const { return cd::held_out_problems(held_out, withheld_only, seed); }

Json CountdownSplit::to_json() const { return {{"held_out", held_out}, {"withheld_only", withheld_only}, {"seed", seed}}; }

void CountdownModelOptions::validate() const {
  if (examples < batch || teacher_examples < batch) usage_error("countdown models: fewer examples than one batch");
  if (!(hit_rate >= 0 && hit_rate <= 1)) usage_error(fmt::format("countdown models: hit rate {} outside [0, 1]", hit_rate));
  if (d_model < 8 || layers < 1 || heads < 1 || d_model % heads != 0) usage_error("countdown models: bad model shape");
  if (batch < 1 || !(lr > 0)) usage_error("countdown models: batch and lr must be positive");
}

Json CountdownModelOptions::to_json() const {
  return {{"examples", examples}, {"hit_rate", hit_rate}, {"d_model", d_model}, {"layers", layers}, {"heads", heads},
          {"batch", batch}, {"lr", lr}, {"teacher_examples", teacher_examples}, {"seed", seed}};
}

VerifiableTask countdown_task(const std::vector<cd::Problem>& problems) {
  VerifiableTask task;
  for (const auto& p : problems) task.prompts.push_back(cd::prompt(p));
  task.verify = [problems](size_t i, const std::string& completion) { return cd::verify(problems.at(i), completion).correct; };
  return task;
}

CountdownModels ensure_countdown_models(const fs::path& cache, const CountdownSplit& split, const CountdownModelOptions& options,
                                        bool quiet) {
  options.validate();
  const auto held_out = split.held_out_problems();
  CountdownModels out;

  const Json base_key = {{"split", split.to_json()}, {"options", options.to_json()}, {"max_seq", kMaxSeq}};
  const auto build_base = [&](const fs::path& staged, const fs::path&) {
    const auto problems = cd::training_problems(options.examples, options.seed + 1, held_out);
    std::mt19937_64 rng(options.seed + 2);
    std::vector<std::string> prompts, completions;
    for (const auto& p : problems) {
      prompts.push_back(cd::prompt(p));
      completions.push_back(cd::trace(cd::noisy_answer(rng, p, options.hit_rate, cd::without_withheld()), p));
    }
    model::TransformerConfig config;
    config.vocab = text::ByteTokenizer().vocab_size();
    config.d_model = options.d_model;
    config.n_layers = options.layers;
    config.n_heads = options.heads;
    config.max_seq = kMaxSeq;
    torch::manual_seed(options.seed);
    model::Transformer model(config);
    const auto result = sft_on_completions(model, "bytes", prompts, completions, pretrain_config(options, options.examples, options.lr, options.seed),
                                           staged / "run", false, quiet);
    model::save_model(staged / "model", model, "bytes");
    fs::remove_all(staged / "run");
    write_json_atomic(staged / "done.json", Json{{"seconds", result.seconds}, {"train_loss", result.final_train_loss}});
  };
  const Artifact base = ensure_artifact(cache, {"countdown-base", kCountdownModelsVersion, base_key}, build_base);
  out.base = base.dir / "model";
  out.built = base.built;
  out.base_seconds = read_json_file(base.dir / "done.json").value("seconds", 0.0);

  const Json teacher_key = {{"base_weights_sha256", sha256_file_hex(out.base / "model.safetensors")},
                            {"split", split.to_json()}, {"options", options.to_json()}};
  const auto build_teacher = [&](const fs::path& staged, const fs::path&) {
    const auto problems = cd::training_problems(options.teacher_examples, options.seed + 3, held_out);
    std::mt19937_64 rng(options.seed + 4);
    std::vector<std::string> prompts, completions;
    for (const auto& p : problems) {
      prompts.push_back(cd::prompt(p));
      completions.push_back(cd::trace(cd::oracle_answer(rng, p), p));
    }
    auto loaded = model::load_model(out.base);
    const auto result = sft_on_completions(loaded.model, loaded.tokenizer_spec, prompts, completions,
                                           pretrain_config(options, options.teacher_examples, options.lr / 2, options.seed + 5),
                                           staged / "run", false, quiet);
    model::save_model(staged / "model", loaded.model, loaded.tokenizer_spec);
    fs::remove_all(staged / "run");
    write_json_atomic(staged / "done.json", Json{{"seconds", result.seconds}, {"train_loss", result.final_train_loss}});
  };
  const Artifact teacher = ensure_artifact(cache, {"countdown-teacher", kCountdownModelsVersion, teacher_key}, build_teacher);
  out.teacher = teacher.dir / "model";
  out.built = out.built || teacher.built;
  out.teacher_seconds = read_json_file(teacher.dir / "done.json").value("seconds", 0.0);
  return out;
}

}  // namespace garden::train
