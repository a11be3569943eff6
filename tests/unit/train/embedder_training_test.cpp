// Contrastive embedder training: batch order, the loss of a batch against info_nce on the
// embedder's own vectors, bit-for-bit resume through the shared Trainer, and learning a
// toy retrieval task.
#include "garden/train/embedder_training.h"

#include <gtest/gtest.h>

#include <set>

#include "garden/core/error.h"
#include "garden/train/run_folder.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

model::Embedder tiny_embedder(double dropout) { return testing::tiny_embedder(model::Pooling::mean, 32, dropout); }

// Query "k<i>" must find the document that repeats its own letter.
std::vector<text::TextPair> letter_pairs() {
  std::vector<text::TextPair> pairs;
  for (char c = 'a'; c <= 'p'; ++c) {
    const std::string letter(1, c), other(1, static_cast<char>('a' + ((c - 'a' + 5) % 16)));
    pairs.push_back({"k" + letter, letter + letter + letter + " x", letter, {other + other + other + " x"}});
  }
  return pairs;
}

using testing::small_embed_train;

TEST(EmbedderTraining, EveryEpochIsAPermutationAndBatchesArePure) {
  const int64_t n = 10, batch = 4;
  std::vector<int64_t> seen;
  for (int64_t index = 0; index < 5; ++index) {  // 20 slots = two epochs
    const auto ids = pair_batch_indices(n, batch, index, 7);
    EXPECT_EQ(ids, pair_batch_indices(n, batch, index, 7));
    seen.insert(seen.end(), ids.begin(), ids.end());
  }
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::set<int64_t> once(seen.begin() + epoch * n, seen.begin() + (epoch + 1) * n);
    EXPECT_EQ(once.size(), static_cast<size_t>(n)) << "epoch " << epoch;
  }
  EXPECT_NE(std::vector<int64_t>(seen.begin(), seen.begin() + n), std::vector<int64_t>(seen.begin() + n, seen.end()));
  EXPECT_NE(pair_batch_indices(n, batch, 0, 7), pair_batch_indices(n, batch, 0, 8));
}

TEST(EmbedderTraining, BatchLossIsInfoNceOverTheEmbeddersVectors) {
  auto embedder = tiny_embedder(0.0);
  embedder->eval();
  const text::ByteTokenizer tok;
  const auto pairs = letter_pairs();
  std::vector<const text::TextPair*> batch = {&pairs[0], &pairs[1], &pairs[2]};
  EmbedObjectiveConfig config;
  config.hard_negatives = 1;
  config.query_instruction = "Q: ";
  const auto got = contrastive_batch_loss(embedder, tok, batch, config);

  auto embed = [&](const std::vector<std::string>& texts, const std::string& instruction) {
    const auto b = model::make_embedding_batch(tok, texts, instruction, 32, model::CaseFolding::none);
    return embedder->forward(b.tokens, b.attention_mask, b.pool_mask);
  };
  const auto q = embed({"ka", "kb", "kc"}, "Q: ");
  const auto p = embed({"aaa x", "bbb x", "ccc x"}, "");
  const auto n = embed({"fff x", "ggg x", "hhh x"}, "").view({3, 1, -1});
  EXPECT_NEAR(got.loss.item<double>(), info_nce(q, p, n, config.contrastive).item<double>(), 1e-6);
  EXPECT_GT(got.tokens, 0);

  config.hard_negatives = 2;  // more than the pairs carry
  EXPECT_THROW(contrastive_batch_loss(embedder, tok, batch, config), Error);
}

TEST(EmbedderTraining, AModelTrainedUnderBf16EncodesUnderBf16) {
  const text::ByteTokenizer tok;
  const auto pairs = letter_pairs();
  auto embedder = tiny_embedder(0.0);
  auto train = small_embed_train(2);
  contrastive_objective(embedder, tok, pairs, {}, EmbedObjectiveConfig{}, train, "bytes");
  EXPECT_FALSE(embedder->config().bf16);
  train.bf16 = true;
  contrastive_objective(embedder, tok, pairs, {}, EmbedObjectiveConfig{}, train, "bytes");
  EXPECT_TRUE(embedder->config().bf16);
}

TEST(EmbedderTraining, ResumeContinuesBitForBit) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const text::ByteTokenizer tok;
  const auto pairs = letter_pairs();
  EmbedObjectiveConfig config;
  config.hard_negatives = 1;
  const int64_t n = 6, k = 2;

  auto straight = tiny_embedder(0.1);  // dropout: resume must restore the generator too
  Trainer a(small_embed_train(n), dir.path() / "straight");
  a.quiet = true;
  a.fit(*straight, contrastive_objective(straight, tok, pairs, {}, config, small_embed_train(n), "bytes"), false);

  auto first = tiny_embedder(0.1);
  auto interrupted = small_embed_train(n);
  interrupted.stop_after = k;
  Trainer b1(interrupted, dir.path() / "resumed");
  b1.quiet = true;
  EXPECT_TRUE(b1.fit(*first, contrastive_objective(first, tok, pairs, {}, config, interrupted, "bytes"), false).interrupted);

  torch::manual_seed(999);
  auto second = tiny_embedder(0.1);
  Trainer b2(small_embed_train(n), dir.path() / "resumed");
  b2.quiet = true;
  EXPECT_EQ(b2.fit(*second, contrastive_objective(second, tok, pairs, {}, config, small_embed_train(n), "bytes"), true).steps_done, n);
  auto pa = straight->named_parameters(), pb = second->named_parameters();
  for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  // A checkpoint is a loadable embedding model.
  const auto loaded = model::load_embedder(train::model_folder(dir.path() / "resumed"));
  EXPECT_EQ(loaded.embedder->dims(), 16);
}

TEST(EmbedderTraining, LearnsAToyRetrievalTaskAndLowersTheHeldOutLoss) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const text::ByteTokenizer tok;
  const auto pairs = letter_pairs();
  EmbedObjectiveConfig config;
  config.mrl_widths = {4, 16};
  auto embedder = tiny_embedder(0.0);
  auto train = small_embed_train(120);
  train.eval_every = 120;
  const auto before = contrastive_batch_loss(embedder, tok, {&pairs[0], &pairs[1], &pairs[2], &pairs[3]}, config).loss.item<double>();
  Trainer t(train, dir.path());
  t.quiet = true;
  const auto result = t.fit(*embedder, contrastive_objective(embedder, tok, pairs, pairs, config, train, "bytes"), false);
  EXPECT_LT(result.val_loss, 0.5 * before);
  // Queries now find their own document among all 16.
  std::vector<std::string> queries, docs;
  for (const auto& p : pairs) {
    queries.push_back(p.query);
    docs.push_back(p.positive);
  }
  const auto scores = model::encode_texts(embedder, tok, queries, "", 8).mm(model::encode_texts(embedder, tok, docs, "", 8).t());
  EXPECT_GE(scores.argmax(1).eq(torch::arange(16)).sum().item<int64_t>(), 14);
}

TEST(EmbedderTraining, ObjectiveConfigRejectsImpossibleSettings) {
  EXPECT_THROW(EmbedObjectiveConfig::from_json({{"in_batch", false}}, "cfg"), Error);  // no negatives at all
  EXPECT_THROW(EmbedObjectiveConfig::from_json({{"temperature", 0.0}}, "cfg"), Error);
  EXPECT_THROW(EmbedObjectiveConfig::from_json({{"mrl", {16, 8}}}, "cfg"), Error);
  const auto ok = EmbedObjectiveConfig::from_json({{"mrl", {8, 16}}, {"hard_negatives", 2}}, "cfg");
  EXPECT_EQ(ok.mrl_widths, (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(EmbedObjectiveConfig::from_json(ok.to_json(), "cfg").to_json(), ok.to_json());
}

}  // namespace
}  // namespace garden::train

namespace garden::train {
namespace {

// The second stage starts with a fresh optimizer and its own objective from its first step:
// its step-1 loss is the in-batch-off loss of its first batch on the stage-1 weights (with
// in-batch negatives the value would differ). A finished stage is loaded, not retrained.
TEST(EmbedderTraining, StagesSwitchObjectiveAndOptimizerAndSkipFinishedStages) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const text::ByteTokenizer tok;
  const auto pairs = letter_pairs();
  EmbedObjectiveConfig with_in_batch, without_in_batch;
  with_in_batch.hard_negatives = without_in_batch.hard_negatives = 1;
  without_in_batch.contrastive.in_batch = false;
  auto first_config = small_embed_train(5), second_config = small_embed_train(4);
  second_config.lr = 1e-3;
  std::vector<TrainingStage> stages{{"retrieval", pairs, with_in_batch, first_config}, {"blend", pairs, without_in_batch, second_config}};

  auto staged = tiny_embedder(0.0);
  const auto results = train_stages(staged, tok, {stages[0]}, dir.path() / "run", false, "bytes", true);
  ASSERT_EQ(results.size(), 1u);
  // The stage-1 weights, and the losses stage 2 must start from.
  std::vector<const text::TextPair*> batch;
  for (int64_t i : pair_batch_indices(static_cast<int64_t>(pairs.size()), second_config.batch, 0, second_config.seed))
    batch.push_back(&pairs[static_cast<size_t>(i)]);
  double expected = 0, with_in_batch_loss = 0;
  {
    torch::NoGradGuard no_grad;
    expected = contrastive_batch_loss(staged, tok, batch, without_in_batch).loss.item<double>();
    with_in_batch_loss = contrastive_batch_loss(staged, tok, batch, with_in_batch).loss.item<double>();
  }
  EXPECT_NE(expected, with_in_batch_loss);

  auto resumed = tiny_embedder(0.0);
  torch::manual_seed(77);  // stage 1 is loaded from its run, not retrained from these weights
  const auto both = train_stages(resumed, tok, stages, dir.path() / "run", false, "bytes", true);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_TRUE(both[0].step_losses.empty());  // loaded
  ASSERT_EQ(both[1].step_losses.size(), 4u);
  EXPECT_NEAR(both[1].step_losses[0], expected, 1e-5);
  EXPECT_TRUE(run_complete(dir.path() / "run" / "stage2-blend", 4));
  EXPECT_FALSE(run_complete(dir.path() / "run" / "stage2-blend", 5));
  // The final stage's run is a loadable embedding model.
  EXPECT_EQ(model::load_embedder(train::model_folder(dir.path() / "run" / "stage2-blend")).embedder->dims(), 16);
}

}  // namespace
}  // namespace garden::train
