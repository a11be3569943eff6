#include "garden/eval/adaptive_classification.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"

namespace garden::eval {
namespace {

// Three examples, widths 4 / 16 / 64. The small head is right on examples 0 and 1 only.
CascadeScores toy() {
  CascadeScores s;
  s.widths = {4, 16, 64};
  s.confidence = {{0.9, 0.6, 0.3}, {0.95, 0.7, 0.5}, {0.99, 0.9, 0.8}};
  s.predicted = {{0, 1, 0}, {0, 1, 1}, {0, 1, 2}};
  return s;
}

TEST(AdaptiveClassification, ThresholdsZeroAndAboveOneGiveTheSmallestAndTheLargestWidth) {
  const std::vector<int64_t> labels{0, 1, 2};
  const auto smallest = run_cascade(toy(), {0, 0, 0}, labels);
  EXPECT_EQ(smallest.expected_width, 4);
  EXPECT_NEAR(smallest.accuracy, 2.0 / 3, 1e-12);
  const auto largest = run_cascade(toy(), {1.1, 1.1, 0}, labels);
  EXPECT_EQ(largest.expected_width, 64);
  EXPECT_EQ(largest.accuracy, 1.0);
  const auto between = run_cascade(toy(), {0.5, 0.6, 0}, labels);  // 0 and 1 stop at 4, 2 at 64
  EXPECT_EQ(between.stopped_at, (std::vector<int64_t>{0, 0, 2}));
  EXPECT_NEAR(between.expected_width, (4 + 4 + 64) / 3.0, 1e-12);
  EXPECT_EQ(between.accuracy, 1.0);
  EXPECT_GT(between.expected_width, smallest.expected_width);
  EXPECT_LT(between.expected_width, largest.expected_width);
  EXPECT_THROW(run_cascade(toy(), {0, 0}, labels), Error);
}

TEST(AdaptiveClassification, FittedThresholdsReachTheTargetOnValidation) {
  const std::vector<int64_t> labels{0, 1, 2};
  // At width 4 examples 0 and 1 (confidence >= 0.6) are right, 2 (0.3) wrong: the lowest
  // threshold with 100% accuracy above it is 0.6. At width 16 all three are counted right
  // only down to 0.7.
  const auto perfect = fit_cascade_thresholds(toy(), labels, 1.0);
  EXPECT_EQ(perfect[0], 0.6);
  EXPECT_EQ(perfect[1], 0.7);
  EXPECT_EQ(run_cascade(toy(), perfect, labels).accuracy, 1.0);
  // 66% right is reached over all of width 4's examples: its lowest confidence.
  EXPECT_EQ(fit_cascade_thresholds(toy(), labels, 0.66)[0], 0.3);
  // A head that is never right never stops the cascade.
  auto wrong = toy();
  wrong.predicted[0] = {2, 2, 0};
  EXPECT_GT(fit_cascade_thresholds(wrong, labels, 0.5)[0], 1.0);
}

}  // namespace
}  // namespace garden::eval
