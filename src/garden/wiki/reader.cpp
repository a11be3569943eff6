#include "garden/wiki/reader.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

namespace garden::wiki {

namespace {

// The newest claim of each entity for `attribute` (the first found among equally new ones).
std::map<std::string, Claim> newest_by_entity(const std::vector<Claim>& claims, Attribute attribute) {
  std::map<std::string, Claim> newest;
  for (const auto& c : claims) {
    if (c.attribute != attribute) continue;
    const auto it = newest.find(c.entity);
    if (it == newest.end() || c.date > it->second.date) newest[c.entity] = c;
  }
  return newest;
}

}  // namespace

std::optional<ParsedQuestion> parse_question(const std::string& question) {
  static const std::regex current("^(?:Who|What) is the current (mayor|twin town) of ([A-Za-z]+)\\?$");
  static const std::regex count("^How many different (mayors|twin towns) has ([A-Za-z]+) had\\?$");
  static const std::regex on_river("^Which towns lie on the river ([A-Za-z]+)\\?$");
  static const std::regex same_river("^Which other towns lie on the same river as ([A-Za-z]+)\\?$");
  static const std::regex population("^What is the population of ([A-Za-z]+)\\?$");
  std::smatch m;
  if (std::regex_match(question, m, current))
    return ParsedQuestion{"Q1", m[2].str(), m[1].str() == "mayor" ? Attribute::mayor : Attribute::twin, ""};
  if (std::regex_match(question, m, count))
    return ParsedQuestion{"Q2", m[2].str(), m[1].str() == "mayors" ? Attribute::mayor : Attribute::twin, ""};
  if (std::regex_match(question, m, on_river)) return ParsedQuestion{"Q3", "", Attribute::river, m[1].str()};
  if (std::regex_match(question, m, same_river)) return ParsedQuestion{"Q3", m[1].str(), Attribute::river, ""};
  if (std::regex_match(question, m, population)) return ParsedQuestion{"Q4", m[1].str(), Attribute::population, ""};
  return std::nullopt;
}

ReaderAnswer read_answer(const ParsedQuestion& question, const std::string& text) {
  const auto claims = extract_any_claims(text);
  ReaderAnswer out;
  if (question.type == "Q2") {
    std::set<std::string> values;
    for (const auto& c : claims)
      if (c.entity == question.entity && c.attribute == question.attribute && values.insert(c.value).second) out.evidence.push_back(c);
    if (!values.empty()) out.answer = std::to_string(values.size());
    return out;
  }
  const auto newest = newest_by_entity(claims, question.attribute);
  if (question.type == "Q3") {
    auto river = question.river;
    if (!question.entity.empty()) {
      const auto own = newest.find(question.entity);
      if (own == newest.end()) return out;
      river = own->second.value;
      out.evidence.push_back(own->second);
    }
    std::vector<std::string> towns;
    for (const auto& [entity, claim] : newest)
      if (claim.value == river && entity != question.entity) {
        towns.push_back(entity);
        out.evidence.push_back(claim);
      }
    for (const auto& t : towns) out.answer += (out.answer.empty() ? "" : ", ") + t;
    return out;
  }
  const auto it = newest.find(question.entity);
  if (it == newest.end()) return out;
  out.answer = it->second.value;
  out.evidence.push_back(it->second);
  return out;
}

}  // namespace garden::wiki
