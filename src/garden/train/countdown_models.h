// The models of the RLVR reproduction's countdown-3 task (rlvr-passk.md, "Small-scale
// reproduction"), each an artifact built once into the cache:
//   base     a byte-level decoder pre-trained from scratch on noisy answers (a hitting template
//            with probability hit_rate, else one from the skewed prior, right or wrong) of every
//            template but a*(b+c), which it never sees: a capability the base lacks;
//   teacher  the base fine-tuned on oracle answers of all eight templates.
// The held-out problems are never trained on, by either model or by anything started from them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/text/countdown.h"
#include "garden/train/rlvr.h"

namespace garden::train {

// The held-out set every countdown model is kept away from.
struct CountdownSplit {
  int64_t held_out = 200;       // evaluation problems
  int64_t withheld_only = 30;   // of which solvable by a*(b+c) alone
  uint64_t seed = 20250418;     // fixed: every run and seed evaluates the same problems
  std::vector<text::countdown::Problem> held_out_problems() const;
  Json to_json() const;
};

struct CountdownModelOptions {
  int64_t examples = 150000;  // base pre-training answers (one pass)
  double hit_rate = 0.3;
  int64_t d_model = 128, layers = 4, heads = 4;  // about 0.8M parameters with bytes
  int64_t batch = 64;
  double lr = 1e-3;
  int64_t teacher_examples = 32000;  // oracle answers the teacher is fine-tuned on (one pass)
  uint64_t seed = 0;
  void validate() const;
  Json to_json() const;
};

struct CountdownModels {
  std::filesystem::path base, teacher;  // model folders (byte tokenizer)
  bool built = false;                   // this call trained one of them
  double base_seconds = 0, teacher_seconds = 0;  // training time, recorded when built
};

CountdownModels ensure_countdown_models(const std::filesystem::path& cache, const CountdownSplit& split,
                                        const CountdownModelOptions& options, bool quiet);

// The task over `problems`: their prompts and text::countdown::verify.
VerifiableTask countdown_task(const std::vector<text::countdown::Problem>& problems);

}  // namespace garden::train
