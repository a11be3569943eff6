// The compression formalism of resist-alignment.md (the paper's Sections 3-4) on explicit
// token trees. Every response of a data set is a path of binary symbols from the root, ended by
// an EOS leaf whose weight is the response's probability; a model of limited capacity is read
// as the tree pruned to depth d, Huffman-coded with each root-to-leaf path one symbol. These
// helpers compute that protocol exactly (leaf masses, entropy, Huffman code lengths, the ideal
// code length, the size-weighted mixture of joint training and the per-symbol compression rate)
// so the theory's statements can be checked on small hand-built or byte-coded data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace garden::eval {

// One response: its binary symbols ('0'/'1') and its probability mass (masses need not sum to 1).
struct BinaryResponse {
  std::string bits;
  double weight = 1;
};

// Leaves of the token tree pruned to depth d, with their probability (summing to 1). The path of
// a response is its symbols then EOS ('$'); pruning keeps the first d of them, so a response of
// fewer than d symbols ends at its EOS leaf ("01$") and a longer one at its depth-d node ("0110"),
// which then stands for every response under it.
using LeafMasses = std::map<std::string, double>;
LeafMasses pruned_leaves(const std::vector<BinaryResponse>& responses, int depth);

// The responses of a text corpus as bits: each line's UTF-8 bytes, most significant bit first.
std::vector<BinaryResponse> byte_coded_lines(const std::vector<std::string>& lines);

// H = -sum over leaves of p log2 p, in bits.
double leaf_entropy_bits(const LeafMasses& leaves);

// Code lengths (bits) of a binary Huffman code with one codeword per leaf.
std::map<std::string, int> huffman_code_lengths(const LeafMasses& leaves);
// sum over leaves of p x code length; in [H, H + 1) for a Huffman code.
double expected_code_length(const LeafMasses& leaves, const std::map<std::string, int>& lengths);

// The spec's ideal code length of a response of `symbols` binary symbols: ceil(|x| / d) pruned-tree
// symbols of ceil(H) bits each.
int64_t ideal_code_length(int64_t symbols, int depth, double entropy_bits);

// Node weights learned by training on several data sets jointly: sum_i p_i |D_i| / sum_i |D_i|,
// each pair being a data set's leaf masses and its size.
LeafMasses size_weighted_mixture(const std::vector<std::pair<LeafMasses, double>>& sets);

// The compression rate of a data set with leaf masses p under learned weights q, in bits per
// binary symbol: -(1/d) sum p log2 q (infinite when q gives a leaf of p no mass). The normalized
// rate subtracts log2 M, M being the number of leaves of q.
double leaf_compression_rate(const LeafMasses& data, const LeafMasses& learned, int depth);
double normalized_leaf_compression_rate(const LeafMasses& data, const LeafMasses& learned, int depth);

// The protocol on a text corpus at one depth: its lines byte-coded, the tree pruned to `depth`,
// its entropy, its Huffman code's expected length and the ideal code length of every line summed.
struct TokenTreeSummary {
  int depth = 0;
  int64_t leaves = 0, lines = 0, bytes = 0, ideal_bits = 0;
  double entropy_bits = 0, huffman_bits = 0;
  double ideal_bits_per_byte() const;
};
TokenTreeSummary summarize_token_tree(const std::vector<std::string>& lines, int depth);

}  // namespace garden::eval
