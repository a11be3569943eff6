#include "garden/succinct/counter.h"

#include <gtest/gtest.h>

#include <random>

#include "garden/core/error.h"

namespace garden::succinct {
namespace {

TEST(Counter, BlocksDecodeBackAndListAddressesInOrder) {
  for (int n = 1; n <= 2; ++n)
    for (uint64_t x = 0; x <= counter_max_value(n); ++x) EXPECT_EQ(decode_counter_block(n, counter_block(n, x)), x);
  std::mt19937_64 rng(3);
  for (int n = 3; n <= kMaxCounterN; ++n)
    for (int trial = 0; trial < 20; ++trial) {
      const uint64_t x = rng() & counter_max_value(n);
      EXPECT_EQ(decode_counter_block(n, counter_block(n, x)), x) << "n=" << n;
    }
  EXPECT_EQ(counter_block(1, 2), "0b1a");  // bit 0 is the most significant
  EXPECT_EQ(counter_block(2, 1), "00a01a10a11b");
}

TEST(Counter, SingleWordLengthMatchesItsClosedForm) {
  for (int n = 1; n <= 3; ++n) EXPECT_EQ(counter_word(n, 0, counter_max_value(n)).size(), single_word_length(n));
  EXPECT_EQ(to_decimal(single_word_length(1)), "21");
  EXPECT_EQ(to_decimal(single_word_length(3)), "8449");
  EXPECT_EQ(to_decimal(single_word_length(4)), "5308417");
  EXPECT_EQ(to_decimal(single_word_length(5)), "828928688129");
  EXPECT_EQ(to_decimal(single_word_length(6)), "8282588089095588675585");
}

TEST(Counter, RejectsOutOfRangeN) {
  EXPECT_THROW(check_counter_n(0), Error);
  EXPECT_THROW(check_counter_n(kMaxCounterN + 1), Error);
  EXPECT_THROW(parse_counter_language("pairs"), Error);
}

// Each negative case of the spec, for the program and the direct parser, next to the
// member it was made from.
TEST(Counter, ProgramAndParserRejectTheSpecNegatives) {
  for (int n = 1; n <= 2; ++n)
    for (CounterLanguage language : {CounterLanguage::segments, CounterLanguage::single}) {
      const Program program = build_counter_program(n, language);
      const Interpreter interpreter(program);
      const uint64_t max = counter_max_value(n);
      const std::string member = language == CounterLanguage::single ? counter_word(n, 0, max) : counter_word(n, 1, 2);
      EXPECT_TRUE(interpreter.accepts(member));
      EXPECT_TRUE(counter_member(n, language, member));
      const std::string block_length_cells = counter_block(n, 0);
      std::vector<std::pair<std::string, std::string>> negatives = {
          {"wrap-around", "#" + counter_block(n, max) + "#" + counter_block(n, 0) + "#"},
          {"skipped value", "#" + counter_block(n, 1) + "#" + counter_block(n, 3) + "#"},
          {"missing final #", member.substr(0, member.size() - 1)},
          {"##", member + "#"},
          {"empty", ""},
          {"only #", "#"},
      };
      {  // two cells swapped: addresses out of order
        std::string swapped = member;
        std::swap_ranges(swapped.begin() + 1, swapped.begin() + 1 + n + 1, swapped.begin() + 1 + n + 1);
        negatives.emplace_back("swapped cells", swapped);
      }
      {  // an address run of length n + 1
        std::string longer = member;
        longer.insert(1, "0");
        negatives.emplace_back("address run n+1", longer);
      }
      for (const auto& [what, word] : negatives) {
        EXPECT_FALSE(interpreter.accepts(word)) << what << " n=" << n << " " << to_string(language) << ": " << word;
        EXPECT_FALSE(counter_member(n, language, word)) << what;
      }
    }
}

TEST(Counter, SegmentsAcceptEveryMemberAndSingleOnlyW) {
  const int n = 1;
  const Interpreter segments(build_counter_program(n, CounterLanguage::segments));
  const Interpreter single(build_counter_program(n, CounterLanguage::single));
  for (uint64_t x = 0; x <= 3; ++x)
    for (uint64_t y = x; y <= 3; ++y) {
      const std::string word = counter_word(n, x, y);
      EXPECT_TRUE(segments.accepts(word)) << word;
      EXPECT_EQ(single.accepts(word), x == 0 && y == 3) << word;
    }
}

TEST(Counter, ProgramSizeIsDeterministicAndGrowsPolynomially) {
  std::vector<int64_t> sizes;
  for (int n = 1; n <= kMaxCounterN; ++n) {
    const int64_t size = build_counter_program(n, CounterLanguage::single).size();
    EXPECT_EQ(size, build_counter_program(n, CounterLanguage::single).size());
    sizes.push_back(size);
  }
  for (size_t i = 1; i < sizes.size(); ++i) {
    EXPECT_GT(sizes[i], sizes[i - 1]);
    // Quadratic at most: size(n) / n^2 does not grow.
    const double n = static_cast<double>(i + 1);
    EXPECT_LE(sizes[i] / (n * n), sizes[i - 1] / ((n - 1) * (n - 1)));
  }
}

}  // namespace
}  // namespace garden::succinct
