#include "garden/train/train_config.h"

#include <fmt/core.h>

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

}  // namespace garden::train
