#include "garden/eval/adaptive_classification.h"

#include <fmt/core.h>

#include <algorithm>
#include <numeric>

#include "garden/core/error.h"

namespace garden::eval {

namespace {

void check(const CascadeScores& s, const std::vector<int64_t>& labels) {
  if (s.widths.empty() || s.confidence.size() != s.widths.size() || s.predicted.size() != s.widths.size())
    throw Error("adaptive classification: one confidence and one prediction row per width are needed");
  for (size_t w = 0; w < s.widths.size(); ++w)
    if (s.confidence[w].size() != labels.size() || s.predicted[w].size() != labels.size())
      throw Error(fmt::format("adaptive classification: width {} scores {} examples, the labels {}", s.widths[w],
                              s.confidence[w].size(), labels.size()));
}

}  // namespace

CascadeOutcome run_cascade(const CascadeScores& scores, const std::vector<double>& thresholds, const std::vector<int64_t>& labels) {
  check(scores, labels);
  if (thresholds.size() != scores.widths.size())
    throw Error(fmt::format("adaptive classification: {} thresholds for {} widths", thresholds.size(), scores.widths.size()));
  CascadeOutcome out;
  const size_t last = scores.widths.size() - 1;
  int64_t correct = 0;
  double width_sum = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    size_t w = 0;
    while (w < last && scores.confidence[w][i] < thresholds[w]) ++w;
    out.stopped_at.push_back(static_cast<int64_t>(w));
    correct += scores.predicted[w][i] == labels[i] ? 1 : 0;
    width_sum += static_cast<double>(scores.widths[w]);
  }
  if (!labels.empty()) {
    out.accuracy = static_cast<double>(correct) / static_cast<double>(labels.size());
    out.expected_width = width_sum / static_cast<double>(labels.size());
  }
  return out;
}

std::vector<double> fit_cascade_thresholds(const CascadeScores& validation, const std::vector<int64_t>& labels, double target_accuracy) {
  check(validation, labels);
  std::vector<double> thresholds(validation.widths.size(), 0.0);
  for (size_t w = 0; w + 1 < validation.widths.size(); ++w) {
    const auto& confidence = validation.confidence[w];
    std::vector<size_t> order(labels.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return confidence[a] > confidence[b]; });
    // Walk down the confidences; a threshold may sit only between distinct values.
    double best = 1.5;  // never stop at this width
    int64_t correct = 0;
    for (size_t r = 0; r < order.size(); ++r) {
      correct += validation.predicted[w][order[r]] == labels[order[r]] ? 1 : 0;
      const bool boundary = r + 1 == order.size() || confidence[order[r + 1]] < confidence[order[r]];
      if (boundary && static_cast<double>(correct) >= target_accuracy * static_cast<double>(r + 1)) best = confidence[order[r]];
    }
    thresholds[w] = best;
  }
  return thresholds;
}

}  // namespace garden::eval
