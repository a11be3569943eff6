// The trainer: bit-for-bit resume, the checks of a resume, the run folder's lock and
// checkpoint pruning, the non-finite-loss stop, the schedule and the loss.
#include "garden/model/model_folder.h"
#include "garden/train/run_folder.h"
#include "garden/train/trainer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <utility>

#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/safetensors.h"
#include "garden/train/objectives/lm.h"
#include "garden/train/schedule.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

using testing::cyclic_tokens;
using testing::small_lm_train;

// Dropout 0.1 by default, so that a resumed run must also restore the dropout generator.
model::Transformer fresh_model(double dropout = 0.1) {
  auto c = testing::tiny_config(model::AttentionGate::elementwise);
  c.dropout = dropout;
  torch::manual_seed(21);
  return model::Transformer(c);
}

TEST(Trainer, ResumeContinuesBitForBit) {
  // With dropout on one thread (its generator restored), and without it on two threads, where
  // each step's rows are split between them.
  const int saved = torch::get_num_threads();
  for (const auto& [dropout, threads] : {std::pair{0.1, 1}, std::pair{0.0, 2}}) {
    torch::set_num_threads(threads);
    testing::TempDir dir;
    TokenWindows data(cyclic_tokens(400), cyclic_tokens(100), 10, 8, 4, 4, 5);
    const int64_t n = 8, k = 3;

    auto straight = fresh_model(dropout);
    Trainer a(small_lm_train(n), dir.path() / "straight");
    a.quiet = true;
    EXPECT_EQ(a.fit(straight, data, false).row_shares, threads);

    auto first = fresh_model(dropout);
    auto interrupted = small_lm_train(n);
    interrupted.stop_after = k;
    Trainer b1(interrupted, dir.path() / "resumed");
    b1.quiet = true;
    auto partial = b1.fit(first, data, false);
    EXPECT_TRUE(partial.interrupted);
    EXPECT_EQ(partial.steps_done, k);
    // One wall time per step done in this process, each within the run's own time.
    ASSERT_EQ(partial.step_seconds.size(), static_cast<size_t>(k));
    double stepped = 0;
    for (double s : partial.step_seconds) {
      EXPECT_GT(s, 0.0);
      stepped += s;
    }
    EXPECT_LE(stepped, partial.seconds);

    torch::manual_seed(999);  // a different global generator state, which resume must restore
    auto second = fresh_model(dropout);
    Trainer b2(small_lm_train(n), dir.path() / "resumed");
    b2.quiet = true;
    auto finished = b2.fit(second, data, true);
    EXPECT_EQ(finished.steps_done, n);

    auto pa = straight->named_parameters(), pb = second->named_parameters();
    for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key() << ", dropout " << dropout;
    // The metrics log of the resumed run has each step once.
    const auto log = read_file(dir.path() / "resumed" / "metrics.jsonl");
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), static_cast<long>(n + 3));  // n train lines + evals at 3, 6, 8
  }
  torch::set_num_threads(saved);
}

// TokenWindows with rows 0 and 1 of every training batch left uncounted by the loss mask.
class FirstRowsMasked final : public BatchSource {
 public:
  explicit FirstRowsMasked(const TokenWindows& windows) : windows_(windows) {}
  Batch train_batch(int64_t step) const override {
    auto batch = windows_.train_batch(step);
    batch.loss_mask = torch::ones(batch.target.sizes());
    batch.loss_mask.narrow(0, 0, 2).zero_();
    return batch;
  }
  std::vector<Batch> eval_batches() const override { return windows_.eval_batches(); }
  std::string describe() const override { return windows_.describe(); }

 private:
  const TokenWindows& windows_;
};

TEST(Trainer, RowsSplitBetweenThreadsTrainAsOneBatch) {
  // Without dropout, on two threads, each step's 4 rows train as two shares of 2, one per
  // thread; on one thread as one batch. Losses and weights agree to rounding (fp32, bf16, and
  // a loss mask that leaves the first share nothing to count), and a second split run repeats
  // the first to the bit: the shares' gradients add up in either order.
  testing::TempDir dir;
  TokenWindows windows(cyclic_tokens(400), cyclic_tokens(100), 10, 8, 4, 4, 5);
  const FirstRowsMasked masked(windows);
  const int saved = torch::get_num_threads();
  int run = 0;
  const auto train = [&](int threads, const BatchSource& data, bool bf16, double dropout) {
    torch::set_num_threads(threads);
    auto c = testing::tiny_config();
    c.dropout = dropout;
    torch::manual_seed(21);
    model::Transformer m(c);
    auto config = small_lm_train(6);
    config.bf16 = bf16;
    Trainer trainer(config, dir.path() / std::to_string(run++));
    trainer.quiet = true;
    const auto result = trainer.fit(m, data, false);
    return std::make_pair(m, result);
  };
  for (const BatchSource* data : {static_cast<const BatchSource*>(&windows), static_cast<const BatchSource*>(&masked)})
    for (bool bf16 : {false, true}) {
      const double tolerance = bf16 ? 2e-2 : 1e-5;
      const auto [split, split_result] = train(2, *data, bf16, 0.0);
      const auto [whole, whole_result] = train(1, *data, bf16, 0.0);
      const auto [again, again_result] = train(2, *data, bf16, 0.0);
      EXPECT_EQ(split_result.row_shares, 2);
      EXPECT_EQ(whole_result.row_shares, 1);
      ASSERT_EQ(split_result.step_losses.size(), whole_result.step_losses.size());
      for (size_t i = 0; i < split_result.step_losses.size(); ++i)
        EXPECT_NEAR(split_result.step_losses[i], whole_result.step_losses[i], tolerance) << "step " << i + 1 << (bf16 ? " bf16" : "");
      EXPECT_EQ(split_result.step_losses, again_result.step_losses);
      auto split_parameters = split->named_parameters(), whole_parameters = whole->named_parameters(), again_parameters = again->named_parameters();
      for (const auto& item : split_parameters) {
        EXPECT_TRUE(torch::allclose(item.value(), whole_parameters[item.key()], 0, bf16 ? 1e-2 : 1e-5)) << item.key();
        EXPECT_TRUE(torch::equal(item.value(), again_parameters[item.key()])) << item.key();
      }
    }
  // Dropout keeps one batch on any number of threads.
  EXPECT_EQ(train(2, windows, false, 0.1).second.row_shares, 1);
  // So does bf16 from 8M parameters (d=512, 3 layers: 9.4M), while fp32 splits it.
  torch::set_num_threads(2);
  auto big = testing::tiny_config();
  big.d_model = 512;
  big.n_heads = 8;
  big.n_layers = 3;
  big.d_ff = 2048;
  for (bool bf16 : {true, false}) {
    model::Transformer m(big);
    auto config = small_lm_train(1);
    config.warmup = 0;
    config.bf16 = bf16;
    Trainer trainer(config, dir.path() / std::to_string(run++));
    trainer.quiet = true;
    EXPECT_EQ(trainer.fit(m, windows, false).row_shares, bf16 ? 1 : 2);
  }
  torch::set_num_threads(saved);
}

TEST(Trainer, NonFiniteLossStopsAndKeepsTheLastCheckpoint) {
  // With dropout (one batch) and without it on two threads (the rows split between them).
  const int saved = torch::get_num_threads();
  torch::set_num_threads(2);
  for (double dropout : {0.1, 0.0}) {
    testing::TempDir dir;
    TokenWindows data(cyclic_tokens(400), cyclic_tokens(100), 10, 8, 4, 4, 5);
    auto m = fresh_model(dropout);
    auto config = small_lm_train(6);
    config.checkpoint_every = 2;
    // Poison the model after step 3 (via the eval hook): the next loss is NaN.
    config.eval_every = 3;
    Trainer t(config, dir.path());
    t.quiet = true;
    testing::expect_error_containing(
        [&] {
          t.fit(m, data, false, [](model::Transformer& model, int64_t, Json&) {
            torch::NoGradGuard no_grad;
            model->token_embedding->weight.fill_(std::numeric_limits<float>::quiet_NaN());
          });
        },
        "loss is NaN at step 4");
    EXPECT_EQ(read_file(dir.path() / "checkpoints" / "latest"), "step_00000002\n");
    auto loaded = model::load_model(model_folder(dir.path()));
    EXPECT_FALSE(torch::isnan(loaded.model->token_embedding->weight).any().item<bool>());
  }
  torch::set_num_threads(saved);
}

TEST(Trainer, SigintCheckpointsAndStops) {
  testing::TempDir dir;
  TokenWindows data(cyclic_tokens(400), cyclic_tokens(100), 10, 8, 4, 4, 5);
  auto m = fresh_model();
  install_interrupt_handler();
  Trainer t(small_lm_train(8), dir.path());
  t.quiet = true;
  // The eval hook at step 3 delivers a real SIGINT; the trainer must save step 3 and stop.
  auto result = t.fit(m, data, false, [](model::Transformer&, int64_t, Json&) { std::raise(SIGINT); });
  std::signal(SIGINT, SIG_DFL);
  EXPECT_TRUE(result.interrupted);
  EXPECT_EQ(result.steps_done, 3);
  EXPECT_EQ(read_file(dir.path() / "checkpoints" / "latest"), "step_00000003\n");
}

// Trains `model` on `data` into `run` without a progress bar.
TrainResult fit_quietly(const TrainConfig& config, const std::filesystem::path& run, model::Transformer& model, const BatchSource& data,
                        bool resume) {
  Trainer trainer(config, run);
  trainer.quiet = true;
  return trainer.fit(model, data, resume);
}

std::vector<std::string> folder_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A run folder and the token stream of the tests on run folders.
class TrainerRun : public ::testing::Test {
 protected:
  testing::TempDir dir;
  TokenWindows data{cyclic_tokens(400), cyclic_tokens(100), 10, 8, 4, 4, 5};
};

// Staging folders left by kills during a checkpoint write used to count as checkpoints, so
// pruning deleted the real ones and `latest` pointed at a missing folder.
TEST_F(TrainerRun, PruningIgnoresAndRemovesStaleStagingFolders) {
  auto config = small_lm_train(20);
  config.checkpoint_every = 5;
  config.keep_checkpoints = 2;
  config.stop_after = 10;
  auto m = fresh_model();
  fit_quietly(config, dir.path(), m, data, false);
  for (const char* stale : {"step_00000020.tmp-999999-0", "step_00000020.tmp-999999-1"})
    write_file_atomic(dir.path() / "checkpoints" / stale / "model.safetensors", "partial");
  write_file_atomic(dir.path() / "config.json.tmp-999999-2", "partial");
  config.stop_after = 5;
  fit_quietly(config, dir.path(), m, data, true);
  EXPECT_EQ(folder_names(dir.path() / "checkpoints"), (std::vector<std::string>{"latest", "step_00000010", "step_00000015"}));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "config.json.tmp-999999-2"));
  config.stop_after = 0;
  EXPECT_EQ(fit_quietly(config, dir.path(), m, data, true).steps_done, 20);
}

// A fresh run into a folder of an earlier, longer run used to keep the old checkpoints and
// prune its own, leaving `latest` pointing at a missing folder.
TEST_F(TrainerRun, AFreshRunReplacesTheEarlierRunsCheckpoints) {
  auto config = small_lm_train(40);
  config.checkpoint_every = 5;
  auto m = fresh_model();
  fit_quietly(config, dir.path(), m, data, false);
  config.steps = 10;
  auto again = fresh_model();
  fit_quietly(config, dir.path(), again, data, false);
  EXPECT_EQ(folder_names(dir.path() / "checkpoints"), (std::vector<std::string>{"latest", "step_00000005", "step_00000010"}));
  EXPECT_TRUE(run_complete(dir.path(), 10));
  EXPECT_EQ(read_json_file(dir.path() / "results.json").at("steps_done"), 10);
}

// Resuming a finished run used to rewrite results.json with a train loss of 0 and no val_loss.
TEST_F(TrainerRun, ResumingAFinishedRunChangesNothing) {
  auto m = fresh_model();
  const auto done = fit_quietly(small_lm_train(6), dir.path(), m, data, false);
  const std::string results = read_file(dir.path() / "results.json"), metrics = read_file(dir.path() / "metrics.jsonl");
  const auto resumed = fit_quietly(small_lm_train(6), dir.path(), m, data, true);
  EXPECT_EQ(read_file(dir.path() / "results.json"), results);
  EXPECT_EQ(read_file(dir.path() / "metrics.jsonl"), metrics);
  EXPECT_EQ(resumed.steps_done, 6);
  EXPECT_FALSE(resumed.interrupted);
  EXPECT_DOUBLE_EQ(resumed.final_train_loss, done.final_train_loss);
  EXPECT_DOUBLE_EQ(resumed.val_loss, done.val_loss);
}

// Resuming with other settings used to be accepted silently, and config.json then claimed
// the new ones for the whole run.
TEST_F(TrainerRun, ResumeRefusesSettingsThatBreakExactContinuation) {
  auto config = small_lm_train(8);
  config.stop_after = 3;
  auto m = fresh_model();
  fit_quietly(config, dir.path(), m, data, false);
  const std::string written = read_file(dir.path() / "config.json");
  auto resume_with = [&](TrainConfig changed, model::Transformer& model) {
    return fit_quietly(changed, dir.path(), model, data, true);
  };
  auto changed = config;
  changed.batch = 8;
  changed.lr = 2e-2;
  testing::expect_error_containing([&] { resume_with(changed, m); }, "batch 4 -> 8, lr 0.01 -> 0.02");
  changed = config;
  changed.seed = 7;
  testing::expect_error_containing([&] { resume_with(changed, m); }, "seed 0 -> 7");
  changed = config;
  changed.steps = 6;
  testing::expect_error_containing([&] { resume_with(changed, m); }, "steps 8 -> 6 (a resume may only lengthen the run)");
  auto wider_config = testing::tiny_config(model::AttentionGate::elementwise);
  wider_config.d_model = 16;
  model::Transformer wider(wider_config);
  testing::expect_error_containing([&] { resume_with(config, wider); }, "model.d_model 8 -> 16");
  EXPECT_EQ(read_file(dir.path() / "config.json"), written);
  // Settings that leave the weights alone may change; a longer run is recorded.
  changed = config;
  changed.steps = 10;
  changed.eval_every = 2;
  changed.stop_after = 0;
  EXPECT_EQ(resume_with(changed, m).steps_done, 10);
  const auto recorded = read_json_file(dir.path() / "config.json");
  EXPECT_EQ(recorded.at("train").at("steps"), 10);
  EXPECT_EQ(recorded.at("resumed").dump(), R"([{"changed":{"eval_every":{"from":3,"to":2},"steps":{"from":8,"to":10}},"step":3}])");
}

// Two trainers writing one run folder used to mix their checkpoints; the second is refused
// while the first lives, and a lock left by a killed one is taken over.
TEST_F(TrainerRun, ARunFolderHasOneWriterAtATime) {
  auto m = fresh_model();
  {
    const int fd = ::open((dir.path() / "lock").c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    const std::string pid = std::to_string(::getpid()) + "\n";
    ASSERT_EQ(::write(fd, pid.data(), pid.size()), static_cast<ssize_t>(pid.size()));
    testing::expect_error_containing([&] { fit_quietly(small_lm_train(4), dir.path(), m, data, false); },
                                     dir.path().string() + " is in use: process " + std::to_string(::getpid()) + " is training into it");
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "checkpoints"));
    ::close(fd);
  }
  write_file_atomic(dir.path() / "lock", "999999\n");  // left by a process that was killed
  EXPECT_EQ(fit_quietly(small_lm_train(4), dir.path(), m, data, false).steps_done, 4);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "lock"));
}

TEST(Trainer, GradientAccumulationAndBf16TrainDownhill) {
  for (const bool bf16 : {false, true}) {
    testing::TempDir dir;
    TokenWindows data(cyclic_tokens(400), cyclic_tokens(100), 10, 8, 2, 4, 5);
    auto m = fresh_model();
    auto config = small_lm_train(30);
    config.grad_accum = 2;
    config.bf16 = bf16;
    config.eval_every = 0;
    Trainer t(config, dir.path());
    t.quiet = true;
    const double before = Trainer::evaluate(m, data, bf16);
    auto result = t.fit(m, data, false);
    // The cyclic stream is easy to learn: 30 steps at lr 1e-2 must lower held-out loss.
    EXPECT_LT(result.val_loss, before - 0.3) << (bf16 ? "bf16" : "fp32");
    // Weights stay float32 under autocast.
    EXPECT_EQ(m->token_embedding->weight.scalar_type(), torch::kFloat32);
  }
}

// A small regression module for objective-level tests: y = W x + b, every parameter used.
struct Regression : torch::nn::Module {
  Regression() {
    torch::manual_seed(3);
    linear = register_module("linear", torch::nn::Linear(4, 2));
  }
  torch::nn::Linear linear{nullptr};
};

struct RegressionData {
  torch::Tensor x = torch::linspace(-1, 1, 32).reshape({8, 4});
  torch::Tensor y = torch::stack({torch::linspace(0, 1, 8), torch::linspace(1, -1, 8)}, 1);
};

// Mean squared error over `rows` of the data, as a trainer objective.
Objective regression_objective(Regression& module, const RegressionData& data, const std::function<torch::Tensor(int64_t)>& rows) {
  Objective o;
  o.micro_step = [&module, &data, rows](int64_t index) {
    const auto r = rows(index);
    return MicroStep{torch::mse_loss(module.linear(data.x.index_select(0, r)), data.y.index_select(0, r)), r.size(0)};
  };
  o.save = [&module](const std::filesystem::path& dir) { save_safetensors(dir / "model.safetensors", module_tensors(module)); };
  return o;
}

TrainConfig regression_train(int64_t steps) {
  TrainConfig c;
  c.steps = steps;
  c.warmup = 0;
  c.lr = 0.05;
  c.eval_every = 0;
  c.checkpoint_every = 0;
  c.log_every = 1;
  return c;
}

TEST(Trainer, GradientAccumulationEqualsOneLargeBatch) {
  const RegressionData data;
  testing::TempDir dir;
  // Two micro-batches of 4 rows per step (equal halves, so the mean of their means is the mean).
  Regression accumulated;
  auto config = regression_train(3);
  config.grad_accum = 2;
  Trainer a(config, dir.path() / "a");
  a.quiet = true;
  a.fit(accumulated, regression_objective(accumulated, data, [](int64_t i) { return torch::arange(4 * (i % 2), 4 * (i % 2) + 4); }), false);
  // One micro-batch of all 8 rows.
  Regression whole;
  Trainer b(regression_train(3), dir.path() / "b");
  b.quiet = true;
  b.fit(whole, regression_objective(whole, data, [](int64_t) { return torch::arange(8); }), false);
  EXPECT_TRUE(torch::allclose(accumulated.linear->weight, whole.linear->weight, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(accumulated.linear->bias, whole.linear->bias, 1e-6, 1e-7));
  EXPECT_FALSE(torch::allclose(whole.linear->weight, Regression().linear->weight));  // it trained
}

TEST(Trainer, AParameterLeftWithoutAGradientKeepsMovingAsWithAZeroGradient) {
  // The Trainer zeroes gradients between steps: a parameter that had one and gets none in a
  // step still takes AdamW's step with a zero gradient (its momentum and decay), where
  // dropping the gradients (PyTorch's set_to_none) would skip it. `extra` is in the loss at
  // step 1 only.
  const RegressionData data;
  struct WithExtra : Regression {
    WithExtra() { extra = register_parameter("extra", torch::full({2, 2}, 0.5)); }
    torch::Tensor extra;
  };
  testing::TempDir dir;
  WithExtra module;
  torch::Tensor after_step_one;
  Objective o = regression_objective(module, data, [](int64_t) { return torch::arange(8); });
  const auto plain = o.micro_step;
  o.micro_step = [&module, &after_step_one, plain](int64_t index) {
    auto step = plain(index);
    if (index == 0) step.loss = step.loss + module.extra.pow(2).sum();
    if (index == 1) after_step_one = module.extra.detach().clone();
    return step;
  };
  Trainer t(regression_train(2), dir.path());
  t.quiet = true;
  t.fit(module, o, false);
  ASSERT_TRUE(after_step_one.defined());
  EXPECT_FALSE(torch::allclose(after_step_one, torch::full({2, 2}, 0.5)));  // step 1 moved it
  // Step 2 (no gradient): AdamW with g = 0 moves it on by lr * (m / (sqrt(v) + eps) + decay * w).
  EXPECT_GT((module.extra.detach() - after_step_one).abs().min().item<double>(), 1e-3);
}

TEST(Trainer, ClippingAndDecoupledDecayOfMatricesOnlyMatchAHandComputedAdamWStep) {
  const RegressionData data;
  Regression module;
  const auto w0 = module.linear->weight.detach().clone(), b0 = module.linear->bias.detach().clone();
  // The gradient at the start, by autograd on a copy, and its global norm.
  Regression probe;
  torch::mse_loss(probe.linear(data.x), data.y).backward();
  const auto gw = probe.linear->weight.grad(), gb = probe.linear->bias.grad();
  const double norm = std::sqrt(gw.pow(2).sum().item<double>() + gb.pow(2).sum().item<double>());
  const double clip = norm / 4;  // the clip binds: gradients are scaled by 1/4

  testing::TempDir dir;
  auto config = regression_train(1);
  config.grad_clip = clip;
  config.weight_decay = 0.5;
  config.adam_eps = 1.0;  // Adam's first step is lr g / (|g| + eps): with eps 1 the gradient's scale shows
  Trainer t(config, dir.path());
  t.quiet = true;
  t.fit(module, regression_objective(module, data, [](int64_t) { return torch::arange(8); }), false);
  const auto log = Json::parse(read_file(dir.path() / "metrics.jsonl").substr(0, read_file(dir.path() / "metrics.jsonl").find('\n')));
  const double lr = log.at("lr").get<double>();
  EXPECT_NEAR(log.at("grad_norm").get<double>(), norm, 1e-6 * norm);  // the norm before clipping

  const auto step = [&](const torch::Tensor& p0, const torch::Tensor& g, double decay) {
    const auto clipped = g * (clip / (norm + 1e-6));  // torch's clip_grad_norm_ scales by clip / (norm + 1e-6)
    return p0 * (1 - lr * decay) - lr * clipped / (clipped.abs() + config.adam_eps);
  };
  EXPECT_TRUE(torch::allclose(module.linear->weight, step(w0, gw, 0.5), 1e-5, 1e-7));  // a matrix: decayed
  EXPECT_TRUE(torch::allclose(module.linear->bias, step(b0, gb, 0.0), 1e-5, 1e-7));    // a vector: never decayed
}

TEST(Trainer, LossSpikesCountStepsAboveTheFactorTimesTheRunningMeanAfterWarmup) {
  // Scripted step losses; the loss is a constant plus 0 x the weights, so training does not alter it.
  const std::vector<double> losses = {1.0, 4.0, 1.0, 1.0, 1.6, 1.4, 3.0, 1.0};
  Regression module;
  Objective o;
  o.micro_step = [&](int64_t index) {
    return MicroStep{module.linear->weight.sum() * 0 + losses[static_cast<size_t>(index)], 1};
  };
  o.save = [&module](const std::filesystem::path& dir) { save_safetensors(dir / "model.safetensors", module_tensors(module)); };
  testing::TempDir dir;
  auto config = regression_train(static_cast<int64_t>(losses.size()));
  config.warmup = 2;
  config.spike_factor = 1.5;
  Trainer t(config, dir.path());
  t.quiet = true;
  const auto result = t.fit(module, o, false);
  // By hand: EMA starts at the first loss, then 0.98 EMA + 0.02 loss. Step 2 (4.0) is in the
  // warmup; EMA after step 4 = 1.0576, so step 5 (1.6 > 1.586) is a spike, step 6 (1.4) is
  // not, step 7 (3.0) is.
  double ema = 0;
  int64_t expected = 0;
  for (size_t i = 0; i < losses.size(); ++i) {
    if (static_cast<int64_t>(i + 1) > config.warmup && ema > 0 && losses[i] > 1.5 * ema) ++expected;
    ema = ema == 0 ? losses[i] : 0.98 * ema + 0.02 * losses[i];
  }
  EXPECT_EQ(expected, 2);
  EXPECT_EQ(result.loss_spikes, 2);
}

TEST(Schedule, WarmupThenCosine) {
  EXPECT_DOUBLE_EQ(cosine_lr(5, 100, 10, 1.0, 0.1), 0.5);
  EXPECT_DOUBLE_EQ(cosine_lr(10, 100, 10, 1.0, 0.1), 1.0);
  EXPECT_NEAR(cosine_lr(55, 100, 10, 1.0, 0.1), 0.55, 1e-12);  // halfway: (1 + 0.1) / 2
  EXPECT_NEAR(cosine_lr(100, 100, 10, 1.0, 0.1), 0.1, 1e-12);
}

TEST(LmLoss, MaskedMeanOfCrossEntropy) {
  // Uniform logits over 4 tokens: every position costs ln 4; the mask counts 3 of 4.
  auto logits = torch::zeros({1, 4, 4});
  auto targets = torch::tensor({{0, 1, 2, 3}}, torch::kLong);
  auto mask = torch::tensor({{0.0, 1.0, 1.0, 1.0}});
  auto loss = lm_loss(logits, targets, mask);
  EXPECT_NEAR(loss.loss.item<double>(), std::log(4.0), 1e-6);
  EXPECT_NEAR(loss.sum.item<double>(), 3 * std::log(4.0), 1e-5);
  // A confident correct logit at the masked-out position does not change the loss.
  logits[0][0][0] = 50;
  EXPECT_NEAR(lm_loss(logits, targets, mask).loss.item<double>(), std::log(4.0), 1e-6);
  testing::expect_error_containing([&] { lm_loss(logits, targets, torch::zeros({1, 4})); }, "no counted target");
}

TEST(TrainConfig, ValidationNamesTheField) {
  auto c = small_lm_train(10);
  c.warmup = 10;
  testing::expect_error_containing([&] { c.validate(); }, "warmup must be in [0, steps)");
  c = small_lm_train(10);
  c.lr = -1;
  testing::expect_error_containing([&] { c.validate(); }, "lr must be a positive number");
}

// Every setting survives writing and reading: each field changed from its default comes back.
TEST(TrainConfig, EverySettingRoundTripsThroughJson) {
  const TrainConfig defaults;
  Json json = defaults.to_json();
  EXPECT_EQ(json.size(), 20u);
  for (auto& [key, value] : json.items()) {
    if (value.is_boolean()) value = !value.get<bool>();
    else if (value.is_number_float()) value = value.get<double>() + 0.25;
    else value = value.get<int64_t>() + 3;
  }
  const auto read = TrainConfig::from_json(json, "cfg.json train");
  EXPECT_EQ(read.to_json(), json);
  EXPECT_EQ(read.steps, defaults.steps + 3);
  EXPECT_EQ(read.bf16, !defaults.bf16);
  EXPECT_DOUBLE_EQ(read.spike_factor, defaults.spike_factor + 0.25);
}

TEST(TrainConfig, UnknownKeysAndNonIntegralCountsAreErrors) {
  Json json = TrainConfig{}.to_json();
  json["stpes"] = 10;
  testing::expect_error_containing([&] { TrainConfig::from_json(json, "cfg.json train"); }, "cfg.json train: unknown field 'stpes'");
  json = TrainConfig{}.to_json();
  json["batch"] = 4.5;
  testing::expect_error_containing([&] { TrainConfig::from_json(json, "cfg.json train"); }, "field 'batch' must be an integer");
}

}  // namespace
}  // namespace garden::train
