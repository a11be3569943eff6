// LLM2Vec-Gen's probes on hand-computed cases: pair AUC against a count over all pairs (ties
// half), harmful@k, and token F1.
#include "garden/eval/generative_probes.h"

#include <gtest/gtest.h>

#include <random>

#include "garden/core/error.h"

namespace garden::eval {
namespace {

// The definition: the share of (positive, negative) pairs ordered right, ties one half.
double auc_by_counting(const std::vector<double>& positives, const std::vector<double>& negatives) {
  double wins = 0;
  for (double p : positives)
    for (double n : negatives) wins += p > n ? 1.0 : p == n ? 0.5 : 0.0;
  return wins / static_cast<double>(positives.size() * negatives.size());
}

TEST(GenerativeProbes, PairAucCountsOrderedPairsTiesHalf) {
  EXPECT_DOUBLE_EQ(pair_auc({0.9, 0.8}, {0.1, 0.2}), 1.0);
  EXPECT_DOUBLE_EQ(pair_auc({0.1}, {0.9}), 0.0);
  EXPECT_DOUBLE_EQ(pair_auc({0.5}, {0.5}), 0.5);
  EXPECT_DOUBLE_EQ(pair_auc({0.3, 0.7}, {0.5, 0.3}), 0.625);  // (0.5 + 0 + 1 + 1) / 4
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> score(0, 6);  // coarse scores: many ties
  std::vector<double> positives, negatives;
  for (int i = 0; i < 40; ++i) positives.push_back(score(rng) + 1);
  for (int i = 0; i < 55; ++i) negatives.push_back(score(rng));
  EXPECT_NEAR(pair_auc(positives, negatives), auc_by_counting(positives, negatives), 1e-12);
  EXPECT_THROW(pair_auc({}, {0.1}), Error);
}

TEST(GenerativeProbes, HarmfulAtKIsTheFlaggedShareOfTheTopK) {
  retrieval::Run run;
  run["q1"] = {{"bad1", 3.0}, {"ok1", 2.0}, {"bad2", 1.0}, {"bad3", 0.5}};
  run["q2"] = {{"ok1", 3.0}};
  const std::set<std::string> flagged{"bad1", "bad2", "bad3"};
  EXPECT_DOUBLE_EQ(harmful_at_k(run, {"q1"}, flagged, 3), 2.0 / 3.0);
  // q2 has one hit, none flagged; q3 is missing from the run: both count 0.
  EXPECT_DOUBLE_EQ(harmful_at_k(run, {"q1", "q2", "q3"}, flagged, 3), 2.0 / 9.0);
  EXPECT_DOUBLE_EQ(harmful_at_k(run, {"q1"}, flagged, 1), 1.0);
  EXPECT_THROW(harmful_at_k(run, {}, flagged, 3), Error);
  EXPECT_THROW(harmful_at_k(run, {"q1"}, flagged, 0), Error);
}

TEST(GenerativeProbes, TokenF1OverTheBagOfTokens) {
  EXPECT_DOUBLE_EQ(token_f1("The cat sat.", "the CAT sat"), 1.0);
  // predicted {a, cat, cat}, reference {the, cat}: common 1, P 1/3, R 1/2, F1 0.4.
  EXPECT_NEAR(token_f1("a cat cat", "the cat"), 0.4, 1e-12);
  EXPECT_DOUBLE_EQ(token_f1("dog", "cat"), 0.0);
  EXPECT_DOUBLE_EQ(token_f1("", ""), 1.0);
  EXPECT_DOUBLE_EQ(token_f1("...", "cat"), 0.0);
  EXPECT_EQ(f1_tokens("A large, dark-brown cat2!"), (std::vector<std::string>{"a", "large", "dark", "brown", "cat2"}));
}

}  // namespace
}  // namespace garden::eval
