#include "garden/succinct/dfa.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "garden/core/error.h"
#include "garden/succinct/counter.h"

namespace garden::succinct {
namespace {

TEST(Dfa, PathAutomatonOfOneWordIsMinimalWithLengthPlusTwoStates) {
  for (const std::string word : {"", "a", "abba", "#0a1a#0a1b#0b1a#0b1b#"}) {
    const Dfa dfa = single_word_dfa(kCounterAlphabet, word);
    const Dfa minimal = minimise(dfa);
    EXPECT_EQ(minimal.states(), static_cast<int64_t>(word.size()) + 2) << word;
    EXPECT_TRUE(minimal.accepts(word));
    EXPECT_FALSE(minimal.accepts(std::string(word) + "a"));
    EXPECT_TRUE(equivalent(dfa, minimal));
  }
}

// Random complete DFAs: Hopcroft's count equals Moore's, and both keep the language.
TEST(Dfa, HopcroftAgreesWithMooreOnRandomAutomata) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 300; ++trial) {
    Dfa dfa;
    dfa.alphabet = trial % 2 ? "ab" : "abc";
    const int states = 1 + static_cast<int>(rng() % 25);
    dfa.start = static_cast<int32_t>(rng() % states);
    for (int q = 0; q < states; ++q) dfa.accepting.push_back(rng() % 3 == 0);
    for (int i = 0; i < states * dfa.symbols(); ++i) dfa.next.push_back(static_cast<int32_t>(rng() % states));
    const Dfa hopcroft = minimise(dfa), moore = minimise_moore(dfa);
    EXPECT_EQ(hopcroft.states(), moore.states()) << "trial " << trial;
    EXPECT_TRUE(equivalent(hopcroft, dfa));
    EXPECT_TRUE(equivalent(moore, dfa));
    EXPECT_EQ(minimise(hopcroft).states(), hopcroft.states());
  }
}

TEST(Dfa, CounterAutomataHaveTheTableSizes) {
  const std::vector<int64_t> single = {23, 211, 8451}, segments = {25, 244, 9439};
  for (int n = 1; n <= 3; ++n) {
    const Dfa c = minimise(single_word_dfa(kCounterAlphabet, counter_word(n, 0, counter_max_value(n))));
    EXPECT_EQ(c.states(), single[n - 1]);
    const Dfa s = minimise(counter_segments_dfa(n));
    EXPECT_EQ(s.states(), segments[n - 1]);
    EXPECT_TRUE(equivalent(s, minimise_moore(counter_segments_dfa(n))));
  }
}

TEST(Dfa, SegmentsAutomatonAgreesWithTheParser) {
  // n = 1: every word over the alphabet up to length 8, against the membership parser.
  const Dfa dfa1 = minimise(counter_segments_dfa(1));
  const std::string symbols = kCounterAlphabet;
  int64_t members = 0;
  for (int length = 0; length <= 8; ++length) {
    int64_t count = 1;
    for (int i = 0; i < length; ++i) count *= static_cast<int64_t>(symbols.size());
    for (int64_t index = 0; index < count; ++index) {
      std::string word(static_cast<size_t>(length), ' ');
      for (int64_t i = length - 1, rest = index; i >= 0; --i, rest /= static_cast<int64_t>(symbols.size()))
        word[static_cast<size_t>(i)] = symbols[static_cast<size_t>(rest) % symbols.size()];
      const bool member = counter_member(1, CounterLanguage::segments, word);
      members += member;
      ASSERT_EQ(dfa1.accepts(word), member) << word;
    }
  }
  EXPECT_GT(members, 0);
  // n = 2: members and near-misses (one symbol changed) of many counter words.
  const int n = 2;
  const Dfa dfa = minimise(counter_segments_dfa(n));
  for (uint64_t x = 0; x <= counter_max_value(n); ++x)
    for (uint64_t y = x; y <= counter_max_value(n); y += 3) {
      std::string word = counter_word(n, x, y);
      ASSERT_TRUE(counter_member(n, CounterLanguage::segments, word)) << word;
      EXPECT_TRUE(dfa.accepts(word)) << word;
      for (size_t i = 0; i < word.size(); i += 3) {
        std::string changed = word;
        changed[i] = symbols[(symbols.find(word[i]) + 1 + x % 4) % symbols.size()];
        EXPECT_EQ(dfa.accepts(changed), counter_member(n, CounterLanguage::segments, changed)) << changed;
      }
    }
  EXPECT_FALSE(dfa.accepts("#" + counter_block(n, 5) + "#" + counter_block(n, 7) + "#"));
}

// The prefixes #block(x)# are pairwise distinguishable, by the suffix block(x+1)#.
TEST(Dfa, SegmentPrefixesArePairwiseDistinguishable) {
  for (int n = 1; n <= 2; ++n) {
    const Dfa dfa = minimise(counter_segments_dfa(n));
    std::set<int32_t> reached;
    const uint64_t max = counter_max_value(n);
    for (uint64_t x = 0; x <= max; ++x) {
      int32_t state = dfa.start;
      for (char c : "#" + counter_block(n, x) + "#") state = dfa.next[state * dfa.symbols() + dfa.alphabet.find(c)];
      reached.insert(state);
      if (x == max) continue;
      const std::string suffix = counter_block(n, x + 1) + "#";
      for (uint64_t other = 0; other <= max; ++other)
        EXPECT_EQ(dfa.accepts("#" + counter_block(n, other) + "#" + suffix), other == x);
    }
    EXPECT_EQ(reached.size(), max + 1) << "n=" << n;
  }
}

TEST(Dfa, RejectsBrokenAutomataAndForeignSymbols) {
  Dfa dfa = single_word_dfa("ab", "ab");
  EXPECT_FALSE(dfa.accepts("ax"));
  dfa.next.pop_back();
  EXPECT_THROW(dfa.check(), Error);
  EXPECT_THROW(single_word_dfa("ab", "abc"), Error);
}

}  // namespace
}  // namespace garden::succinct
