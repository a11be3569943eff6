// The listspec task: every generated instruction has a solution, the solver's "none" is right
// (against brute force), the evaluator accepts exactly the lists meeting every constraint, and
// the texts of one instruction describe the same constraints.
#include "garden/text/listspec.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "garden/core/error.h"

namespace garden::text::listspec {
namespace {

// Whether any list of 3..6 digits (or of the given length) meets every constraint.
bool brute_force_solvable(const std::vector<Constraint>& constraints) {
  for (int length = 3; length <= 6; ++length) {
    Digits list(static_cast<size_t>(length), 0);
    std::function<bool(size_t)> fill = [&](size_t pos) {
      if (pos == list.size()) return satisfies_all(list, constraints);
      for (int d = 0; d < 10; ++d) {
        list[pos] = d;
        if (fill(pos + 1)) return true;
      }
      return false;
    };
    bool length_ok = true;
    for (const auto& c : constraints) length_ok = length_ok && (c.kind != Kind::length || c.value == length);
    if (length_ok && fill(0)) return true;
  }
  return false;
}

TEST(Listspec, ConstraintsJudgeListsAsDefined) {
  EXPECT_TRUE(satisfies({1, 2, 3}, {Kind::length, 3}));
  EXPECT_FALSE(satisfies({1, 2}, {Kind::length, 3}));
  EXPECT_TRUE(satisfies({2, 4, 0}, {Kind::parity, 0}));
  EXPECT_FALSE(satisfies({2, 4, 1}, {Kind::parity, 0}));
  EXPECT_TRUE(satisfies({1, 1, 3}, {Kind::order, 0}));  // sorted allows equal neighbours
  EXPECT_FALSE(satisfies({1, 3, 2}, {Kind::order, 0}));
  EXPECT_TRUE(satisfies({9, 5, 5}, {Kind::order, 1}));
  EXPECT_TRUE(satisfies({7, 1}, {Kind::first, 7}));
  EXPECT_FALSE(satisfies({1, 2, 1}, {Kind::distinct, 0}));
  EXPECT_TRUE(satisfies({4, 0, 3}, {Kind::small, 0}));
  EXPECT_FALSE(satisfies({4, 5}, {Kind::small, 0}));
  EXPECT_TRUE(satisfies({1, 3}, {Kind::even_sum, 0}));
  EXPECT_FALSE(satisfies({1, 2}, {Kind::even_sum, 0}));
  EXPECT_FALSE(satisfies_all({}, {}));
}

TEST(Listspec, EvaluatorRejectsAListBreakingOneConstraintAndAcceptsAnyMeetingAll) {
  const std::vector<Constraint> constraints = {{Kind::length, 4}, {Kind::parity, 1}, {Kind::order, 0}, {Kind::even_sum, 0}};
  EXPECT_TRUE(satisfies_all({1, 3, 5, 7}, constraints));
  EXPECT_TRUE(satisfies_all({1, 1, 1, 1}, constraints));
  EXPECT_FALSE(satisfies_all({1, 3, 5}, constraints));        // length
  EXPECT_FALSE(satisfies_all({1, 3, 5, 8}, constraints));     // parity
  EXPECT_FALSE(satisfies_all({3, 1, 5, 7}, constraints));     // order
  EXPECT_FALSE(satisfies_all({1, 3, 5, 9, 9}, constraints));  // length
  EXPECT_FALSE(satisfies_all({1, 1, 1, 3}, {{Kind::length, 4}, {Kind::even_sum, 0}, {Kind::distinct, 0}}));
}

TEST(Listspec, EveryGeneratedInstructionHasASolutionAndSolutionsMeetIt) {
  Rng rng(5);
  for (int i = 0; i < 300; ++i) {
    const auto constraints = random_constraints(rng);
    ASSERT_GE(constraints.size(), 3u);
    ASSERT_LE(constraints.size(), 5u);
    for (size_t a = 0; a < constraints.size(); ++a)
      for (size_t b = a + 1; b < constraints.size(); ++b) EXPECT_NE(constraints[a].kind, constraints[b].kind);
    const auto solution = random_solution(constraints, rng);
    ASSERT_TRUE(solution.has_value());
    EXPECT_TRUE(satisfies_all(*solution, constraints)) << format_list(*solution);
  }
}

TEST(Listspec, TheSolverFindsNoneExactlyWhenBruteForceFindsNone) {
  // Known dead ends, then random constraint sets, each checked against all lists of 3..6 digits.
  Rng rng(11);
  EXPECT_FALSE(random_solution({{Kind::length, 3}, {Kind::parity, 1}, {Kind::even_sum, 0}}, rng));
  EXPECT_FALSE(random_solution({{Kind::length, 4}, {Kind::parity, 0}, {Kind::small, 0}, {Kind::distinct, 0}}, rng));
  EXPECT_FALSE(random_solution({{Kind::first, 0}, {Kind::order, 1}, {Kind::distinct, 0}}, rng));
  int unsolvable = 0;
  for (int i = 0; i < 60; ++i) {
    std::vector<Constraint> constraints;
    for (int k = 0; k < kKinds; ++k) {
      if (std::uniform_int_distribution<int>(0, 1)(rng) == 0) continue;
      Constraint c{static_cast<Kind>(k), 0};
      if (c.kind == Kind::length) c.value = std::uniform_int_distribution<int>(3, 6)(rng);
      if (c.kind == Kind::parity || c.kind == Kind::order) c.value = std::uniform_int_distribution<int>(0, 1)(rng);
      if (c.kind == Kind::first) c.value = std::uniform_int_distribution<int>(0, 9)(rng);
      constraints.push_back(c);
    }
    const bool solvable = brute_force_solvable(constraints);
    unsolvable += !solvable;
    EXPECT_EQ(random_solution(constraints, rng).has_value(), solvable);
  }
  EXPECT_GT(unsolvable, 0);  // the draw covers dead ends, not only easy sets
}

TEST(Listspec, TextsOfOneInstructionNameTheSameConstraints) {
  const std::vector<Constraint> constraints = {{Kind::length, 4}, {Kind::parity, 1}, {Kind::first, 3}, {Kind::even_sum, 0}};
  EXPECT_EQ(full_prompt(constraints), "i need a list of digits with 4 items, only odd digits, 3 as the first item and an even sum");
  // One template: the clauses come in its order whatever the order given.
  EXPECT_EQ(full_prompt({constraints[3], constraints[0], constraints[2], constraints[1]}), full_prompt(constraints));
  EXPECT_EQ(shard_text(constraints[0]), "it has 4 items");
  EXPECT_EQ(shard_text({Kind::order, 1}), "it is sorted in descending order");
  for (int k = 0; k < kKinds; ++k) {
    const Constraint c{static_cast<Kind>(k), k == 0 ? 5 : k == 3 ? 8 : 1};
    std::set<std::string> forms;
    for (int v = 0; v < kParaphrases; ++v) forms.insert(paraphrase(c, v));
    EXPECT_EQ(forms.size(), static_cast<size_t>(kParaphrases)) << to_string(c.kind);
    EXPECT_EQ(parse_kind(to_string(c.kind)), c.kind);
    if (c.kind == Kind::length || c.kind == Kind::first) {
      for (const auto& form : forms) EXPECT_NE(form.find(std::to_string(c.value)), std::string::npos) << form;
    }
  }
  EXPECT_THROW(paraphrase(constraints[0], kParaphrases), Error);
  EXPECT_THROW(parse_kind("colour"), Error);
}

TEST(Listspec, ListsAreExtractedOnlyWhenBracketsHoldSingleDigits) {
  EXPECT_EQ(extract_lists("[3, 5, 7]"), (std::vector<Digits>{{3, 5, 7}}));
  EXPECT_EQ(extract_lists("sure: [3,5,7] or [ 1 2 ]"), (std::vector<Digits>{{3, 5, 7}, {1, 2}}));
  EXPECT_EQ(extract_lists("[[1, 2]"), (std::vector<Digits>{{1, 2}}));
  EXPECT_TRUE(extract_lists("[12, 3]").empty());
  EXPECT_TRUE(extract_lists("[a, 3]").empty());
  EXPECT_TRUE(extract_lists("[]").empty());
  EXPECT_TRUE(extract_lists("[3, 5").empty());
  EXPECT_EQ(format_list({3, 5, 7}), "[3, 5, 7]");
  EXPECT_EQ(extract_lists(format_list({0, 9})), (std::vector<Digits>{{0, 9}}));
}

}  // namespace
}  // namespace garden::text::listspec
