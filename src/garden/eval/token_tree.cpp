#include "garden/eval/token_tree.h"

#include <fmt/core.h>

#include <cmath>
#include <limits>
#include <queue>

#include "garden/core/error.h"

namespace garden::eval {

LeafMasses pruned_leaves(const std::vector<BinaryResponse>& responses, int depth) {
  if (depth < 1) throw Error(fmt::format("token tree: depth {} must be at least 1", depth));
  LeafMasses leaves;
  double total = 0;
  for (const auto& r : responses) {
    if (r.bits.find_first_not_of("01") != std::string::npos) throw Error("token tree: a response holds a symbol other than 0 and 1");
    if (!(r.weight >= 0) || !std::isfinite(r.weight)) throw Error(fmt::format("token tree: response weight {} is not a finite mass >= 0", r.weight));
    const std::string path = r.bits + "$";
    leaves[path.substr(0, static_cast<size_t>(depth))] += r.weight;
    total += r.weight;
  }
  if (!(total > 0)) throw Error("token tree: the responses carry no mass");
  for (auto& [leaf, mass] : leaves) mass /= total;
  return leaves;
}

std::vector<BinaryResponse> byte_coded_lines(const std::vector<std::string>& lines) {
  std::vector<BinaryResponse> out;
  out.reserve(lines.size());
  for (const auto& line : lines) {
    BinaryResponse r;
    r.bits.reserve(line.size() * 8);
    for (const char c : line)
      for (int bit = 7; bit >= 0; --bit) r.bits.push_back(((static_cast<unsigned char>(c) >> bit) & 1) != 0 ? '1' : '0');
    out.push_back(std::move(r));
  }
  return out;
}

double leaf_entropy_bits(const LeafMasses& leaves) {
  double h = 0;
  for (const auto& [leaf, p] : leaves)
    if (p > 0) h -= p * std::log2(p);
  return h;
}

std::map<std::string, int> huffman_code_lengths(const LeafMasses& leaves) {
  // Merge the two lightest subtrees until one is left; a leaf's code length is the number of
  // merges above it (0 for a tree of one leaf: a certain symbol costs nothing, as H says).
  // Ties break on insertion order, so the code is deterministic.
  struct Node {
    double mass;
    size_t order;
    std::vector<std::string> leaves;
  };
  const auto heavier = [](const Node& a, const Node& b) { return a.mass != b.mass ? a.mass > b.mass : a.order > b.order; };
  std::priority_queue<Node, std::vector<Node>, decltype(heavier)> queue(heavier);
  std::map<std::string, int> lengths;
  size_t order = 0;
  for (const auto& [leaf, p] : leaves) {
    queue.push({p, order++, {leaf}});
    lengths[leaf] = 0;
  }
  while (queue.size() > 1) {
    Node a = queue.top();
    queue.pop();
    Node b = queue.top();
    queue.pop();
    for (const auto& leaf : a.leaves) ++lengths[leaf];
    for (const auto& leaf : b.leaves) ++lengths[leaf];
    a.leaves.insert(a.leaves.end(), b.leaves.begin(), b.leaves.end());
    queue.push({a.mass + b.mass, order++, std::move(a.leaves)});
  }
  return lengths;
}

double expected_code_length(const LeafMasses& leaves, const std::map<std::string, int>& lengths) {
  double sum = 0;
  for (const auto& [leaf, p] : leaves) {
    const auto it = lengths.find(leaf);
    if (it == lengths.end()) throw Error(fmt::format("token tree: leaf {} has no code length", leaf));
    sum += p * it->second;
  }
  return sum;
}

int64_t ideal_code_length(int64_t symbols, int depth, double entropy_bits) {
  if (depth < 1) throw Error(fmt::format("token tree: depth {} must be at least 1", depth));
  return (symbols + depth - 1) / depth * static_cast<int64_t>(std::ceil(entropy_bits));
}

LeafMasses size_weighted_mixture(const std::vector<std::pair<LeafMasses, double>>& sets) {
  LeafMasses joint;
  double total = 0;
  for (const auto& [leaves, size] : sets) {
    if (!(size > 0)) throw Error(fmt::format("token tree: data set size {} must be positive", size));
    for (const auto& [leaf, p] : leaves) joint[leaf] += p * size;
    total += size;
  }
  for (auto& [leaf, mass] : joint) mass /= total;
  return joint;
}

double leaf_compression_rate(const LeafMasses& data, const LeafMasses& learned, int depth) {
  double sum = 0;
  for (const auto& [leaf, p] : data) {
    if (p == 0) continue;
    const auto it = learned.find(leaf);
    if (it == learned.end() || it->second == 0) return std::numeric_limits<double>::infinity();
    sum -= p * std::log2(it->second);
  }
  return sum / depth;
}

double normalized_leaf_compression_rate(const LeafMasses& data, const LeafMasses& learned, int depth) {
  return leaf_compression_rate(data, learned, depth) - std::log2(static_cast<double>(learned.size()));
}

double TokenTreeSummary::ideal_bits_per_byte() const { return bytes > 0 ? static_cast<double>(ideal_bits) / static_cast<double>(bytes) : 0.0; }

TokenTreeSummary summarize_token_tree(const std::vector<std::string>& lines, int depth) {
  const auto responses = byte_coded_lines(lines);
  const auto leaves = pruned_leaves(responses, depth);
  TokenTreeSummary summary;
  summary.depth = depth;
  summary.leaves = static_cast<int64_t>(leaves.size());
  summary.lines = static_cast<int64_t>(lines.size());
  summary.entropy_bits = leaf_entropy_bits(leaves);
  summary.huffman_bits = expected_code_length(leaves, huffman_code_lengths(leaves));
  for (const auto& r : responses) {
    summary.bytes += static_cast<int64_t>(r.bits.size() / 8);
    summary.ideal_bits += ideal_code_length(static_cast<int64_t>(r.bits.size()), depth, summary.entropy_bits);
  }
  return summary;
}

}  // namespace garden::eval
