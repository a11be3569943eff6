#include "garden/train/batches.h"

#include <gtest/gtest.h>

#include "garden/core/files.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

TEST(TokenWindows, StartWithBosAndShiftTargetsByOne) {
  std::vector<int32_t> tokens;
  for (int32_t i = 0; i < 50; ++i) tokens.push_back(i);
  TokenWindows data(tokens, tokens, 99, 6, 3, 4, 1);
  auto b = data.train_batch(0);
  for (int64_t r = 0; r < 3; ++r) {
    EXPECT_EQ(b.input[r][0].item<int64_t>(), 99);
    for (int64_t t = 1; t < 6; ++t) EXPECT_EQ(b.input[r][t].item<int64_t>(), b.target[r][t - 1].item<int64_t>());
    // Targets are consecutive text tokens.
    for (int64_t t = 1; t < 6; ++t) EXPECT_EQ(b.target[r][t].item<int64_t>(), b.target[r][t - 1].item<int64_t>() + 1);
  }
  EXPECT_TRUE(torch::equal(data.train_batch(5).input, data.train_batch(5).input));  // a pure function of the step
  EXPECT_FALSE(torch::equal(data.train_batch(5).input, data.train_batch(6).input));
}

TEST(BigramBackcopyBatches, RowsAreTaskSequencesAndHeldOutOnesIgnoreTheSeed) {
  // a -> {a, T}, b -> T; T (2) a trigger; BOS is 3.
  const text::BigramBackcopy task({{0.5, 0.0, 0.5}, {0.0, 0.0, 1.0}, {1.0 / 3, 1.0 / 3, 1.0 / 3}}, {0.5, 0.5, 0.0}, {2});
  BigramBackcopyBatches data(task, 10, 4, 6, 1);
  const auto b = data.train_batch(0);
  ASSERT_EQ(b.input.sizes(), (std::vector<int64_t>{4, 10}));
  for (int64_t r = 0; r < 4; ++r) {
    EXPECT_EQ(b.input[r][0].item<int64_t>(), 3);
    for (int64_t t = 1; t < 10; ++t) EXPECT_EQ(b.input[r][t].item<int64_t>(), b.target[r][t - 1].item<int64_t>());
    for (int64_t t = 1; t < 10; ++t) {
      if (b.input[r][t].item<int64_t>() == 2) {
        EXPECT_EQ(b.target[r][t].item<int64_t>(), b.input[r][t - 1].item<int64_t>());
      }
    }
  }
  EXPECT_TRUE(torch::equal(data.train_batch(5).input, data.train_batch(5).input));
  EXPECT_FALSE(torch::equal(data.train_batch(5).input, data.train_batch(6).input));
  BigramBackcopyBatches other_seed(task, 10, 4, 6, 2);
  EXPECT_FALSE(torch::equal(other_seed.train_batch(5).input, data.train_batch(5).input));
  const auto held_out = data.eval_batches(), held_out_other = other_seed.eval_batches();
  ASSERT_EQ(held_out.size(), 2u);  // 6 sequences in batches of 4
  EXPECT_EQ(held_out[1].input.size(0), 2);
  for (size_t i = 0; i < held_out.size(); ++i) EXPECT_TRUE(torch::equal(held_out[i].input, held_out_other[i].input));
}

TEST(PromptCompletion, OnlyCompletionTokensCount) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "d.jsonl", "{\"prompt\": \"ab\", \"completion\": \"c\"}\n");
  text::ByteTokenizer tok;
  PromptCompletionBatches data(dir.path() / "d.jsonl", dir.path() / "d.jsonl", tok, 8, 1, 0);
  auto b = data.eval_batches()[0];
  // BOS a b c EOS: inputs BOS a b c, targets a b c EOS; counted: c and EOS.
  EXPECT_EQ(b.input.sizes(), (std::vector<int64_t>{1, 4}));
  EXPECT_TRUE(torch::equal(b.loss_mask, torch::tensor({{0.0f, 0.0f, 1.0f, 1.0f}})));
  EXPECT_EQ(b.target[0][2].item<int64_t>(), 'c');
  EXPECT_EQ(b.target[0][3].item<int64_t>(), tok.eos_id());
}

TEST(PromptCompletion, MalformedLineNamesFileAndLine) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "bad.jsonl", "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": 1}\n");
  text::ByteTokenizer tok;
  testing::expect_error_containing([&] { PromptCompletionBatches(dir.path() / "bad.jsonl", dir.path() / "bad.jsonl", tok, 8, 1, 0); },
                                   "bad.jsonl:2: needs string fields");
}

TEST(TokenRowBatches, TargetsShiftWithTheirMasksAndStepsDrawFromOneLengthBucket) {
  // Two short rows and one long one: a batch is all short or all long, padded to its longest.
  std::vector<TokenRow> rows = {{{1, 5, 6, 2}, {0, 0, 1, 1}}, {{1, 7, 2}, {0, 1, 1}}, {std::vector<int64_t>(40, 9), std::vector<uint8_t>(40, 1)}};
  TokenRowBatches data(rows, {rows[0]}, /*pad=*/0, /*batch=*/4, /*seed=*/3);
  const auto eval = data.eval_batches();
  ASSERT_EQ(eval.size(), 1u);
  EXPECT_TRUE(torch::equal(eval[0].input, torch::tensor({{1, 5, 6}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(eval[0].target, torch::tensor({{5, 6, 2}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(eval[0].loss_mask, torch::tensor({{0.0f, 1.0f, 1.0f}})));  // the mask of each target
  bool saw_short = false, saw_long = false;
  for (int64_t step = 1; step <= 40; ++step) {
    const auto batch = data.train_batch(step);
    EXPECT_TRUE(torch::equal(batch.input, data.train_batch(step).input));  // a pure function of the step
    ASSERT_EQ(batch.input.size(0), 4);
    if (batch.input.size(1) == 39) {
      saw_long = true;
      EXPECT_EQ(batch.attention_mask.sum().item<int64_t>(), 4 * 39);
    } else {
      saw_short = true;
      EXPECT_EQ(batch.input.size(1), 3);
      // A 3-token row is padded once: no attention, no loss there.
      for (int64_t r = 0; r < 4; ++r)
        if (batch.input[r][0].item<int64_t>() == 1 && batch.input[r][1].item<int64_t>() == 7) {
          EXPECT_EQ(batch.attention_mask[r][2].item<int64_t>(), 0);
          EXPECT_EQ(batch.loss_mask[r][2].item<float>(), 0.0f);
        }
    }
  }
  EXPECT_TRUE(saw_short && saw_long);
  EXPECT_THROW(TokenRowBatches({{{1}, {0}}}, {}, 0, 4, 0), Error);
}

}  // namespace
}  // namespace garden::train
