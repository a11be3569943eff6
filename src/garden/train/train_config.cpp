#include "garden/train/train_config.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "garden/core/error.h"

namespace garden::train {

void TrainConfig::validate(const std::string& where) const {
  auto require = [&](bool ok, const std::string& message) {
    if (!ok) usage_error(where + ": " + message);
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

namespace {

// Every setting of a TrainConfig by its JSON name, listed once for writing and reading, so
// the two cannot drift apart.
template <typename Config, typename Visit>
void visit_train_fields(Config& c, Visit&& visit) {
  visit("steps", c.steps);
  visit("batch", c.batch);
  visit("seq", c.seq);
  visit("grad_accum", c.grad_accum);
  visit("lr", c.lr);
  visit("min_lr_ratio", c.min_lr_ratio);
  visit("warmup", c.warmup);
  visit("weight_decay", c.weight_decay);
  visit("beta1", c.beta1);
  visit("beta2", c.beta2);
  visit("adam_eps", c.adam_eps);
  visit("grad_clip", c.grad_clip);
  visit("bf16", c.bf16);
  visit("eval_every", c.eval_every);
  visit("eval_windows", c.eval_windows);
  visit("checkpoint_every", c.checkpoint_every);
  visit("keep_checkpoints", c.keep_checkpoints);
  visit("log_every", c.log_every);
  visit("spike_factor", c.spike_factor);
  visit("seed", c.seed);
}

}  // namespace

Json TrainConfig::to_json() const {
  Json json = Json::object();
  visit_train_fields(*this, [&](const char* key, const auto& value) { json[key] = value; });
  return json;
}

TrainConfig TrainConfig::from_json(const Json& json, const std::string& where) {
  if (!json.is_object()) throw Error(where + ": train config must be a JSON object");
  TrainConfig c;
  refuse_unknown_keys(json, c.to_json(), where);
  visit_train_fields(c, [&](const char* key, auto& value) { read_field(json, key, value, where); });
  return c;
}

TrainConfig inner_run_config(int64_t steps, int64_t batch, double lr, uint64_t seed) {
  TrainConfig tc;
  tc.steps = std::max<int64_t>(1, steps);
  tc.batch = batch;
  tc.lr = lr;
  tc.warmup = tc.steps > 1 ? std::max<int64_t>(1, tc.steps / 20) : 0;
  tc.weight_decay = 0.0;
  tc.eval_every = 0;
  tc.checkpoint_every = 0;
  tc.keep_checkpoints = 1;
  tc.seed = seed;
  return tc;
}

}  // namespace garden::train
