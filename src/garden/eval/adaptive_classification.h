// Matryoshka adaptive classification (Kusupati et al., arXiv:2205.13147, section 4.2.1): a
// cascade of heads of growing width; an example stops at the first width whose top softmax
// probability reaches that width's threshold (the last width always answers). Thresholds are
// fit on validation data for a target accuracy; the result is accuracy against the expected
// width actually used.
#pragma once

#include <cstdint>
#include <vector>

namespace garden::eval {

// One row per width (in cascade order), one entry per example.
struct CascadeScores {
  std::vector<int64_t> widths;
  std::vector<std::vector<double>> confidence;  // the top softmax probability
  std::vector<std::vector<int64_t>> predicted;  // the argmax class
};

struct CascadeOutcome {
  double accuracy = 0;
  double expected_width = 0;
  std::vector<int64_t> stopped_at;  // per example: index into widths
};

// Runs the cascade with one threshold per width (the last one is ignored). A threshold of 0
// stops every example at the first width; one above 1 never stops there.
CascadeOutcome run_cascade(const CascadeScores& scores, const std::vector<double>& thresholds, const std::vector<int64_t>& labels);

// Per width (except the last): the lowest confidence t such that the validation examples with
// confidence >= t at that width are classified right at least `target_accuracy` of the time;
// above 1 (never stop there) when no such t exists.
std::vector<double> fit_cascade_thresholds(const CascadeScores& validation, const std::vector<int64_t>& labels, double target_accuracy);

}  // namespace garden::eval
