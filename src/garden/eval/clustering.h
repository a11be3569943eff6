// Clustering evaluation as MTEB does it: k-means on the embeddings (FAISS, seeded) with k =
// the number of gold labels, scored by V-measure (Rosenberg & Hirschberg 2007), the
// harmonic mean of homogeneity and completeness.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace garden::eval {

// V-measure of a clustering against gold labels (any integer ids), in [0, 1].
double v_measure(const std::vector<int64_t>& labels, const std::vector<int64_t>& clusters);

// k-means of n row vectors (row-major, n x d) into k clusters; the cluster of each row.
std::vector<int64_t> kmeans_clusters(const std::vector<float>& rows, int64_t n, int64_t d, int64_t k, uint64_t seed);

// Leave-one-out k-nearest-neighbour accuracy by cosine: each row's label predicted by the
// majority of its k nearest other rows (a tie goes to the label of the nearest among the
// tied ones).
double knn_accuracy(const std::vector<float>& rows, int64_t n, int64_t d, const std::vector<int64_t>& labels, int64_t k);

// The WordNet lexname task: a seeded sample of `count` noun synsets, each gloss labelled by
// its lexicographer file (noun.animal, noun.artifact, ...).
struct LexnameTask {
  std::vector<std::string> glosses;
  std::vector<int64_t> labels;
  int64_t classes = 0;
};
LexnameTask wordnet_lexname_task(const std::filesystem::path& wordnet_dir, size_t count, uint64_t seed);

// The lexname classification task of the Matryoshka reproduction: noun glosses of every
// lexicographer file but noun.Tops (25 classes), at most `per_class` seeded synsets each,
// split by synset 80/10/10 within each class. Labels are the classes' ranks by name.
struct LexnameSplits {
  LexnameTask train, validation, test;
  std::vector<std::string> class_names;
};
LexnameSplits wordnet_lexname_splits(const std::filesystem::path& wordnet_dir, size_t per_class, uint64_t seed);

}  // namespace garden::eval
