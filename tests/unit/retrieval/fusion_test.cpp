#include "garden/retrieval/fusion.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_files.h"

namespace garden::retrieval {
namespace {

TEST(Fusion, ReciprocalRankFusionHandComputed) {
  // Run A ranks x, y; run B ranks y, z. With k = 60:
  // x = 1/61, y = 1/62 + 1/61, z = 1/62  ->  y, x, z.
  retrieval::Run a{{"q", {{"x", 9.0}, {"y", 5.0}}}}, b{{"q", {{"y", 0.3}, {"z", 0.1}}}};
  auto fused = reciprocal_rank_fusion({a, b});
  const auto& docs = fused.at("q");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].doc_id, "y");
  EXPECT_NEAR(docs[0].score, 1.0 / 62 + 1.0 / 61, 1e-12);
  EXPECT_EQ(docs[1].doc_id, "x");
  EXPECT_NEAR(docs[2].score, 1.0 / 62, 1e-12);
  EXPECT_EQ(reciprocal_rank_fusion({a, b}, 60, 2).at("q").size(), 2u);  // depth cut
}

TEST(Fusion, WeightedMinMaxHandComputed) {
  // A: x 9 -> 1, y 5 -> 0.  B: y 0.3 -> 1, z 0.1 -> 0.  Weights 0.25 / 0.75:
  // x = 0.25, y = 0.75, z = 0.
  retrieval::Run a{{"q", {{"x", 9.0}, {"y", 5.0}}}}, b{{"q", {{"y", 0.3}, {"z", 0.1}}}};
  auto docs = weighted_score_fusion({a, b}, {0.25, 0.75}).at("q");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].doc_id, "y");
  EXPECT_DOUBLE_EQ(docs[0].score, 0.75);
  EXPECT_DOUBLE_EQ(docs[1].score, 0.25);
  EXPECT_DOUBLE_EQ(docs[2].score, 0.0);
  testing::expect_error_containing([&] { weighted_score_fusion({a, b}, {1.0}); }, "1 weights for 2 runs");
}

// A NaN constant or weight used to give NaN scores, whose ranking is undefined.
TEST(Fusion, RefusesConstantsAndWeightsThatAreNotFiniteNumbers) {
  retrieval::Run a{{"q", {{"x", 9.0}}}}, b{{"q", {{"y", 0.3}}}};
  for (const double k : {std::nan(""), HUGE_VAL, -1.0})
    testing::expect_error_containing([&] { reciprocal_rank_fusion({a, b}, k); }, "--k must be a finite number >= 0");
  testing::expect_error_containing([&] { weighted_score_fusion({a, b}, {1.0, std::nan("")}); }, "--weights must be finite numbers");
}

// One run "fused" is only re-ranked: a forgotten --run, refused.
TEST(Fusion, RefusesOneRunAndAnEmptyDepth) {
  retrieval::Run a{{"q", {{"x", 9.0}}}}, b{{"q", {{"y", 0.3}}}};
  testing::expect_error_containing([&] { reciprocal_rank_fusion({a}); }, "fuse needs two or more runs (--run), got 1");
  testing::expect_error_containing([&] { weighted_score_fusion({a}, {1.0}); }, "fuse needs two or more runs (--run), got 1");
  testing::expect_error_containing([&] { reciprocal_rank_fusion({a, b}, 60, 0); }, "--depth must be >= 1, got 0");
}

}  // namespace
}  // namespace garden::retrieval
