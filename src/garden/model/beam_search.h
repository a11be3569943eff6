// Beam search: the `width` most likely continuations of each prompt, by the sum of their
// tokens' log-probabilities (no length penalty), as the model-collapse experiments decode
// (model-collapse.md: width 5, 64 new tokens per 64-token block). Many prompts decode as one
// batch of prompts x width rows that share a kv-cache, reordered to the surviving beams'
// parents after every step.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "garden/model/transformer.h"

namespace garden::model {

struct BeamOptions {
  int64_t width = 5;
  int64_t max_new_tokens = 64;
  int64_t eos_id = -1;  // a beam that emits it is finished (-1: none; every beam runs to the end)
};

struct Beam {
  std::vector<int64_t> tokens;  // the continuation (ending in EOS when it finished)
  double log_prob = 0;          // natural log, summed over `tokens`
};

// The search itself, over any model: `first` holds each prompt's next-token log-probs
// [P, V]; `step(parents, tokens)` extends row parents[i] of the previous step's rows by
// tokens[i], for the P x width rows of this step (row p * width + j belongs to prompt p;
// before the first call the rows are the P prompts themselves), and returns their next-token
// log-probs [P * width, V]. Returns each prompt's `width` best beams, most likely first.
using BeamStep = std::function<torch::Tensor(const std::vector<int64_t>& parents, const std::vector<int64_t>& tokens)>;
std::vector<std::vector<Beam>> beam_search(const torch::Tensor& first, const BeamStep& step, const BeamOptions& options);

// Beam search with a transformer (causal mask, eval mode for the call): prompts of equal
// length decode together, `batch_prompts` at a time.
std::vector<std::vector<Beam>> beam_search(Transformer& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const BeamOptions& options, int64_t batch_prompts = 32);

}  // namespace garden::model
