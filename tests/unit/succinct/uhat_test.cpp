#include "garden/succinct/uhat.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/succinct/counter.h"

namespace garden::succinct {
namespace {

// Every word over {0,1,a,b,#} up to `max_length`, and the counter words of `n` with mutations:
// the compiled transformer against the interpreter, exactly.
void expect_equal_on_all_words(const Program& program, int n, int max_length) {
  const Interpreter interpreter(program);
  const Uhat uhat = Uhat::compile(program);
  const std::string symbols = kCounterAlphabet;
  int64_t disagreements = 0, accepted = 0;
  for (int length = 0; length <= max_length; ++length) {
    int64_t count = 1;
    for (int i = 0; i < length; ++i) count *= 5;
    for (int64_t index = 0; index < count; ++index) {
      std::string word(length, '0');
      for (int64_t i = length - 1, rest = index; i >= 0; --i, rest /= 5) word[i] = symbols[rest % 5];
      const bool by_program = interpreter.accepts(word);
      accepted += by_program;
      if (uhat.accepts(word) != by_program && ++disagreements <= 3) ADD_FAILURE() << "disagreement on " << word;
    }
  }
  // Short words are all non-members (a counter word is longer), so the members come from the
  // counter words themselves and their one-symbol mutations.
  for (uint64_t x = 0; x <= counter_max_value(n); ++x)
    for (uint64_t y = x; y <= counter_max_value(n); ++y) {
      const std::string word = counter_word(n, x, y);
      for (size_t i = 0; i < word.size() + 5; i += 5) {  // the word itself, then one symbol changed every 5
        std::string changed = word;
        if (i > 0) changed[i - 5] = symbols[(symbols.find(word[i - 5]) + 1 + x % 4) % symbols.size()];
        const bool by_program = interpreter.accepts(changed);
        accepted += by_program;
        if (uhat.accepts(changed) != by_program && ++disagreements <= 3) ADD_FAILURE() << "disagreement on " << changed;
      }
    }
  EXPECT_EQ(disagreements, 0);
  EXPECT_GT(accepted, 0);  // members were among the words, so agreement is not all-rejects
}

TEST(Uhat, EqualsTheInterpreterOnWordsUpToLength7AndCounterWords) {
  expect_equal_on_all_words(build_counter_program(1, CounterLanguage::segments), 1, 7);
  expect_equal_on_all_words(build_counter_program(1, CounterLanguage::single), 1, 7);
}

TEST(Uhat, EqualsTheInterpreterOnWordsUpToLength6AndCounterWordsForN2) {
  expect_equal_on_all_words(build_counter_program(2, CounterLanguage::segments), 2, 6);
}

TEST(Uhat, AcceptsTheMembersAndRejectsNearMisses) {
  for (int n = 1; n <= 2; ++n) {
    const Uhat single = Uhat::compile(build_counter_program(n, CounterLanguage::single));
    const Uhat segments = Uhat::compile(build_counter_program(n, CounterLanguage::segments));
    const uint64_t max = counter_max_value(n);
    EXPECT_TRUE(single.accepts(counter_word(n, 0, max)));
    EXPECT_FALSE(single.accepts(counter_word(n, 1, max)));
    for (uint64_t x = 0; x <= max; ++x)
      for (uint64_t y = x; y <= max; ++y) EXPECT_TRUE(segments.accepts(counter_word(n, x, y)));
    EXPECT_FALSE(segments.accepts("#" + counter_block(n, 1) + "#" + counter_block(n, 3) + "#"));
  }
}

// Hand-checked: "is there an earlier b", read at the last position. The first position's
// mask is empty, so the head adds nothing there and the default decides.
TEST(Uhat, EmptyMaskFallsBackToTheDefault) {
  using F = Formula;
  Program p("ab");
  const VectorId earlier_b = p.add_attention("earlier_b", Mask::before, TieBreak::rightmost, F::at_j(p.symbol('b')),
                                             F::constant_value(true), F::at_i(p.symbol('b')));
  p.set_output(earlier_b);
  const Uhat uhat = Uhat::compile(p);
  EXPECT_TRUE(uhat.accepts("b"));  // default Q_b(0)
  EXPECT_FALSE(uhat.accepts("a"));
  EXPECT_TRUE(uhat.accepts("ba"));
  EXPECT_FALSE(uhat.accepts("aa"));
  EXPECT_TRUE(uhat.accepts("ab"));   // no earlier b: the default, its own b
  EXPECT_TRUE(uhat.accepts("aab"));
  EXPECT_TRUE(uhat.accepts("bba"));  // an earlier b
}

TEST(Uhat, WeightsAreSmallIntegersAndTheSizeIsDeterministic) {
  for (int n = 1; n <= kMaxCounterN; ++n) {
    const UhatSize a = Uhat::compile(build_counter_program(n, CounterLanguage::single)).size();
    const UhatSize b = Uhat::compile(build_counter_program(n, CounterLanguage::single)).size();
    EXPECT_EQ(a.nonzero_weights, b.nonzero_weights);
    EXPECT_EQ(a.width, b.width);
    EXPECT_EQ(a.largest_weight_bits, 2);  // fixed precision: weights stay within [-3, 3] for every n
    EXPECT_GT(a.heads, 0);
  }
}

TEST(Uhat, RefusesScoresItCannotCompile) {
  using F = Formula;
  Program p("ab");
  p.set_output(p.add_attention("disjunctive", Mask::all, TieBreak::leftmost,
                               F::any({F::at_j(p.symbol('a')), F::at_i(p.symbol('b'))}), F::constant_value(true),
                               F::constant_value(false)));
  EXPECT_THROW(Uhat::compile(p), Error);
}

}  // namespace
}  // namespace garden::succinct
