// V-measure against hand-computed cases, and k-means recovering well separated groups.
#include "garden/eval/clustering.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"

namespace garden::eval {
namespace {

TEST(Clustering, VMeasureMatchesHandComputedCases) {
  // Classes {0,0,1,1}, clusters {0,0,1,2}: homogeneity 1; H(K|C) = ln2 / 2 and H(K) = 1.5 ln2,
  // so completeness 2/3 and V = 2 (1)(2/3) / (5/3) = 0.8.
  EXPECT_NEAR(v_measure({0, 0, 1, 1}, {0, 0, 1, 2}), 0.8, 1e-12);
  EXPECT_NEAR(v_measure({0, 0, 1, 1}, {5, 5, 9, 9}), 1.0, 1e-12);  // ids need not match
  EXPECT_NEAR(v_measure({0, 1, 0, 1}, {0, 0, 1, 1}), 0.0, 1e-12);  // independent
  EXPECT_NEAR(v_measure({0, 0, 1, 1}, {0, 0, 0, 0}), 0.0, 1e-12);  // one cluster: complete, not homogeneous
  EXPECT_THROW(v_measure({0, 1}, {0}), Error);
}

TEST(Clustering, KMeansFindsSeparatedGroups) {
  std::vector<float> rows;
  std::vector<int64_t> truth;
  for (int g = 0; g < 3; ++g)
    for (int i = 0; i < 20; ++i) {
      rows.push_back(static_cast<float>(10 * g) + 0.01f * static_cast<float>(i));
      rows.push_back(static_cast<float>(-5 * g) - 0.02f * static_cast<float>(i % 7));
      truth.push_back(g);
    }
  const auto clusters = kmeans_clusters(rows, 60, 2, 3, 1);
  EXPECT_DOUBLE_EQ(v_measure(truth, clusters), 1.0);
  EXPECT_EQ(clusters, kmeans_clusters(rows, 60, 2, 3, 1));  // seeded
  EXPECT_THROW(kmeans_clusters(rows, 60, 2, 61, 1), Error);
}

}  // namespace
}  // namespace garden::eval
