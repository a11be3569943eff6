#include "garden/train/creative_jobs.h"

#include <fmt/core.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/train/run_folder.h"

namespace garden::train {

void generate_creative_task(const text::creative::TaskOptions& options, const std::string& out) {
  if (out.empty()) usage_error("--out is required");
  options.validate();
  claim_output_dir(out, "garden creative generate");
  text::creative::write_task(text::creative::generate(options), out);
}

Json creative_train_defaults() {
  TrainConfig c;
  c.steps = 3000;
  c.batch = 64;
  c.lr = 1e-3;
  c.warmup = 150;
  c.weight_decay = 0.0;
  c.eval_every = 0;
  c.checkpoint_every = 500;
  return c.to_json();
}

TrainResult train_creative_job(const CreativeTrainJob& job) {
  if (job.task.empty()) usage_error("--task-dir is required (garden creative generate writes one)");
  Json train_json = creative_train_defaults();
  refuse_unknown_keys(job.train_overrides, train_json, "creative train flags");
  train_json.update(job.train_overrides);
  auto config = TrainConfig::from_json(train_json, "creative train");
  config.stop_after = job.run.stop_after;
  config.validate("creative train");
  job.options.validate();
  const auto data = text::creative::read_task(job.task);
  claim_run_folder(job.run.out, "garden creative train", job.run.resume);
  // Initial weights from the run's seed; a resumed run replaces them with its checkpoint's.
  torch::manual_seed(config.seed);
  auto model = new_creative_model(data, job.options);
  model->to(job.device);
  fmt::print(stderr, "creative: {} with a {} prefix on {} ({} training examples), {} parameters\n", to_string(job.options.objective),
             to_string(job.options.prefix), to_string(data.options.task), data.train.size(), model->parameter_count());
  return train_creative(model, data, job.options, config, job.run.out, job.run.resume, false);
}

}  // namespace garden::train
