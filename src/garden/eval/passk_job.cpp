#include "garden/eval/passk_job.h"

#include <fmt/core.h>

#include <chrono>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/progress.h"
#include "garden/eval/pass_at_k.h"
#include "garden/model/model_folder.h"
#include "garden/train/rl_jobs.h"
#include "garden/train/run_folder.h"

namespace garden::eval {

namespace fs = std::filesystem;

Json PassAtKReport::to_json() const {
  Json curve = Json::object();
  for (size_t i = 0; i < ks.size(); ++i) curve[fmt::format("pass@{}", ks[i])] = pass_at_k[i];
  return {{"problems", problems}, {"samples", samples}, {"pass_at_k", curve}, {"coverage", coverage},
          {"accuracy_histogram", accuracy_histogram}, {"seconds", seconds}};
}

PassAtKReport run_pass_at_k(const PassAtKJob& job) {
  if (job.n < 1) usage_error(fmt::format("--n {} must be >= 1", job.n));
  for (const int64_t k : job.ks)
    if (k < 1 || k > job.n) usage_error(fmt::format("--k {} must be in 1..n ({})", k, job.n));
  job.sampling.validate();
  // Each output may replace only an earlier one of this command (JSONL rows with these keys).
  const auto ours = [](const char* key) {
    return [key](const fs::path& file) {
      bool ok = true;
      for_each_jsonl_object(file, [&](const Json& row, int64_t) { ok = ok && row.contains("correct") && row.contains(key); });
      return ok;
    };
  };
  if (!job.out.empty()) refuse_foreign_output_file(job.out, "an earlier per-problem file of garden eval passk", ours("n"));
  if (!job.samples_out.empty())
    refuse_foreign_output_file(job.samples_out, "an earlier samples file of garden eval passk", ours("completion"));
  if (!job.out.empty() && job.out == job.samples_out) usage_error("--out and --samples-out must be different files");
  const auto task = train::read_task_file(job.tasks);
  auto loaded = model::load_model(train::model_folder(job.model), job.device);
  const auto tokenizer = text::load_tokenizer(loaded.tokenizer_spec);
  const auto started = std::chrono::steady_clock::now();
  Progress progress("passk", static_cast<int64_t>(task.prompts.size()), "problems");
  const auto completions = train::sample_completions(loaded.model, *tokenizer, task.prompts, job.n, job.sampling, job.seed,
                                              [&](int64_t done) { progress.update(done); });
  progress.finish();
  const auto correct = train::count_correct(task, completions);
  PassAtKReport report;
  report.ks = job.ks.empty() ? powers_of_two_up_to(job.n) : job.ks;
  report.pass_at_k = pass_at_k_curve(job.n, correct, report.ks);
  report.coverage = coverage(correct);
  report.accuracy_histogram = accuracy_histogram(job.n, correct);
  report.problems = static_cast<int64_t>(correct.size());
  report.samples = job.n;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!job.out.empty()) {
    std::string text;
    for (size_t i = 0; i < correct.size(); ++i)
      text += Json{{"problem", i}, {"prompt", task.prompts[i]}, {"correct", correct[i]}, {"n", job.n}}.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
    write_file_atomic(job.out, text);
  }
  if (!job.samples_out.empty()) {
    std::string text;
    for (size_t i = 0; i < completions.size(); ++i)
      for (const auto& completion : completions[i])
        text += Json{{"problem", i}, {"prompt", task.prompts[i]}, {"completion", completion}, {"correct", task.verify(i, completion)}}.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
    write_file_atomic(job.samples_out, text);
  }
  return report;
}

}  // namespace garden::eval
