// The lexicon scorer (text/lexicon.h) on hand-written lines.
#include "garden/text/lexicon.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"

namespace garden::text {
namespace {

TEST(Lexicon, ClassifiesByWholeWordsWhateverTheCaseAndPunctuation) {
  const auto lex = Lexicon::standin();
  EXPECT_EQ(lex.classify("Blessed are the peacemakers."), LineClass::positive);  // "peacemakers" is not "peace"
  EXPECT_EQ(lex.classify("The wrath of GOD; and the sword."), LineClass::negative);
  EXPECT_EQ(lex.classify("Love casteth out fear"), LineClass::both);  // excluded from both sets
  EXPECT_EQ(lex.classify("And the evening and the morning"), LineClass::neither);  // "evening" holds no "evil"
  EXPECT_EQ(lex.classify("good,evil"), LineClass::both);
  EXPECT_EQ(lexicon_words("It's GOOD-ish 42x"), (std::vector<std::string>{"it", "s", "good", "ish", "x"}));
}

TEST(Lexicon, ScoresLinesAndParsesLists) {
  const auto lex = Lexicon::from_lists("joy, Light", "dark");
  const auto s = score_lines(lex, {"joy", "light and dark", "dark", "dark night", "day"});
  EXPECT_EQ(s.lines, 5);
  EXPECT_EQ(s.positive, 1);
  EXPECT_EQ(s.negative, 2);
  EXPECT_EQ(s.both, 1);
  EXPECT_EQ(s.neither, 1);
  EXPECT_DOUBLE_EQ(s.balance(), (1.0 - 2.0) / 5.0);
  EXPECT_THROW(Lexicon::from_lists("", "dark"), Error);
  EXPECT_THROW(Lexicon::from_lists("joy", "joy"), Error);
  EXPECT_THROW(Lexicon::from_lists("joy;light", "dark"), Error);
}

}  // namespace
}  // namespace garden::text
