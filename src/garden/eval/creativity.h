// The scores of "Roll the dice" (arXiv:2504.15266, Sec. 2; the official eval_qa.py) over N
// generations, one per test prompt: coherence (coherent / N), memorisation (test_seen_score:
// generations that reproduce a training answer by the task's rule / N), diversity (distinct
// coherent output strings / N) and creativity (distinct coherent, non-memorised output strings
// / N). Torch-free.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/text/creative_tasks.h"

namespace garden::eval {

struct CreativityScores {
  int64_t n = 0;
  double coherence = 0, memorization = 0, diversity = 0, creativity = 0;
  Json to_json() const;
};

CreativityScores creativity_scores(const text::creative::TaskData& data, const std::set<std::string>& memory,
                                   const std::vector<text::creative::Output>& outputs);

// train_memorization_score: generations from the training examples' own prompts that
// reproduce that example's answer exactly, over their count.
double train_memorization(const std::vector<text::creative::Output>& outputs, const std::vector<text::creative::Example>& examples);

}  // namespace garden::eval
