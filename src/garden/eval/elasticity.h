// The elasticity probe of resist-alignment.md: perturb an aligned model by fine-tuning it on |D_t|
// lines of the opposite behaviour and measure how the compression rate (bits per token) moves on
// the alignment set D_a, on held-out lines of D_a's distribution and on a sample of the
// pre-training set D_p. The paper's theorem has the alignment distribution's rate rise about
// k = |D_p| / |D_a| times faster than the pre-training set's moves.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/train/rlvr.h"

namespace garden::eval {

struct ElasticitySets {
  std::vector<std::string> aligned, held_out, pretrain, perturbation;
  // Sizes of D_p and D_a for k (lines); 0 = the sizes of the given samples.
  double pretrain_size = 0, aligned_size = 0;
};

struct ElasticityOptions {
  std::vector<int64_t> sizes = {25, 50, 100};  // |D_t|
  // Perturbations per size, each on its own lines (repeat r of size n fine-tunes on perturbation
  // lines [r n, (r + 1) n)); the changes reported are their means.
  int64_t repeats = 1;
  train::FineTuneSettings fine_tune;
  int64_t max_tokens = 100;  // lines are coded and trained whole, cut at this many tokens
};

struct ElasticityRow {
  int64_t size = 0;
  double delta_aligned = 0, delta_held_out = 0, delta_pretrain = 0;  // bits per token, after - before
  double ratio() const;                                             // |delta_held_out| / |delta_pretrain|
};

struct ElasticityReport {
  double rate_aligned = 0, rate_held_out = 0, rate_pretrain = 0;  // the aligned model's, bits per token
  std::vector<ElasticityRow> rows;
  double k = 0;
  Json to_json() const;
};

// Fine-tunes copies of `model` under `work` (its scratch folder, removed as it goes).
ElasticityReport elasticity_probe(const std::filesystem::path& model, const ElasticitySets& sets, const ElasticityOptions& options,
                                  const std::filesystem::path& work);

struct ElasticityJob {
  std::string model, aligned, held_out, pretrain, perturbation;  // a model or run folder and four text files, one line each
  double pretrain_size = 0, aligned_size = 0;
  ElasticityOptions options;
};
ElasticityReport run_elasticity(const ElasticityJob& job);

}  // namespace garden::eval
