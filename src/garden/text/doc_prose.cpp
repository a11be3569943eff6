#include "garden/text/doc_prose.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "garden/core/error.h"

namespace garden::text {

namespace {

namespace fs = std::filesystem;

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string rstrip(std::string s) {
  while (!s.empty() && is_space(s.back())) s.pop_back();
  return s;
}

size_t indent_of(const std::string& line) {
  size_t n = 0;
  for (char c : line) {
    if (c == ' ') ++n;
    else if (c == '\t') n = (n / 8 + 1) * 8;
    else break;
  }
  return n;
}

std::string trimmed(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && is_space(s[a])) ++a;
  while (b > a && is_space(s[b - 1])) --b;
  return s.substr(a, b - a);
}

std::string collapse_spaces(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (is_space(c)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return trimmed(out);
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(rstrip(text.substr(start, end - start)));
    start = end + 1;
  }
  return lines;
}

// ---- reStructuredText ----

// "title <target>" -> "title"; a target alone stays.
std::string link_text(const std::string& content) {
  const size_t open = content.rfind('<');
  if (open != std::string::npos && open > 0 && !content.empty() && content.back() == '>') {
    const std::string title = trimmed(content.substr(0, open));
    if (!title.empty()) return title;
  }
  return content;
}

// The text of a role's content: `!name` shows name, `~a.b.c` shows c.
std::string role_text(std::string content) {
  content = link_text(content);
  if (!content.empty() && content[0] == '!') content.erase(0, 1);
  if (!content.empty() && content[0] == '~') {
    content.erase(0, 1);
    const size_t dot = content.rfind('.');
    if (dot != std::string::npos && dot + 1 < content.size()) content = content.substr(dot + 1);
  }
  return content;
}

// Inline markup reduced to its text: roles, literals, references, emphasis, escapes.
std::string rst_inline(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {  // an escaped space vanishes, another escaped char stays
      if (s[i + 1] != ' ') out.push_back(s[i + 1]);
      i += 2;
      continue;
    }
    if (c == '`' && s.compare(i, 2, "``") == 0) {
      const size_t end = s.find("``", i + 2);
      if (end == std::string::npos) break;
      out += s.substr(i + 2, end - i - 2);
      i = end + 2;
      continue;
    }
    bool role = false;
    std::string role_prefix;  // :pep:`8` reads "PEP 8", :rfc:`2822` "RFC 2822", :issue:`6491` "issue 6491"
    if (c == ':' && (i == 0 || !is_alnum(s[i - 1]))) {  // :name: or :domain:name: before a backtick
      size_t j = i + 1;
      while (j < s.size() && (is_alnum(s[j]) || s[j] == ':' || s[j] == '-' || s[j] == '+' || s[j] == '_')) ++j;
      if (j > i + 2 && j < s.size() && s[j] == '`' && s[j - 1] == ':') {
        const std::string name = s.substr(i + 1, j - i - 2);
        role_prefix = name == "pep" ? "PEP " : name == "rfc" ? "RFC " : name == "issue" || name == "gh" ? "issue " : "";
        i = j;
        role = true;
      }
    }
    if (s[i] == '`') {
      const size_t end = s.find('`', i + 1);
      if (end == std::string::npos) break;
      const std::string content = s.substr(i + 1, end - i - 1);
      out += role ? role_prefix + role_text(content) : link_text(content);
      i = end + 1;
      while (i < s.size() && s[i] == '_') ++i;  // `reference`_ and anonymous `reference`__
      continue;
    }
    if (c == '*') {  // emphasis marks hug a word on one side only; "a * b" and "a*b" stay
      const bool word_before = i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '*');
      const bool word_after = i + 1 < s.size() && (is_alnum(s[i + 1]) || s[i + 1] == '*');
      if (word_before != word_after) {
        ++i;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

bool is_adornment(const std::string& line) {
  const std::string t = trimmed(line);
  if (t.size() < 3 || line.size() != t.size()) return false;
  static const std::string marks = "=-~^*#\"'+`:._";
  if (marks.find(t[0]) == std::string::npos) return false;
  return std::all_of(t.begin(), t.end(), [&](char c) { return c == t[0]; });
}

// A simple-table border ("=====  ======") or a grid-table line ("+----+", "| a | b |").
bool is_table_line(const std::string& t) {
  if (t.empty()) return false;
  if (t[0] == '+' && t.size() > 1 && (t[1] == '-' || t[1] == '=')) return true;
  if (t[0] == '|' && t.size() > 1 && t.back() == '|') return true;
  if ((t[0] == '=' || t[0] == '-') && t.find(' ') != std::string::npos)
    return std::all_of(t.begin(), t.end(), [&](char c) { return c == t[0] || c == ' '; });
  return false;
}

// ":name: value" (a field list), not ":role:`text`".
bool is_field_line(const std::string& t) {
  if (t.size() < 3 || t[0] != ':') return false;
  const size_t close = t.find(':', 1);
  if (close == std::string::npos || close == 1) return false;
  return close + 1 == t.size() || t[close + 1] == ' ';
}

// Strips a list marker ("* ", "- ", "+ ", "#. ", "12. ", "(a) "); returns whether there was one.
bool strip_list_marker(std::string& t) {
  size_t n = 0;
  if (t.size() > 2 && (t[0] == '*' || t[0] == '-' || t[0] == '+') && t[1] == ' ') n = 2;
  else if (t.compare(0, 3, "#. ") == 0) n = 3;
  else {
    size_t j = 0;
    while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j]))) ++j;
    if (j > 0 && j + 1 < t.size() && t[j] == '.' && t[j + 1] == ' ') n = j + 2;
  }
  if (n == 0) return false;
  t = trimmed(t.substr(n));
  return true;
}

// ---- POD ----

std::string pod_entity(const std::string& name) {
  static const std::map<std::string, std::string> entities = {
      {"lt", "<"}, {"gt", ">"}, {"verbar", "|"}, {"sol", "/"}, {"quot", "\""}, {"amp", "&"}, {"apos", "'"}};
  const auto it = entities.find(name);
  return it == entities.end() ? "" : it->second;
}

// Expands POD formatting codes from s[i] until `close` (empty: the end of s) and moves i
// past it. B<> I<> C<> F<> S<> give their text, L<> its link text, E<> an entity, X<> and
// Z<> nothing; C<< ... >> with doubled brackets closes at whitespace plus the same brackets.
std::string pod_expand(const std::string& s, size_t& i, const std::string& close) {
  std::string out;
  while (i < s.size()) {
    if (!close.empty() && s.compare(i, close.size(), close) == 0) {
      i += close.size();
      return out;
    }
    const char c = s[i];
    const bool code = std::string("BCEFILSXZ").find(c) != std::string::npos && i + 1 < s.size() && s[i + 1] == '<';
    if (!code) {
      out.push_back(c);
      ++i;
      continue;
    }
    size_t brackets = 0;
    size_t j = i + 1;
    while (j < s.size() && s[j] == '<') ++brackets, ++j;
    std::string inner_close;
    if (brackets == 1) {
      inner_close = ">";
    } else {
      if (j >= s.size() || !is_space(s[j])) {  // "C<<" without the space is text, not a code
        out.push_back(c);
        ++i;
        continue;
      }
      while (j < s.size() && is_space(s[j])) ++j;
      inner_close.assign(brackets + 1, '>');  // a space, then as many '>' as there were '<'
      inner_close[0] = ' ';
    }
    i = j;
    std::string inner = pod_expand(s, i, inner_close);
    if (brackets > 1) inner = trimmed(inner);
    if (c == 'X' || c == 'Z') continue;
    if (c == 'E') {
      out += pod_entity(inner);
      continue;
    }
    if (c == 'L') {
      const size_t bar = inner.find('|');
      if (bar != std::string::npos) inner = inner.substr(0, bar);
      else if (inner.find("://") == std::string::npos) {
        const size_t slash = inner.find('/');
        if (slash != std::string::npos) inner = inner.substr(slash + 1);
        inner.erase(std::remove(inner.begin(), inner.end(), '"'), inner.end());
      }
    }
    out += inner;
  }
  return out;
}

fs::path newest_dir_matching(const fs::path& parent, const std::string& prefix, const fs::path& inside) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && fs::is_directory(entry.path() / inside)) found.push_back(entry.path() / inside);
  }
  if (found.empty()) return {};
  // Versions compare numerically: python3.9 < python3.11.
  std::sort(found.begin(), found.end(), [&](const fs::path& a, const fs::path& b) {
    const auto version = [&](const fs::path& p) {
      std::vector<int> parts;
      const std::string name = p.lexically_relative(parent).begin()->string().substr(prefix.size());
      size_t k = 0;
      while (k < name.size()) {
        size_t e = k;
        while (e < name.size() && std::isdigit(static_cast<unsigned char>(name[e]))) ++e;
        parts.push_back(e > k ? std::stoi(name.substr(k, e - k)) : -1);
        k = e + 1;
      }
      return parts;
    };
    return version(a) < version(b);
  });
  return found.back();
}

}  // namespace

bool reads_like_prose(const std::string& paragraph) {
  int words = 0, plain_words = 0;
  size_t letters = 0, visible = 0;
  size_t i = 0;
  while (i < paragraph.size()) {
    while (i < paragraph.size() && is_space(paragraph[i])) ++i;
    size_t end = i;
    while (end < paragraph.size() && !is_space(paragraph[end])) ++end;
    if (end == i) break;
    std::string word = paragraph.substr(i, end - i);
    for (char c : word) letters += std::isalpha(static_cast<unsigned char>(c)) != 0;
    visible += word.size();
    // A plain word: letters (apostrophes and inner hyphens too) inside ordinary punctuation.
    const auto punct = [](char c) { return std::string(",.;:!?\"'()").find(c) != std::string::npos; };
    size_t a = 0, b = word.size();
    while (a < b && punct(word[a])) ++a;
    while (b > a && punct(word[b - 1])) --b;
    bool plain = b > a;
    for (size_t k = a; k < b && plain; ++k)
      plain = std::isalpha(static_cast<unsigned char>(word[k])) || ((word[k] == '\'' || word[k] == '-') && k > a && k + 1 < b);
    ++words;
    plain_words += plain;
    i = end;
  }
  return words >= kProseMinWords && letters >= 0.75 * static_cast<double>(visible) && plain_words >= 0.7 * words;
}

std::vector<std::string> rst_prose(const std::string& rst) {
  std::vector<std::string> out;
  std::vector<std::string> paragraph;
  bool drop = false;             // the paragraph holds a table, doctest or field list
  size_t paragraph_indent = 0;
  long skip_deeper_than = -1;    // inside a directive or literal block: lines indented more than this
  long literal_after = -1;       // the last paragraph ended in "::": the indent it had
  const auto flush = [&] {
    if (paragraph.empty()) return;
    std::string joined;
    for (const auto& line : paragraph) joined.append(joined.empty() ? "" : " ").append(trimmed(line));
    std::string text = joined;
    literal_after = -1;
    if (text.size() >= 2 && text.compare(text.size() - 2, 2, "::") == 0) {
      literal_after = static_cast<long>(paragraph_indent);
      text.erase(text.size() - 1);  // "Example::" reads "Example:"; a lone " ::" goes below
      if (text.size() >= 2 && text[text.size() - 2] == ' ') text.erase(text.size() - 1);
    }
    text = collapse_spaces(rst_inline(text));
    if (!drop && reads_like_prose(text)) out.push_back(text);
    paragraph.clear();
    drop = false;
  };
  for (const auto& line : split_lines(rst)) {
    const std::string t = trimmed(line);
    const size_t indent = indent_of(line);
    if (skip_deeper_than >= 0) {
      if (t.empty() || static_cast<long>(indent) > skip_deeper_than) continue;
      skip_deeper_than = -1;
    }
    if (t.empty()) {
      const long pending = literal_after;
      flush();
      if (pending >= 0 && literal_after < 0) literal_after = pending;  // a blank line keeps the "::" pending
      continue;
    }
    if (literal_after >= 0 && paragraph.empty()) {
      const long base = literal_after;
      literal_after = -1;
      if (static_cast<long>(indent) > base) {  // the literal block after "::"
        skip_deeper_than = base;
        continue;
      }
    }
    if (t.rfind("..", 0) == 0 && (t.size() == 2 || t[2] == ' ')) {  // directive, comment or target
      flush();
      literal_after = -1;
      skip_deeper_than = static_cast<long>(indent);
      continue;
    }
    if (is_adornment(line)) {  // a heading's underline (or overline): the title is not prose
      if (paragraph.size() <= 1) paragraph.clear(), drop = false;
      else drop = true;
      continue;
    }
    std::string body = t;
    if (!paragraph.empty() && strip_list_marker(body)) {  // a new list item starts a paragraph
      flush();
      paragraph_indent = indent;
      paragraph.push_back(body);
      continue;
    }
    if (paragraph.empty()) {
      paragraph_indent = indent;
      strip_list_marker(body);
    }
    if (t.rfind(">>>", 0) == 0 || is_table_line(t) || is_field_line(t)) drop = true;
    paragraph.push_back(body);
  }
  flush();
  return out;
}

std::vector<std::string> pod_prose(const std::string& pod) {
  std::vector<std::string> out;
  std::vector<std::string> lines = split_lines(pod);
  std::string skip_until;  // "=end X" of a =begin block, or "=" after =cut
  size_t i = 0;
  while (i < lines.size()) {
    while (i < lines.size() && trimmed(lines[i]).empty()) ++i;
    if (i >= lines.size()) break;
    std::vector<std::string> paragraph;
    while (i < lines.size() && !trimmed(lines[i]).empty()) paragraph.push_back(lines[i++]);
    const std::string& first = paragraph.front();
    if (!skip_until.empty()) {
      if (first.rfind(skip_until, 0) != 0) continue;
      const bool end_of_block = skip_until != "=";
      skip_until.clear();
      if (end_of_block) continue;  // the =end paragraph itself; after =cut the command is read below
    }
    if (first[0] == ' ' || first[0] == '\t') continue;  // verbatim: code
    std::string text;
    if (first[0] == '=') {
      const size_t space = first.find_first_of(" \t");
      const std::string command = first.substr(0, space);
      const std::string rest = space == std::string::npos ? "" : trimmed(first.substr(space));
      if (command == "=begin") {
        skip_until = "=end " + rest.substr(0, rest.find(' '));
        continue;
      }
      if (command == "=cut") {
        skip_until = "=";
        continue;
      }
      if (command != "=item") continue;  // headings, =over/=back, =for, =encoding: not running text
      text = rest == "*" ? "" : rest;  // "=item *" alone: the item's text is the next paragraph
      strip_list_marker(text);
      for (size_t k = 1; k < paragraph.size(); ++k) text.append(" ").append(trimmed(paragraph[k]));
    } else {
      for (const auto& line : paragraph) text.append(text.empty() ? "" : " ").append(trimmed(line));
    }
    size_t pos = 0;
    text = collapse_spaces(pod_expand(text, pos, ""));
    if (reads_like_prose(text)) out.push_back(text);
  }
  return out;
}

fs::path python_doc_sources_dir() {
  const fs::path dir = newest_dir_matching("/usr/share/doc", "python3.", "html/_sources");
  if (dir.empty()) throw Error("the Python documentation sources are missing: install Debian's python3-doc");
  return dir;
}

fs::path perl_pod_dir() {
  const fs::path dir = newest_dir_matching("/usr/share/perl", "5.", "pod");
  if (dir.empty() || !fs::exists(dir / "perlintro.pod"))
    throw Error("Perl's manuals are missing: install Debian's perl-doc");
  return dir;
}

}  // namespace garden::text
