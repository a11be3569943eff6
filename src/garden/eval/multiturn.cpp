#include "garden/eval/multiturn.h"

#include <algorithm>
#include <cmath>

#include "garden/core/error.h"

namespace garden::eval {

double percentile(std::vector<double> values, double q) {
  if (values.empty()) throw Error("percentile of an empty list");
  if (!(q >= 0 && q <= 100)) throw Error("percentile: q must be in [0, 100]");
  std::sort(values.begin(), values.end());
  const double index = q / 100.0 * static_cast<double>(values.size() - 1);
  const auto below = static_cast<size_t>(std::floor(index));
  const size_t above = std::min(below + 1, values.size() - 1);
  const double weight = index - static_cast<double>(below);
  // Written as NumPy's "linear" method writes it, so that equal neighbours give exactly
  // their value (no 0.9 x a + 0.1 x a rounding).
  return values[below] + (values[above] - values[below]) * weight;
}

ReliabilityStats instruction_stats(const std::vector<double>& scores) {
  if (scores.empty()) throw Error("instruction_stats: no scores");
  ReliabilityStats stats;
  double sum = 0;
  for (double s : scores) sum += s;
  stats.performance = sum / static_cast<double>(scores.size());
  stats.aptitude = percentile(scores, 90);
  stats.unreliability = stats.aptitude - percentile(scores, 10);
  return stats;
}

ReliabilityStats aggregate_stats(const std::map<std::string, std::vector<double>>& scores_by_instruction) {
  if (scores_by_instruction.empty()) throw Error("aggregate_stats: no instructions");
  ReliabilityStats mean;
  for (const auto& [id, scores] : scores_by_instruction) {
    if (scores.empty()) throw Error("aggregate_stats: instruction " + id + " has no scores");
    const auto s = instruction_stats(scores);
    mean.performance += s.performance;
    mean.aptitude += s.aptitude;
    mean.unreliability += s.unreliability;
  }
  const auto n = static_cast<double>(scores_by_instruction.size());
  mean.performance /= n;
  mean.aptitude /= n;
  mean.unreliability /= n;
  return mean;
}

double relative_drop(double before, double after) { return before == 0 ? 0.0 : 1.0 - after / before; }

}  // namespace garden::eval
