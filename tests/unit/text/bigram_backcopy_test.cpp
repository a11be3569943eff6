#include "garden/text/bigram_backcopy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "garden/core/error.h"

namespace garden::text {
namespace {

const std::string kSample =
    "the cat sat on the mat. a hat, a bat; then the rat ran at the cat!\nthat is that, and so on to the end.";

// Tokens a (0), b (1) and the trigger T (2): a -> {a, T} evenly, b -> T always.
BigramBackcopy tiny() {
  return BigramBackcopy({{0.5, 0.0, 0.5}, {0.0, 0.0, 1.0}, {1.0 / 3, 1.0 / 3, 1.0 / 3}}, {0.5, 0.5, 0.0}, {2});
}

TEST(BigramBackcopy, TokenAfterATriggerCopiesTheTokenBeforeIt) {
  const auto task = BigramBackcopy::from_text(kSample, 3);
  std::mt19937_64 rng(7);
  int64_t copies = 0;
  for (int i = 0; i < 50; ++i) {
    const auto seq = task.sequence(40, rng);
    ASSERT_EQ(seq.size(), 40u);
    EXPECT_EQ(seq[0], task.bos());
    EXPECT_FALSE(task.is_trigger(seq[1]));  // the first token is drawn without the triggers
    for (size_t t = 2; t < seq.size(); ++t) {
      EXPECT_NE(seq[t], task.bos());
      if (task.is_trigger(seq[t - 1])) {
        EXPECT_EQ(seq[t], seq[t - 2]) << "position " << t;
        ++copies;
      }
    }
  }
  EXPECT_GT(copies, 100);  // the three most frequent bytes come up often
}

TEST(BigramBackcopy, FromTextBuildsStochasticRowsAndPicksTheMostFrequentBytes) {
  const auto task = BigramBackcopy::from_text(kSample, 3);
  const int32_t v = task.vocab_size() - 1;
  for (int32_t a = 0; a < v; ++a) {
    const auto& row = task.transition_row(a);
    EXPECT_NEAR(std::accumulate(row.begin(), row.end(), 0.0), 1.0, 1e-12) << "row " << a;
  }
  EXPECT_NEAR(std::accumulate(task.start().begin(), task.start().end(), 0.0), 1.0, 1e-12);
  // By hand: ' ' (24 times), 't' (19) and 'a' (14) lead the counts of kSample.
  std::vector<std::string> triggers;
  for (int32_t t : task.triggers()) triggers.push_back(task.symbol(t));
  EXPECT_EQ(triggers, (std::vector<std::string>{" ", "a", "t"}));
  for (int32_t t : task.triggers()) EXPECT_EQ(task.start()[static_cast<size_t>(t)], 0.0);
  // 'h' is followed by 'e' 6 times ("the" x5, "then") and by 'a' 3 times ("hat", "that" x2).
  int32_t h = -1, e = -1;
  for (int32_t t = 0; t < v; ++t) {
    if (task.symbol(t) == "h") h = t;
    if (task.symbol(t) == "e") e = t;
  }
  ASSERT_GE(h, 0);
  EXPECT_NEAR(task.transition_row(h)[static_cast<size_t>(e)], 6.0 / 9.0, 1e-12);
  EXPECT_EQ(task.symbol(task.bos()), "<s>");
}

TEST(BigramBackcopy, LossFloorOfAHandBuiltTableMatchesAHandCount) {
  const auto task = tiny();
  // Length 3: position 1 from BOS (ln 2), position 2 after a (ln 2, probability 1/2) or b (0).
  EXPECT_NEAR(task.loss_floor(3), (std::log(2.0) + 0.5 * std::log(2.0)) / 2, 1e-12);
  // Length 4 adds position 3: (a, a) with 1/4 (ln 2), (a, T) and (b, T) copy (0).
  EXPECT_NEAR(task.loss_floor(4), (std::log(2.0) + 0.5 * std::log(2.0) + 0.25 * std::log(2.0)) / 3, 1e-12);
}

TEST(BigramBackcopy, NegativeLogLikelihoodOfAHandMadeSequence) {
  const auto task = tiny();
  // BOS a a T a b: a -> b has probability zero.
  EXPECT_THROW(task.negative_log_likelihood({3, 0, 0, 2, 0, 1}), Error);
  // BOS b T b T b: start ln 2, b -> T certain, copies certain.
  EXPECT_NEAR(task.negative_log_likelihood({3, 1, 2, 1, 2, 1}), std::log(2.0), 1e-12);
  // BOS a a T a T a: ln 2 + ln 2 + ln 2 + 0 + ln 2 + 0.
  EXPECT_NEAR(task.negative_log_likelihood({3, 0, 0, 2, 0, 2, 0}), 4 * std::log(2.0), 1e-12);
  EXPECT_THROW(task.negative_log_likelihood({3, 0, 2, 1}), Error);  // a broken copy
  EXPECT_THROW(task.negative_log_likelihood({0, 1}), Error);        // no BOS
}

TEST(BigramBackcopy, LossFloorMatchesAMonteCarloEstimate) {
  const auto task = BigramBackcopy::from_text(kSample, 3);
  const int64_t length = 24;
  std::mt19937_64 rng(11);
  const int n = 20000;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const auto seq = task.sequence(length, rng);
    // The sequence's own negative log-likelihood under the generator, per predicted token.
    const double nll = task.negative_log_likelihood(seq) / static_cast<double>(length - 1);
    sum += nll;
    sum_sq += nll * nll;
  }
  const double mean = sum / n, se = std::sqrt((sum_sq / n - mean * mean) / n);
  EXPECT_NEAR(task.loss_floor(length), mean, 4 * se) << "standard error " << se;
  EXPECT_LT(se, 0.01);
}

TEST(BigramBackcopy, SequencesArePureFunctionsOfTheSeed) {
  const auto task = tiny();
  std::mt19937_64 a(3), b(3), c(4);
  EXPECT_EQ(task.sequence(30, a), task.sequence(30, b));
  EXPECT_NE(task.sequence(30, a), task.sequence(30, c));
}

TEST(BigramBackcopy, RejectsMalformedTables) {
  EXPECT_THROW(BigramBackcopy({{0.5, 0.4}, {0.5, 0.5}}, {1.0, 0.0}, {}), Error);          // a row sums to 0.9
  EXPECT_THROW(BigramBackcopy({{0.5, 0.5}, {0.5, 0.5}}, {0.5, 0.5}, {1}), Error);         // start gives a trigger weight
  EXPECT_THROW(BigramBackcopy({{0.5, 0.5}, {0.5, 0.5}}, {1.0, 0.0}, {2}), Error);         // trigger outside the vocabulary
  EXPECT_THROW(BigramBackcopy({{0.5, 0.5}, {0.5, 0.5}}, {1.0, 0.0}, {1, 1}), Error);      // trigger listed twice
  EXPECT_THROW(BigramBackcopy({{1.5, -0.5}, {0.5, 0.5}}, {1.0, 0.0}, {}), Error);         // a negative entry
  EXPECT_THROW(BigramBackcopy::from_text("aaaa", 1), Error);                               // one distinct byte
  EXPECT_THROW(BigramBackcopy::from_text("abc", 3), Error);                                // no byte left beside the triggers
  std::mt19937_64 rng(1);
  EXPECT_THROW(tiny().sequence(1, rng), Error);
  EXPECT_THROW(tiny().loss_floor(1), Error);
}

}  // namespace
}  // namespace garden::text
