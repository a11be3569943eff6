// The criteria helpers: the description and the measured text come from the same numbers as
// the decision, at and around each threshold. The side-by-side runner: every job once, one
// thread each, failures rethrown, and training side by side equal to training alone.
#include "garden/repro/toolkit.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "garden/core/error.h"
#include "garden/train/batches.h"
#include "garden/train/trainer.h"
#include "test_helpers.h"

namespace garden::repro::toolkit_test {
namespace {

TEST(Conditions, ThresholdsDecideAndDescribeThemselves) {
  EXPECT_TRUE(at_least(q("a", 2.0), 2.0).passed);
  EXPECT_FALSE(above(q("a", 2.0), 2.0).passed);
  EXPECT_TRUE(at_most(q("a", 2.0), 2.0).passed);
  EXPECT_FALSE(below(q("a", 2.0), 2.0).passed);
  const auto c = at_least(q("F-Attn", 0.14996, 4), 0.15);
  EXPECT_FALSE(c.passed);
  EXPECT_EQ(c.description, "F-Attn >= 0.15");
  EXPECT_EQ(c.measured, "F-Attn 0.1500");
}

TEST(Conditions, OffsetsAreWrittenWithTheirSign) {
  const auto within_two = at_least(q("MRL-16", 10.0), q("FF-16", 12.0), -2);
  EXPECT_TRUE(within_two.passed);
  EXPECT_EQ(within_two.description, "MRL-16 >= FF-16 - 2");
  EXPECT_EQ(within_two.measured, "MRL-16 10.00 vs FF-16 12.00");
  EXPECT_FALSE(at_least(q("MRL-16", 9.99), q("FF-16", 12.0), -2).passed);
  const auto plus = at_least(q("a", 23.0), q("b", 20.0), 3);
  EXPECT_TRUE(plus.passed);
  EXPECT_EQ(plus.description, "a >= b + 3");
  EXPECT_FALSE(above(q("a", 23.0), q("b", 20.0), 3).passed);
  EXPECT_TRUE(below(q("a", 1.0), q("b", 2.0)).passed);
  EXPECT_EQ(below(q("a", 1.0), q("b", 2.0)).description, "a < b");
  EXPECT_TRUE(at_most(q("a", 1.81), q("b", 1.80), 0.01).passed);
}

TEST(Conditions, RatiosWithinAndEquals) {
  EXPECT_TRUE(ratio_at_most(q("x", 0.2), q("y", 0.4), 0.5).passed);
  EXPECT_FALSE(ratio_at_most(q("x", 0.21), q("y", 0.4), 0.5).passed);
  EXPECT_EQ(ratio_at_most(q("x", 0.2), q("y", 0.4), 0.5).description, "x <= 0.5 x y");
  EXPECT_TRUE(ratio_at_least(q("x", 3.0), q("y", 1.0), 3).passed);
  EXPECT_FALSE(ratio_at_least(q("x", 2.9), q("y", 1.0), 3).passed);
  EXPECT_TRUE(within(q("a", 10.4), q("b", 10.0), 0.5).passed);
  EXPECT_TRUE(within(q("a", 9.6), q("b", 10.0), 0.5).passed);
  EXPECT_FALSE(within(q("a", 10.6), q("b", 10.0), 0.5).passed);
  EXPECT_EQ(within(q("a", 10.6), q("b", 10.0), 0.5).measured, "a 10.60 vs b 10.00 (+0.60)");
  EXPECT_TRUE(equals("disagreements", 0, 0).passed);
  EXPECT_FALSE(equals("disagreements", 1, 0).passed);
}

// A small-margin comparison judged on several seeds: it holds only when every seed agrees,
// and the measured text carries each seed, the mean difference and its spread.
TEST(Conditions, OverSeedsHoldOnlyWhenEverySeedAgrees) {
  const auto both = below_on_every_seed(seeded("gated", {1.90, 1.91}, 2), seeded("baseline", {1.93, 1.92}, 2));
  EXPECT_TRUE(both.passed);
  EXPECT_EQ(both.description, "gated < baseline on each of 2 seeds");
  EXPECT_EQ(both.measured, "gated 1.90, 1.91 vs baseline 1.93, 1.92 (difference by seed -0.03, -0.01: mean -0.02, spread 0.02)");
  // The mean favours the gated arm but one seed does not: not judged a pass.
  const auto one = below_on_every_seed(seeded("gated", {1.80, 1.95}, 2), seeded("baseline", {1.93, 1.94}, 2));
  EXPECT_FALSE(one.passed);
  EXPECT_TRUE(at_most_on_every_seed(seeded("a", {2, 3}, 0), seeded("b", {2, 3}, 0)).passed);
  EXPECT_FALSE(below_on_every_seed(seeded("a", {2, 3}, 0), seeded("b", {2, 3}, 0)).passed);
  EXPECT_TRUE(at_most_on_every_seed(seeded("a", {2.5, 3.5}, 1), seeded("b", {2, 3}, 1), 0.5).passed);
  EXPECT_EQ(at_most_on_every_seed(seeded("a", {2.5, 3.5}, 1), seeded("b", {2, 3}, 1), 0.5).description, "a <= b + 0.5 on each of 2 seeds");
  EXPECT_THROW(below_on_every_seed(seeded("a", {1}, 0), seeded("b", {2}, 0)), Error);       // one seed is no spread
  EXPECT_THROW(below_on_every_seed(seeded("a", {1, 2}, 0), seeded("b", {2}, 0)), Error);    // unequal seeds
}

TEST(Criteria, PassOnlyWhenEveryConditionDoes) {
  const auto c = criterion("2. MNTP helps", {at_least(q("a", 5.0), 3.0), below(q("b", 2.0), 1.0)});
  EXPECT_FALSE(c.passed);
  EXPECT_EQ(c.description, "2. MNTP helps: a >= 3 and b < 1");
  EXPECT_EQ(c.measured, "a 5.00; b 2.00");
  EXPECT_FALSE(c.gate);
  EXPECT_TRUE(criterion("x", {at_least(q("a", 5.0), 3.0)}, true).gate);
  EXPECT_THROW(criterion("empty", {}), Error);
  const auto all = all_of("every width", {at_least(q("w4", 1.0), 0.0), at_least(q("w8", -1.0), 0.0)});
  EXPECT_FALSE(all.passed);
  EXPECT_NE(all.measured.find("w8 -1.00 (fails w8 >= 0)"), std::string::npos);
  const auto gap = missing_data("4. mining", "planted copies", "Cranfield not found");
  EXPECT_TRUE(gap.gate);
  EXPECT_FALSE(gap.passed);
}

TEST(Criteria, APreconditionOfItsOwnDecidesWhetherACriterionIsJudged) {
  const auto sink = at_least(q("baseline share", 0.2), 0.5);
  const auto c = judged_only_if(sink, criterion("the gate removes the sink", {below(q("gated share", 0.1), 0.25)}));
  EXPECT_FALSE(c.judged);
  EXPECT_FALSE(c.passed);
  EXPECT_EQ(c.description, "the gate removes the sink: gated share < 0.25 (judged only if baseline share >= 0.5)");
  EXPECT_EQ(c.measured, "not judged: baseline share 0.20");
  EXPECT_EQ(outcome(c), "not judged");
  const auto judged = judged_only_if(at_least(q("baseline share", 0.8), 0.5),
                                     criterion("the gate removes the sink", {below(q("gated share", 0.3), 0.25)}));
  EXPECT_TRUE(judged.judged);
  EXPECT_FALSE(judged.passed);
  EXPECT_EQ(judged.measured, "gated share 0.30");
  EXPECT_EQ(outcome(judged), "fail");
  // Left out of the verdict: the judged criterion alone decides it.
  Result r;
  r.criteria = {c, criterion("other", {at_least(q("a", 1.0), 0.0)})};
  decide_verdict(r);
  EXPECT_EQ(r.verdict, Verdict::reproduced);
  r.criteria = {c};
  decide_verdict(r);
  EXPECT_EQ(r.verdict, Verdict::inconclusive);  // nothing was judged
}

TEST(Figures, MissingOrMistypedKeysAreErrors) {
  const Json figures = {{"a", 1.5}, {"list", {1, 2}}, {"text", "x"}, {"built", true}};
  EXPECT_DOUBLE_EQ(number(figures, "a"), 1.5);
  EXPECT_EQ(numbers(figures, "list"), (std::vector<double>{1, 2}));
  EXPECT_THROW(number(figures, "b"), Error);
  EXPECT_THROW(number(figures, "text"), Error);
  EXPECT_THROW(numbers(figures, "a"), Error);
  EXPECT_EQ(string_field(figures, "text"), "x");
  EXPECT_THROW(string_field(figures, "a"), Error);
  EXPECT_TRUE(boolean_field(figures, "built"));
  EXPECT_THROW(boolean_field(figures, "text"), Error);
  EXPECT_EQ(list_field(figures, "list").size(), 2u);
  EXPECT_THROW(list_field(figures, "text"), Error);
}

TEST(Cells, CarryTextAndValueFromOneNumber) {
  const Cell c = num(0.12345, 2);
  EXPECT_EQ(c.text, "0.12");
  EXPECT_DOUBLE_EQ(c.value.get<double>(), 0.12345);
  EXPECT_EQ(pct(0.4567).text, "45.7");
  EXPECT_EQ(num(std::nan(""), 2).text, "-");
  EXPECT_TRUE(num(std::nan(""), 2).value.is_null());
  EXPECT_EQ(integer(42).value, 42);
}

TEST(Scales, ParseAndPick) {
  EXPECT_EQ(parse_scale("smoke"), Scale::smoke);
  EXPECT_EQ(to_string(parse_scale("full")), "full");
  EXPECT_THROW(parse_scale("huge"), Error);
  Context ctx;
  ctx.scale = Scale::smoke;
  EXPECT_EQ(ctx.pick(1, 2, 3), 1);
  ctx.scale = Scale::full;
  EXPECT_EQ(ctx.pick(1, 2, 3), 3);
}

// Restores libtorch's thread count when a test ends.
class SideBySide : public ::testing::Test {
 protected:
  void SetUp() override {
    threads_ = at::get_num_threads();
    at::set_num_threads(2);
    ctx.quiet = true;
  }
  void TearDown() override { at::set_num_threads(threads_); }
  Context ctx;

 private:
  int threads_ = 1;
};

TEST_F(SideBySide, EveryJobRunsOnceOnOneThreadAndTheThreadCountIsRestored) {
  std::vector<std::atomic<int>> runs(7);
  std::vector<int> threads_seen(7, 0);
  std::vector<Job> jobs;
  for (size_t i = 0; i < runs.size(); ++i)
    jobs.push_back({"job " + std::to_string(i), [&, i] {
                      ++runs[i];
                      threads_seen[i] = at::get_num_threads();
                    }});
  run_side_by_side(ctx, "jobs", jobs);
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].load(), 1) << i;
    EXPECT_EQ(threads_seen[i], 1) << i;
  }
  EXPECT_EQ(at::get_num_threads(), 2);
}

TEST_F(SideBySide, AFailureIsRethrownAndLaterJobsAreSkipped) {
  bool later_ran = false;
  const std::vector<Job> failing = {{"fine", [] {}}, {"broken", [] { throw Error("job broken failed"); }}};
  EXPECT_THROW(
      {
        try {
          run_side_by_side(ctx, "jobs", failing);
        } catch (const Error& e) {
          EXPECT_STREQ(e.what(), "job broken failed");
          throw;
        }
      },
      Error);
  EXPECT_EQ(at::get_num_threads(), 2);
  // On one thread the jobs run in order, and none starts after a failure.
  at::set_num_threads(1);
  const std::vector<Job> serial = {{"broken", [] { throw Error("first"); }}, {"later", [&] { later_ran = true; }}};
  EXPECT_THROW(run_side_by_side(ctx, "jobs", serial), Error);
  EXPECT_FALSE(later_ran);
}

// Two models trained side by side from with_seed's weights reach, step for step, the losses
// of the same training alone on one thread: no job sees another's generator draws.
TEST_F(SideBySide, TrainingSideBySideEqualsTrainingAlone) {
  testing::TempDir dir;
  const train::TokenWindows data(testing::cyclic_tokens(400), testing::cyclic_tokens(100), 10, 8, 4, 4, 5);
  const auto tc = testing::small_lm_train(6);
  const auto train_one = [&](uint64_t seed, const std::string& name) {
    auto model = with_seed(seed, [] { return model::Transformer(testing::tiny_config(model::AttentionGate::elementwise)); });
    train::Trainer trainer(tc, dir.path() / name);
    trainer.quiet = true;
    return trainer.fit(model, data, /*resume=*/false).step_losses;
  };
  std::vector<std::vector<double>> together(2);
  run_side_by_side(ctx, "jobs", {{"a", [&] { together[0] = train_one(3, "a"); }}, {"b", [&] { together[1] = train_one(4, "b"); }}});
  at::set_num_threads(1);
  const auto alone_a = train_one(3, "alone-a"), alone_b = train_one(4, "alone-b");
  EXPECT_EQ(together[0], alone_a);
  EXPECT_EQ(together[1], alone_b);
  EXPECT_NE(alone_a, alone_b);
}

TEST(Median, OddEvenAndEmpty) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(median({})));
}

}  // namespace
}  // namespace garden::repro::toolkit_test
