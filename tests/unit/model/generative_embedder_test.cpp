// LLM2Vec-Gen's encoder: the special tokens are rows of an extended embedding table, padding
// and batch company never reach an embedding, only the special tokens and the projections
// train (the backbone bitwise unchanged), the alignment loss by hand, and a soft prompt
// trained on a memorised sentence decodes back into it.
#include "garden/model/generative_embedder.h"

#include <gtest/gtest.h>

#include "garden/model/generation.h"
#include "garden/train/batches.h"
#include "garden/train/trainer.h"
#include "test_helpers.h"

namespace garden::model {
namespace {

GenerativeEmbedder tiny_generative(int64_t special = 3, int64_t dims = 5) {
  torch::manual_seed(21);
  Transformer backbone(testing::tiny_config());
  backbone->eval();
  GenerativeEmbedderConfig config;
  config.special_tokens = special;
  config.embedding_dims = dims;
  return GenerativeEmbedder(backbone, config);
}

TEST(GenerativeEmbedder, AlignmentLossByHand) {
  EXPECT_DOUBLE_EQ(alignment_loss(torch::tensor({{1.0, 0.0}}), torch::tensor({{0.0, 0.0}})).item<double>(), 0.5);
  // Two rows: (0.5 + (4 + 0) / 2) / 2.
  EXPECT_DOUBLE_EQ(alignment_loss(torch::tensor({{1.0, 0.0}, {0.0, 2.0}}), torch::tensor({{0.0, 0.0}, {0.0, 0.0}})).item<double>(), 1.25);
  EXPECT_THROW(alignment_loss(torch::zeros({2, 3}), torch::zeros({2, 4})), Error);
}

// Writing the K special vectors into K new rows of the embedding table and running the
// query's tokens followed by those ids gives the same states, hence the same soft prompt.
TEST(GenerativeEmbedder, SpecialTokensAreRowsOfAnExtendedEmbeddingTable) {
  torch::NoGradGuard no_grad;
  auto model = tiny_generative();
  auto config = testing::tiny_config();
  const int64_t vocab = config.vocab, k = 3;
  config.vocab = vocab + k;
  Transformer extended(config);
  auto target = extended->named_parameters();
  for (const auto& item : model->backbone->named_parameters()) {
    if (item.key() == "token_embedding.weight")
      target[item.key()].copy_(torch::cat({item.value(), model->special_tokens}, 0));
    else
      target[item.key()].copy_(item.value());
  }
  extended->eval();
  const std::vector<int64_t> query{4, 1, 7};
  auto tokens = torch::tensor(std::vector<int64_t>{4, 1, 7, vocab, vocab + 1, vocab + 2}, torch::kLong).view({1, -1});
  ForwardOptions options;
  options.compute_logits = false;
  const auto states = extended->forward(tokens, options).hidden.narrow(1, 3, k);
  EXPECT_TRUE(torch::allclose(model->encode({query}).soft_prompt, model->reconstruction(states), 1e-5, 1e-6));
}

// Under RoPE, left padding leaves a query's embedding as it is alone, whatever shares its
// batch; a changed query token changes it.
TEST(GenerativeEmbedder, PaddingAndBatchCompanyNeverReachAnEmbedding) {
  torch::NoGradGuard no_grad;
  auto model = tiny_generative();
  const auto alone = model->encode({{3, 5}}).embedding;
  const auto padded = model->encode({{3, 5}, {1, 2, 3, 4, 6, 7}}).embedding;
  EXPECT_TRUE(torch::allclose(padded[0], alone[0], 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(model->encode({{3, 6}}).embedding, alone, 1e-3, 1e-4));
  EXPECT_EQ(padded.sizes(), torch::IntArrayRef({2, 5}));
  EXPECT_EQ(model->encode({{3, 5}}).soft_prompt.sizes(), torch::IntArrayRef({1, 3, 8}));
}

// One optimiser step on both losses moves the special tokens and both projections; every
// backbone tensor stays bitwise equal, and none of them asks for gradients.
TEST(GenerativeEmbedder, OnlyTheSpecialTokensAndProjectionsTrain) {
  auto model = tiny_generative();
  std::map<std::string, torch::Tensor> before;
  for (const auto& item : model->named_parameters()) before[item.key()] = item.value().detach().clone();
  for (const auto& p : model->backbone->parameters()) EXPECT_FALSE(p.requires_grad());
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-2));
  const auto encoded = model->encode({{3, 5}, {2, 2, 9}});
  const auto loss = model->reconstruction_loss(encoded.soft_prompt, {{1, 2, 0}, {4}}) + alignment_loss(encoded.embedding, torch::ones({2, 5}));
  loss.backward();
  optimizer.step();
  for (const auto& item : model->named_parameters()) {
    const bool trains = item.key().rfind("backbone.", 0) != 0;
    EXPECT_EQ(!torch::equal(item.value(), before[item.key()]), trains) << item.key();
  }
}

// A backbone that has memorised a cyclic sentence, and a soft prompt trained (reconstruction
// only) to make it answer that sentence to a query: greedy decoding from the soft prompt
// returns the sentence.
TEST(GenerativeEmbedder, DecodingTheSoftPromptReturnsTheMemorisedSentence) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const std::vector<int64_t> sentence{1, 2, 3, 4, 5, 6};
  std::vector<int32_t> stream;
  for (int i = 0; i < 100; ++i)
    for (const auto token : sentence) stream.push_back(static_cast<int32_t>(token));
  torch::manual_seed(2);
  Transformer backbone(testing::tiny_config());
  auto lm = testing::small_lm_train(150);
  lm.eval_every = 0;
  train::Trainer pretraining(lm, dir.path());
  pretraining.quiet = true;
  pretraining.fit(backbone, train::TokenWindows(stream, stream, 10, 8, 4, 2, 1), false);
  backbone->eval();

  GenerativeEmbedderConfig config;
  config.special_tokens = 2;
  GenerativeEmbedder model(backbone, config);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(2e-2));
  double loss = 0;
  for (int step = 0; step < 150; ++step) {
    optimizer.zero_grad();
    auto value = model->reconstruction_loss(model->encode({{7, 8, 9}}).soft_prompt, {sentence});
    value.backward();
    optimizer.step();
    loss = value.item<double>();
  }
  EXPECT_LT(loss, 0.1);
  GenerateOptions greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = static_cast<int64_t>(sentence.size());
  torch::Tensor soft;
  {
    torch::NoGradGuard no_grad;
    soft = model->encode({{7, 8, 9}}).soft_prompt[0];
  }
  EXPECT_EQ(generate_from_embeddings(model->backbone, soft, greedy).front().tokens, sentence);
}

TEST(GenerativeEmbedder, ConfigRefusesImpossibleSettings) {
  EXPECT_EQ(GenerativeEmbedderConfig::from_json(GenerativeEmbedderConfig{}.to_json(), "cfg").special_tokens, 10);
  testing::expect_error_containing([] { GenerativeEmbedderConfig::from_json(Json{{"special_tokens", 0}}, "cfg"); }, "special_tokens must be >= 1");
  testing::expect_error_containing([] { GenerativeEmbedderConfig::from_json(Json{{"thought_tokens", 2}}, "cfg"); }, "thought_tokens");
  auto model = tiny_generative();
  testing::expect_error_containing([&] { model->reconstruction_loss(torch::zeros({1, 3, 8}), {{}}); }, "a response is empty");
}

}  // namespace
}  // namespace garden::model
