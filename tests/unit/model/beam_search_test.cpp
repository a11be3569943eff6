// Beam search against brute force on hand-built bigram models (exact when the beam holds
// every prefix), a case greedy decoding gets wrong, EOS, and the transformer path against
// full forwards and greedy decoding.
#include "garden/model/beam_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "garden/model/generation.h"
#include "test_helpers.h"

namespace garden::model {
namespace {

// A model whose next-token distribution depends on the last token only: table[a][b] =
// p(b | a), start[b] = p(b) for the first token.
struct Bigram {
  std::vector<double> start;
  std::vector<std::vector<double>> table;
  int64_t vocab() const { return static_cast<int64_t>(start.size()); }
  torch::Tensor log_rows(const std::vector<int64_t>& last) const {
    auto out = torch::empty({static_cast<int64_t>(last.size()), vocab()}, torch::kFloat64);
    for (size_t i = 0; i < last.size(); ++i)
      for (int64_t b = 0; b < vocab(); ++b) out[static_cast<int64_t>(i)][b] = std::log(table[last[i]][b]);
    return out;
  }
  std::vector<std::vector<Beam>> search(const BeamOptions& options) const {
    const auto first = torch::tensor(start, torch::kFloat64).log().view({1, -1});
    return beam_search(first, [this](const std::vector<int64_t>&, const std::vector<int64_t>& tokens) { return log_rows(tokens); },
                       options);
  }
  double log_prob(const std::vector<int64_t>& seq) const {
    double lp = std::log(start[seq[0]]);
    for (size_t i = 1; i < seq.size(); ++i) lp += std::log(table[seq[i - 1]][seq[i]]);
    return lp;
  }
};

TEST(BeamSearch, AWideEnoughBeamFindsTheBruteForceTopSequences) {
  const Bigram m{{0.5, 0.3, 0.2},
                 {{0.1, 0.6, 0.3}, {0.5, 0.1, 0.4}, {0.2, 0.25, 0.55}}};
  const int64_t length = 4;
  // Every sequence of 4 tokens, by log-probability.
  std::vector<std::pair<double, std::vector<int64_t>>> all;
  for (int64_t code = 0; code < 81; ++code) {
    std::vector<int64_t> seq;
    for (int64_t c = code, i = 0; i < length; ++i, c /= 3) seq.push_back(c % 3);
    all.push_back({m.log_prob(seq), seq});
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  // Width 27 = 3^3 keeps every prefix of length 3, so the last step ranks all 81 sequences.
  const auto beams = m.search({.width = 27, .max_new_tokens = length, .eos_id = -1})[0];
  ASSERT_EQ(beams.size(), 27u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(beams[i].log_prob, all[i].first, 1e-12) << "rank " << i;
    EXPECT_NEAR(m.log_prob(beams[i].tokens), beams[i].log_prob, 1e-12);
  }
  ASSERT_GT(all[0].first, all[1].first + 1e-9);  // a unique best sequence
  EXPECT_EQ(beams[0].tokens, all[0].second);
}

TEST(BeamSearch, TwoBeamsFindWhatGreedyDecodingMisses) {
  // Token 0 is likelier first (0.6) but every continuation of it has 1/3; after token 1,
  // token 2 has 0.9: [1, 2] (0.36) beats anything starting with 0 (0.2).
  const Bigram m{{0.6, 0.4, 0.0 + 1e-12}, {{1.0 / 3, 1.0 / 3, 1.0 / 3}, {0.05, 0.05, 0.9}, {1.0 / 3, 1.0 / 3, 1.0 / 3}}};
  const auto greedy = m.search({.width = 1, .max_new_tokens = 2, .eos_id = -1})[0];
  ASSERT_EQ(greedy.size(), 1u);
  EXPECT_EQ(greedy[0].tokens[0], 0);
  EXPECT_NEAR(greedy[0].log_prob, std::log(0.2), 1e-9);
  const auto beams = m.search({.width = 2, .max_new_tokens = 2, .eos_id = -1})[0];
  ASSERT_EQ(beams.size(), 2u);
  EXPECT_EQ(beams[0].tokens, (std::vector<int64_t>{1, 2}));
  EXPECT_NEAR(beams[0].log_prob, std::log(0.36), 1e-9);
  EXPECT_GE(beams[0].log_prob, beams[1].log_prob);
}

TEST(BeamSearch, ABeamEndsAtEosAndKeepsItsScore) {
  // After token 1, EOS (token 2) has 0.9: [1, EOS] = 0.36 finishes after 2 of 6 tokens and
  // beats every longer sequence.
  const Bigram m{{0.6, 0.4, 1e-12}, {{0.5, 0.4, 0.1}, {0.05, 0.05, 0.9}, {0.4, 0.4, 0.2}}};
  const auto beams = m.search({.width = 2, .max_new_tokens = 6, .eos_id = 2})[0];
  ASSERT_EQ(beams.size(), 2u);
  EXPECT_EQ(beams[0].tokens, (std::vector<int64_t>{1, 2}));
  EXPECT_NEAR(beams[0].log_prob, std::log(0.36), 1e-9);
  for (const auto& b : beams) {
    EXPECT_NEAR(m.log_prob(b.tokens), b.log_prob, 1e-9);
    EXPECT_LE(b.tokens.size(), 6u);
    for (size_t i = 0; i + 1 < b.tokens.size(); ++i) EXPECT_NE(b.tokens[i], 2) << "EOS inside a beam";
  }
  testing::expect_error_containing([&] { m.search({.width = 0}); }, "width");
}

TEST(BeamSearch, TheTransformerPathScoresBeamsAsAFullForwardDoes) {
  torch::manual_seed(3);
  Transformer model(testing::tiny_config());
  model->eval();
  const std::vector<std::vector<int64_t>> prompts = {{1, 2, 3}, {4, 5}, {6, 7, 8}};
  const BeamOptions options{.width = 3, .max_new_tokens = 4, .eos_id = -1};
  const auto together = beam_search(model, prompts, options, 2);
  ASSERT_EQ(together.size(), 3u);
  torch::NoGradGuard no_grad;
  for (size_t p = 0; p < prompts.size(); ++p) {
    ASSERT_EQ(together[p].size(), 3u);
    // The same prompt alone gives the same beams: rows and batches do not interact.
    const auto alone = beam_search(model, {prompts[p]}, options)[0];
    for (size_t j = 0; j < 3; ++j) {
      EXPECT_EQ(together[p][j].tokens, alone[j].tokens);
      EXPECT_NEAR(together[p][j].log_prob, alone[j].log_prob, 1e-4);
      std::vector<int64_t> seq = prompts[p];
      seq.insert(seq.end(), together[p][j].tokens.begin(), together[p][j].tokens.end());
      const auto lp = torch::log_softmax(model->forward(torch::tensor(seq, torch::kLong).view({1, -1})).logits[0], -1);
      double expected = 0;
      for (size_t t = prompts[p].size(); t < seq.size(); ++t) expected += lp[static_cast<int64_t>(t - 1)][seq[t]].item<double>();
      EXPECT_NEAR(together[p][j].log_prob, expected, 1e-4) << "prompt " << p << " beam " << j;
    }
    EXPECT_GE(together[p][0].log_prob, together[p][1].log_prob);
  }
  // Width 1 is greedy decoding.
  GenerateOptions greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = 4;
  const auto one = beam_search(model, {prompts[0]}, {.width = 1, .max_new_tokens = 4, .eos_id = -1})[0];
  EXPECT_EQ(one[0].tokens, generate(model, prompts[0], greedy)[0].tokens);
}

}  // namespace
}  // namespace garden::model
