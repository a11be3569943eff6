// The resist-alignment compression formalism (eval/token_tree.h) on hand-built trees: pruning,
// the ideal code length ceil(|x|/d) ceil(H), a Huffman code's expected length in [H, H + 1),
// the size-weighted mixture of joint training and the per-symbol compression rate.
#include "garden/eval/token_tree.h"

#include <gtest/gtest.h>

#include <cmath>

#include "garden/core/error.h"

namespace garden::eval {
namespace {

TEST(TokenTree, PruningKeepsEndedResponsesAndCutsLongOnesAtDepth) {
  // Depth 2: "0" ends at its EOS leaf "0$"; "10", "101" and "11" are cut at depth 2.
  const auto leaves = pruned_leaves({{"0", 2}, {"10", 1}, {"101", 0.5}, {"11", 0.5}}, 2);
  ASSERT_EQ(leaves.size(), 3u);
  EXPECT_DOUBLE_EQ(leaves.at("0$"), 0.5);
  EXPECT_DOUBLE_EQ(leaves.at("10"), 0.375);
  EXPECT_DOUBLE_EQ(leaves.at("11"), 0.125);
  // At depth 4 every response has its own EOS leaf; the empty response is the root's EOS.
  const auto deep = pruned_leaves({{"", 1}, {"101", 1}}, 4);
  EXPECT_DOUBLE_EQ(deep.at("$"), 0.5);
  EXPECT_DOUBLE_EQ(deep.at("101$"), 0.5);
  EXPECT_THROW(pruned_leaves({{"012", 1}}, 2), Error);
  EXPECT_THROW(pruned_leaves({{"01", 1}}, 0), Error);
  EXPECT_THROW(pruned_leaves({{"01", 0}}, 2), Error);
}

TEST(TokenTree, IdealCodeLengthOnAHandBuiltDepthTwoTree) {
  // Leaves 1/2, 1/4, 1/4: H = 1.5 bits, ceil(H) = 2; a 5-symbol response is ceil(5/2) = 3
  // pruned-tree symbols of 2 bits.
  const auto leaves = pruned_leaves({{"0", 2}, {"10", 1}, {"11", 1}}, 2);
  const double h = leaf_entropy_bits(leaves);
  EXPECT_DOUBLE_EQ(h, 1.5);
  EXPECT_EQ(ideal_code_length(5, 2, h), 6);
  EXPECT_EQ(ideal_code_length(4, 2, h), 4);
  EXPECT_EQ(ideal_code_length(0, 2, h), 0);
  // A dyadic distribution is coded at exactly H.
  const auto lengths = huffman_code_lengths(leaves);
  EXPECT_EQ(lengths.at("0$"), 1);
  EXPECT_EQ(lengths.at("10"), 2);
  EXPECT_EQ(lengths.at("11"), 2);
  EXPECT_DOUBLE_EQ(expected_code_length(leaves, lengths), 1.5);
}

TEST(TokenTree, HuffmanExpectedLengthLiesInEntropyPlusOne) {
  // 0.4, 0.3, 0.2, 0.1: merges 0.1+0.2, 0.3+0.3, 0.4+0.6, so lengths 1, 2, 3, 3 and an expected
  // 1.9 bits against H = 1.846.
  const LeafMasses leaves = {{"00", 0.4}, {"01", 0.3}, {"10", 0.2}, {"11", 0.1}};
  const auto lengths = huffman_code_lengths(leaves);
  EXPECT_NEAR(expected_code_length(leaves, lengths), 1.9, 1e-12);
  const double h = leaf_entropy_bits(leaves);
  EXPECT_NEAR(h, -(0.4 * std::log2(0.4) + 0.3 * std::log2(0.3) + 0.2 * std::log2(0.2) + 0.1 * std::log2(0.1)), 1e-12);
  // Kraft's equality holds for a full binary code.
  double kraft = 0;
  for (const auto& [leaf, length] : lengths) kraft += std::ldexp(1.0, -length);
  EXPECT_NEAR(kraft, 1.0, 1e-12);
  // A single leaf is certain: no bits.
  EXPECT_EQ(huffman_code_lengths({{"0", 1.0}}).at("0"), 0);
  // On byte-coded text lines at several depths the bound holds too (at depths 1 and 3 every
  // line starts with the bits 011, one leaf).
  const auto responses = byte_coded_lines({"love", "joy", "peace", "love", "light", "good", "mercy", "joy", "love"});
  EXPECT_EQ(responses[1].bits, "011010100110111101111001");  // 'j' 'o' 'y'
  for (const int depth : {1, 3, 8, 12, 20, 40}) {
    const auto tree = pruned_leaves(responses, depth);
    const double entropy = leaf_entropy_bits(tree);
    const double expected = expected_code_length(tree, huffman_code_lengths(tree));
    EXPECT_GE(expected, entropy - 1e-12) << "depth " << depth;
    EXPECT_LT(expected, entropy + 1) << "depth " << depth;
  }
}

TEST(TokenTree, JointTrainingWeightsAreTheSizeWeightedMixture) {
  const LeafMasses p1 = {{"0$", 0.5}, {"10", 0.5}}, p2 = {{"10", 0.2}, {"11", 0.8}};
  const auto joint = size_weighted_mixture({{p1, 900}, {p2, 100}});
  ASSERT_EQ(joint.size(), 3u);
  EXPECT_NEAR(joint.at("0$"), 0.9 * 0.5, 1e-12);
  EXPECT_NEAR(joint.at("10"), 0.9 * 0.5 + 0.1 * 0.2, 1e-12);
  EXPECT_NEAR(joint.at("11"), 0.1 * 0.8, 1e-12);
  EXPECT_THROW(size_weighted_mixture({{p1, 0}}), Error);
}

TEST(TokenTree, CompressionRateIsPerSymbolCrossEntropyAgainstTheLearnedWeights) {
  const LeafMasses p = {{"00", 0.5}, {"01", 0.5}}, q = {{"00", 0.25}, {"01", 0.25}, {"10", 0.5}};
  // -(1/2) (0.5 log2 0.25 + 0.5 log2 0.25) = 1 bit per symbol; normalized: minus log2 3.
  EXPECT_DOUBLE_EQ(leaf_compression_rate(p, q, 2), 1.0);
  EXPECT_NEAR(normalized_leaf_compression_rate(p, q, 2), 1.0 - std::log2(3.0), 1e-12);
  // Against itself the rate is H / d.
  EXPECT_DOUBLE_EQ(leaf_compression_rate(q, q, 2), leaf_entropy_bits(q) / 2);
  // A leaf the learned weights never saw costs infinitely many bits.
  EXPECT_TRUE(std::isinf(leaf_compression_rate(q, p, 2)));
  // The small set's rate under the joint weights moves more than the large set's when the
  // joint weights are perturbed by a third set (the paper's springs in series, in miniature).
  const LeafMasses big = {{"00", 0.7}, {"01", 0.1}, {"10", 0.1}, {"11", 0.1}}, small = {{"00", 0.1}, {"01", 0.1}, {"10", 0.1}, {"11", 0.7}};
  const LeafMasses perturbation = {{"00", 0.7}, {"01", 0.1}, {"10", 0.1}, {"11", 0.1}};
  const auto before = size_weighted_mixture({{big, 100}, {small, 1}});
  const auto after = size_weighted_mixture({{big, 100}, {small, 1}, {perturbation, 0.5}});
  const double d_big = leaf_compression_rate(big, after, 2) - leaf_compression_rate(big, before, 2);
  const double d_small = leaf_compression_rate(small, after, 2) - leaf_compression_rate(small, before, 2);
  EXPECT_LT(d_big, 0);
  EXPECT_GT(d_small, 0);
  EXPECT_GT(std::abs(d_small), 50 * std::abs(d_big));  // k = 100 here; the theorem says Theta(k)
}

TEST(TokenTree, ACorpusSummaryAddsUpTheIdealCodeLengthsOfItsLines) {
  const std::vector<std::string> lines = {"ab", "abc", "b"};
  const auto summary = summarize_token_tree(lines, 8);
  // At depth 8 the leaves are the first bytes: 'a' twice, 'b' once -> H = 0.918 bits, ceil 1.
  EXPECT_EQ(summary.leaves, 2);
  EXPECT_NEAR(summary.entropy_bits, -(2.0 / 3 * std::log2(2.0 / 3) + 1.0 / 3 * std::log2(1.0 / 3)), 1e-12);
  EXPECT_DOUBLE_EQ(summary.huffman_bits, 1.0);
  // 16, 24 and 8 bits: 2 + 3 + 1 symbols of 1 bit.
  EXPECT_EQ(summary.ideal_bits, 6);
  EXPECT_EQ(summary.bytes, 6);
  EXPECT_DOUBLE_EQ(summary.ideal_bits_per_byte(), 1.0);
}

}  // namespace
}  // namespace garden::eval
