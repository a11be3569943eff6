// LLM2Vec's steps: MNTP corruption and its shifted loss (a hand-computed value, and a case
// that an off-by-one gets wrong), MNTP training, SimCSE pairs that differ only by dropout.
#include "garden/train/llm2vec.h"

#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "garden/core/error.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

MntpOptions options(double rate, MntpStrategy strategy) {
  MntpOptions o;
  o.rate = rate;
  o.strategy = strategy;
  o.mask_id = 4;
  o.vocab = 50;
  o.never_mask = {1, 2, 3};  // BOS, EOS, PAD
  return o;
}

TEST(Mntp, AllMaskChoosesEveryEligiblePositionAndNeverSpecialsPaddingOrPositionZero) {
  const auto tokens = torch::tensor({1, 10, 11, 12, 2, 3, 1, 20, 21, 22, 23, 2}, torch::kLong).view({2, 6});
  auto mask = torch::ones({2, 6}, torch::kLong);
  mask[0][5] = 0;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1);
  const auto out = mask_for_mntp(tokens, mask, options(1.0, MntpStrategy::all_mask), generator);
  const auto expected_input = torch::tensor({1, 4, 4, 4, 2, 3, 1, 4, 4, 4, 4, 2}, torch::kLong).view({2, 6});
  const auto expected_labels = torch::tensor({-100, 10, 11, 12, -100, -100, -100, 20, 21, 22, 23, -100}, torch::kLong).view({2, 6});
  EXPECT_TRUE(torch::equal(out.input, expected_input)) << out.input;
  EXPECT_TRUE(torch::equal(out.labels, expected_labels)) << out.labels;
}

TEST(Mntp, BertStyleMasksEightyReplacesTenKeepsTen) {
  torch::manual_seed(8);  // the token draw, so the test sees the same tokens on every run
  const auto tokens = torch::randint(10, 50, {64, 256}, torch::kLong);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto out = mask_for_mntp(tokens, {}, options(0.2, MntpStrategy::bert), generator);
  const auto chosen = out.labels.ne(-100);
  const double eligible = 64.0 * 255.0, n = chosen.sum().item<double>();
  EXPECT_NEAR(n / eligible, 0.2, 0.01);
  EXPECT_TRUE(torch::equal(out.labels.masked_select(chosen), tokens.masked_select(chosen)));
  const double masked = out.input.eq(4).logical_and(chosen).sum().item<double>();
  const double kept = out.input.eq(tokens).logical_and(chosen).sum().item<double>();
  EXPECT_NEAR(masked / n, 0.8, 0.02);
  EXPECT_NEAR(kept / n, 0.1 + 0.1 / 50, 0.02);  // kept, plus random draws that hit the same token
  EXPECT_TRUE(torch::equal(out.input.masked_select(chosen.logical_not()), tokens.masked_select(chosen.logical_not())));
  for (int64_t special : {1, 2, 3}) EXPECT_FALSE(out.input.eq(special).any().item<bool>());
}

TEST(Mntp, AlwaysChoosesAtLeastOnePositionAndRejectsBadOptions) {
  const auto tokens = torch::tensor({1, 10, 11}, torch::kLong).view({1, 3});
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto out = mask_for_mntp(tokens, {}, options(1e-6, MntpStrategy::all_mask), generator);
    EXPECT_EQ(out.labels.ne(-100).sum().item<int64_t>(), 1);
    EXPECT_EQ(out.labels[0][0].item<int64_t>(), -100);
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
  EXPECT_THROW(mask_for_mntp(tokens, {}, options(0.0, MntpStrategy::bert), generator), Error);
  auto no_mask = options(0.2, MntpStrategy::bert);
  no_mask.mask_id = -1;
  EXPECT_THROW(mask_for_mntp(tokens, {}, no_mask, generator), Error);
}

TEST(Mntp, LossPredictsPositionIFromTheLogitsOfIMinusOne) {
  // Hand-computed: vocab 3, the label at position 1 is token 2; the logits of position 0 are
  // (0, 0, ln 2), so p = 2 / 4 and the loss is ln 2. Position 1's own logits must not count.
  auto logits = torch::zeros({1, 3, 3});
  logits[0][0][2] = std::log(2.0);
  logits[0][1][2] = 100.0;  // what an off-by-one would read: loss ~0
  const auto labels = torch::tensor({-100, 2, -100}, torch::kLong).view({1, 3});
  EXPECT_NEAR(mntp_loss(logits, labels).item<double>(), std::log(2.0), 1e-6);
  // Peaks placed one position early give ~0 loss; placed at the label's own position, ~ln 3 + ...
  const auto tokens = torch::tensor({0, 5, 7, 9}, torch::kLong).view({1, 4});
  const auto all = torch::tensor({-100, 5, 7, 9}, torch::kLong).view({1, 4});
  auto early = torch::zeros({1, 4, 10}), same = torch::zeros({1, 4, 10});
  for (int64_t i = 1; i < 4; ++i) {
    early[0][i - 1][tokens[0][i].item<int64_t>()] = 50.0;
    same[0][i][tokens[0][i].item<int64_t>()] = 50.0;
  }
  EXPECT_LT(mntp_loss(early, all).item<double>(), 1e-6);
  EXPECT_GT(mntp_loss(same, all).item<double>(), 1.0);
}

TEST(Mntp, TrainingLowersTheHeldOutLoss) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  std::vector<int32_t> text;
  for (int i = 0; i < 600; ++i) text.push_back(static_cast<int32_t>(5 + (i % 6)));  // a cycle: predictable from both sides
  TokenWindows windows(text, text, 1, 12, 8, 4, 0);
  auto config = testing::tiny_config();
  config.vocab = 11;
  torch::manual_seed(0);
  model::Transformer model(config);
  MntpOptions o = options(0.3, MntpStrategy::bert);
  o.vocab = 11;
  TrainConfig tc;
  tc.steps = 80;
  tc.warmup = 5;
  tc.lr = 1e-2;
  tc.eval_every = 0;
  tc.checkpoint_every = 0;
  Trainer trainer(tc, dir.path());
  trainer.quiet = true;
  const auto objective = mntp_objective(model, windows, o, 0, "bytes");
  Json before;
  objective.evaluate(0, before);
  const auto result = trainer.fit(*model, objective, false);
  EXPECT_LT(result.val_loss, 0.5 * before["val_loss"].get<double>());
}

TEST(SimCse, PairsDifferOnlyByDropout) {
  const auto pairs = simcse_pairs({"a cat sat", "the wing"});
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].query, pairs[0].positive);
  auto embedder = testing::tiny_embedder(model::Pooling::mean, 64, 0.0);
  embedder->backbone->set_dropout(0.3);
  const text::ByteTokenizer tok;
  const auto batch = model::make_embedding_batch(tok, {"a cat sat"}, "", 64, model::CaseFolding::none);
  embedder->train();
  const auto a = embedder->forward(batch.tokens, batch.attention_mask, batch.pool_mask);
  const auto b = embedder->forward(batch.tokens, batch.attention_mask, batch.pool_mask);
  EXPECT_FALSE(torch::allclose(a, b));  // two passes, independent dropout
  embedder->eval();
  EXPECT_TRUE(torch::equal(embedder->forward(batch.tokens, batch.attention_mask, batch.pool_mask),
                           embedder->forward(batch.tokens, batch.attention_mask, batch.pool_mask)));
  EXPECT_DOUBLE_EQ(embedder->backbone->config().dropout, 0.3);
  EXPECT_THROW(embedder->backbone->set_dropout(1.0), Error);
}

}  // namespace
}  // namespace garden::train
