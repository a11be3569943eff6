#include "garden/wiki/page.h"

#include <fmt/core.h>

#include <regex>
#include <sstream>

#include "garden/core/error.h"

namespace garden::wiki {

namespace {

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::vector<std::string> parse_list(const std::string& value, const std::string& where) {
  if (value.size() < 2 || value.front() != '[' || value.back() != ']')
    throw Error(fmt::format("{}: sources must be a list [a, b] (got '{}')", where, value));
  std::vector<std::string> items;
  std::istringstream in(value.substr(1, value.size() - 2));
  for (std::string item; std::getline(in, item, ',');)
    if (!trim(item).empty()) items.push_back(trim(item));
  return items;
}

}  // namespace

std::string folder_of_type(const std::string& type) {
  if (type == "source") return "sources";
  if (type == "entity") return "entities";
  if (type == "concept") return "concepts";
  if (type == "synthesis") return "syntheses";
  throw Error(fmt::format("unknown page type '{}' (source, entity, concept or synthesis)", type));
}

Page parse_page(const std::string& text, const std::string& slug, const std::string& where) {
  Page page;
  page.slug = slug;
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || trim(line) != "---") throw Error(fmt::format("{}:1: a page starts with a '---' front matter line", where));
  int64_t number = 1;
  bool closed = false;
  while (std::getline(in, line)) {
    ++number;
    if (trim(line) == "---") {
      closed = true;
      break;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) throw Error(fmt::format("{}:{}: front matter lines are 'key: value'", where, number));
    const auto key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (key == "title") page.title = value;
    else if (key == "type") page.type = value;
    else if (key == "summary") page.summary = value;
    else if (key == "sources") page.sources = parse_list(value, fmt::format("{}:{}", where, number));
    else if (key == "created") page.created = value;
    else if (key == "updated") page.updated = value;
    else if (key == "confidence") page.confidence = value;
    // other keys (a human's tags, Dataview fields) are allowed and not kept
  }
  if (!closed) throw Error(fmt::format("{}: the front matter has no closing '---'", where));
  folder_of_type(page.type.empty() ? "?" : page.type);  // throws on an unknown type
  std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  page.body = rest;
  return page;
}

std::string render_page(const Page& page) {
  std::string sources;
  for (const auto& s : page.sources) sources += (sources.empty() ? "" : ", ") + s;
  std::string out = fmt::format("---\ntitle: {}\ntype: {}\nsummary: {}\nsources: [{}]\ncreated: {}\nupdated: {}\n", page.title, page.type,
                                page.summary, sources, page.created, page.updated);
  if (page.confidence) out += fmt::format("confidence: {}\n", *page.confidence);
  out += "---\n" + page.body;
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

std::string slugify(const std::string& text) {
  std::string out;
  bool dash = false;
  for (const unsigned char c : text) {
    if (std::isalnum(c)) {
      if (dash && !out.empty()) out += '-';
      out += static_cast<char>(std::tolower(c));
      dash = false;
    } else {
      dash = true;
    }
  }
  return out.empty() ? "page" : out;
}

std::vector<std::string> links_in(const std::string& text) {
  static const std::regex link("\\[\\[([^\\]|]+)(?:\\|[^\\]]*)?\\]\\]");
  std::vector<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), link), end; it != end; ++it) out.push_back(trim((*it)[1].str()));
  return out;
}

std::optional<Provenance> provenance_of(const std::string& line) {
  static const std::regex marker("\\^\\[([^:\\]]+):L([0-9]+)-L([0-9]+)\\]\\s*$");
  std::smatch m;
  if (!std::regex_search(line, m, marker)) return std::nullopt;
  return Provenance{m[1].str(), std::stoll(m[2].str()), std::stoll(m[3].str())};
}

bool is_factual_line(const std::string& line) {
  if (!line.starts_with("- ") && !line.starts_with("> ")) return false;
  static const std::regex strip("\\[\\[[^\\]]*\\]\\]|\\^\\[[^\\]]*\\]");
  const auto rest = std::regex_replace(line.substr(2), strip, "");
  for (const unsigned char c : rest)
    if (std::isalpha(c)) return true;
  return false;
}

}  // namespace garden::wiki
