// The metrics of "LLMs Get Lost In Multi-Turn Conversation" (Laban et al., ICLR 2026;
// lost-in-conversation.md): each instruction is simulated N times, each simulation scored in
// [0, 100]; per instruction the averaged performance P (the mean), the aptitude A (the 90th
// percentile: the best case) and the unreliability U (90th minus 10th percentile: the spread
// between a good and a bad run). A setting's figures are the means over its instructions,
// and a degradation is the relative change from one setting to another. Percentiles
// interpolate linearly between order statistics (NumPy's default): the q-th percentile of
// sorted s_0..s_{N-1} sits at index q/100 x (N - 1).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace garden::eval {

// The q-th percentile (q in [0, 100]) of `values` (non-empty), linearly interpolated.
double percentile(std::vector<double> values, double q);

struct ReliabilityStats {
  double performance = 0;    // P: mean score
  double aptitude = 0;       // A: 90th percentile
  double unreliability = 0;  // U: 90th minus 10th percentile
};

// P, A and U of one instruction's simulation scores (non-empty).
ReliabilityStats instruction_stats(const std::vector<double>& scores);
// The means of P, A and U over instructions (each its own list of scores), as the paper
// aggregates a model x task x setting; an error for an empty map or an empty list.
ReliabilityStats aggregate_stats(const std::map<std::string, std::vector<double>>& scores_by_instruction);
// 1 - after / before: the relative drop from `before` to `after` (0 when before is 0).
double relative_drop(double before, double after);

}  // namespace garden::eval
