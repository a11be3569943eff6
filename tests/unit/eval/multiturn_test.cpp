// P, A and U of lost-in-conversation.md against hand-computed values (NumPy's linear
// percentiles): the spec's binary cases, ties, all-equal scores and a 10-run fixture.
#include "garden/eval/multiturn.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"

namespace garden::eval {
namespace {

TEST(Percentile, InterpolatesLinearlyBetweenOrderStatistics) {
  // Sorted 3, 8, 12.25, 20, 37.5, 50, 61, 88, 90, 95: the 90th sits at index 8.1 (90 + 0.1 x 5),
  // the 10th at index 0.9 (3 + 0.9 x 5); numpy.percentile gives 90.5 and 7.5.
  const std::vector<double> scores = {37.5, 20, 90, 12.25, 95, 50, 8, 88, 61, 3};
  EXPECT_DOUBLE_EQ(percentile(scores, 90), 90.5);
  EXPECT_DOUBLE_EQ(percentile(scores, 10), 7.5);
  EXPECT_DOUBLE_EQ(percentile(scores, 0), 3);
  EXPECT_DOUBLE_EQ(percentile(scores, 100), 95);
  EXPECT_DOUBLE_EQ(percentile({5, 1, 3}, 90), 4.6);  // index 1.8: 3 + 0.8 x 2
  EXPECT_DOUBLE_EQ(percentile({42}, 90), 42);
  EXPECT_THROW(percentile({}, 50), Error);
  EXPECT_THROW(percentile({1}, 101), Error);
}

TEST(InstructionStats, BinaryScoresOfTenRuns) {
  std::vector<double> three_of_ten(7, 0.0);
  three_of_ten.insert(three_of_ten.end(), 3, 100.0);
  auto s = instruction_stats(three_of_ten);
  EXPECT_DOUBLE_EQ(s.performance, 30);
  EXPECT_DOUBLE_EQ(s.aptitude, 100);
  EXPECT_DOUBLE_EQ(s.unreliability, 100);

  std::vector<double> one_of_ten(9, 0.0);
  one_of_ten.push_back(100);
  s = instruction_stats(one_of_ten);
  EXPECT_DOUBLE_EQ(s.performance, 10);
  // Index 0.9 x 9 = 8.1: 0 + 0.1 x 100, up to the rounding of 0.1 (NumPy's too).
  EXPECT_NEAR(s.aptitude, 10, 1e-9);
  EXPECT_NEAR(s.unreliability, 10, 1e-9);

  std::vector<double> nine_of_ten(9, 100.0);
  nine_of_ten.push_back(0);
  s = instruction_stats(nine_of_ten);
  EXPECT_DOUBLE_EQ(s.aptitude, 100);
  EXPECT_NEAR(s.unreliability, 10, 1e-9);  // the 10th percentile: 0.9 x 100 = 90

  // Ties with all equal: no spread at all, whatever the value.
  s = instruction_stats(std::vector<double>(10, 70.0));
  EXPECT_DOUBLE_EQ(s.aptitude, 70);
  EXPECT_DOUBLE_EQ(s.unreliability, 0);
}

TEST(AggregateStats, MeansOverInstructionsAndTheRelativeDrop) {
  std::map<std::string, std::vector<double>> scores = {{"a", {0, 0, 0, 0, 0, 0, 0, 100, 100, 100}},
                                                       {"b", std::vector<double>(10, 100.0)}};
  const auto s = aggregate_stats(scores);
  EXPECT_DOUBLE_EQ(s.performance, (30.0 + 100.0) / 2);
  EXPECT_DOUBLE_EQ(s.aptitude, 100);
  EXPECT_DOUBLE_EQ(s.unreliability, 50);
  EXPECT_DOUBLE_EQ(relative_drop(80, 60), 0.25);
  EXPECT_DOUBLE_EQ(relative_drop(0, 0), 0);
  EXPECT_THROW(aggregate_stats({}), Error);
  EXPECT_THROW(aggregate_stats({{"a", {}}}), Error);
}

}  // namespace
}  // namespace garden::eval
