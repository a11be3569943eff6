#include "garden/text/countdown.h"

#include <gtest/gtest.h>

#include <set>

#include "garden/core/error.h"

namespace cd = garden::text::countdown;

TEST(Countdown, TemplatesEvaluateAsWritten) {
  // Each template's value equals what the general evaluator reads from its expression.
  for (int a = 1; a <= 9; ++a)
    for (int b = 1; b <= 9; ++b)
      for (int c = 1; c <= 9; ++c)
        for (int form = 0; form < cd::kTemplates; ++form)
          ASSERT_EQ(cd::evaluate(cd::expression(form, a, b, c)), cd::template_value(form, a, b, c)) << cd::expression(form, a, b, c);
  EXPECT_EQ(cd::expression(7, 3, 4, 5), "3*(4+5)");
  EXPECT_EQ(cd::template_value(7, 3, 4, 5), 27);
  EXPECT_EQ(cd::template_value(6, 3, 4, 5), -5);
}

TEST(Countdown, EvaluatorFollowsPrecedenceAndRefusesGarbage) {
  EXPECT_EQ(cd::evaluate("2+3*4"), 14);
  EXPECT_EQ(cd::evaluate("(2+3)*4"), 20);
  EXPECT_EQ(cd::evaluate("9-4-3"), 2);  // left to right
  EXPECT_EQ(cd::evaluate("12*3"), 36);
  for (const char* bad : {"", "2+", "(2+3", "2+3)", "2++3", "a+b", "2 + 3", "*4"}) EXPECT_FALSE(cd::evaluate(bad).has_value()) << bad;
}

TEST(Countdown, TraceShowsTheFirstOperationThenTheValue) {
  const auto p = cd::make_problem(3, 4, 5, 35);
  EXPECT_EQ(cd::trace(5, p), " (3+4)*5=7*5=35");
  EXPECT_EQ(cd::trace(7, p), " 3*(4+5)=3*9=27");
  EXPECT_EQ(cd::trace(6, p), " (3-4)*5=-1*5=-5");
  EXPECT_EQ(cd::prompt(p), "3 4 5 to 35:");
  EXPECT_EQ(p.hits, std::vector<int>{5});
}

TEST(Countdown, VerifierReadsTheExpressionNotTheStatedValue) {
  const auto p = cd::make_problem(3, 4, 5, 35);
  // A wrong expression with a correct-looking "= 35" is rejected...
  EXPECT_FALSE(cd::verify(p, " 3*4+5=35").correct);
  EXPECT_EQ(cd::verify(p, " 3*4+5=35").form, 3);
  // ...and a right one whose stated value is wrong is accepted.
  EXPECT_TRUE(cd::verify(p, " (3+4)*5=7*5=36").correct);
  EXPECT_TRUE(cd::verify(p, "(3 + 4) * 5 = 35").correct);
  // Malformed: no '=', digits out of order, a non-template shape, garbage.
  for (const char* bad : {" (3+4)*5", " (4+3)*5=35", " 3*4*5=60", " 35=35", "", "=", " (3+4*5=35"}) {
    EXPECT_FALSE(cd::verify(p, bad).correct) << bad;
    EXPECT_EQ(cd::verify(p, bad).form, -1) << bad;
  }
}

TEST(Countdown, DrawnProblemsHaveOneOrTwoHitsAndHeldOutSetsAreAsAsked) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const auto p = cd::draw_problem(rng);
    ASSERT_GE(p.hits.size(), 1u);
    ASSERT_LE(p.hits.size(), 2u);
    for (const int form : p.hits) ASSERT_EQ(cd::template_value(form, p.a, p.b, p.c), p.target);
  }
  const auto held = cd::held_out_problems(200, 30, 42);
  ASSERT_EQ(held.size(), 200u);
  std::set<std::string> prompts;
  int withheld_only = 0;
  for (const auto& p : held) {
    prompts.insert(cd::prompt(p));
    withheld_only += p.hits == std::vector<int>{cd::kWithheldTemplate};
  }
  EXPECT_EQ(prompts.size(), 200u);  // distinct
  EXPECT_EQ(withheld_only, 30);
  EXPECT_EQ(cd::held_out_problems(200, 30, 42), held);  // deterministic
  for (const auto& p : cd::training_problems(3000, 1, held)) ASSERT_EQ(prompts.count(cd::prompt(p)), 0u) << cd::prompt(p);
  EXPECT_THROW(cd::held_out_problems(5, 6, 1), garden::Error);
  EXPECT_THROW(cd::make_problem(0, 1, 1, 2), garden::Error);
}

TEST(Countdown, NoisyAnswersFollowTheHitRateAndNeverUseAForbiddenTemplate) {
  std::mt19937_64 rng(3);
  const auto p = cd::make_problem(3, 4, 5, 35);  // hit by template 5 alone
  int hits = 0;
  const int trials = 20000;
  for (int i = 0; i < trials; ++i) {
    const int form = cd::noisy_answer(rng, p, 0.3, cd::without_withheld());
    ASSERT_NE(form, cd::kWithheldTemplate);
    hits += form == 5;
  }
  // P(template 5) = 0.3 + 0.7 x (1/6) / H, H = 1 + 1/2 + ... + 1/7.
  double harmonic = 0;
  for (int j = 1; j <= 7; ++j) harmonic += 1.0 / j;
  const double expected = 0.3 + 0.7 * (1.0 / 6) / harmonic;
  EXPECT_NEAR(static_cast<double>(hits) / trials, expected, 0.01);
  // A problem only the withheld template solves gets no hit from the base's data.
  const auto only8 = cd::make_problem(2, 3, 4, 14);
  ASSERT_EQ(only8.hits, std::vector<int>{cd::kWithheldTemplate});
  for (int i = 0; i < 500; ++i) ASSERT_NE(cd::noisy_answer(rng, only8, 1.0, cd::without_withheld()), cd::kWithheldTemplate);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(cd::oracle_answer(rng, only8), cd::kWithheldTemplate);
}
