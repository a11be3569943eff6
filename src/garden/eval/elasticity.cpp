#include "garden/eval/elasticity.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cmath>

#include "garden/core/error.h"
#include "garden/eval/compression.h"
#include "garden/model/model_folder.h"
#include "garden/text/corpus.h"
#include "garden/train/run_folder.h"

namespace garden::eval {

namespace fs = std::filesystem;

double ElasticityRow::ratio() const { return std::abs(delta_held_out) / std::abs(delta_pretrain); }

Json ElasticityReport::to_json() const {
  Json rows_json = Json::array();
  for (const auto& r : rows)
    rows_json.push_back({{"size", r.size}, {"delta_align", r.delta_aligned}, {"delta_held", r.delta_held_out}, {"delta_pretrain", r.delta_pretrain}});
  return {{"rates", {{"aligned", rate_aligned}, {"held_out", rate_held_out}, {"pretrain", rate_pretrain}}}, {"probe", rows_json}, {"k", k}};
}

namespace {

struct Rates {
  double aligned, held_out, pretrain;
};

Rates rates_of(const fs::path& folder, const ElasticitySets& sets) {
  auto m = model::load_model(folder);
  const auto tokenizer = text::load_tokenizer(m.tokenizer_spec);
  return {compression_rate_of_lines(m.model, *tokenizer, sets.aligned).bits_per_token,
          compression_rate_of_lines(m.model, *tokenizer, sets.held_out).bits_per_token,
          compression_rate_of_lines(m.model, *tokenizer, sets.pretrain).bits_per_token};
}

}  // namespace

ElasticityReport elasticity_probe(const fs::path& model, const ElasticitySets& sets, const ElasticityOptions& options, const fs::path& work) {
  if (sets.aligned.empty() || sets.held_out.empty() || sets.pretrain.empty())
    throw Error("elasticity probe: the aligned, held-out and pre-training sets must each hold a line");
  if (options.sizes.empty()) usage_error("elasticity probe: give at least one perturbation size");
  if (options.repeats < 1) usage_error(fmt::format("elasticity probe: --repeats {} must be >= 1", options.repeats));
  for (const int64_t n : options.sizes) {
    if (n < 1) usage_error(fmt::format("elasticity probe: perturbation size {} must be >= 1", n));
    if (n * options.repeats > static_cast<int64_t>(sets.perturbation.size()))
      throw Error(fmt::format("elasticity probe: {} repeat(s) of {} perturbation lines need {}, the perturbation set has {}", options.repeats, n,
                              n * options.repeats, sets.perturbation.size()));
  }
  const auto tokenizer = text::load_tokenizer(model::load_model(model).tokenizer_spec);
  const Rates before = rates_of(model, sets);
  ElasticityReport report;
  report.rate_aligned = before.aligned;
  report.rate_held_out = before.held_out;
  report.rate_pretrain = before.pretrain;
  const double pretrain_size = sets.pretrain_size > 0 ? sets.pretrain_size : static_cast<double>(sets.pretrain.size());
  const double aligned_size = sets.aligned_size > 0 ? sets.aligned_size : static_cast<double>(sets.aligned.size());
  report.k = pretrain_size / aligned_size;
  for (const int64_t n : options.sizes) {
    ElasticityRow row{n};
    for (int64_t r = 0; r < options.repeats; ++r) {
      const auto first = sets.perturbation.begin() + static_cast<std::ptrdiff_t>(r * n);
      const std::vector<std::string> lines(first, first + static_cast<std::ptrdiff_t>(n));
      const fs::path dir = work / fmt::format("perturb-{}-{}", n, r);
      auto settings = options.fine_tune;
      settings.seed += static_cast<uint64_t>(r);
      train::fine_tune_folder(model, train::line_token_rows(*tokenizer, lines, options.max_tokens), settings, dir);
      const Rates after = rates_of(train::model_folder(dir), sets);
      fs::remove_all(dir);
      row.delta_aligned += (after.aligned - before.aligned) / static_cast<double>(options.repeats);
      row.delta_held_out += (after.held_out - before.held_out) / static_cast<double>(options.repeats);
      row.delta_pretrain += (after.pretrain - before.pretrain) / static_cast<double>(options.repeats);
    }
    report.rows.push_back(row);
  }
  return report;
}

ElasticityReport run_elasticity(const ElasticityJob& job) {
  ElasticitySets sets;
  sets.aligned = text::read_text_documents(job.aligned, text::TextUnit::line);
  sets.held_out = text::read_text_documents(job.held_out, text::TextUnit::line);
  sets.pretrain = text::read_text_documents(job.pretrain, text::TextUnit::line);
  sets.perturbation = text::read_text_documents(job.perturbation, text::TextUnit::line);
  for (const auto& [path, lines] : {std::pair{job.aligned, &sets.aligned}, std::pair{job.held_out, &sets.held_out},
                                    std::pair{job.pretrain, &sets.pretrain}, std::pair{job.perturbation, &sets.perturbation}})
    if (lines->empty()) throw Error(path + ": no lines");
  sets.pretrain_size = job.pretrain_size;
  sets.aligned_size = job.aligned_size;
  // The perturbed copies are this run's own scratch, under the system's temporary folder.
  const fs::path work = fs::temp_directory_path() / fmt::format("garden-elasticity-{}", ::getpid());
  fs::remove_all(work);
  struct RemoveAtExit {
    fs::path dir;
    ~RemoveAtExit() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{work};
  return elasticity_probe(train::model_folder(job.model), sets, job.options, work);
}

}  // namespace garden::eval
