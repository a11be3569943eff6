#include "garden/train/trainer.h"

#include <ATen/autocast_mode.h>
#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/progress.h"
#include "garden/core/safetensors.h"
#include "garden/train/objectives/lm.h"
#include "garden/train/schedule.h"

namespace garden::train {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) { g_interrupted = true; }

// Turns autocast on for the scope (bf16 on CPU or CUDA) and restores it after.
class AutocastScope {
 public:
  explicit AutocastScope(bool enabled, torch::Device device) : enabled_(enabled), cuda_(device.is_cuda()) {
    if (!enabled_) return;
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      at::autocast::set_enabled(true);
    } else {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (cuda_) at::autocast::set_enabled(false); else at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }

 private:
  bool enabled_, cuda_;
};

model::ForwardOptions forward_options(const Batch& batch, torch::Device device) {
  model::ForwardOptions options;
  if (batch.attention_mask.defined()) options.attention_mask = batch.attention_mask.to(device);
  return options;
}

std::string checkpoint_name(int64_t step) { return fmt::format("step_{:08d}", step); }

}  // namespace

bool run_complete(const fs::path& run, int64_t steps) {
  const auto latest = latest_checkpoint(run);
  return !latest.empty() && latest.filename() == checkpoint_name(steps) && fs::exists(latest / "model.safetensors");
}

void install_interrupt_handler() { std::signal(SIGINT, on_sigint); }

void TrainConfig::validate() const {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) usage_error("train config: " + message);
  };
  require(steps > 0, fmt::format("steps must be > 0, got {}", steps));
  require(batch > 0, fmt::format("batch must be > 0, got {}", batch));
  require(seq >= 2, fmt::format("seq must be >= 2, got {}", seq));
  require(grad_accum > 0, fmt::format("grad_accum must be > 0, got {}", grad_accum));
  require(lr > 0 && std::isfinite(lr), fmt::format("lr must be a positive number, got {}", lr));
  require(min_lr_ratio >= 0 && min_lr_ratio <= 1, fmt::format("min_lr_ratio must be in [0, 1], got {}", min_lr_ratio));
  require(warmup >= 0 && warmup < steps, fmt::format("warmup must be in [0, steps), got {}", warmup));
  require(weight_decay >= 0, fmt::format("weight_decay must be >= 0, got {}", weight_decay));
  require(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "betas must be in [0, 1)");
  require(grad_clip >= 0, fmt::format("grad_clip must be >= 0, got {}", grad_clip));
  require(eval_every >= 0 && checkpoint_every >= 0 && stop_after >= 0, "eval_every, checkpoint_every and stop_after must be >= 0");
  require(keep_checkpoints >= 1, fmt::format("keep_checkpoints must be >= 1, got {}", keep_checkpoints));
  require(eval_windows >= 1, fmt::format("eval_windows must be >= 1, got {}", eval_windows));
  require(log_every >= 1, fmt::format("log_every must be >= 1, got {}", log_every));
}

Json TrainConfig::to_json() const {
  return Json{{"steps", steps}, {"batch", batch}, {"seq", seq}, {"grad_accum", grad_accum}, {"lr", lr},
              {"min_lr_ratio", min_lr_ratio}, {"warmup", warmup}, {"weight_decay", weight_decay}, {"beta1", beta1},
              {"beta2", beta2}, {"adam_eps", adam_eps}, {"grad_clip", grad_clip}, {"bf16", bf16},
              {"eval_every", eval_every}, {"eval_windows", eval_windows}, {"checkpoint_every", checkpoint_every},
              {"keep_checkpoints", keep_checkpoints}, {"log_every", log_every}, {"spike_factor", spike_factor},
              {"seed", seed}};
}

TrainConfig TrainConfig::from_json(const Json& json, const std::string& where) {
  if (!json.is_object()) throw Error(where + ": train config must be a JSON object");
  TrainConfig c;
  refuse_unknown_keys(json, c.to_json(), where);
  read_field(json, "steps", c.steps, where);
  read_field(json, "batch", c.batch, where);
  read_field(json, "seq", c.seq, where);
  read_field(json, "grad_accum", c.grad_accum, where);
  read_field(json, "lr", c.lr, where);
  read_field(json, "min_lr_ratio", c.min_lr_ratio, where);
  read_field(json, "warmup", c.warmup, where);
  read_field(json, "weight_decay", c.weight_decay, where);
  read_field(json, "beta1", c.beta1, where);
  read_field(json, "beta2", c.beta2, where);
  read_field(json, "adam_eps", c.adam_eps, where);
  read_field(json, "grad_clip", c.grad_clip, where);
  read_field(json, "bf16", c.bf16, where);
  read_field(json, "eval_every", c.eval_every, where);
  read_field(json, "eval_windows", c.eval_windows, where);
  read_field(json, "checkpoint_every", c.checkpoint_every, where);
  read_field(json, "keep_checkpoints", c.keep_checkpoints, where);
  read_field(json, "log_every", c.log_every, where);
  read_field(json, "spike_factor", c.spike_factor, where);
  read_field(json, "seed", c.seed, where);
  return c;
}

void save_model(const fs::path& dir, model::Transformer& model, const std::string& tokenizer_spec) {
  fs::create_directories(dir);
  save_safetensors(dir / "model.safetensors", module_tensors(*model), {{"format", "garden"}});
  write_json_atomic(dir / "config.json", Json{{"model", model->config().to_json()}, {"tokenizer", tokenizer_spec}});
}

LoadedModel load_model(const fs::path& path, torch::Device device) {
  if (!fs::exists(path)) throw Error("model " + path.string() + ": no such folder");
  const fs::path dir = weights_folder(path);
  if (!fs::exists(dir / "model.safetensors")) throw Error("model " + path.string() + ": no model.safetensors and no checkpoints/latest");
  auto config_json = read_json_file(dir / "config.json");
  if (!config_json.contains("model")) throw Error((dir / "config.json").string() + ": no 'model' section");
  LoadedModel loaded;
  loaded.model = model::Transformer(model::TransformerConfig::from_json(config_json["model"], (dir / "config.json").string()));
  load_module_tensors(*loaded.model, load_safetensors(dir / "model.safetensors"), dir / "model.safetensors");
  read_field(config_json, "tokenizer", loaded.tokenizer_spec, (dir / "config.json").string());
  loaded.model->to(device);
  return loaded;
}

Trainer::Trainer(TrainConfig config, fs::path out) : config_(config), out_(std::move(out)) { config_.validate(); }

double Trainer::evaluate(model::Transformer& model, const BatchSource& data, bool bf16) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  auto device = model->token_embedding->weight.device();
  double sum = 0, count = 0;
  {
    AutocastScope autocast(bf16, device);
    for (const auto& batch : data.eval_batches()) {
      auto out = model->forward(batch.input.to(device), forward_options(batch, device));
      auto loss = lm_loss(out.logits, batch.target.to(device), batch.loss_mask.defined() ? batch.loss_mask.to(device) : torch::Tensor());
      sum += loss.sum.item<double>();
      count += loss.count.item<double>();
    }
  }
  model->train(was_training);
  return sum / count;
}

TrainResult Trainer::fit(model::Transformer& model, const BatchSource& data, bool resume, const EvalHook& hook) {
  const auto device = model->token_embedding->weight.device();
  Objective objective;
  objective.micro_step = [&](int64_t index) {
    const Batch batch = data.train_batch(index);
    auto out = model->forward(batch.input.to(device), forward_options(batch, device));
    auto loss = lm_loss(out.logits, batch.target.to(device), batch.loss_mask.defined() ? batch.loss_mask.to(device) : torch::Tensor());
    return MicroStep{loss.loss, batch.tokens()};
  };
  objective.save = [&](const fs::path& dir) { save_model(dir, model, tokenizer_spec); };
  objective.evaluate = [&](int64_t step, Json& metrics) {
    const double val = evaluate(model, data, config_.bf16);
    metrics["val_loss"] = val;
    metrics["val_ppl"] = std::exp(val);
    if (hook) hook(model, step, metrics);
  };
  objective.description = Json{{"model", model->config().to_json()},
                               {"tokenizer", tokenizer_spec},
                               {"data", data.describe()},
                               {"parameters", model->parameter_count()}};
  return fit(*model, objective, resume);
}

TrainResult Trainer::fit(torch::nn::Module& module, const Objective& objective, bool resume) {
  const auto parameters = module.parameters();
  if (parameters.empty()) throw Error("training: the model has no parameters");
  const auto device = parameters.front().device();
  const auto checkpoints = out_ / "checkpoints";
  fs::create_directories(checkpoints);

  // Weight decay applies to matrices (linear weights, embeddings), not to norm gains.
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : parameters) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  auto options = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(config_.lr)
                                                           .betas({config_.beta1, config_.beta2})
                                                           .eps(config_.adam_eps)
                                                           .weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, options(config_.weight_decay));
  groups.emplace_back(no_decay, options(0.0));
  torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(config_.lr));

  int64_t start_step = 0;
  double ema = 0;
  int64_t spikes = 0;
  if (resume) {
    const auto latest = latest_checkpoint(out_);
    if (latest.empty()) throw Error("--resume: " + out_.string() + " has no checkpoint to resume from");
    load_module_tensors(module, load_safetensors(latest / "model.safetensors"), latest / "model.safetensors");
    torch::load(optimizer, (latest / "optimizer.pt").string());
    auto rng = load_safetensors(latest / "rng.safetensors");
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng.at("cpu"));
    auto state = read_json_file(latest / "state.json");
    start_step = state.at("step").get<int64_t>();
    ema = state.at("loss_ema").get<double>();
    spikes = state.at("loss_spikes").get<int64_t>();
    // Drop metric lines written after the checkpoint, so the log matches the resumed run.
    const auto metrics_path = out_ / "metrics.jsonl";
    if (fs::exists(metrics_path)) {
      std::ifstream in(metrics_path);
      std::string line, kept;
      while (std::getline(in, line))
        if (!line.empty() && Json::parse(line).value("step", int64_t{0}) <= start_step) kept += line + "\n";
      write_file_atomic(metrics_path, kept);
    }
  } else {
    fs::remove(out_ / "metrics.jsonl");
  }
  Json description = objective.description.is_object() ? objective.description : Json::object();
  description["train"] = config_.to_json();
  write_json_atomic(out_ / "config.json", description);

  auto save_checkpoint = [&](int64_t step) {
    const auto final_dir = checkpoints / checkpoint_name(step);
    const auto staged = staging_path(final_dir);
    objective.save(staged);
    torch::save(optimizer, (staged / "optimizer.pt").string());
    auto generator = at::detail::getDefaultCPUGenerator();
    torch::Tensor rng_state;
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      rng_state = generator.get_state();
    }
    save_safetensors(staged / "rng.safetensors", {{"cpu", rng_state}});
    write_json_atomic(staged / "state.json", Json{{"step", step}, {"loss_ema", ema}, {"loss_spikes", spikes},
                                                  {"train", config_.to_json()}});
    replace_dir_atomic(staged, final_dir);
    write_file_atomic(checkpoints / "latest", checkpoint_name(step) + "\n");
    // Keep the newest keep_checkpoints folders.
    std::vector<fs::path> all;
    for (const auto& entry : fs::directory_iterator(checkpoints))
      if (entry.is_directory() && entry.path().filename().string().rfind("step_", 0) == 0) all.push_back(entry.path());
    std::sort(all.begin(), all.end());
    for (size_t i = 0; i + static_cast<size_t>(config_.keep_checkpoints) < all.size(); ++i) fs::remove_all(all[i]);
  };

  TrainResult result;
  module.train();
  const int64_t last_step = config_.stop_after > 0 ? std::min(config_.steps, start_step + config_.stop_after) : config_.steps;
  Progress progress("train", config_.steps, "steps");
  const auto started = std::chrono::steady_clock::now();
  int64_t tokens_done = 0;
  double last_loss = 0;
  g_interrupted = false;

  bool evaluated = false;
  Json last_eval;
  auto run_eval = [&](int64_t step) {
    evaluated = true;
    Json metrics = {{"step", step}, {"kind", "eval"}};
    if (objective.evaluate) objective.evaluate(step, metrics);
    if (metrics.contains("val_loss")) result.val_loss = metrics["val_loss"].get<double>();
    last_eval = metrics;
    append_line(out_ / "metrics.jsonl", metrics.dump());
  };

  int64_t step = start_step;
  while (step < last_step) {
    ++step;
    const double lr = cosine_lr(step, config_.steps, config_.warmup, config_.lr, config_.min_lr_ratio);
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    optimizer.zero_grad();
    double step_loss = 0;
    for (int64_t micro = 0; micro < config_.grad_accum; ++micro) {
      MicroStep micro_step;
      {
        AutocastScope autocast(config_.bf16, device);
        micro_step = objective.micro_step((step - 1) * config_.grad_accum + micro);
      }
      const torch::Tensor& loss = micro_step.loss;
      const double value = loss.item<double>();
      if (!std::isfinite(value)) {
        const auto latest = latest_checkpoint(out_);
        throw Error(fmt::format("training stopped: loss is {} at step {} (lower --lr or enable --grad-clip); last good checkpoint: {}",
                                std::isnan(value) ? "NaN" : value > 0 ? "+inf" : "-inf", step, latest.empty() ? std::string("none yet") : latest.string()));
      }
      (loss / static_cast<double>(config_.grad_accum)).backward();
      step_loss += value / static_cast<double>(config_.grad_accum);
      tokens_done += micro_step.tokens;
    }
    double grad_norm = 0;
    if (config_.grad_clip > 0) grad_norm = torch::nn::utils::clip_grad_norm_(parameters, config_.grad_clip);
    optimizer.step();

    if (step > config_.warmup && ema > 0 && step_loss > config_.spike_factor * ema) ++spikes;
    ema = ema == 0 ? step_loss : 0.98 * ema + 0.02 * step_loss;
    last_loss = step_loss;
    result.step_losses.push_back(step_loss);

    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (step % config_.log_every == 0 || step == last_step) {
      append_line(out_ / "metrics.jsonl", Json{{"step", step}, {"kind", "train"}, {"loss", step_loss}, {"lr", lr},
                                               {"grad_norm", grad_norm}, {"loss_spikes", spikes},
                                               {"tokens_per_second", tokens_done / std::max(elapsed, 1e-9)}}.dump());
    }
    if (!quiet) progress.update(step, fmt::format("loss {:.4f}  {:.0f} tok/s", step_loss, tokens_done / std::max(elapsed, 1e-9)));

    const bool final_step = step == config_.steps;
    if ((config_.eval_every > 0 && step % config_.eval_every == 0) || final_step) run_eval(step);
    if (g_interrupted) {
      save_checkpoint(step);
      result.interrupted = true;
      break;
    }
    if ((config_.checkpoint_every > 0 && step % config_.checkpoint_every == 0) || final_step || step == last_step) save_checkpoint(step);
  }
  if (step == last_step && last_step < config_.steps) result.interrupted = true;

  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.steps_done = step;
  result.final_train_loss = last_loss;
  result.loss_spikes = spikes;
  result.tokens_per_second = tokens_done / std::max(result.seconds, 1e-9);
  if (!quiet)
    progress.finish(last_eval.contains("val_loss") ? fmt::format("loss {:.4f}  val {:.4f}", last_loss, result.val_loss)
                                                   : fmt::format("loss {:.4f}", last_loss));
  Json summary{{"steps_done", result.steps_done}, {"steps", config_.steps}, {"interrupted", result.interrupted},
               {"train_loss", result.final_train_loss}, {"loss_spikes", result.loss_spikes},
               {"tokens_per_second", result.tokens_per_second}, {"seconds", result.seconds}};
  if (evaluated && last_eval.contains("val_loss")) {
    summary["val_loss"] = result.val_loss;
    summary["val_ppl"] = std::exp(result.val_loss);
  }
  write_json_atomic(out_ / "results.json", summary);
  return result;
}

}  // namespace garden::train
