// Streamed text: pieces concatenate to the final text; the text ends before a stop string,
// even one split across tokens, and never sends half of a UTF-8 character.
#include "garden/serve/text_stream.h"

#include <gtest/gtest.h>

namespace garden::serve {
namespace {

// Feeds `text` byte by byte (the byte tokenizer: one token a byte) and returns what was
// streamed, piece by piece, and the final text.
std::pair<std::vector<std::string>, std::string> feed(const std::string& text, const std::vector<std::string>& stops,
                                                      bool* stopped = nullptr) {
  const text::ByteTokenizer tok;
  TextStream stream(tok, stops, {tok.eos_id()});
  std::vector<std::string> pieces;
  for (unsigned char c : text) {
    const bool end = stream.add(c);
    if (auto p = stream.take(); !p.empty()) pieces.push_back(p);
    if (end) break;
  }
  if (stopped) *stopped = stream.stopped();
  if (auto p = stream.finish(); !p.empty()) pieces.push_back(p);
  return {pieces, stream.text()};
}

std::string joined(const std::vector<std::string>& pieces) {
  std::string all;
  for (const auto& p : pieces) all += p;
  return all;
}

TEST(TextStream, WithoutStopsEveryByteIsSentAsItComes) {
  const auto [pieces, text] = feed("abc", {});
  EXPECT_EQ(text, "abc");
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(TextStream, EndsBeforeAStopStringSplitAcrossTokens) {
  bool stopped = false;
  const auto [pieces, text] = feed("hello\nUser: more", {"\nUser:"}, &stopped);
  EXPECT_TRUE(stopped);
  EXPECT_EQ(text, "hello");
  EXPECT_EQ(joined(pieces), "hello");
}

TEST(TextStream, AHeldBackPrefixIsReleasedWhenItIsNoStop) {
  bool stopped = true;
  const auto [pieces, text] = feed("a\nUb", {"\nUser:"}, &stopped);
  EXPECT_FALSE(stopped);
  EXPECT_EQ(text, "a\nUb");
  EXPECT_EQ(joined(pieces), "a\nUb");
}

TEST(TextStream, StopTokensEndTheTextWithoutAppearing) {
  const text::ByteTokenizer tok;
  TextStream stream(tok, {}, {tok.eos_id()});
  EXPECT_FALSE(stream.add('x'));
  EXPECT_TRUE(stream.add(tok.eos_id()));
  EXPECT_TRUE(stream.add('y'));  // after the end: ignored
  EXPECT_EQ(stream.finish(), "x");
  EXPECT_EQ(stream.text(), "x");
}

TEST(TextStream, NeverSendsHalfACharacter) {
  const std::string snowman = "\xE2\x98\x83";  // U+2603, three bytes
  const auto [pieces, text] = feed("a" + snowman + "b", {});
  EXPECT_EQ(text, "a" + snowman + "b");
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", snowman, "b"}));
  EXPECT_EQ(complete_utf8_length("a\xE2\x98"), 1u);
  EXPECT_EQ(complete_utf8_length("a\xEF\xBF\xBD"), 1u);  // U+FFFD: a decoder's stand-in for a partial character
  EXPECT_EQ(complete_utf8_length("ab"), 2u);
}

}  // namespace
}  // namespace garden::serve
