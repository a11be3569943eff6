// LLM2Vec-Gen's objective: the batch loss is the weighted sum of its parts (a part weighted 0
// is left out), the weights are validated, and a Trainer run leaves the backbone bitwise
// unchanged, logs both held-out losses and cosine diagnostics, and checkpoints a generative
// embedder that loads back and encodes as the trained one.
#include "garden/train/generative_embedding.h"

#include <gtest/gtest.h>

#include <fstream>

#include "garden/model/generation.h"
#include "garden/text/tokenizer.h"
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

// A byte-level causal LM (testing::byte_config), seeded: the backbone of the data tests.
model::Transformer answering_byte_lm() {
  torch::manual_seed(8);
  return model::Transformer(testing::byte_config());
}

TEST(GenerativeData, BatchedAnswersAreEachPromptsOwnGreedyAnswer) {
  torch::set_num_threads(1);
  const text::ByteTokenizer tokenizer;
  auto lm = answering_byte_lm();
  const std::vector<std::string> queries{"Define \"cat\".", "a much longer query about dogs", "x"};
  AnswerOptions options;
  options.max_new_tokens = 6;
  options.batch = 2;  // two batches, the first left-padded
  options.cue = " A:";
  const auto answers = backbone_answers(lm, tokenizer, queries, options);
  ASSERT_EQ(answers.size(), queries.size());
  model::GenerateOptions greedy;
  greedy.max_new_tokens = 6;
  greedy.temperature = 0;
  greedy.stop_tokens = {tokenizer.eos_id()};
  for (size_t i = 0; i < queries.size(); ++i) {
    auto prompt = tokenizer.encode(queries[i] + " A:");
    prompt.insert(prompt.begin(), tokenizer.bos_id());
    auto alone = model::generate(lm, prompt, greedy).front().tokens;
    if (alone.empty() || alone.back() != tokenizer.eos_id()) alone.push_back(tokenizer.eos_id());  // a cut answer still ends with EOS
    EXPECT_EQ(answers[i].tokens, alone) << queries[i];
    EXPECT_EQ(answers[i].text, tokenizer.decode(std::vector<int64_t>(alone.begin(), alone.end() - 1)));
  }
  options.max_new_tokens = 60;
  testing::expect_error_containing([&] { backbone_answers(lm, tokenizer, {"a much longer query"}, options); }, "exceed the model's context of 64");
}

TEST(GenerativeData, PreparedQueriesRoundTripAndBadFilesAreRefusedByLine) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const text::ByteTokenizer tokenizer;
  auto lm = answering_byte_lm();
  auto teacher = testing::tiny_embedder();
  AnswerOptions options;
  options.max_new_tokens = 4;
  const std::vector<std::string> queries{"one", "two words"};
  const auto data = prepare_generative_data(lm, tokenizer, teacher, tokenizer, queries, options);
  ASSERT_EQ(data.size(), 2u);
  // The teacher's target is its raw (unnormalised) embedding of the answer.
  const auto features = model::encode_features(teacher, tokenizer, {data[1].answer.text}, 8);
  ASSERT_EQ(data[1].teacher.size(), static_cast<size_t>(features.size(1)));
  for (size_t j = 0; j < data[1].teacher.size(); ++j) EXPECT_NEAR(data[1].teacher[j], features[0][static_cast<int64_t>(j)].item<float>(), 1e-5);

  const auto file = dir.path() / "prepared.jsonl";
  write_generative_data(file, data);
  model::GenerativeEmbedderConfig config;
  config.query_suffix = " Answer:";  // read after every query
  const auto examples = read_generative_examples(file, tokenizer, config);
  ASSERT_EQ(examples.size(), 2u);
  auto query = tokenizer.encode("two words Answer:");
  query.insert(query.begin(), tokenizer.bos_id());
  EXPECT_EQ(examples[1].query, query);
  EXPECT_EQ(examples[1].response, data[1].answer.tokens);
  EXPECT_EQ(examples[1].teacher, data[1].teacher);

  const auto bad = [&](const std::string& second_line, const std::string& fragment) {
    std::ofstream(dir.path() / "bad.jsonl") << R"({"query": "q", "response_ids": [1, 257], "teacher": [0.5, 1]})" << "\n" << second_line << "\n";
    testing::expect_error_containing([&] { read_generative_examples(dir.path() / "bad.jsonl", tokenizer, config); }, fragment);
  };
  bad("{not json", "bad.jsonl:2");
  bad(R"({"query": "q", "teacher": [1, 2]})", "bad.jsonl:2: no \"response_ids\"");
  bad(R"({"query": "q", "response_ids": [], "teacher": [1, 2]})", "\"response_ids\" is empty");
  bad(R"({"query": "q", "response_ids": [900], "teacher": [1, 2]})", "response id 900 is outside the vocabulary of 259");
  bad(R"({"query": "q", "response_ids": [5], "teacher": [1, 2, 3]})", "bad.jsonl:2: a teacher vector of 3 dimensions after ones of 2");
  bad(R"({"query": "q", "response_ids": [5], "teacher": [1, 2], "answer": "x"})", "answer");
  std::ofstream(dir.path() / "empty.jsonl") << "\n";
  testing::expect_error_containing([&] { read_generative_examples(dir.path() / "empty.jsonl", tokenizer, config); }, "no examples");
}

TEST(GenerativeData, DecodingASoftPromptIsGreedyDecodingFromIt) {
  torch::set_num_threads(1);
  const text::ByteTokenizer tokenizer;
  model::GenerativeEmbedderConfig config;
  config.special_tokens = 3;
  config.query_suffix = " A:";
  torch::manual_seed(2);
  model::GenerativeEmbedder gen(answering_byte_lm(), config);
  const auto decoded = model::decode_soft_prompts(gen, tokenizer, {"hello", "other"}, "Q: ", 5);
  ASSERT_EQ(decoded.size(), 2u);
  torch::NoGradGuard no_grad;
  gen->eval();
  model::GenerateOptions greedy;
  greedy.max_new_tokens = 5;
  greedy.temperature = 0;
  greedy.stop_tokens = {tokenizer.eos_id()};
  auto tokens = model::generate_from_embeddings(gen->backbone, gen->encode({model::generative_query_row(gen->config(), tokenizer, "Q: ", "other")}).soft_prompt[0], greedy)
                    .front()
                    .tokens;
  if (!tokens.empty() && tokens.back() == tokenizer.eos_id()) tokens.pop_back();
  EXPECT_EQ(decoded[1], tokenizer.decode(tokens));
  // The model reads BOS, the instruction, the text and its query suffix.
  auto row = tokenizer.encode("Q: other A:");
  row.insert(row.begin(), tokenizer.bos_id());
  EXPECT_EQ(model::generative_query_row(gen->config(), tokenizer, "Q: ", "other"), row);
}

}  // namespace
}  // namespace garden::train
