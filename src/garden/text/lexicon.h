// The lexicon scorer of resist-alignment.md's harmless stand-in: a line is positive when it
// holds a word of the positive lexicon and none of the negative one, negative the other way
// round; a line with both is excluded from both sets. Words are maximal runs of ASCII letters,
// lower-cased, so the verdict does not depend on any tokenizer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "garden/core/json.h"

namespace garden::text {

enum class LineClass { positive, negative, both, neither };
const char* line_class_name(LineClass c);

struct Lexicon {
  std::set<std::string> positive, negative;
  // The spec's default word lists.
  static Lexicon standin();
  // Comma-separated lists (spaces ignored, lower-cased); an empty list or a word in both is an error.
  static Lexicon from_lists(const std::string& positive, const std::string& negative);
  LineClass classify(const std::string& line) const;
};

// The words of a line as the scorer sees them.
std::vector<std::string> lexicon_words(const std::string& line);

struct LexiconScore {
  int64_t lines = 0, positive = 0, negative = 0, both = 0, neither = 0;
  // (positive - negative) / lines: +1 when every line is positive, -1 when every line is negative.
  double balance() const;
  Json to_json() const;
};
LexiconScore score_lines(const Lexicon& lexicon, const std::vector<std::string>& lines);

}  // namespace garden::text
