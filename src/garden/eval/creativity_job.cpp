#include "garden/eval/creativity_job.h"

#include <fmt/core.h>

#include "garden/core/error.h"
#include "garden/core/files.h"

namespace garden::eval {

CreativityReport run_creativity(const CreativityJob& job) {
  if (job.model.empty()) usage_error("--model is required");
  if (job.sampling.temperature < 0) usage_error(fmt::format("--temperature {} must be >= 0 (0 = greedy)", job.sampling.temperature));
  if (job.train_prompts < 0) usage_error(fmt::format("--train-prompts {} must be >= 0", job.train_prompts));
  if (!job.out.empty())
    refuse_foreign_output_file(job.out, "an earlier answers file of garden creative eval", [](const std::filesystem::path& p) {
      const auto text = read_file(p);
      return text.empty() || text.rfind("{\"answer\"", 0) == 0;
    });
  auto loaded = train::load_creative_model(job.model);
  loaded.model->to(job.device);
  const auto data = job.task.empty() ? text::creative::generate(loaded.task) : text::creative::read_task(job.task);
  if (data.vocab.size() != loaded.model->config().vocab)
    throw Error(fmt::format("--task-dir {}: a task of {} tokens for a model of {}: not the task it was trained on", job.task, data.vocab.size(),
                            loaded.model->config().vocab));
  const auto prompts = train::test_prompts(data);
  const auto outputs = train::sample_creative(loaded.model, data, loaded.options, prompts, job.sampling);
  const auto memory = text::creative::memory_set(data);
  CreativityReport report;
  report.scores = creativity_scores(data, memory, outputs);
  if (job.train_prompts > 0) {
    const auto n = std::min(data.train.size(), static_cast<size_t>(job.train_prompts));
    std::vector<text::creative::Example> examples(data.train.begin(), data.train.begin() + static_cast<std::ptrdiff_t>(n));
    std::vector<std::pair<std::string, int64_t>> train_prompts;
    for (const auto& ex : examples) train_prompts.emplace_back(ex.hash, ex.marker);
    auto greedy = job.sampling;
    greedy.temperature = 0;
    report.train_memorization = train_memorization(train::sample_creative(loaded.model, data, loaded.options, train_prompts, greedy), examples);
  }
  if (!job.out.empty()) {
    std::string text;
    for (size_t i = 0; i < outputs.size(); ++i) {
      const auto& o = outputs[i];
      const bool coherent = o.ended && text::creative::coherent(data, o.answer);
      text += Json{{"answer", data.vocab.text(o.answer)}, {"hash", prompts[i].first}, {"ended", o.ended}, {"coherent", coherent},
                   {"memorized", coherent && memory.count(text::creative::memory_key(data, o.answer)) > 0}}
                  .dump() +
              "\n";
    }
    write_file_atomic(job.out, text);
  }
  return report;
}

}  // namespace garden::eval
