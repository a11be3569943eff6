#include "garden/eval/sts.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "garden/core/error.h"

namespace garden::eval {
namespace {

TEST(Sts, SpearmanWithTiesMatchesAHandComputedValue) {
  // y's ranks are 1, 2, 3.5, 5, 3.5: rho = 8 / sqrt(10 * 9.5).
  EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}), 8 / std::sqrt(95.0), 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3}, {30, 20, 10}), -1.0, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {1, 4, 9, 16}), 1.0, 1e-12);  // monotone, not linear
  EXPECT_THROW(spearman({1, 2}, {3, 3}), Error);
  EXPECT_THROW(spearman({1}, {1}), Error);
}

TEST(Sts, ReaderSkipsTheHeaderAndNamesBadLines) {
  const auto path = std::filesystem::temp_directory_path() / ("garden-sts-" + std::to_string(::getpid()) + ".tsv");
  std::ofstream(path) << "score\tsentence1\tsentence2\n2.5\tA girl.\tA girl!\n\n4\tx\ty\n";
  const auto pairs = read_sts_pairs(path);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].score, 2.5);
  EXPECT_EQ(pairs[0].second, "A girl!");
  std::ofstream(path) << "score\tsentence1\tsentence2\nhigh\ta\tb\n";
  try {
    read_sts_pairs(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":2: the score 'high' is not a number"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "1.0\tonly two columns\n";
  EXPECT_THROW(read_sts_pairs(path), Error);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace garden::eval
