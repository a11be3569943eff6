#include "garden/train/trainer.h"

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <numeric>
#include <optional>
#include <set>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/progress.h"
#include "garden/core/safetensors.h"
#include "garden/model/autocast.h"
#include "garden/model/model_folder.h"
#include "garden/model/thread_tasks.h"
#include "garden/train/fused_adamw.h"
#include "garden/train/objectives/lm.h"
#include "garden/train/run_folder.h"
#include "garden/train/schedule.h"

namespace garden::train {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_interrupted{false};   // this fit() should checkpoint and stop
std::atomic<bool> g_sigint_received{false};  // for the process's exit status, never reset

void on_sigint(int) {
  g_interrupted = true;
  g_sigint_received = true;
}

model::ForwardOptions forward_options(const Batch& batch, torch::Device device) {
  model::ForwardOptions options;
  if (batch.attention_mask.defined()) options.attention_mask = batch.attention_mask.to(device);
  return options;
}

std::string checkpoint_name(int64_t step) { return fmt::format("step_{:08d}", step); }

// The key of rank r's generator state in a checkpoint's rng.safetensors.
std::string rng_key(int64_t rank) { return rank == 0 ? std::string("cpu") : fmt::format("cpu.rank{}", rank); }

// <run>/lock, held with flock() while a trainer writes the run folder, so a second trainer is
// refused instead of mixing checkpoints. The kernel releases the lock when its process dies,
// so a file left by a killed run (its pid inside) is simply taken over.
class RunLock {
 public:
  explicit RunLock(const fs::path& run) : path_(run / "lock") {
    fs::create_directories(run);
    // The file may be unlinked by its previous holder between our open() and flock(); holding a
    // lock on a file that no longer has the name would not exclude anyone, so try again.
    for (int attempt = 0; attempt < 10; ++attempt) {
      fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd_ < 0) throw Error(fmt::format("cannot open {}: {}", path_.string(), std::strerror(errno)));
      if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        ::close(fd_);
        if (error != EWOULDBLOCK) throw Error(fmt::format("cannot lock {}: {}", path_.string(), std::strerror(error)));
        std::string owner = read_file(path_);
        while (!owner.empty() && (owner.back() == '\n' || owner.back() == ' ')) owner.pop_back();
        throw Error(fmt::format("{} is in use: process {} is training into it (lock {})", run.string(), owner.empty() ? "?" : owner,
                                path_.string()));
      }
      struct stat held {}, named {};
      if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
        const std::string pid = std::to_string(::getpid()) + "\n";
        if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
          throw Error(fmt::format("cannot write {}: {}", path_.string(), std::strerror(errno)));
        return;
      }
      ::close(fd_);
    }
    throw Error("cannot lock " + path_.string() + ": it keeps being replaced");
  }
  ~RunLock() {
    ::unlink(path_.c_str());  // before close, so no one can lock the old file after we let go
    ::close(fd_);
  }
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  fs::path path_;
  int fd_ = -1;
};

// Staging files and folders (core/files.h: staging_path) of the run folder and its
// checkpoints. Under the run's lock none belongs to a live writer: they are leftovers of a kill.
void remove_stale_staging(const fs::path& run) {
  for (const auto& dir : {run, run / "checkpoints"}) {
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> stale;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().filename().string().find(".tmp-") != std::string::npos) stale.push_back(entry.path());
    for (const auto& path : stale) fs::remove_all(path);
  }
}

// Leaves of `a` and `b` (nested objects) that differ, as "path before -> after".
void differences(const Json& a, const Json& b, const std::string& prefix, std::vector<std::string>& out) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items())
      differences(value, b.contains(key) ? b.at(key) : Json(), prefix.empty() ? key : prefix + "." + key, out);
    for (const auto& [key, value] : b.items())
      if (!a.contains(key)) differences(Json(), value, prefix.empty() ? key : prefix + "." + key, out);
  } else if (a != b) {
    out.push_back(fmt::format("{} {} -> {}", prefix, a.is_null() ? "(none)" : a.dump(), b.is_null() ? "(none)" : b.dump()));
  }
}

// What a resume may change: settings that leave the weights alone (how often to evaluate, log
// and checkpoint, how many checkpoints to keep) and a longer run. Anything else would make the
// resumed run differ from an uninterrupted one, so it is refused, naming every change.
// Returns the accepted changes as {key: {"from", "to"}}.
Json check_resume_settings(const fs::path& run, const Json& before, const Json& now, const Json& described, const Json& describing) {
  static const std::set<std::string> free = {"eval_every", "log_every", "checkpoint_every", "keep_checkpoints"};
  std::vector<std::string> refused;
  Json accepted = Json::object();
  for (const auto& [key, value] : now.items()) {
    const Json old = before.contains(key) ? before.at(key) : Json();
    if (old == value) continue;
    if (free.count(key) || (key == "steps" && old.is_number() && value.get<int64_t>() > old.get<int64_t>()))
      accepted[key] = {{"from", old}, {"to", value}};
    else
      refused.push_back(fmt::format("{} {} -> {}{}", key, old.dump(), value.dump(), key == "steps" ? " (a resume may only lengthen the run)" : ""));
  }
  differences(described, describing, "", refused);
  if (!refused.empty())
    usage_error(fmt::format("--resume: {} was trained with other settings: {}; resume with the run's settings or start a new run",
                            run.string(), fmt::join(refused, ", ")));
  return accepted;
}

constexpr int64_t kMaxBf16ParametersToSplit = 8'000'000;

[[noreturn]] void throw_non_finite_loss(double value, int64_t step, const fs::path& run) {
  const auto latest = latest_checkpoint(run);
  throw Error(fmt::format("training stopped: loss is {} at step {} (lower --lr or enable --grad-clip); last good checkpoint: {}",
                          std::isnan(value) ? "NaN" : value > 0 ? "+inf" : "-inf", step, latest.empty() ? std::string("none yet") : latest.string()));
}

// Micro-batch `index` as `parts` shares of its rows (Objective::micro_step_shares), each share's
// forward and backward at once on a thread of its own (model/thread_tasks.h): the threads meet
// once per micro-batch instead of at the end of each of the step's several hundred operations.
// The shares' backward accumulates into the same gradients (libtorch locks each parameter's
// accumulation; an addition's order does not change its sum, so runs repeat to the bit).
// Returns the micro-batch's loss and tokens.
std::pair<double, int64_t> run_shares(const Objective& objective, int64_t index, int64_t parts, bool bf16, torch::Device device,
                                      double backward_scale) {
  const auto shares = objective.micro_step_shares(index, parts);
  std::vector<double> losses(shares.size(), 0.0);
  std::vector<int64_t> tokens(shares.size(), 0);
  // Grad mode and the caller's other thread-local settings hold on every thread.
  const at::ThreadLocalState caller_state;
  model::run_tasks_on_threads(static_cast<int64_t>(shares.size()), [&](int64_t part) {
    const at::ThreadLocalStateGuard state(caller_state);
    const auto slot = static_cast<size_t>(part);
    MicroStep share;
    {
      model::AutocastScope autocast(bf16, device);
      share = shares[slot]();
    }
    losses[slot] = share.loss.item<double>();
    tokens[slot] = share.tokens;
    (share.loss * (share.backward_scale * backward_scale)).backward();
  });
  return {std::accumulate(losses.begin(), losses.end(), 0.0), std::accumulate(tokens.begin(), tokens.end(), int64_t{0})};
}

}  // namespace

bool run_complete(const fs::path& run, int64_t steps) {
  const auto latest = latest_checkpoint(run);
  return !latest.empty() && latest.filename() == checkpoint_name(steps) && fs::exists(latest / "model.safetensors");
}

void install_interrupt_handler() { std::signal(SIGINT, on_sigint); }

bool interrupted_by_signal() { return g_sigint_received; }

Trainer::Trainer(TrainConfig config, fs::path out) : config_(config), out_(std::move(out)) { config_.validate(); }

double Trainer::evaluate(model::Transformer& model, const BatchSource& data, bool bf16) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  auto device = model->token_embedding->weight.device();
  double sum = 0, count = 0;
  {
    model::AutocastScope autocast(bf16, device);
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
  const bool distributed = group != nullptr && group->size() > 1;
  objective.micro_step = [&](int64_t index) {
    Batch batch = data.train_batch(index);
    if (distributed) {
      const auto [begin, end] = rank_share(batch.input.size(0), group->rank(), group->size());
      batch = batch.rows(begin, end);
    }
    auto out = model->forward(batch.input.to(device), forward_options(batch, device));
    auto loss = lm_loss(out.logits, batch.target.to(device), batch.loss_mask.defined() ? batch.loss_mask.to(device) : torch::Tensor());
    if (!distributed) return MicroStep{loss.loss, batch.tokens()};
    // The global mean per counted token: this rank's sum over the global count, times the
    // world size that the mean over ranks divides by again.
    const double counted = group->sum({loss.count.item<double>()})[0];
    return MicroStep{loss.sum * (static_cast<double>(group->size()) / counted), batch.tokens()};
  };
  // Shares of a step's rows for the loop to run on the threads at once. Not with dropout: its
  // masks draw from libtorch's global generator, which two threads would take turns on in a
  // varying order, and a run would no longer repeat itself.
  if (!distributed && model->config().dropout == 0)
    objective.micro_step_shares = [&](int64_t index, int64_t parts) {
      const auto batch = std::make_shared<const Batch>(data.train_batch(index));
      const double counted =
          batch->loss_mask.defined() ? batch->loss_mask.sum().item<double>() : static_cast<double>(batch->target.numel());
      if (counted <= 0) throw Error("lm loss: the batch has no counted target tokens (loss mask is all zero)");
      const int64_t rows = batch->input.size(0), count = std::min(parts, rows);  // no empty share
      std::vector<std::function<MicroStep()>> shares;
      for (int64_t part = 0; part < count; ++part) {
        const auto [begin, end] = rank_share(rows, part, count);
        shares.emplace_back([&model, device, batch, begin = begin, end = end, counted] {
          const Batch share = batch->rows(begin, end);
          auto out = model->forward(share.input.to(device), forward_options(share, device));
          const auto sum = lm_loss_sum(out.logits, share.target.to(device), share.loss_mask.defined() ? share.loss_mask.to(device) : torch::Tensor());
          return MicroStep{sum / counted, share.tokens()};
        });
      }
      return shares;
    };
  objective.save = [&](const fs::path& dir) { model::save_model(dir, model, tokenizer_spec); };
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
  if (group == nullptr || group->size() == 1) return run(module, objective, resume);
  try {
    return run(module, objective, resume);
  } catch (const std::exception& e) {
    group->report_failure(e.what());
    throw;
  }
}

TrainResult Trainer::run(torch::nn::Module& module, const Objective& objective, bool resume) {
  const auto parameters = module.parameters();
  if (parameters.empty()) throw Error("training: the model has no parameters");
  const auto device = parameters.front().device();
  const auto checkpoints = out_ / "checkpoints";
  const bool distributed = group != nullptr && group->size() > 1;
  const int64_t world = distributed ? group->size() : 1;
  const int64_t rank = distributed ? group->rank() : 0;
  const bool writer = rank == 0;  // the one rank that writes the run folder
  const bool show_progress = !quiet && writer;
  // Each micro-batch's rows split between the threads, a share each (run_shares), where the
  // objective offers shares: on the CPU, in one process, a row per share at least, and not in
  // bf16 from 8M parameters, where each share's own bf16 copy of every weight and its pass
  // adding up its gradients cost more than the threads' meetings save (docs/performance.md,
  // "A step's rows split between the threads": 0.94x at d=512 in bf16, 1.06x in fp32).
  int64_t parameter_count = 0;
  for (const auto& p : parameters) parameter_count += p.numel();
  const bool splits = objective.micro_step_shares && !distributed && device.is_cpu() && !at::in_parallel_region() &&
                      !(config_.bf16 && parameter_count >= kMaxBf16ParametersToSplit);
  const int64_t shares = splits ? std::min<int64_t>(at::get_num_threads(), config_.batch) : 1;
  std::optional<RunLock> lock;
  if (writer) {
    lock.emplace(out_);
    remove_stale_staging(out_);
    if (!resume) {
      // A fresh run replaces an earlier run in this folder: its checkpoints would otherwise be
      // pruned in step order together with the new ones.
      fs::remove_all(checkpoints);
      fs::remove(out_ / "results.json");
    }
    fs::create_directories(checkpoints);
  }

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
  FusedAdamW optimizer(groups, torch::optim::AdamWOptions(config_.lr));

  int64_t start_step = 0;
  double ema = 0;
  int64_t spikes = 0;
  Json description = objective.description.is_object() ? objective.description : Json::object();
  if (distributed) description["world_size"] = world;
  Json resumed = Json::array();
  if (resume) {
    const auto latest = latest_checkpoint(out_);
    if (latest.empty()) throw Error("--resume: " + out_.string() + " has no checkpoint to resume from");
    Json described = fs::exists(out_ / "config.json") ? read_json_file(out_ / "config.json") : description;
    if (described.contains("resumed")) resumed = described["resumed"];
    described.erase("train");
    described.erase("resumed");
    const auto state = read_json_file(latest / "state.json");
    const int64_t trained_world = state.value("world_size", int64_t{1});
    if (trained_world != world)
      usage_error(fmt::format("--resume: {} was trained by {} rank{}; resume it with the same world size, not {}", out_.string(),
                              trained_world, trained_world == 1 ? "" : "s", world));
    const Json changed = check_resume_settings(out_, state.at("train"), config_.to_json(), described, description);
    const int64_t done = state.at("step").get<int64_t>();
    if (!changed.empty()) resumed.push_back({{"step", done}, {"changed", changed}});
    if (done >= config_.steps) {
      // Finished: its results.json was written before the final checkpoint, and stays as it is.
      if (!fs::exists(out_ / "results.json"))
        throw Error(fmt::format("--resume: {} finished its {} steps but has no results.json", out_.string(), done));
      const auto summary = read_json_file(out_ / "results.json");
      TrainResult result;
      result.steps_done = done;
      result.final_train_loss = summary.value("train_loss", 0.0);
      result.val_loss = summary.value("val_loss", 0.0);
      result.loss_spikes = summary.value("loss_spikes", int64_t{0});
      result.tokens_per_second = summary.value("tokens_per_second", 0.0);
      result.seconds = summary.value("seconds", 0.0);
      return result;
    }
    load_module_tensors(module, load_safetensors(latest / "model.safetensors"), latest / "model.safetensors");
    torch::load(optimizer, (latest / "optimizer.pt").string());
    auto rng = load_safetensors(latest / "rng.safetensors");
    if (!rng.count(rng_key(rank))) throw Error(fmt::format("--resume: {} has no generator state for rank {}", (latest / "rng.safetensors").string(), rank));
    {
      auto generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> guard(generator.mutex());
      generator.set_state(rng.at(rng_key(rank)));
    }
    start_step = done;
    ema = state.at("loss_ema").get<double>();
    spikes = state.at("loss_spikes").get<int64_t>();
    // Drop metric lines written after the checkpoint, so the log matches the resumed run.
    const auto metrics_path = out_ / "metrics.jsonl";
    if (writer && fs::exists(metrics_path)) {
      std::ifstream in(metrics_path);
      std::string line, kept;
      while (std::getline(in, line))
        if (!line.empty() && Json::parse(line).value("step", int64_t{0}) <= start_step) kept += line + "\n";
      write_file_atomic(metrics_path, kept);
    }
  } else {
    if (writer) fs::remove(out_ / "metrics.jsonl");
    if (rank > 0) {
      // Dropout differs between ranks as it does between the rows of one batch.
      auto generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> guard(generator.mutex());
      generator.set_current_seed(generator.current_seed() + static_cast<uint64_t>(rank));
    }
  }
  description["train"] = config_.to_json();
  if (!resumed.empty()) description["resumed"] = resumed;
  if (writer) write_json_atomic(out_ / "config.json", description);
  std::unique_ptr<GradientReducer> reducer;
  if (distributed) {
    // Every rank starts from rank 0's weights, whatever its own initialisation drew.
    std::vector<torch::Tensor> weights(parameters.begin(), parameters.end());
    group->broadcast(weights, 0);
    reducer = std::make_unique<GradientReducer>(*group, parameters);
  }

  auto save_checkpoint = [&](int64_t step) {
    auto generator = at::detail::getDefaultCPUGenerator();
    torch::Tensor rng_state;
    {
      std::lock_guard<std::mutex> guard(generator.mutex());
      rng_state = generator.get_state();
    }
    TensorMap rng_states{{rng_key(0), rng_state}};
    if (distributed) {  // every rank's generator, so each resumes its own dropout stream
      const auto all = group->all_gather(rng_state.unsqueeze(0));
      for (int64_t r = 0; r < world; ++r) rng_states[rng_key(r)] = all[r];
    }
    if (!writer) return;
    const auto final_dir = checkpoints / checkpoint_name(step);
    const auto staged = staging_path(final_dir);
    objective.save(staged);
    torch::save(optimizer, (staged / "optimizer.pt").string());
    save_safetensors(staged / "rng.safetensors", rng_states);
    Json state{{"step", step}, {"loss_ema", ema}, {"loss_spikes", spikes}, {"train", config_.to_json()}};
    if (distributed) state["world_size"] = world;
    write_json_atomic(staged / "state.json", state);
    replace_dir_atomic(staged, final_dir);
    write_file_atomic(checkpoints / "latest", checkpoint_name(step) + "\n");
    // Keep the newest keep_checkpoints folders, counting only finished ones (step_ and 8
    // digits: staging folders are longer), which a fresh run makes all this run's.
    std::vector<fs::path> all;
    for (const auto& entry : fs::directory_iterator(checkpoints)) {
      const auto name = entry.path().filename().string();
      if (entry.is_directory() && name.size() == 13 && name.rfind("step_", 0) == 0 &&
          std::all_of(name.begin() + 5, name.end(), [](char c) { return c >= '0' && c <= '9'; }))
        all.push_back(entry.path());
    }
    std::sort(all.begin(), all.end());
    // The one just written is `latest` even when a later step's folder survives from before a
    // kill (written, but not yet named by `latest`), so it is never pruned.
    for (size_t i = 0; i + static_cast<size_t>(config_.keep_checkpoints) < all.size(); ++i)
      if (all[i] != final_dir) fs::remove_all(all[i]);
  };

  TrainResult result;
  result.row_shares = shares;
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
    if (writer) append_line(out_ / "metrics.jsonl", metrics.dump());
  };

  bool summarised = false;
  auto summarise = [&](int64_t at) {
    summarised = true;
    result.interrupted = at < config_.steps;  // by SIGINT or stop_after, with a checkpoint to resume from
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    result.steps_done = at;
    result.final_train_loss = last_loss;
    result.loss_spikes = spikes;
    result.tokens_per_second = tokens_done / std::max(result.seconds, 1e-9);
    Json summary{{"steps_done", result.steps_done}, {"steps", config_.steps}, {"interrupted", result.interrupted},
                 {"train_loss", result.final_train_loss}, {"loss_spikes", result.loss_spikes},
                 {"tokens_per_second", result.tokens_per_second}, {"seconds", result.seconds}};
    // The steps' own wall time (no evaluation or checkpoints): benchmarks divide by it.
    summary["step_seconds"] = std::accumulate(result.step_seconds.begin(), result.step_seconds.end(), 0.0);
    if (distributed) {
      summary["world_size"] = world;
      summary["collective_seconds"] = result.collective_seconds;
    }
    if (evaluated && last_eval.contains("val_loss")) {
      summary["val_loss"] = result.val_loss;
      summary["val_ppl"] = std::exp(result.val_loss);
    }
    if (writer) write_json_atomic(out_ / "results.json", summary);
  };

  int64_t step = start_step;
  while (step < last_step) {
    ++step;
    const auto step_started = std::chrono::steady_clock::now();
    const double lr = cosine_lr(step, config_.steps, config_.warmup, config_.lr, config_.min_lr_ratio);
    for (auto& param_group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(param_group.options()).lr(lr);
    optimizer.zero_grad();
    double step_loss = 0;
    bool stop_requested = false;
    for (int64_t micro = 0; micro < config_.grad_accum; ++micro) {
      const int64_t index = (step - 1) * config_.grad_accum + micro;
      if (shares > 1) {
        const auto [value, tokens] = run_shares(objective, index, shares, config_.bf16, device, 1.0 / static_cast<double>(config_.grad_accum));
        if (!std::isfinite(value)) throw_non_finite_loss(value, step, out_);
        step_loss += value / static_cast<double>(config_.grad_accum);
        tokens_done += tokens;
        continue;
      }
      MicroStep micro_step;
      {
        model::AutocastScope autocast(config_.bf16, device);
        micro_step = objective.micro_step(index);
      }
      const torch::Tensor& loss = micro_step.loss;
      double value = loss.item<double>();
      int64_t tokens = micro_step.tokens;
      if (distributed) {
        // The loss over ranks, their tokens, and whether any was asked to stop: all ranks
        // agree on each, so they stop (on a bad loss or a Ctrl-C) at the same step.
        const bool last = micro + 1 == config_.grad_accum;
        const auto waiting = std::chrono::steady_clock::now();
        const auto totals = group->sum({value, static_cast<double>(tokens), last && g_interrupted ? 1.0 : 0.0});
        result.collective_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - waiting).count();
        value = totals[0] / static_cast<double>(world);
        tokens = static_cast<int64_t>(totals[1]);
        if (last) stop_requested = totals[2] > 0;
        if (last) reducer->arm();
      }
      if (!std::isfinite(value)) throw_non_finite_loss(value, step, out_);
      (loss * (micro_step.backward_scale / static_cast<double>(config_.grad_accum))).backward();
      step_loss += value / static_cast<double>(config_.grad_accum);
      tokens_done += tokens;
    }
    if (distributed) {
      const auto waiting = std::chrono::steady_clock::now();
      reducer->finish();
      result.collective_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - waiting).count();
    }
    // Clipping is folded into the update (one pass over each parameter, train/fused_adamw.h).
    GradientClip clip;
    if (config_.grad_clip > 0) clip = gradient_clip(parameters, config_.grad_clip);
    const double grad_norm = clip.norm;
    optimizer.step_scaled(clip.scale);
    result.step_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - step_started).count());

    if (step > config_.warmup && ema > 0 && step_loss > config_.spike_factor * ema) ++spikes;
    ema = ema == 0 ? step_loss : 0.98 * ema + 0.02 * step_loss;
    last_loss = step_loss;
    result.step_losses.push_back(step_loss);

    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (writer && (step % config_.log_every == 0 || step == last_step)) {
      append_line(out_ / "metrics.jsonl", Json{{"step", step}, {"kind", "train"}, {"loss", step_loss}, {"lr", lr},
                                               {"grad_norm", grad_norm}, {"loss_spikes", spikes},
                                               {"tokens_per_second", tokens_done / std::max(elapsed, 1e-9)}}.dump());
    }
    if (show_progress) progress.update(step, fmt::format("loss {:.4f}  {:.0f} tok/s", step_loss, tokens_done / std::max(elapsed, 1e-9)));

    const bool final_step = step == config_.steps;
    if ((config_.eval_every > 0 && step % config_.eval_every == 0) || final_step) run_eval(step);
    // results.json before the final checkpoint: a run whose latest checkpoint is its last step
    // always has its results, which a resume of the finished run returns.
    if (final_step) summarise(step);
    // One process stops on a Ctrl-C that arrived by now (during evaluation too); ranks on the
    // one every rank agreed on with this step's loss.
    if ((distributed ? stop_requested : g_interrupted.load()) && !final_step) {
      save_checkpoint(step);
      break;
    }
    if ((config_.checkpoint_every > 0 && step % config_.checkpoint_every == 0) || final_step || step == last_step) save_checkpoint(step);
    if (writer && std::find(keep_models_at.begin(), keep_models_at.end(), step) != keep_models_at.end()) {
      const auto dir = out_ / fmt::format("model-step-{}", step);
      const auto staged = staging_path(dir);
      objective.save(staged);
      replace_dir_atomic(staged, dir);
    }
  }
  if (!summarised) summarise(step);
  if (show_progress)
    progress.finish(last_eval.contains("val_loss") ? fmt::format("loss {:.4f}  val {:.4f}", last_loss, result.val_loss)
                                                   : fmt::format("loss {:.4f}", last_loss));
  return result;
}

}  // namespace garden::train
