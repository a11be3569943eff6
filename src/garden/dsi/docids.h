// Document identifiers of a Differentiable Search Index (Tay et al. 2022, dsi.md "Docid
// representations"), as sequences of docid symbols 0..S-1 that the model decodes one per step:
//   atomic    one symbol per document (S = N): ranking is a single step over N outputs;
//   naive     an arbitrary unique integer (a seeded permutation of 0..N-1) in decimal, one
//             digit per symbol (S = 10); "7" is a prefix of "73", as in the paper;
//   semantic  hierarchical k-means over document vectors: the cluster index (0..k-1) at each
//             level, and a leaf number 0..c-1 once a cluster holds at most c documents
//             (S = max(k, c)); documents of one cluster share its prefix.
// The prefix trie over the valid docids (GENRE's constrained decoding) allows, after a prefix,
// exactly the symbols that continue some docid, and the end of the docid where one ends.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace garden::dsi {

enum class DocidScheme { atomic, naive, semantic };
DocidScheme parse_docid_scheme(const std::string& name);
std::string to_string(DocidScheme scheme);

using Docid = std::vector<int64_t>;  // symbols, without the end marker

struct DocidMap {
  DocidScheme scheme = DocidScheme::naive;
  int64_t symbols = 0;               // S: every symbol is in [0, S)
  std::vector<std::string> doc_ids;  // the collection's document ids, in corpus order
  std::vector<Docid> docids;         // docids[i] identifies doc_ids[i]; all distinct
  // The document of a symbol sequence, or -1 when none has it.
  int64_t document_of(const Docid& docid) const;
  int64_t max_length() const;
  void validate() const;  // distinct, non-empty, symbols in range; an Error otherwise

 private:
  mutable std::map<Docid, int64_t> index_;
};

// Atomic and naive ids of `count` documents; the seed picks the arbitrary assignment.
DocidMap atomic_docids(const std::vector<std::string>& doc_ids, uint64_t seed);
DocidMap naive_docids(const std::vector<std::string>& doc_ids, uint64_t seed);

// Semantic ids from document vectors (n x d, row-major): k-means (FAISS, seeded) into k
// clusters, recursing into every cluster with more than c members. A clustering that leaves
// all its members in one cluster (identical vectors) splits them into k runs of equal size
// instead, so the recursion always ends.
struct SemanticOptions {
  int64_t k = 10;   // branches per level (dsi.md: 10)
  int64_t c = 100;  // leaf capacity (dsi.md: 100; 20 at 1000 documents for a three-level trie)
  uint64_t seed = 0;
  void validate() const;
};
DocidMap semantic_docids(const std::vector<std::string>& doc_ids, const std::vector<float>& vectors, int64_t dims,
                         const SemanticOptions& options);

// Vectors for semantic ids without an embedding model: TF-IDF of lower-cased word tokens
// (log-scaled term frequency, smoothed IDF, rows L2-normalised), reduced to `dims` by SVD
// (dsi.md: "TF-IDF + 64-d SVD"), rows L2-normalised again. Returns n x dims (fewer columns
// when the matrix has lower rank), row-major.
std::vector<float> tfidf_svd_vectors(const std::vector<std::string>& texts, int64_t dims, int64_t* out_dims);

// docid_map.tsv: a header line "# scheme <name> symbols <S>", then "doc-id<TAB>s1 s2 ...".
std::string docid_map_text(const DocidMap& map);
void write_docid_map(const DocidMap& map, const std::filesystem::path& path);
DocidMap read_docid_map(const std::filesystem::path& path);

// The prefix trie over a map's docids. Node 0 is the root; `end` marks a node where a docid
// ends.
class DocidTrie {
 public:
  explicit DocidTrie(const DocidMap& map);
  // The node reached from `node` by `symbol`, or -1 when no docid continues that way.
  int64_t child(int64_t node, int64_t symbol) const;
  const std::vector<int64_t>& next_symbols(int64_t node) const { return nodes_[static_cast<size_t>(node)].symbols; }
  bool ends_here(int64_t node) const { return nodes_[static_cast<size_t>(node)].end; }
  int64_t size() const { return static_cast<int64_t>(nodes_.size()); }

 private:
  struct Node {
    std::vector<int64_t> symbols, children;  // sorted by symbol
    bool end = false;
  };
  std::vector<Node> nodes_;
};

}  // namespace garden::dsi
