#include "garden/text/countdown.h"

#include <fmt/core.h>

#include <set>
#include <tuple>

#include "garden/core/error.h"

namespace garden::text::countdown {

namespace {

void check_digit(int d) {
  if (d < 1 || d > 9) throw Error(fmt::format("countdown: digit {} outside 1..9", d));
}

void check_form(int form) {
  if (form < 0 || form >= kTemplates) throw Error(fmt::format("countdown: template {} outside 0..{}", form, kTemplates - 1));
}

// Recursive descent over expr := term (('+'|'-') term)*, term := factor ('*' factor)*,
// factor := number | '(' expr ')'.
class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}
  std::optional<int64_t> whole() {
    auto v = expr();
    if (!v || pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  std::optional<int64_t> expr() {
    auto left = term();
    while (left && pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) {
      const char op = s_[pos_++];
      auto right = term();
      if (!right) return std::nullopt;
      left = op == '+' ? *left + *right : *left - *right;
    }
    return left;
  }
  std::optional<int64_t> term() {
    auto left = factor();
    while (left && pos_ < s_.size() && s_[pos_] == '*') {
      ++pos_;
      auto right = factor();
      if (!right) return std::nullopt;
      left = *left * *right;
    }
    return left;
  }
  std::optional<int64_t> factor() {
    if (pos_ >= s_.size()) return std::nullopt;
    if (s_[pos_] == '(') {
      ++pos_;
      auto inner = expr();
      if (!inner || pos_ >= s_.size() || s_[pos_] != ')') return std::nullopt;
      ++pos_;
      return inner;
    }
    int64_t value = 0;
    size_t digits = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9' && digits < 9) {
      value = value * 10 + (s_[pos_++] - '0');
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    return value;
  }
  const std::string& s_;
  size_t pos_ = 0;
};

std::string without_spaces(const std::string& s) {
  std::string out;
  for (const char ch : s)
    if (ch != ' ' && ch != '\t' && ch != '\n') out.push_back(ch);
  return out;
}

}  // namespace

int64_t template_value(int form, int a, int b, int c) {
  check_form(form);
  switch (form) {
    case 0: return a + b + c;
    case 1: return a + b - c;
    case 2: return a - b + c;
    case 3: return a * b + c;
    case 4: return a * b - c;
    case 5: return (a + b) * c;
    case 6: return (a - b) * c;
    default: return a * (b + c);
  }
}

std::vector<int> hitting_templates(int a, int b, int c, int64_t target) {
  std::vector<int> hits;
  for (int form = 0; form < kTemplates; ++form)
    if (template_value(form, a, b, c) == target) hits.push_back(form);
  return hits;
}

Problem make_problem(int a, int b, int c, int64_t target) {
  check_digit(a);
  check_digit(b);
  check_digit(c);
  return {a, b, c, target, hitting_templates(a, b, c, target)};
}

std::string prompt(const Problem& p) { return fmt::format("{} {} {} to {}:", p.a, p.b, p.c, p.target); }

std::string expression(int form, int a, int b, int c) {
  check_form(form);
  std::string out;
  for (const char* ch = kTemplateForms[static_cast<size_t>(form)]; *ch; ++ch) {
    if (*ch == 'a') out += std::to_string(a);
    else if (*ch == 'b') out += std::to_string(b);
    else if (*ch == 'c') out += std::to_string(c);
    else out.push_back(*ch);
  }
  return out;
}

std::string trace(int form, const Problem& p) {
  const int a = p.a, b = p.b, c = p.c;
  std::string middle;
  switch (form) {
    case 0: middle = fmt::format("{}+{}", a + b, c); break;
    case 1: middle = fmt::format("{}-{}", a + b, c); break;
    case 2: middle = fmt::format("{}+{}", a - b, c); break;
    case 3: middle = fmt::format("{}+{}", a * b, c); break;
    case 4: middle = fmt::format("{}-{}", a * b, c); break;
    case 5: middle = fmt::format("{}*{}", a + b, c); break;
    case 6: middle = fmt::format("{}*{}", a - b, c); break;
    case 7: middle = fmt::format("{}*{}", a, b + c); break;
    default: check_form(form);
  }
  return fmt::format(" {}={}={}", expression(form, a, b, c), middle, template_value(form, a, b, c));
}

std::optional<int64_t> evaluate(const std::string& text) { return Parser(text).whole(); }

Verdict verify(const Problem& p, const std::string& completion) {
  const auto equals = completion.find('=');
  if (equals == std::string::npos) return {};
  const std::string written = without_spaces(completion.substr(0, equals));
  Verdict verdict;
  for (int form = 0; form < kTemplates; ++form)
    if (written == expression(form, p.a, p.b, p.c)) verdict.form = form;
  if (verdict.form < 0) return verdict;
  const auto value = evaluate(written);
  verdict.correct = value && *value == p.target;
  return verdict;
}

int draw_template(std::mt19937_64& rng, const std::array<bool, kTemplates>& allowed) {
  std::vector<double> weights(kTemplates, 0.0);
  bool any = false;
  for (int j = 0; j < kTemplates; ++j)
    if (allowed[static_cast<size_t>(j)]) {
      weights[static_cast<size_t>(j)] = 1.0 / (j + 1);
      any = true;
    }
  if (!any) throw Error("countdown: no template allowed to draw from");
  std::discrete_distribution<int> pick(weights.begin(), weights.end());
  return pick(rng);
}

Problem draw_problem(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> digit(1, 9);
  for (;;) {
    const int a = digit(rng), b = digit(rng), c = digit(rng);
    const int form = draw_template(rng, all_templates());
    Problem p = make_problem(a, b, c, template_value(form, a, b, c));
    if (p.hits.size() <= 2) return p;
  }
}

namespace {
using Key = std::tuple<int, int, int, int64_t>;
Key key_of(const Problem& p) { return {p.a, p.b, p.c, p.target}; }
bool withheld_only(const Problem& p) { return p.hits.size() == 1 && p.hits[0] == kWithheldTemplate; }
}  // namespace

std::vector<Problem> held_out_problems(int64_t total, int64_t withheld_count, uint64_t seed) {
  if (total < 0 || withheld_count < 0 || withheld_count > total)
    throw Error(fmt::format("countdown: {} withheld-only problems among {} held-out ones", withheld_count, total));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> digit(1, 9);
  std::set<Key> seen;
  std::vector<Problem> out;
  int64_t attempts = 0;
  const auto give_up = [&]() {
    if (++attempts > 1000000) throw Error(fmt::format("countdown: cannot find {} distinct held-out problems", total));
  };
  while (static_cast<int64_t>(out.size()) < withheld_count) {
    give_up();
    const int a = digit(rng), b = digit(rng), c = digit(rng);
    Problem p = make_problem(a, b, c, template_value(kWithheldTemplate, a, b, c));
    if (withheld_only(p) && seen.insert(key_of(p)).second) out.push_back(std::move(p));
  }
  while (static_cast<int64_t>(out.size()) < total) {
    give_up();
    Problem p = draw_problem(rng);
    if (!withheld_only(p) && seen.insert(key_of(p)).second) out.push_back(std::move(p));
  }
  return out;
}

std::vector<Problem> training_problems(int64_t count, uint64_t seed, const std::vector<Problem>& exclude) {
  std::set<Key> excluded;
  for (const auto& p : exclude) excluded.insert(key_of(p));
  std::mt19937_64 rng(seed);
  std::vector<Problem> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(0, count)));
  while (static_cast<int64_t>(out.size()) < count) {
    Problem p = draw_problem(rng);
    if (!excluded.count(key_of(p))) out.push_back(std::move(p));
  }
  return out;
}

int noisy_answer(std::mt19937_64& rng, const Problem& p, double hit_rate, const std::array<bool, kTemplates>& allowed) {
  std::vector<int> hits;
  for (const int form : p.hits)
    if (allowed[static_cast<size_t>(form)]) hits.push_back(form);
  std::bernoulli_distribution hit(hit_rate);
  if (!hits.empty() && hit(rng)) return hits[std::uniform_int_distribution<size_t>(0, hits.size() - 1)(rng)];
  return draw_template(rng, allowed);
}

int oracle_answer(std::mt19937_64& rng, const Problem& p) {
  if (p.hits.empty()) throw Error(fmt::format("countdown: no template reaches {} from {} {} {}", p.target, p.a, p.b, p.c));
  return p.hits[std::uniform_int_distribution<size_t>(0, p.hits.size() - 1)(rng)];
}

std::array<bool, kTemplates> all_templates() {
  std::array<bool, kTemplates> all{};
  all.fill(true);
  return all;
}

std::array<bool, kTemplates> without_withheld() {
  auto allowed = all_templates();
  allowed[kWithheldTemplate] = false;
  return allowed;
}

}  // namespace garden::text::countdown
