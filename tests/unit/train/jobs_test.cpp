// The training jobs: settings merged as defaults < config file < flags, validated before the
// run folder is touched; the objectives of LLM2Vec as options of the LM and embedder jobs.
#include "garden/train/jobs.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/model/embedder.h"
#include "garden/train/run_folder.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

std::string some_text() {
  std::string text;
  for (int i = 0; i < 60; ++i) text += "the quick brown fox jumps over the lazy dog number " + std::to_string(i) + "\n";
  return text;
}

LmJob tiny_lm_job(const testing::TempDir& dir) {
  write_file_atomic(dir.path() / "text.txt", some_text());
  LmJob job;
  job.train_file = job.valid_file = (dir.path() / "text.txt").string();
  job.model_overrides = {{"d_model", 16}, {"n_layers", 1}, {"n_heads", 2}, {"max_seq", 32}};
  job.train_overrides = {{"seq", 16}, {"batch", 2}, {"steps", 2}, {"warmup", 1}, {"eval_windows", 2}};
  job.setup.run.out = (dir.path() / "run").string();
  return job;
}

TEST(Jobs, LmSettingsAreDefaultsThenTheConfigFileThenTheFlags) {
  testing::TempDir dir;
  auto job = tiny_lm_job(dir);
  write_json_atomic(dir.path() / "cfg.json", Json{{"train", {{"lr", 0.01}, {"steps", 5}}}, {"model", {{"n_heads", 4}}}});
  job.setup.config_file = (dir.path() / "cfg.json").string();
  const auto result = train_lm(job);
  EXPECT_EQ(result.steps_done, 2);  // the flag (steps 2) wins over the file (steps 5)
  const auto config = read_json_file(dir.path() / "run" / "config.json");
  EXPECT_DOUBLE_EQ(config["train"]["lr"].get<double>(), 0.01);                                      // from the file
  EXPECT_DOUBLE_EQ(config["train"]["beta2"].get<double>(), TrainConfig{}.beta2);                    // a default
  EXPECT_EQ(config["model"]["n_heads"].get<int64_t>(), 2);                                          // the flag over the file
  EXPECT_TRUE(std::filesystem::exists(latest_checkpoint(dir.path() / "run") / "model.safetensors"));  // a model folder
}

// A config file whose section is not an object used to escape as nlohmann's type_error 312
// ("cannot use update() with number"); it is a usage error naming the file, given before the
// run folder is touched. So is a train section whose values fail validation.
TEST(Jobs, ConfigSectionsThatAreNoObjectsAreNamed) {
  testing::TempDir dir;
  auto job = tiny_lm_job(dir);
  job.setup.config_file = (dir.path() / "cfg.json").string();
  for (const char* section : {"model", "train"}) {
    write_json_atomic(dir.path() / "cfg.json", Json{{section, 3}});
    testing::expect_error_containing([&] { train_lm(job); },
                                     job.setup.config_file + ": \"" + section + "\" must be a JSON object, got 3");
  }
  write_json_atomic(dir.path() / "cfg.json", Json{{"train", {{"min_lr_ratio", 2}}}});
  testing::expect_error_containing([&] { train_lm(job); }, job.setup.config_file + " train: min_lr_ratio must be in [0, 1], got 2");
  EXPECT_FALSE(std::filesystem::exists(job.setup.run.out));
}

TEST(Jobs, MntpNeedsAModelOfItsOwnShapeWithAMaskPiece) {
  testing::TempDir dir;
  auto job = tiny_lm_job(dir);
  job.objective = LmObjective::mntp;
  testing::expect_error_containing([&] { train_lm(job); }, "--objective mntp adapts a model: give --model");
  EXPECT_FALSE(std::filesystem::exists(job.setup.run.out));  // refused before the run folder is claimed

  auto lm = tiny_lm_job(dir);
  lm.setup.run.out = (dir.path() / "lm").string();
  train_lm(lm);
  job.model = lm.setup.run.out;
  testing::expect_error_containing([&] { train_lm(job); }, "--model brings its own shape");
  job.model_overrides = Json::object();
  // The byte tokenizer has no mask piece: refused, again before the run folder exists. (A
  // SentencePiece LM with one trains in tests/integration/cli_test.sh.)
  testing::expect_error_containing([&] { train_lm(job); }, "the tokenizer has no '<mask>' piece");
  EXPECT_FALSE(std::filesystem::exists(job.setup.run.out));
}

TEST(Jobs, EmbedderObjectivesAndTheirErrors) {
  testing::TempDir dir;
  auto embedder = testing::tiny_embedder();
  model::save_embedder(dir.path() / "emb", embedder, "bytes");
  write_file_atomic(dir.path() / "sentences.txt", some_text());
  EmbedJob job;
  job.model = (dir.path() / "emb").string();
  job.setup.run.out = (dir.path() / "run").string();
  testing::expect_error_containing([&] { train_embedder(job); }, "--train (a pairs .jsonl file");
  job.objective = EmbedObjective::simcse;
  job.train_file = (dir.path() / "sentences.txt").string();
  job.simcse_max_tokens = 64;
  job.eval_file = job.train_file;
  testing::expect_error_containing([&] { train_embedder(job); }, "--objective simcse has no held-out pairs");
  job.eval_file.clear();
  job.train_overrides = {{"steps", 2}, {"batch", 4}, {"warmup", 1}};
  const auto trained = train_embedder(job);
  EXPECT_EQ(trained.result.steps_done, 2);
  EXPECT_EQ(trained.model, job.setup.run.out);
  EXPECT_EQ(read_json_file(dir.path() / "run" / "config.json")["train"]["lr"].get<double>(), 1e-4);  // the SimCSE default
  job.model.clear();
  testing::expect_error_containing([&] { train_embedder(job); }, "--model (the embedding model to train");
}

// A stage file whose "name" is no string is refused, naming the file, before any training.
TEST(Jobs, StageFilesWithAWrongTypedNameAreNamed) {
  testing::TempDir dir;
  auto embedder = testing::tiny_embedder();
  model::save_embedder(dir.path() / "emb", embedder, "bytes");
  write_file_atomic(dir.path() / "pairs.jsonl", "{\"query\": \"a\", \"positive\": \"b\"}\n");
  const auto stage = dir.path() / "stage1.json";
  write_file_atomic(stage, "{\"name\": 3, \"data\": {\"train\": \"" + (dir.path() / "pairs.jsonl").string() + "\"}}");
  EmbedJob job;
  job.model = (dir.path() / "emb").string();
  job.setup.run.out = (dir.path() / "run").string();
  job.stage_files = {stage.string()};
  testing::expect_error_containing([&] { train_embedder(job); }, stage.string() + ": field 'name' has the wrong type");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "run"));
}

}  // namespace
}  // namespace garden::train
