// V-measure against hand-computed cases, and k-means recovering well separated groups.
#include "garden/eval/clustering.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/text/prepare.h"

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

TEST(Clustering, KnnAccuracyVotesAmongTheNearestOtherRows) {
  // Four 2-d points: a and b point right (label 0), c up (label 1), d up-right but closer to
  // up (label 0). 1-NN: a<->b right, c's nearest is d (label 0: wrong), d's nearest is c
  // (label 1: wrong). Accuracy 2/4.
  const std::vector<float> rows = {1, 0, 2, 0.1f, 0, 1, 0.3f, 1};
  EXPECT_DOUBLE_EQ(knn_accuracy(rows, 4, 2, {0, 0, 1, 0}, 1), 0.5);
  // 3-NN of a: b, d (0) and c (1): label 0, right; of c: d, b, a -> 0 (wrong); of d: c, b, a ->
  // 0 (right); of b: a, d, c -> 0 (right). Accuracy 3/4.
  EXPECT_DOUBLE_EQ(knn_accuracy(rows, 4, 2, {0, 0, 1, 0}, 3), 0.75);
  // With k = 2 and labels {0, 0, 2, 2} every row's two nearest disagree (a: b 0, d 2; c: d 2,
  // b 0; ...): each tie goes to the nearer neighbour, which is always right here. Breaking
  // ties by the lower label would get c and d wrong.
  EXPECT_DOUBLE_EQ(knn_accuracy(rows, 4, 2, {0, 0, 2, 2}, 2), 1.0);
  EXPECT_THROW(knn_accuracy(rows, 4, 2, {0, 0, 1, 0}, 4), Error);
}

TEST(Clustering, TheLexnameTaskIsASeededLabelledSample) {
  const auto a = wordnet_lexname_task(text::kWordnetDir, 300, 11), b = wordnet_lexname_task(text::kWordnetDir, 300, 11);
  EXPECT_EQ(a.glosses, b.glosses);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_GT(a.classes, 10);  // WordNet has 26 noun lexicographer files
  EXPECT_LE(a.classes, 26);
  EXPECT_NE(a.glosses, wordnet_lexname_task(text::kWordnetDir, 300, 12).glosses);
}

}  // namespace
}  // namespace garden::eval
