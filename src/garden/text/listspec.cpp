#include "garden/text/listspec.h"

#include <algorithm>
#include <array>
#include <functional>
#include <numeric>

#include "garden/core/error.h"

namespace garden::text::listspec {

namespace {

constexpr std::array<const char*, kKinds> kKindNames = {"length", "parity", "order", "first", "distinct", "small", "even_sum"};

int draw(Rng& rng, int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }

const Constraint* find(const std::vector<Constraint>& constraints, Kind kind) {
  for (const auto& c : constraints)
    if (c.kind == kind) return &c;
  return nullptr;
}

}  // namespace

std::string to_string(Kind kind) { return kKindNames[static_cast<size_t>(kind)]; }

Kind parse_kind(const std::string& name) {
  for (size_t i = 0; i < kKindNames.size(); ++i)
    if (name == kKindNames[i]) return static_cast<Kind>(i);
  throw Error("unknown listspec constraint '" + name + "' (length, parity, order, first, distinct, small, even_sum)");
}

bool satisfies(const Digits& list, const Constraint& c) {
  switch (c.kind) {
    case Kind::length:
      return static_cast<int>(list.size()) == c.value;
    case Kind::parity:
      return std::all_of(list.begin(), list.end(), [&](int d) { return d % 2 == c.value; });
    case Kind::order:
      return c.value == 0 ? std::is_sorted(list.begin(), list.end()) : std::is_sorted(list.rbegin(), list.rend());
    case Kind::first:
      return !list.empty() && list.front() == c.value;
    case Kind::distinct: {
      Digits sorted = list;
      std::sort(sorted.begin(), sorted.end());
      return std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
    }
    case Kind::small:
      return std::all_of(list.begin(), list.end(), [](int d) { return d < 5; });
    case Kind::even_sum:
      return std::accumulate(list.begin(), list.end(), 0) % 2 == 0;
  }
  return false;
}

bool satisfies_all(const Digits& list, const std::vector<Constraint>& constraints) {
  if (list.empty()) return false;
  return std::all_of(constraints.begin(), constraints.end(), [&](const Constraint& c) { return satisfies(list, c); });
}

std::optional<Digits> random_solution(const std::vector<Constraint>& constraints, Rng& rng) {
  const auto* length = find(constraints, Kind::length);
  const auto* parity = find(constraints, Kind::parity);
  const auto* order = find(constraints, Kind::order);
  const auto* first = find(constraints, Kind::first);
  const bool distinct = find(constraints, Kind::distinct) != nullptr;
  const bool small = find(constraints, Kind::small) != nullptr;
  const bool even_sum = find(constraints, Kind::even_sum) != nullptr;
  Digits allowed;
  for (int d = 0; d < 10; ++d)
    if ((!parity || d % 2 == parity->value) && (!small || d < 5)) allowed.push_back(d);
  std::vector<int> lengths = length ? std::vector<int>{length->value} : std::vector<int>{3, 4, 5, 6};
  std::shuffle(lengths.begin(), lengths.end(), rng);

  Digits list;
  // Each position tries the digits that keep every local constraint, in a random order; the
  // sum's parity is settled at the last position, so a dead end is found without enumerating.
  std::function<bool(int)> extend = [&](int target) -> bool {
    const auto pos = static_cast<int>(list.size());
    if (pos == target) return true;
    Digits choices;
    for (int d : allowed) {
      if (pos == 0 && first && d != first->value) continue;
      if (distinct && std::find(list.begin(), list.end(), d) != list.end()) continue;
      if (order && pos > 0 && (order->value == 0 ? d < list.back() : d > list.back())) continue;
      if (even_sum && pos == target - 1 && (std::accumulate(list.begin(), list.end(), 0) + d) % 2 != 0) continue;
      choices.push_back(d);
    }
    std::shuffle(choices.begin(), choices.end(), rng);
    for (int d : choices) {
      list.push_back(d);
      if (extend(target)) return true;
      list.pop_back();
    }
    return false;
  };
  for (int target : lengths)
    if (extend(target)) return list;
  return std::nullopt;
}

std::vector<Constraint> in_template_order(std::vector<Constraint> constraints) {
  std::stable_sort(constraints.begin(), constraints.end(), [](const Constraint& a, const Constraint& b) { return a.kind < b.kind; });
  return constraints;
}

std::vector<Constraint> random_constraints(Rng& rng) {
  while (true) {
    std::vector<int> kinds(kKinds);
    std::iota(kinds.begin(), kinds.end(), 0);
    std::shuffle(kinds.begin(), kinds.end(), rng);
    const int count = 3 + draw(rng, 3);
    std::vector<Constraint> constraints;
    for (int i = 0; i < count; ++i) {
      Constraint c{static_cast<Kind>(kinds[static_cast<size_t>(i)]), 0};
      if (c.kind == Kind::length) c.value = 3 + draw(rng, 4);
      if (c.kind == Kind::parity || c.kind == Kind::order) c.value = draw(rng, 2);
      if (c.kind == Kind::first) c.value = draw(rng, 10);
      constraints.push_back(c);
    }
    if (random_solution(constraints, rng)) return in_template_order(constraints);
  }
}

std::string shard_text(const Constraint& c) {
  switch (c.kind) {
    case Kind::length: return "it has " + std::to_string(c.value) + " items";
    case Kind::parity: return c.value == 0 ? "all digits are even" : "all digits are odd";
    case Kind::order: return c.value == 0 ? "it is sorted in ascending order" : "it is sorted in descending order";
    case Kind::first: return "the first item is " + std::to_string(c.value);
    case Kind::distinct: return "no digit repeats";
    case Kind::small: return "every digit is below 5";
    case Kind::even_sum: return "the sum is even";
  }
  return {};
}

std::string paraphrase(const Constraint& c, int variant) {
  if (variant < 0 || variant >= kParaphrases) throw Error("listspec: paraphrase variant out of range");
  const std::string v = std::to_string(c.value);
  const auto pick = [&](std::array<std::string, kParaphrases> forms) { return forms[static_cast<size_t>(variant)]; };
  switch (c.kind) {
    case Kind::length: return pick({"it should have " + v + " items", "make it " + v + " digits long", "i want exactly " + v + " numbers"});
    case Kind::parity:
      return c.value == 0 ? pick({"all of them even", "use only even digits", "every digit must be even"})
                          : pick({"all of them odd", "use only odd digits", "every digit must be odd"});
    case Kind::order:
      return c.value == 0 ? pick({"sort it ascending", "put them in increasing order", "it has to go from small to large"})
                          : pick({"sort it descending", "put them in decreasing order", "it has to go from large to small"});
    case Kind::first: return pick({"start with " + v, "the first one is " + v, "begin the list with " + v});
    case Kind::distinct: return pick({"no repeats please", "each digit only once", "do not repeat any digit"});
    case Kind::small: return pick({"keep every digit under 5", "only digits below 5", "nothing bigger than 4"});
    case Kind::even_sum: return pick({"the total should be even", "make the sum even", "the digits must add up to an even number"});
  }
  return {};
}

std::string full_prompt(const std::vector<Constraint>& constraints) {
  std::vector<std::string> clauses;
  for (const auto& c : in_template_order(constraints)) {
    switch (c.kind) {
      case Kind::length: clauses.push_back(std::to_string(c.value) + " items"); break;
      case Kind::parity: clauses.push_back(c.value == 0 ? "only even digits" : "only odd digits"); break;
      case Kind::order: clauses.push_back(c.value == 0 ? "in ascending order" : "in descending order"); break;
      case Kind::first: clauses.push_back(std::to_string(c.value) + " as the first item"); break;
      case Kind::distinct: clauses.push_back("no repeated digits"); break;
      case Kind::small: clauses.push_back("only digits below 5"); break;
      case Kind::even_sum: clauses.push_back("an even sum"); break;
    }
  }
  std::string text = std::string(kIntent);
  for (size_t i = 0; i < clauses.size(); ++i)
    text += (i == 0 ? " with " : i + 1 == clauses.size() ? " and " : ", ") + clauses[i];
  return text;
}

std::string format_list(const Digits& list) {
  std::string text = "[";
  for (size_t i = 0; i < list.size(); ++i) text += (i ? ", " : "") + std::to_string(list[i]);
  return text + "]";
}

std::vector<Digits> extract_lists(const std::string& text) {
  std::vector<Digits> lists;
  size_t open = text.find('[');
  while (open != std::string::npos) {
    const size_t close = text.find(']', open + 1);
    if (close == std::string::npos) break;
    const size_t nested = text.find('[', open + 1);
    if (nested != std::string::npos && nested < close) {  // "[[1, 2]": only the inner one can be a list
      open = nested;
      continue;
    }
    Digits list;
    bool valid = true, separated = true;
    for (size_t i = open + 1; i < close && valid; ++i) {
      const char ch = text[i];
      if (ch >= '0' && ch <= '9') {
        valid = separated;  // "12" is not a digit
        list.push_back(ch - '0');
        separated = false;
      } else if (ch == ',' || ch == ' ') {
        separated = true;
      } else {
        valid = false;
      }
    }
    if (valid && !list.empty()) lists.push_back(list);
    open = text.find('[', close + 1);
  }
  return lists;
}

}  // namespace garden::text::listspec
