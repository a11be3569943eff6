// The template reader of llm-wiki.md's reproduction: answers the evolving-facts questions from
// whatever text a system returns (raw chunks for RAG, pages for the wiki), so that the systems
// differ only in what they retrieve. It is date-aware: of the claims it finds for an entity and
// attribute, the newest wins.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "garden/wiki/claims.h"

namespace garden::wiki {

struct ParsedQuestion {
  std::string type;  // Q1 current value | Q2 count of values | Q3 join | Q4 lookup
  std::string entity;  // Q1, Q2, Q4, Q3 "same river as"
  Attribute attribute = Attribute::mayor;
  std::string river;  // Q3 "on the river R"
};
// The question in the forms the evolving-facts generator asks; nothing for any other text.
std::optional<ParsedQuestion> parse_question(const std::string& question);

struct ReaderAnswer {
  std::string answer;  // "" when the text does not answer it
  std::vector<Claim> evidence;
};
ReaderAnswer read_answer(const ParsedQuestion& question, const std::string& text);

}  // namespace garden::wiki
