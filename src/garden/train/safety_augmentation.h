// Safety-recovery data augmentation of "Safety Alignment Should Be Made More Than Just a Few
// Tokens Deep" (Qi et al., ICLR 2025, Sec. 3; spec: ../papers/shallow-alignment.md): from
// triples (instruction x, harmful response h, refusal r), each example is, with probability
// `probability`, x + h_<=k + r with k ~ U{1 .. min(max_prefix, |h|)} tokens, and otherwise
// x + r; the loss counts the refusal (and its end of text) only, never the prefix. Benign
// anchor rows mixed in beside them set the objective's alpha (the official batches take 4
// safety and 16 anchor examples).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "garden/text/tokenizer.h"
#include "garden/train/batches.h"

namespace garden::train {

struct SafetyTriple {
  std::string prompt, harmful, refusal;
};

struct SafetyAugmentation {
  double probability = 0.5;  // share of examples given a harmful prefix
  int64_t max_prefix = 100;  // tokens; the official code's bound
  void validate() const;
};

struct AugmentedRows {
  std::vector<TokenRow> rows;
  std::vector<int64_t> prefix_tokens;  // k of each row, 0 for x + r
};

// One row per triple, k drawn from a generator seeded `seed`.
AugmentedRows safety_augmentation_rows(const text::Tokenizer& tokenizer, const std::vector<SafetyTriple>& triples,
                                       const SafetyAugmentation& options, uint64_t seed);

// {"prompt", "harmful", "refusal"} rows of a JSONL file; a malformed line is an error naming it.
std::vector<SafetyTriple> read_safety_triples(const std::filesystem::path& file);

}  // namespace garden::train
