#include "garden/eval/clustering.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <fmt/core.h>

#include <cmath>
#include <map>

#include "garden/core/error.h"

namespace garden::eval {

namespace {

double entropy(const std::map<int64_t, double>& counts, double n) {
  double h = 0;
  for (const auto& [key, c] : counts) h -= c / n * std::log(c / n);
  return h;
}

}  // namespace

double v_measure(const std::vector<int64_t>& labels, const std::vector<int64_t>& clusters) {
  if (labels.size() != clusters.size() || labels.empty())
    throw Error(fmt::format("V-measure: {} labels for {} cluster assignments", labels.size(), clusters.size()));
  const double n = static_cast<double>(labels.size());
  std::map<int64_t, double> by_label, by_cluster;
  std::map<std::pair<int64_t, int64_t>, double> joint;
  for (size_t i = 0; i < labels.size(); ++i) {
    by_label[labels[i]] += 1;
    by_cluster[clusters[i]] += 1;
    joint[{labels[i], clusters[i]}] += 1;
  }
  const double h_label = entropy(by_label, n), h_cluster = entropy(by_cluster, n);
  double h_label_given_cluster = 0, h_cluster_given_label = 0;
  for (const auto& [key, c] : joint) {
    h_label_given_cluster -= c / n * std::log(c / by_cluster[key.second]);
    h_cluster_given_label -= c / n * std::log(c / by_label[key.first]);
  }
  // A single class (or cluster) is perfectly homogeneous (complete) by convention.
  const double homogeneity = h_label == 0 ? 1.0 : 1.0 - h_label_given_cluster / h_label;
  const double completeness = h_cluster == 0 ? 1.0 : 1.0 - h_cluster_given_label / h_cluster;
  return homogeneity + completeness == 0 ? 0.0 : 2 * homogeneity * completeness / (homogeneity + completeness);
}

std::vector<int64_t> kmeans_clusters(const std::vector<float>& rows, int64_t n, int64_t d, int64_t k, uint64_t seed) {
  if (k < 1 || k > n || static_cast<int64_t>(rows.size()) != n * d)
    throw Error(fmt::format("k-means: {} clusters of {} vectors of {} dimensions ({} values given)", k, n, d, rows.size()));
  faiss::ClusteringParameters parameters;
  parameters.niter = 25;
  parameters.seed = static_cast<int>(seed);
  parameters.verbose = false;
  parameters.max_points_per_centroid = 1 << 20;  // use every point, no sampling
  faiss::Clustering clustering(static_cast<int>(d), static_cast<int>(k), parameters);
  faiss::IndexFlatL2 index(d);
  clustering.train(n, rows.data(), index);
  std::vector<float> distances(static_cast<size_t>(n));
  std::vector<faiss::Index::idx_t> assigned(static_cast<size_t>(n));
  index.search(n, rows.data(), 1, distances.data(), assigned.data());
  return {assigned.begin(), assigned.end()};
}

}  // namespace garden::eval
