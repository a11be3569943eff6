// GritLM's objective and training: the representation loss's target layout by hand, the four
// generative aggregations on the spec's example, the next-token alignment and the response
// mask, the readers, the three modes on a tiny model, and an interrupted run that resumes to
// the same weights as an uninterrupted one.
#include "garden/train/grit_training.h"

#include <gtest/gtest.h>

#include <cmath>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/safetensors.h"
#include "garden/train/run_folder.h"
#include "test_helpers.h"
#include "tiny_grit.h"

namespace garden::train {
namespace {

namespace fs = std::filesystem;

// B = 2 queries, g = 2 passages each, unit vectors: q0 matches p0 (its positive), q1 matches
// p2 (its positive); every other score is 0. With temperature 1 each loss is
// -log(e / (e + 3)), the other three passages of the batch being its negatives.
TEST(GritLoss, RepresentationTargetsArePassageIGByHand) {
  const auto eye = torch::eye(4, torch::kFloat32);
  const auto queries = torch::stack({eye[0], eye[1]});
  const auto passages = torch::stack({eye[0], eye[2], eye[1], eye[3]});
  const double expected = std::log(std::exp(1.0) + 3.0) - 1.0;
  EXPECT_NEAR(grit_representation_loss(queries, passages, 2, 1.0).item<double>(), expected, 1e-6);
  // Lengths do not count (cosines), the temperature divides.
  EXPECT_NEAR(grit_representation_loss(3 * queries, passages, 2, 1.0).item<double>(), expected, 1e-6);
  EXPECT_NEAR(grit_representation_loss(queries, passages, 2, 0.5).item<double>(), std::log(std::exp(2.0) + 3.0) - 2.0, 1e-6);
  // With the positives laid out at 0 and 1 (g = 1 layout) the same vectors score differently.
  EXPECT_NE(grit_representation_loss(queries, passages.narrow(0, 0, 2), 1, 1.0).item<double>(), expected);
  EXPECT_THROW(grit_representation_loss(queries, passages, 3, 1.0), Error);
  EXPECT_THROW(grit_representation_loss(queries, passages, 2, 0.0), Error);
}

// The spec's example: two samples with 1 and 3 response tokens, token losses 1; 1, 1, 4.
TEST(GritLoss, GenerativeAggregationsOnTheSpecsExample) {
  const auto losses = torch::tensor({{1.0, 0.0, 0.0}, {1.0, 1.0, 4.0}}, torch::kFloat64);
  const auto counted = torch::tensor({{1, 0, 0}, {1, 1, 1}}, torch::kLong);
  const auto agg = [&](GenLossAggregation a, int64_t sub) { return aggregate_generative_loss(losses, counted, a, sub).item<double>(); };
  EXPECT_DOUBLE_EQ(agg(GenLossAggregation::token, 0), 7.0 / 4);
  EXPECT_DOUBLE_EQ(agg(GenLossAggregation::sample, 0), 1.5);
  EXPECT_DOUBLE_EQ(agg(GenLossAggregation::mixed, 2), 7.0 / 4);
  EXPECT_DOUBLE_EQ(agg(GenLossAggregation::mixed, 1), 1.5);  // sub-batches of one sample: sample level
  EXPECT_DOUBLE_EQ(agg(GenLossAggregation::sum_per_sample, 0), 7.0 / 2);
  EXPECT_THROW(aggregate_generative_loss(losses, torch::tensor({{0, 0, 0}, {1, 1, 1}}), GenLossAggregation::token, 1), Error);
  EXPECT_THROW(parse_gen_loss_aggregation("mean"), Error);
  EXPECT_EQ(parse_gen_loss_aggregation("sum_per_sample"), GenLossAggregation::sum_per_sample);
}

// Position t's logits score token t + 1; the mask moves with the targets.
TEST(GritLoss, NextTokenLossesAreAlignedWithTheirTargets) {
  auto logits = torch::zeros({1, 3, 4});
  logits[0][0][2] = 10;  // predicts token 2 at position 1
  logits[0][1][3] = 10;  // predicts token 3 at position 2
  const auto tokens = torch::tensor({{0, 2, 1}}, torch::kLong), counted = torch::tensor({{0, 1, 1}}, torch::kLong);
  const auto out = next_token_losses(logits, tokens, counted);
  EXPECT_TRUE(torch::equal(out.counted, torch::tensor({{1, 1}}, torch::kLong)));
  EXPECT_LT(out.losses[0][0].item<double>(), 1e-3);  // right
  EXPECT_GT(out.losses[0][1].item<double>(), 9.0);   // token 1 where 3 was predicted
}

// Prompt tokens are never counted; the first response token is predicted from the token after
// <|assistant|> in the prompt ("\n"), the last prompt token.
TEST(GritRows, ResponsesOnlyAreCountedAfterTheAssistantCue) {
  testing::TempDir dir;
  auto grit = testing::tiny_grit(dir.path());
  const auto& tok = *grit.tokenizer;
  const GritGeneration row{"where is the house", "north city", "", "", model::RagOrder::query_first};
  const auto batch = grit_generation_batch(tok, {&row}, GritOptions{});
  const auto prompt = model::grit_prompt_tokens(tok, row.prompt);
  const auto response = tok.encode(row.response);
  ASSERT_EQ(batch.tokens.size(1), static_cast<int64_t>(prompt.size() + response.size() + 1));
  EXPECT_EQ(prompt.front(), tok.bos_id());
  for (size_t i = 0; i < prompt.size(); ++i) {
    EXPECT_EQ(batch.tokens[0][static_cast<int64_t>(i)].item<int64_t>(), prompt[i]);
    EXPECT_EQ(batch.counted[0][static_cast<int64_t>(i)].item<int64_t>(), 0);
  }
  EXPECT_EQ(batch.counted.sum().item<int64_t>(), static_cast<int64_t>(response.size() + 1));
  EXPECT_EQ(batch.tokens[0][-1].item<int64_t>(), tok.eos_id());
  // The cue ends the prompt: <|assistant|> is among its last tokens.
  const auto assistant = tok.piece_to_id(model::kAssistantPiece);
  EXPECT_NE(std::find(prompt.end() - 3, prompt.end(), assistant), prompt.end());
  // A row with a document is a RAG prompt: the document's embedding row, the query's, the cue.
  const GritGeneration rag{"where", "north", "river stone founded in north", "find it", model::RagOrder::doc_first};
  const auto rag_batch = grit_generation_batch(tok, {&rag}, GritOptions{});
  const auto expected = model::grit_rag_prompt(model::grit_embedding_row(tok, model::grit_embedding_prefix("find it"), "where", 64),
                                               model::grit_embedding_row(tok, model::grit_embedding_prefix(""), rag.document, 48),
                                               model::RagOrder::doc_first, model::grit_answer_cue(tok));
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(rag_batch.tokens[0][static_cast<int64_t>(i)].item<int64_t>(), expected[i]);
}

TEST(GritData, ReadersAreStrictAndNameTheLine) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "gen.jsonl", "{\"prompt\": \"p\", \"response\": \"r\"}\n{\"prompt\": \"p\", \"response\": \"r\", \"document\": \"d\", \"order\": \"doc-first\"}\n");
  const auto rows = read_grit_generations(dir.path() / "gen.jsonl");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].order, model::RagOrder::doc_first);
  EXPECT_EQ(rows[1].document, "d");
  write_file_atomic(dir.path() / "bad.jsonl", "{\"prompt\": \"p\", \"response\": \"r\"}\n{\"prompt\": \"p\"}\n");
  testing::expect_error_containing([&] { read_grit_generations(dir.path() / "bad.jsonl"); }, "bad.jsonl:2");
  write_file_atomic(dir.path() / "extra.jsonl", "{\"prompt\": \"p\", \"response\": \"r\", \"answer\": \"x\"}\n");
  EXPECT_THROW(read_grit_generations(dir.path() / "extra.jsonl"), Error);
  write_file_atomic(dir.path() / "pairs.jsonl", "{\"query\": \"q\", \"positive\": \"p\"}\n");
  const auto dataset = read_grit_dataset((dir.path() / "pairs.jsonl").string() + "::Retrieve the answer");
  EXPECT_EQ(dataset.name, "pairs");
  EXPECT_EQ(dataset.instruction, "Retrieve the answer");
  EXPECT_EQ(dataset.pairs.size(), 1u);
  EXPECT_THROW(parse_grit_mode("both"), Error);
}

struct TinyGritData {
  std::vector<GritDataset> datasets;
  std::vector<GritGeneration> generations;
};

TinyGritData tiny_grit_data() {
  TinyGritData d;
  GritDataset words{"words", "find the line", {}};
  const char* w[] = {"river", "stone", "city", "house", "north", "green", "light", "word"};
  for (int i = 0; i < 8; ++i) words.pairs.push_back({w[i], std::string(w[i]) + " founded " + std::to_string(1700 + i), "", {}});
  d.datasets.push_back(words);
  for (int i = 0; i < 8; ++i) d.generations.push_back({std::string("where is ") + w[i], std::string(w[(i + 1) % 8]) + " city", "", "", {}});
  return d;
}

TrainConfig tiny_grit_train(int64_t steps) {
  auto c = testing::small_embed_train(steps);
  c.checkpoint_every = 1;
  return c;
}

TEST(GritTraining, TheThreeModesTrainTheirLossesOnly) {
  testing::TempDir dir;
  const auto lm = testing::tiny_sentencepiece_lm(dir.path());
  const auto data = tiny_grit_data();
  GritOptions options;
  options.gen_batch = 2;
  options.embed_max_tokens = 32;
  options.mode = GritMode::unified;
  const auto unified = train_grit(lm, "bbcc", "mean", data.datasets, data.generations, {}, {}, options, tiny_grit_train(3), dir.path() / "u",
                                  false, true);
  EXPECT_EQ(unified.result.steps_done, 3);
  EXPECT_GT(unified.losses.first_rep, 0);
  EXPECT_GT(unified.losses.first_gen, 0);
  EXPECT_TRUE(std::isfinite(unified.result.final_train_loss));
  auto model = model::load_grit(model_folder(dir.path() / "u"));
  EXPECT_EQ(model.attention.code, "bbcc");
  EXPECT_GT(mean_response_loss(model, data.generations, options, 4), 0);

  options.mode = GritMode::embedding;
  const auto embedding = train_grit(lm, "cb", "mean", data.datasets, {}, {}, {}, options, tiny_grit_train(2), dir.path() / "e", false, true);
  EXPECT_GT(embedding.losses.first_rep, 0);
  EXPECT_EQ(embedding.losses.first_gen, 0);
  options.mode = GritMode::generative;
  const auto generative = train_grit(lm, "bbcc", "mean", {}, data.generations, {}, {}, options, tiny_grit_train(2), dir.path() / "g", false, true);
  EXPECT_EQ(generative.losses.first_rep, 0);
  EXPECT_GT(generative.losses.first_gen, 0);
  // An embedding-only attention code cannot train generation; a dataset smaller than a batch is refused.
  options.mode = GritMode::unified;
  EXPECT_THROW(train_grit(lm, "bb", "mean", data.datasets, data.generations, {}, {}, options, tiny_grit_train(2), dir.path() / "x", false, true),
               Error);
  auto big = tiny_grit_train(2);
  big.batch = 9;
  EXPECT_THROW(train_grit(lm, "bbcc", "mean", data.datasets, data.generations, {}, {}, options, big, dir.path() / "y", false, true), Error);
}

TEST(GritTraining, AnInterruptedRunResumesToTheSameWeights) {
  testing::TempDir dir;
  const auto lm = testing::tiny_sentencepiece_lm(dir.path());
  const auto data = tiny_grit_data();
  GritOptions options;
  options.gen_batch = 2;
  options.embed_max_tokens = 32;
  train_grit(lm, "bbcc", "mean", data.datasets, data.generations, {}, {}, options, tiny_grit_train(4), dir.path() / "straight", false, true);
  auto halted = tiny_grit_train(4);
  halted.stop_after = 2;
  const auto first = train_grit(lm, "bbcc", "mean", data.datasets, data.generations, {}, {}, options, halted, dir.path() / "resumed", false, true);
  EXPECT_TRUE(first.result.interrupted);
  const auto second = train_grit(lm, "bbcc", "mean", data.datasets, data.generations, {}, {}, options, tiny_grit_train(4), dir.path() / "resumed",
                                 true, true);
  EXPECT_EQ(second.result.steps_done, 4);
  const auto a = load_safetensors(model_folder(dir.path() / "straight") / "model.safetensors");
  const auto b = load_safetensors(model_folder(dir.path() / "resumed") / "model.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
}

}  // namespace
}  // namespace garden::train
