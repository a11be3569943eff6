#include "garden/eval/clustering.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "garden/core/error.h"
#include "garden/text/prepare.h"

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
  parameters.min_points_per_centroid = 1;  // few points per centroid are fine here: no FAISS warning on stderr
  faiss::Clustering clustering(static_cast<int>(d), static_cast<int>(k), parameters);
  faiss::IndexFlatL2 index(d);
  clustering.train(n, rows.data(), index);
  std::vector<float> distances(static_cast<size_t>(n));
  std::vector<faiss::Index::idx_t> assigned(static_cast<size_t>(n));
  index.search(n, rows.data(), 1, distances.data(), assigned.data());
  return {assigned.begin(), assigned.end()};
}

double knn_accuracy(const std::vector<float>& rows, int64_t n, int64_t d, const std::vector<int64_t>& labels, int64_t k) {
  if (static_cast<int64_t>(rows.size()) != n * d || static_cast<int64_t>(labels.size()) != n || k < 1 || k >= n)
    throw Error(fmt::format("kNN accuracy: {} neighbours among {} vectors of {} dimensions with {} labels", k, n, d, labels.size()));
  std::vector<double> norms(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t c = 0; c < d; ++c) s += double{rows[static_cast<size_t>(i * d + c)]} * rows[static_cast<size_t>(i * d + c)];
    norms[static_cast<size_t>(i)] = std::sqrt(std::max(s, 1e-30));
  }
  int64_t correct = 0;
  std::vector<std::pair<double, int64_t>> scored(static_cast<size_t>(n - 1));
  for (int64_t i = 0; i < n; ++i) {
    size_t slot = 0;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double dot = 0;
      for (int64_t c = 0; c < d; ++c) dot += double{rows[static_cast<size_t>(i * d + c)]} * rows[static_cast<size_t>(j * d + c)];
      scored[slot++] = {-dot / (norms[static_cast<size_t>(i)] * norms[static_cast<size_t>(j)]), j};
    }
    std::partial_sort(scored.begin(), scored.begin() + k, scored.end());
    std::map<int64_t, int64_t> votes;
    for (int64_t r = 0; r < k; ++r) ++votes[labels[static_cast<size_t>(scored[static_cast<size_t>(r)].second)]];
    int64_t most = 0;
    for (const auto& [label, v] : votes) most = std::max(most, v);
    int64_t predicted = -1;
    for (int64_t r = 0; r < k && predicted < 0; ++r) {  // nearest first: ties go to the closer label
      const int64_t label = labels[static_cast<size_t>(scored[static_cast<size_t>(r)].second)];
      if (votes[label] == most) predicted = label;
    }
    correct += predicted == labels[static_cast<size_t>(i)] ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

LexnameTask wordnet_lexname_task(const std::filesystem::path& wordnet_dir, size_t count, uint64_t seed) {
  auto synsets = text::wordnet_synsets(wordnet_dir, {"noun"});
  if (synsets.size() < count) throw Error(fmt::format("{}: {} noun synsets, fewer than the {} asked", wordnet_dir.string(), synsets.size(), count));
  std::mt19937_64 rng(seed);
  std::shuffle(synsets.begin(), synsets.end(), rng);
  LexnameTask task;
  std::map<std::string, int64_t> label_of;
  for (size_t i = 0; i < count; ++i) {
    task.glosses.push_back(synsets[i].gloss);
    task.labels.push_back(label_of.emplace(synsets[i].lexname, static_cast<int64_t>(label_of.size())).first->second);
  }
  task.classes = static_cast<int64_t>(label_of.size());
  return task;
}

LexnameSplits wordnet_lexname_splits(const std::filesystem::path& wordnet_dir, size_t per_class, uint64_t seed) {
  std::map<std::string, std::vector<std::string>> by_class;
  for (auto& synset : text::wordnet_synsets(wordnet_dir, {"noun"}))
    if (synset.lexname != "noun.Tops") by_class[synset.lexname].push_back(std::move(synset.gloss));
  if (by_class.size() < 2) throw Error(fmt::format("{}: fewer than two noun lexnames", wordnet_dir.string()));
  LexnameSplits out;
  std::mt19937_64 rng(seed);
  for (auto& [name, glosses] : by_class) {
    const auto label = static_cast<int64_t>(out.class_names.size());
    out.class_names.push_back(name);
    std::shuffle(glosses.begin(), glosses.end(), rng);
    const size_t n = std::min(per_class, glosses.size());
    const size_t train_end = n * 8 / 10, validation_end = n * 9 / 10;
    for (size_t i = 0; i < n; ++i) {
      auto& split = i < train_end ? out.train : i < validation_end ? out.validation : out.test;
      split.glosses.push_back(glosses[i]);
      split.labels.push_back(label);
    }
  }
  for (auto* split : {&out.train, &out.validation, &out.test}) split->classes = static_cast<int64_t>(out.class_names.size());
  return out;
}

}  // namespace garden::eval
