// The creativity scores of "Roll the dice" (eval/creativity.h) on hand-made generations.
#include "garden/eval/creativity.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"

namespace garden::eval {
namespace {

namespace tc = text::creative;

TEST(Creativity, TheSpecsHandMadeSetScoresOneQuarter) {
  tc::TaskOptions o;
  o.task = tc::Task::sibling;
  o.parents = 2;
  o.children = 4;
  o.train_examples = 10;
  o.test_prompts = 4;
  o.held_out_share = 0;
  const auto data = tc::generate(o);
  const auto memory = tc::memory_set(data);
  const auto& memorised = data.train.front().answer;
  // A coherent triplet nobody trained on: parent 0's children 2..5 (slot 1) and 6..9 (slot 2).
  std::vector<int64_t> novel;
  for (int64_t i = 2; i < 6 && novel.empty(); ++i)
    for (int64_t j = 6; j < 10 && novel.empty(); ++j) {
      const std::vector<int64_t> candidate{data.vocab.entity(i), data.vocab.entity(j), data.vocab.entity(0)};
      if (!memory.count(tc::memory_key(data, candidate))) novel = candidate;
    }
  ASSERT_FALSE(novel.empty());
  const std::vector<int64_t> incoherent{data.vocab.entity(6), data.vocab.entity(2), data.vocab.entity(0)};
  // {novel coherent x2 identical, memorised, incoherent} of 4 gives creativity 1/4.
  const auto s = creativity_scores(data, memory, {{novel, true}, {novel, true}, {memorised, true}, {incoherent, true}});
  EXPECT_EQ(s.n, 4);
  EXPECT_DOUBLE_EQ(s.creativity, 0.25);
  EXPECT_DOUBLE_EQ(s.coherence, 0.75);
  EXPECT_DOUBLE_EQ(s.memorization, 0.25);
  EXPECT_DOUBLE_EQ(s.diversity, 0.5);  // novel and memorised, each once
  // An answer that never ended is not coherent, even with the right tokens.
  EXPECT_DOUBLE_EQ(creativity_scores(data, memory, {{novel, false}}).coherence, 0.0);
  // train_memorization_score: exact reproductions of each example's own answer.
  EXPECT_DOUBLE_EQ(train_memorization({{memorised, true}, {novel, true}}, {data.train[0], data.train[1]}), 0.5);
  EXPECT_THROW(train_memorization({{memorised, true}}, {}), Error);
}

}  // namespace
}  // namespace garden::eval
