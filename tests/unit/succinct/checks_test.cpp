#include "garden/succinct/checks.h"

#include <gtest/gtest.h>

namespace garden::succinct {
namespace {

TEST(SuccinctChecks, CeilLog2IsExact) {
  EXPECT_EQ(ceil_log2(1), 0);
  EXPECT_EQ(ceil_log2(2), 1);
  EXPECT_EQ(ceil_log2(23), 5);
  EXPECT_EQ(ceil_log2(32), 5);
  EXPECT_EQ(ceil_log2(33), 6);
  EXPECT_EQ(ceil_log2(8451), 14);
  EXPECT_EQ(ceil_log2(static_cast<unsigned __int128>(1) << 70), 70);
  EXPECT_EQ(ceil_log2((static_cast<unsigned __int128>(1) << 70) + 1), 71);
}

TEST(SuccinctChecks, SizeRowsMatchTheTableAndTheRnnBound) {
  const std::vector<std::string> single = {"23", "211", "8451"}, segments = {"25", "244", "9439"};
  int64_t previous_size = 0;
  for (int n = 1; n <= 3; ++n) {
    const SizeRow row = size_row(n, CounterLanguage::single, 100000);
    EXPECT_TRUE(row.dfa_single.explicit_construction);
    EXPECT_EQ(row.dfa_single.states, single[n - 1]);
    EXPECT_EQ(row.dfa_segments.states, segments[n - 1]);
    EXPECT_EQ(row.rnn_state_bits_ceil, ceil_log2(std::stoull(single[n - 1])));
    EXPECT_GT(row.program_size, previous_size);
    previous_size = row.program_size;
  }
  const SizeRow big = size_row(6, CounterLanguage::single, 100000);
  EXPECT_FALSE(big.dfa_single.explicit_construction);
  EXPECT_EQ(big.dfa_single.states, "8282588089095588675587");  // |W_6| + 2
  EXPECT_EQ(big.dfa_segments.states, "-");
  EXPECT_NEAR(big.rnn_state_bits, 72.8, 0.05);
}

TEST(SuccinctChecks, AgreementFindsNoDisagreementForN1) {
  for (CounterLanguage language : {CounterLanguage::single, CounterLanguage::segments}) {
    AgreementOptions options;
    options.n = 1;
    options.language = language;
    options.max_length = 7;
    options.uhat_max_length = 5;
    options.random_words = 2000;
    options.quiet = true;
    const AgreementReport report = check_agreement(options);
    EXPECT_EQ(report.disagreements(), 0) << report.to_json().dump();
    ASSERT_EQ(report.sets.size(), 4u);
    EXPECT_EQ(report.sets[0].words, 97656);  // (5^8 - 1) / 4 words of length 0..7
    EXPECT_EQ(report.sets[0].uhat_words, 3906);
    EXPECT_EQ(report.sets[1].accepted, language == CounterLanguage::single ? 1 : 10);
    EXPECT_GT(report.sets[2].words, 0);
    EXPECT_EQ(report.sets[3].words, 2000);
    EXPECT_GT(report.sets[3].accepted, 0);
    EXPECT_LT(report.sets[3].accepted, 2000);
  }
}

}  // namespace
}  // namespace garden::succinct
