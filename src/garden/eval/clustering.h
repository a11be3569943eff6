// Clustering evaluation as MTEB does it: k-means on the embeddings (FAISS, seeded) with k =
// the number of gold labels, scored by V-measure (Rosenberg & Hirschberg 2007), the
// harmonic mean of homogeneity and completeness.
#pragma once

#include <cstdint>
#include <vector>

namespace garden::eval {

// V-measure of a clustering against gold labels (any integer ids), in [0, 1].
double v_measure(const std::vector<int64_t>& labels, const std::vector<int64_t>& clusters);

// k-means of n row vectors (row-major, n x d) into k clusters; the cluster of each row.
std::vector<int64_t> kmeans_clusters(const std::vector<float>& rows, int64_t n, int64_t d, int64_t k, uint64_t seed);

}  // namespace garden::eval
