// Training and sampling for "Roll the dice" (train/creative.h): the teacherless batch on a
// hand-made row, the hybrid ratio, the masked-diffusion batch, the loss against a per-row
// slow reference, the diffusion sampler filling every position exactly once, greedy decoding
// of a null-prefix model repeating itself, and a tiny model that learns sibling discovery.
#include "garden/train/creative.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/eval/creativity.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

namespace tc = text::creative;
using tc::Vocab;

tc::TaskData tiny_sibling() {
  tc::TaskOptions o;
  o.task = tc::Task::sibling;
  o.parents = 2;
  o.children = 4;
  o.train_examples = 24;
  o.test_prompts = 32;
  o.held_out_share = 0.1;
  o.hash_length = 4;
  return tc::generate(o);
}

CreativeOptions tiny_model(CreativeObjective objective, PrefixKind prefix) {
  CreativeOptions o;
  o.objective = objective;
  o.prefix = prefix;
  o.d_model = 32;
  o.layers = 1;
  o.heads = 2;
  return o;
}

TEST(CreativeTraining, TeacherlessRowsReadTheDummyAndScoreTheAnswerOnly) {
  const auto data = tiny_sibling();
  const auto& ex = data.train.front();
  const auto b = next_token_batch(data, {&ex, &ex}, PrefixKind::hash, {false, true});
  // Row: 4 hash characters, <q>, b1 b2 a, </a>: inputs are the first 8 tokens, targets the last 8.
  ASSERT_EQ(b.inputs.size(1), 8);
  const auto hash = data.vocab.hash_tokens(ex.hash);
  for (int64_t j = 0; j < 4; ++j) {
    EXPECT_EQ(b.inputs[0][j].item<int64_t>(), hash[static_cast<size_t>(j)]);
    EXPECT_EQ(b.inputs[1][j].item<int64_t>(), hash[static_cast<size_t>(j)]);
  }
  EXPECT_EQ(b.inputs[1][4].item<int64_t>(), Vocab::kQuery);
  for (int64_t j = 5; j < 8; ++j) {
    EXPECT_EQ(b.inputs[0][j].item<int64_t>(), ex.answer[static_cast<size_t>(j - 5)]);  // NTP: the true prefix
    EXPECT_EQ(b.inputs[1][j].item<int64_t>(), Vocab::kDummy);                          // teacherless: "$"
  }
  // Both rows' targets are the true answer and </a>, scored at positions 4..7 only.
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t j = 0; j < 8; ++j) EXPECT_EQ(b.weights[r][j].item<float>(), j >= 4 ? 1.0F : 0.0F);
    for (int64_t j = 4; j < 7; ++j) EXPECT_EQ(b.targets[r][j].item<int64_t>(), ex.answer[static_cast<size_t>(j - 4)]);
    EXPECT_EQ(b.targets[r][7].item<int64_t>(), Vocab::kEnd);
  }
  EXPECT_DOUBLE_EQ(b.denominator, 8);
  // A null prefix drops the hash.
  EXPECT_EQ(next_token_batch(data, {&ex}, PrefixKind::null, {false}).inputs.size(1), 4);
}

TEST(CreativeTraining, TheHybridHasOneNtpRowInFour) {
  const auto data = tiny_sibling();
  const auto options = tiny_model(CreativeObjective::teacherless, PrefixKind::hash);
  int64_t rows = 0, ntp = 0;
  for (int64_t index = 0; index < 200; ++index) {
    const auto b = training_batch(data, options, 32, 7, index);
    ntp += (b.inputs.select(1, 5) != Vocab::kDummy).sum().item<int64_t>();
    rows += 32;
  }
  const double share = static_cast<double>(ntp) / static_cast<double>(rows);
  EXPECT_NEAR(share, 0.25, 0.03);  // 6,400 rows: the standard error is 0.005
  // The same index gives the same batch.
  EXPECT_TRUE(training_batch(data, options, 8, 7, 3).inputs.equal(training_batch(data, options, 8, 7, 3).inputs));
}

TEST(CreativeTraining, DiffusionMasksAnswerPositionsAtTimeT) {
  const auto data = tiny_sibling();
  const auto& ex = data.train.front();
  // Answer positions 5..8 (b1 b2 a </a>); uniforms below t = 0.5 are masked.
  const auto b = diffusion_batch(data, {&ex, &ex}, PrefixKind::hash, {0.5, 0.1}, {{0.2, 0.9, 0.4, 0.7}, {0.9, 0.8, 0.3, 0.6}});
  EXPECT_EQ(b.mask, model::MaskMode::bidirectional);
  const std::vector<bool> masked0{true, false, true, false}, masked1{false, false, true, false};  // row 1: none below 0.1, so the smallest
  for (int64_t j = 0; j < 9; ++j) {
    EXPECT_EQ(b.targets[0][j].item<int64_t>(), b.targets[1][j].item<int64_t>());
    if (j < 5) {
      EXPECT_EQ(b.inputs[0][j].item<int64_t>(), b.targets[0][j].item<int64_t>());  // the prompt is never masked
      EXPECT_EQ(b.weights[0][j].item<float>(), 0.0F);
      continue;
    }
    const auto k = static_cast<size_t>(j - 5);
    EXPECT_EQ(b.inputs[0][j].item<int64_t>() == Vocab::kMask, masked0[k]);
    EXPECT_EQ(b.inputs[1][j].item<int64_t>() == Vocab::kMask, masked1[k]);
    EXPECT_FLOAT_EQ(b.weights[0][j].item<float>(), masked0[k] ? 2.0F : 0.0F);   // 1/t
    EXPECT_FLOAT_EQ(b.weights[1][j].item<float>(), masked1[k] ? 10.0F : 0.0F);
  }
  EXPECT_DOUBLE_EQ(b.denominator, 8);
  EXPECT_THROW(diffusion_batch(data, {&ex}, PrefixKind::hash, {0.0}, {{0.1, 0.1, 0.1, 0.1}}), Error);
}

TEST(CreativeTraining, TheLossMatchesAPerRowReference) {
  const auto data = tiny_sibling();
  torch::manual_seed(3);
  auto model = new_creative_model(data, tiny_model(CreativeObjective::ntp, PrefixKind::hash));
  const auto b = training_batch(data, tiny_model(CreativeObjective::teacherless, PrefixKind::hash), 6, 1, 0);
  const double loss = creative_loss(model, b).item<double>();
  double reference = 0, counted = 0;
  for (int64_t r = 0; r < 6; ++r) {
    const auto logits = model->forward(b.inputs[r].unsqueeze(0)).logits[0];  // [T,V]
    const auto log_probs = torch::log_softmax(logits, -1);
    for (int64_t j = 0; j < b.inputs.size(1); ++j) {
      if (b.weights[r][j].item<float>() == 0) continue;
      reference -= log_probs[j][b.targets[r][j].item<int64_t>()].item<double>();
      ++counted;
    }
  }
  EXPECT_NEAR(loss, reference / counted, 1e-5);
}

TEST(CreativeSampling, TheDiffusionSamplerFillsEveryPositionOnce) {
  const auto data = tiny_sibling();
  torch::manual_seed(5);
  const auto options = tiny_model(CreativeObjective::diffusion, PrefixKind::hash);
  auto model = new_creative_model(data, options);
  const auto prompts = test_prompts(data);
  for (const int64_t steps : {0, 2}) {  // one position a step, or two steps of two
    CreativeSampling sampling;
    sampling.diffusion_steps = steps;
    sampling.temperature = 1.0;
    const auto outputs = sample_creative(model, data, options, prompts, sampling);
    ASSERT_EQ(outputs.size(), prompts.size());
    for (const auto& o : outputs) {
      // No position is left masked or written twice: 4 positions, none the mask or a hash character.
      EXPECT_LE(o.answer.size(), 4u);
      for (const int64_t t : o.answer) {
        EXPECT_NE(t, Vocab::kMask);
        EXPECT_NE(t, Vocab::kDummy);
        EXPECT_TRUE(t < Vocab::kMask || t >= Vocab::kEntityBase);
      }
    }
    // Seeded: the same seed gives the same answers.
    const auto again = sample_creative(model, data, options, prompts, sampling);
    for (size_t i = 0; i < outputs.size(); ++i) EXPECT_EQ(again[i].answer, outputs[i].answer);
  }
}

TEST(CreativeSampling, GreedyDecodingOfANullPrefixModelRepeatsItself) {
  const auto data = tiny_sibling();
  torch::manual_seed(6);
  for (const auto objective : {CreativeObjective::ntp, CreativeObjective::diffusion}) {
    const auto options = tiny_model(objective, PrefixKind::null);
    auto model = new_creative_model(data, options);
    const auto outputs = sample_creative(model, data, options, test_prompts(data), CreativeSampling{});
    for (const auto& o : outputs) EXPECT_EQ(o.answer, outputs.front().answer);
  }
}

TEST(CreativeTraining, ATinyModelLearnsSiblingsAndSavesAndLoads) {
  const auto data = tiny_sibling();
  testing::TempDir dir;
  torch::manual_seed(1);
  auto options = tiny_model(CreativeObjective::ntp, PrefixKind::hash);
  auto model = new_creative_model(data, options);
  TrainConfig config;
  config.steps = 150;
  config.batch = 32;
  config.lr = 3e-3;
  config.warmup = 5;
  config.eval_every = 0;
  config.checkpoint_every = 0;
  const auto result = train_creative(model, data, options, config, dir.path() / "run", false, true);
  ASSERT_EQ(result.steps_done, 150);
  EXPECT_LT(result.step_losses.back(), 0.6 * result.step_losses.front());
  // Coherent answers to fresh hashes: each parent's 16 triplets are easy to learn.
  const auto outputs = sample_creative(model, data, options, test_prompts(data), CreativeSampling{});
  EXPECT_GT(eval::creativity_scores(data, tc::memory_set(data), outputs).coherence, 0.5);
  auto loaded = load_creative_model(dir.path() / "run");
  EXPECT_EQ(loaded.options.objective, CreativeObjective::ntp);
  EXPECT_EQ(loaded.task.children, 4);
  const auto reloaded = sample_creative(loaded.model, data, loaded.options, test_prompts(data), CreativeSampling{});
  for (size_t i = 0; i < outputs.size(); ++i) EXPECT_EQ(reloaded[i].answer, outputs[i].answer);
  EXPECT_THROW(load_creative_model(dir.path() / "none"), Error);
}

}  // namespace
}  // namespace garden::train
