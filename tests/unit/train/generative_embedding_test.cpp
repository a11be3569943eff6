// LLM2Vec-Gen's objective: the batch loss is the weighted sum of its parts (a part weighted 0
// is left out), the weights are validated, and a Trainer run leaves the backbone bitwise
// unchanged, logs both held-out losses and cosine diagnostics, and checkpoints a generative
// embedder that loads back and encodes as the trained one.
#include "garden/train/generative_embedding.h"

#include <gtest/gtest.h>

#include <fstream>

#include "garden/train/run_folder.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

model::GenerativeEmbedder tiny_generative() {
  torch::manual_seed(31);
  model::GenerativeEmbedderConfig config;
  config.special_tokens = 2;
  config.embedding_dims = 4;
  return model::GenerativeEmbedder(model::Transformer(testing::tiny_config()), config);
}

std::vector<GenerativeExample> examples() {
  std::vector<GenerativeExample> out;
  for (int64_t i = 0; i < 6; ++i)
    out.push_back({{1 + i % 5, 2, 3 + i % 3}, {4 + i % 4, 9}, {0.1F * static_cast<float>(i), 0.5F, -0.2F, 1.0F}});
  return out;
}

TEST(GenerativeEmbedding, BatchLossIsTheWeightedSumOfItsParts) {
  auto model = tiny_generative();
  model->eval();
  const auto data = examples();
  const std::vector<const GenerativeExample*> batch{&data[0], &data[1], &data[2]};
  const auto both = generative_batch_losses(model, batch, {2.0, 0.5});
  EXPECT_NEAR(both.total.item<double>(), 2.0 * both.reconstruction.item<double>() + 0.5 * both.alignment.item<double>(), 1e-6);
  const auto encoded = model->encode({data[0].query, data[1].query, data[2].query});
  std::vector<float> flat;
  for (const auto* e : batch) flat.insert(flat.end(), e->teacher.begin(), e->teacher.end());
  EXPECT_NEAR(both.alignment.item<double>(), model::alignment_loss(encoded.embedding, torch::tensor(flat).view({3, 4})).item<double>(), 1e-6);
  const auto align_only = generative_batch_losses(model, batch, {0.0, 1.0});
  EXPECT_FALSE(align_only.reconstruction.defined());
  EXPECT_NEAR(align_only.total.item<double>(), both.alignment.item<double>(), 1e-6);
  auto wrong = data[0];
  wrong.teacher.pop_back();
  testing::expect_error_containing([&] { generative_batch_losses(model, {&wrong}, {}); }, "a teacher vector has 3 dimensions, the model's embedding 4");
  testing::expect_error_containing([] { GenerativeLossWeights{0.0, 0.0}.validate(); }, "both 0");
  testing::expect_error_containing([] { GenerativeLossWeights{-1.0, 1.0}.validate(); }, "must be finite and >= 0");
}

TEST(GenerativeEmbedding, TrainingLeavesTheBackboneAndCheckpointsALoadableModel) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  auto model = tiny_generative();
  std::map<std::string, torch::Tensor> backbone;
  for (const auto& item : model->backbone->named_parameters()) backbone[item.key()] = item.value().detach().clone();
  const auto data = examples();
  auto config = testing::small_embed_train(6);
  config.batch = 3;
  config.eval_every = 3;
  Trainer trainer(config, dir.path());
  trainer.quiet = true;
  const auto result = trainer.fit(*model, generative_embedding_objective(model, data, data, {}, config, "bytes"), false);
  EXPECT_EQ(result.steps_done, 6);
  for (const auto& item : model->backbone->named_parameters()) EXPECT_TRUE(torch::equal(item.value(), backbone[item.key()])) << item.key();
  std::ifstream metrics(dir.path() / "metrics.jsonl");
  std::string line, last_eval;
  while (std::getline(metrics, line))
    if (line.find("\"eval\"") != std::string::npos) last_eval = line;
  for (const char* key : {"reconstruction_loss", "alignment_loss", "cosine_own_teacher", "cosine_other_teacher"})
    EXPECT_NE(last_eval.find(key), std::string::npos) << key;
  auto loaded = model::load_generative_embedder(latest_checkpoint(dir.path()));
  EXPECT_EQ(loaded.tokenizer_spec, "bytes");
  torch::NoGradGuard no_grad;
  model->eval();
  loaded.model->eval();
  EXPECT_TRUE(torch::equal(loaded.model->encode({data[0].query}).embedding, model->encode({data[0].query}).embedding));
  testing::expect_error_containing([&] { model::load_generative_embedder(dir.path()); }, "no model.safetensors and config.json");
}

}  // namespace
}  // namespace garden::train
