#include "garden/wiki/claims.h"

#include <fmt/core.h>

#include <regex>
#include <sstream>

#include "garden/core/error.h"

namespace garden::wiki {

namespace {

// One prose template: the sentence with {E} (entity) and {V} (value), and the regex reading it.
struct Template {
  Attribute attribute;
  bool restate;
  const char* sentence;
  const char* keyword;  // a substring every match contains (skips the regex on most lines)
  std::regex pattern;
  bool value_first;  // the regex captures (value, entity) rather than (entity, value)
};

const char* const kName = "([A-Z][a-z]+)";
const char* const kPerson = "([A-Z][a-z]+ [A-Z][a-z]+)";
const char* const kBand = "((?:under|over) [0-9]+ thousand|[0-9]+ to [0-9]+ thousand)";

Template make(Attribute attribute, bool restate, const char* sentence, const char* keyword, const std::string& pattern, bool value_first) {
  return Template{attribute, restate, sentence, keyword, std::regex(pattern), value_first};
}

const std::vector<Template>& templates() {
  static const std::vector<Template> all = [] {
    const std::string e = kName, p = kPerson, b = kBand;
    return std::vector<Template>{
        make(Attribute::mayor, false, "{E} elected {V} as mayor.", "as mayor", e + " elected " + p + " as mayor\\.", false),
        make(Attribute::mayor, false, "{V} became mayor of {E}.", "became mayor", p + " became mayor of " + e + "\\.", true),
        make(Attribute::mayor, false, "The new mayor of {E} is {V}.", "new mayor", "The new mayor of " + e + " is " + p + "\\.", false),
        make(Attribute::mayor, true, "{V}, the mayor of {E}, opened the council meeting.", "the mayor of",
             p + ", the mayor of " + e + ", opened the council meeting\\.", true),
        make(Attribute::river, false, "{E} lies on the river {V}.", "lies on the river", e + " lies on the river " + e + "\\.", false),
        make(Attribute::river, false, "The river {V} flows through {E}.", "flows through", "The river " + e + " flows through " + e + "\\.", true),
        make(Attribute::river, true, "Boats on the river {V} drew crowds in {E}.", "drew crowds in",
             "Boats on the river " + e + " drew crowds in " + e + "\\.", true),
        make(Attribute::twin, false, "{E} is now twinned with {V}.", "twinned with", e + " is now twinned with " + e + "\\.", false),
        make(Attribute::twin, false, "{E} signed a twinning agreement with {V}.", "twinning agreement",
             e + " signed a twinning agreement with " + e + "\\.", false),
        make(Attribute::twin, true, "A delegation from {V}, twin town of {E}, arrived by train.", "twin town of",
             "A delegation from " + e + ", twin town of " + e + ", arrived by train\\.", true),
        make(Attribute::population, false, "The population of {E} is {V}.", "population of", "The population of " + e + " is " + b + "\\.", false),
        make(Attribute::population, false, "{E} counts {V} residents.", "residents", e + " counts " + b + " residents\\.", false),
    };
  }();
  return all;
}

std::string fill(const std::string& sentence, const std::string& entity, const std::string& value) {
  std::string out = sentence;
  out.replace(out.find("{E}"), 3, entity);
  out.replace(out.find("{V}"), 3, value);
  return out;
}

bool is_date(const std::string& text) {
  static const std::regex date("^[0-9]{4}-[0-9]{2}-[0-9]{2}");
  return std::regex_search(text, date);
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void prose_claims_of_line(const std::string& line, const std::string& date, const std::string& source, int64_t number,
                          std::vector<Claim>& out) {
  for (const auto& t : templates()) {
    if (line.find(t.keyword) == std::string::npos) continue;
    for (std::sregex_iterator it(line.begin(), line.end(), t.pattern), end; it != end; ++it) {
      const auto& m = *it;
      Claim claim;
      claim.entity = t.value_first ? m[2].str() : m[1].str();
      claim.value = t.value_first ? m[1].str() : m[2].str();
      claim.attribute = t.attribute;
      claim.date = date;
      claim.source = source;
      claim.line = number;
      out.push_back(std::move(claim));
    }
  }
}

const std::regex& claim_line_pattern() {
  static const std::regex pattern(
      "^- (mayor|river|twin town|population) of ([^:]+): (.+?) \\(([0-9]{4}-[0-9]{2}-[0-9]{2})(?:, [^)]*)?\\)"
      "(?: \\^\\[([^:\\]]+):L([0-9]+)-L([0-9]+)\\])?");
  return pattern;
}

}  // namespace

std::string to_string(Attribute attribute) {
  switch (attribute) {
    case Attribute::mayor: return "mayor";
    case Attribute::river: return "river";
    case Attribute::twin: return "twin town";
    case Attribute::population: return "population";
  }
  return "?";
}

std::optional<Attribute> parse_attribute(const std::string& name) {
  for (const auto a : kAttributes)
    if (to_string(a) == name) return a;
  return std::nullopt;
}

bool Claim::operator==(const Claim& other) const {
  return entity == other.entity && attribute == other.attribute && value == other.value && date == other.date && source == other.source &&
         line == other.line;
}

std::string statement_sentence(Attribute attribute, const std::string& entity, const std::string& value, int variant, bool restate) {
  std::vector<const Template*> fitting;
  for (const auto& t : templates())
    if (t.attribute == attribute && t.restate == restate) fitting.push_back(&t);
  if (fitting.empty()) throw Error(fmt::format("no template restates the {} of a town", to_string(attribute)));
  return fill(fitting[static_cast<size_t>(variant) % fitting.size()]->sentence, entity, value);
}

std::string source_date(const std::string& text) {
  const auto first = text.substr(0, text.find('\n'));
  return is_date(first) ? first.substr(0, 10) : "";
}

std::vector<Claim> extract_prose_claims(const std::string& text, const std::string& date, const std::string& source) {
  std::vector<Claim> claims;
  const auto lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) prose_claims_of_line(lines[i], date, source, static_cast<int64_t>(i + 1), claims);
  return claims;
}

std::string claim_line(const Claim& claim, const std::string& note) {
  return fmt::format("- {} of {}: {} ({}{}) ^[{}:L{}-L{}]", to_string(claim.attribute), claim.entity, claim.value, claim.date,
                     note.empty() ? "" : ", " + note, claim.source, claim.line, claim.line);
}

std::vector<Claim> extract_page_claims(const std::string& text) {
  std::vector<Claim> claims;
  for (const auto& line : split_lines(text)) {
    std::smatch m;
    if (!std::regex_search(line, m, claim_line_pattern())) continue;
    Claim claim;
    claim.attribute = *parse_attribute(m[1].str());
    claim.entity = m[2].str();
    claim.value = m[3].str();
    claim.date = m[4].str();
    if (m[5].matched) {
      claim.source = m[5].str();
      claim.line = std::stoll(m[6].str());
    }
    claims.push_back(std::move(claim));
  }
  return claims;
}

std::vector<Claim> extract_any_claims(const std::string& text) {
  auto claims = extract_page_claims(text);
  std::string date;
  int64_t number = 0;
  for (const auto& line : split_lines(text)) {
    ++number;
    if (is_date(line)) date = line.substr(0, 10);
    if (!line.starts_with("- ")) prose_claims_of_line(line, date, "", number, claims);
  }
  return claims;
}

namespace {

// Byte ranges of the word pieces of `text`.
std::vector<std::pair<size_t, size_t>> pieces(const std::string& text) {
  std::vector<std::pair<size_t, size_t>> out;
  const auto alnum = [](unsigned char c) { return std::isalnum(c) != 0 || c >= 0x80; };
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (std::isspace(c)) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    if (alnum(c))
      while (j < text.size() && alnum(static_cast<unsigned char>(text[j]))) ++j;
    out.emplace_back(i, j);
    i = j;
  }
  return out;
}

}  // namespace

int64_t count_tokens(const std::string& text) { return static_cast<int64_t>(pieces(text).size()); }

std::vector<std::string> chunk_by_tokens(const std::string& text, int64_t tokens) {
  if (tokens <= 0) usage_error("chunk size must be at least one token");
  std::vector<std::string> chunks;
  std::string current;
  int64_t current_tokens = 0;
  const auto flush = [&] {
    if (!current.empty()) chunks.push_back(current);
    current.clear();
    current_tokens = 0;
  };
  for (const auto& line : split_lines(text)) {
    const auto line_pieces = pieces(line);
    const auto n = static_cast<int64_t>(line_pieces.size());
    if (n == 0) continue;
    if (current_tokens + n > tokens) flush();
    if (n <= tokens) {
      current += line + "\n";
      current_tokens += n;
      continue;
    }
    for (int64_t start = 0; start < n; start += tokens) {  // a line longer than a chunk
      const auto stop = std::min(n, start + tokens);
      const auto from = line_pieces[static_cast<size_t>(start)].first, to = line_pieces[static_cast<size_t>(stop - 1)].second;
      current = line.substr(from, to - from) + "\n";
      current_tokens = stop - start;
      if (stop < n) flush();
    }
  }
  flush();
  return chunks;
}

}  // namespace garden::wiki
