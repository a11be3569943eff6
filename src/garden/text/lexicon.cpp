#include "garden/text/lexicon.h"

#include <fmt/core.h>

#include <cctype>

#include "garden/core/error.h"

namespace garden::text {

namespace {

std::set<std::string> word_list(const std::string& list, const char* which) {
  std::set<std::string> out;
  std::string word;
  const auto flush = [&] {
    if (!word.empty()) out.insert(word);
    word.clear();
  };
  for (const char c : list) {
    if (c == ',') {
      flush();
    } else if (std::isalpha(static_cast<unsigned char>(c)) != 0) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (c != ' ') {
      usage_error(fmt::format("lexicon: the {} list '{}' holds '{}': words are letters, separated by commas", which, list, c));
    }
  }
  flush();
  if (out.empty()) usage_error(fmt::format("lexicon: the {} list is empty", which));
  return out;
}

}  // namespace

const char* line_class_name(LineClass c) {
  switch (c) {
    case LineClass::positive: return "positive";
    case LineClass::negative: return "negative";
    case LineClass::both: return "both";
    case LineClass::neither: return "neither";
  }
  return "";
}

Lexicon Lexicon::standin() {
  return {{"love", "joy", "peace", "blessed", "mercy", "light", "rejoice", "good"},
          {"death", "wrath", "sword", "blood", "curse", "fear", "destroy", "evil"}};
}

Lexicon Lexicon::from_lists(const std::string& positive, const std::string& negative) {
  Lexicon out{word_list(positive, "positive"), word_list(negative, "negative")};
  for (const auto& w : out.positive)
    if (out.negative.count(w) != 0) usage_error(fmt::format("lexicon: '{}' is in both lists", w));
  return out;
}

std::vector<std::string> lexicon_words(const std::string& line) {
  std::vector<std::string> out;
  std::string word;
  for (const char c : line) {
    if (std::isalpha(static_cast<unsigned char>(c)) != 0) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      out.push_back(word);
      word.clear();
    }
  }
  if (!word.empty()) out.push_back(word);
  return out;
}

LineClass Lexicon::classify(const std::string& line) const {
  bool pos = false, neg = false;
  for (const auto& w : lexicon_words(line)) {
    pos = pos || positive.count(w) != 0;
    neg = neg || negative.count(w) != 0;
  }
  return pos && neg ? LineClass::both : pos ? LineClass::positive : neg ? LineClass::negative : LineClass::neither;
}

double LexiconScore::balance() const {
  return lines > 0 ? static_cast<double>(positive - negative) / static_cast<double>(lines) : 0.0;
}

Json LexiconScore::to_json() const {
  return {{"lines", lines}, {"positive", positive}, {"negative", negative}, {"both", both}, {"neither", neither}, {"balance", balance()}};
}

LexiconScore score_lines(const Lexicon& lexicon, const std::vector<std::string>& lines) {
  LexiconScore s;
  for (const auto& line : lines) {
    ++s.lines;
    switch (lexicon.classify(line)) {
      case LineClass::positive: ++s.positive; break;
      case LineClass::negative: ++s.negative; break;
      case LineClass::both: ++s.both; break;
      case LineClass::neither: ++s.neither; break;
    }
  }
  return s;
}

}  // namespace garden::text
