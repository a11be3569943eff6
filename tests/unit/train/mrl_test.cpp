#include "garden/train/objectives/mrl.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/train/mrl_classification.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

int64_t parameter_count(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

TEST(MrlHead, EfficientHeadSlicesOneMatrixAndSharesTheBias) {
  torch::manual_seed(1);
  MrlClassifier tied(MrlHeadConfig{{2, 4, 8}, 8, 5, true});
  MrlClassifier separate(MrlHeadConfig{{2, 4, 8}, 8, 5, false});
  EXPECT_EQ(parameter_count(*tied), 5 * 8 + 5);
  EXPECT_EQ(parameter_count(*separate), (5 * 2 + 5) + (5 * 4 + 5) + (5 * 8 + 5));
  const auto x = torch::randn({3, 8});
  const auto logits = tied(x);
  ASSERT_EQ(logits.size(), 3u);
  auto params = tied->named_parameters();
  const auto w = params["weight"], b = params["bias"];
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t m = std::vector<int64_t>{2, 4, 8}[static_cast<size_t>(i)];
    const auto expected = x.narrow(1, 0, m).matmul(w.narrow(1, 0, m).t()) + b;
    EXPECT_TRUE(torch::allclose(logits[static_cast<size_t>(i)], expected, 1e-6, 1e-6)) << "width " << m;
  }
  // Separate heads read only their prefix: changing coordinates past width 2 leaves head 2 alone.
  auto y = x.clone();
  y.narrow(1, 2, 6).add_(3.0);
  EXPECT_TRUE(torch::equal(separate(x)[0], separate(y)[0]));
  EXPECT_FALSE(torch::equal(separate(x)[1], separate(y)[1]));
}

TEST(MrlHead, RejectsBadWidths) {
  testing::expect_error_containing([] { MrlClassifier(MrlHeadConfig{{4, 2}, 8, 5, false}); }, "must increase within 1..8");
  testing::expect_error_containing([] { MrlClassifier(MrlHeadConfig{{4, 16}, 8, 5, false}); }, "got 16");
  testing::expect_error_containing([] { MrlClassifier(MrlHeadConfig{{}, 8, 5, false}); }, "at least one width");
  MrlClassifier head(MrlHeadConfig{{2, 4}, 4, 3, false});
  testing::expect_error_containing([&] { head(torch::zeros({2, 5})); }, "expected [B,4] features");
}

// One width is the plain cross-entropy; two widths sum the per-width terms (the paper's
// code sums), weights scale them, `mean` divides by the number of widths.
TEST(MrlLoss, SumsWeightedCrossEntropies) {
  const auto small = torch::tensor({{2.0, 0.0}, {0.0, 1.0}}, torch::kFloat64);
  const auto wide = torch::tensor({{0.5, 0.5}, {3.0, 0.0}}, torch::kFloat64);
  const auto labels = torch::tensor({0, 1}, torch::kLong);
  // Hand values: -log softmax picks.
  const double small_ce = (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0))) / 2;
  const double wide_ce = (std::log(2.0) + (3.0 + std::log1p(std::exp(-3.0)))) / 2;
  EXPECT_NEAR(mrl_cross_entropy({small}, labels).item<double>(), small_ce, 1e-12);
  EXPECT_NEAR(mrl_cross_entropy({small, wide}, labels).item<double>(), small_ce + wide_ce, 1e-12);
  EXPECT_NEAR(mrl_cross_entropy({small, wide}, labels, {2.0, 0.5}).item<double>(), 2 * small_ce + 0.5 * wide_ce, 1e-12);
  EXPECT_NEAR(mrl_cross_entropy({small, wide}, labels, {}, MrlAggregation::mean).item<double>(), (small_ce + wide_ce) / 2, 1e-12);
  EXPECT_THROW(mrl_cross_entropy({small, wide}, labels, {1.0}), Error);
  EXPECT_THROW(parse_mrl_aggregation("max"), Error);
}

TEST(MrlClassification, NearestNeighbourUsesRenormalisedPrefixes) {
  // At width 1 both train rows point the same way as the test row (tie: the lower row, label 0);
  // at width 2 the second train row is the closer direction.
  const auto train = torch::tensor({{1.0f, 0.0f}, {2.0f, 1.0f}}), test = torch::tensor({{1.0f, 0.9f}});
  EXPECT_EQ(nearest_neighbour_accuracy(train, {0, 1}, test, {0}, 1), 1.0);
  EXPECT_EQ(nearest_neighbour_accuracy(train, {0, 1}, test, {1}, 2), 1.0);
  EXPECT_EQ(top1_accuracy(torch::tensor({{0.1f, 0.9f}, {0.8f, 0.2f}}), {1, 1}), 0.5);
}

TEST(MrlClassification, LinearProbeSeparatesSeparableClasses) {
  torch::manual_seed(2);
  const auto centres = torch::tensor({{4.0f, 0.0f, 0.0f}, {0.0f, 4.0f, 0.0f}, {0.0f, 0.0f, 4.0f}});
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < 90; ++i) labels.push_back(i % 3);
  const auto x = centres.index_select(0, torch::tensor(labels, torch::kLong)) + 0.3 * torch::randn({90, 3});
  EXPECT_EQ(linear_probe_accuracy(x, labels, x, labels, 3, 200, 0), 1.0);
}

// The classifier trains end to end: the summed loss falls on a two-class toy task, and the
// encoder's unit output is its features normalised.
TEST(MrlClassification, TrainsAndTheEncoderOutputIsItsFeaturesNormalised) {
  testing::TempDir dir;
  const text::ByteTokenizer tok;
  torch::manual_seed(5);
  model::TransformerConfig c;
  c.vocab = tok.vocab_size();
  c.d_model = 16;
  c.n_layers = 1;
  c.n_heads = 2;
  c.d_ff = 32;
  c.max_seq = 32;
  model::EmbedderConfig e;
  e.projection = 8;
  e.max_tokens = 32;
  MrlClassificationModel model(model::Embedder(model::Transformer(c), e), MrlHeadConfig{{2, 4, 8}, 8, 2, false});
  LabelledTexts data;
  data.classes = 2;
  for (int i = 0; i < 16; ++i) {
    data.texts.push_back(i % 2 ? "zzzz yyyy" : "aaaa bbbb");
    data.labels.push_back(i % 2);
  }
  TrainConfig tc;
  tc.steps = 30;
  tc.batch = 8;
  tc.warmup = 1;
  tc.lr = 1e-2;
  tc.eval_every = 0;
  tc.checkpoint_every = 0;
  Trainer trainer(tc, dir.path() / "run");
  trainer.quiet = true;
  const auto result = trainer.fit(*model, mrl_classification_objective(model, tok, data, data, {}, MrlAggregation::sum, tc, "bytes"), false);
  EXPECT_LT(result.step_losses.back(), 0.5 * result.step_losses.front());
  const auto probabilities = head_probabilities(model, tok, data.texts, 8);
  for (const auto& p : probabilities) EXPECT_EQ(top1_accuracy(p, data.labels), 1.0);
  const auto batch = model::make_embedding_batch(tok, {"aaaa", "zz"}, "", 32, model::CaseFolding::none);
  torch::NoGradGuard no_grad;
  model->eval();
  const auto z = model->encoder->features(batch.tokens, batch.attention_mask, batch.pool_mask);
  EXPECT_TRUE(torch::allclose(model->encoder->forward(batch.tokens, batch.attention_mask, batch.pool_mask),
                              z / z.norm(2, 1, true), 1e-6, 1e-6));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "run" / "checkpoints"));
}

}  // namespace
}  // namespace garden::train
