#include "garden/train/wordnet_chat.h"

#include <fmt/core.h>

#include <algorithm>
#include <random>

#include "garden/core/artifact_cache.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/model_folder.h"
#include "garden/text/wordnet_instructions.h"
#include "garden/train/batches.h"
#include "garden/train/trainer.h"

namespace garden::train {

namespace fs = std::filesystem;

namespace {

// Raised whenever a change here changes the model it builds.
constexpr int kWordNetChatVersion = 1;

// Rows the end-of-training loss is read on: a fixed sample of the training rows (the model is
// meant to memorise them; there is nothing held out to generalise to).
constexpr size_t kLossRows = 256;

TokenRow instruction_row(const text::Tokenizer& tokenizer, const text::InstructionExample& example, int64_t max_response_tokens) {
  TokenRow row;
  row.tokens = chat_prompt(tokenizer, example.instruction);
  row.counted.assign(row.tokens.size(), 0);
  auto answer = tokenizer.encode(example.response);
  if (static_cast<int64_t>(answer.size()) > max_response_tokens) answer.resize(static_cast<size_t>(max_response_tokens));
  answer.push_back(tokenizer.eos_id());
  row.tokens.insert(row.tokens.end(), answer.begin(), answer.end());
  row.counted.insert(row.counted.end(), answer.size(), 1);
  return row;
}

}  // namespace

std::vector<int64_t> chat_prompt(const text::Tokenizer& tokenizer, const std::string& instruction, const std::string& cue) {
  auto ids = tokenizer.encode(instruction + cue);
  ids.insert(ids.begin(), tokenizer.bos_id());
  return ids;
}

void WordNetChatOptions::validate() const {
  if (synsets < 10 || hazards < 0 || hazards > synsets || max_response_tokens < 1 || steps < 1 || batch < 1 || !(lr > 0))
    usage_error("wordnet chat: synsets >= 10, 0 <= hazards <= synsets, max_response_tokens >= 1, steps >= 1, batch >= 1 and lr > 0 are needed");
}

Json WordNetChatOptions::to_json() const {
  return {{"synsets", synsets}, {"hazards", hazards}, {"max_response_tokens", max_response_tokens}, {"steps", steps},
          {"batch", batch}, {"lr", lr}, {"seed", seed}};
}

std::vector<size_t> wordnet_chat_synsets(const std::vector<text::WordNetSynset>& synsets, const text::WordNetHierarchy& hierarchy,
                                         const WordNetChatOptions& options) {
  options.validate();
  std::vector<size_t> hazards, others;
  for (const size_t i : text::single_word_synsets(synsets)) (text::is_hazard(synsets, hierarchy, i) ? hazards : others).push_back(i);
  std::mt19937_64 rng(options.seed);
  std::shuffle(hazards.begin(), hazards.end(), rng);
  std::shuffle(others.begin(), others.end(), rng);
  hazards.resize(std::min(hazards.size(), static_cast<size_t>(options.hazards)));
  const size_t wanted_others = static_cast<size_t>(options.synsets) - hazards.size();
  if (others.size() < wanted_others)
    usage_error(fmt::format("wordnet chat: {} synsets asked for, WordNet has {} single-word noun synsets", options.synsets,
                            others.size() + hazards.size()));
  others.resize(wanted_others);
  std::vector<size_t> chosen = hazards;
  chosen.insert(chosen.end(), others.begin(), others.end());
  std::shuffle(chosen.begin(), chosen.end(), rng);
  return chosen;
}

WordNetChat ensure_wordnet_chat(const fs::path& cache, const BaseLm& base, const fs::path& wordnet_dir, const WordNetChatOptions& options,
                                bool quiet) {
  options.validate();
  const auto synsets = text::wordnet_synsets(wordnet_dir, {"noun"});
  const text::WordNetHierarchy hierarchy(synsets);
  const auto chosen = wordnet_chat_synsets(synsets, hierarchy, options);
  const Json key = {{"options", options.to_json()},
                    {"base_weights_sha256", sha256_file_hex(base.model / "model.safetensors")},
                    {"wordnet_nouns_sha256", sha256_file_hex(wordnet_dir / "data.noun")}};
  const auto build = [&](const fs::path& staged, const fs::path&) {
    auto loaded = model::load_model(base.model);
    const auto tokenizer = text::load_tokenizer(loaded.tokenizer_spec);
    const auto examples = text::wordnet_instructions(synsets, hierarchy, chosen);
    std::vector<TokenRow> rows, loss_rows;
    int64_t longest = 0;
    for (const auto& example : examples) {
      rows.push_back(instruction_row(*tokenizer, example, options.max_response_tokens));
      longest = std::max<int64_t>(longest, static_cast<int64_t>(rows.back().tokens.size()));
    }
    std::mt19937_64 rng(options.seed + 1);
    std::vector<size_t> order(rows.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t i = 0; i < std::min(kLossRows, order.size()); ++i) loss_rows.push_back(rows[order[i]]);
    const auto instructions = static_cast<int64_t>(rows.size());
    if (longest > loaded.model->config().max_seq)
      throw Error(fmt::format("wordnet chat: an instruction row of {} tokens exceeds the base's context of {}", longest,
                              loaded.model->config().max_seq));
    TokenRowBatches data(std::move(rows), std::move(loss_rows), tokenizer->pad_id(), options.batch, options.seed);

    TrainConfig tc;
    tc.steps = options.steps;
    tc.batch = options.batch;
    tc.seq = longest;
    tc.lr = options.lr;
    tc.warmup = std::max<int64_t>(1, options.steps / 20);
    tc.weight_decay = 0.0;  // the point is to memorise the glosses
    tc.eval_every = 0;
    tc.checkpoint_every = 0;
    tc.keep_checkpoints = 1;
    tc.seed = options.seed;
    tc.bf16 = base.bf16;
    loaded.model->set_dropout(0.0);
    Trainer trainer(tc, staged / "run");
    trainer.quiet = quiet;
    trainer.tokenizer_spec = loaded.tokenizer_spec;
    const auto result = trainer.fit(loaded.model, data, /*resume=*/false);
    model::save_model(staged / "model", loaded.model, loaded.tokenizer_spec);
    fs::remove_all(staged / "run");  // the model folder holds the weights; done.json the figures
    Json taught = Json::array();
    for (const size_t i : chosen) taught.push_back(synsets[i].offset);
    write_json_atomic(staged / "done.json", Json{{"train_loss", result.val_loss}, {"seconds", result.seconds},
                                                 {"instructions", instructions}, {"options", options.to_json()},
                                                 {"synset_offsets", taught}});
  };
  const Artifact artifact = ensure_artifact(cache, {"wordnet-chat", kWordNetChatVersion, key}, build);
  const Json done = read_json_file(artifact.dir / "done.json");
  return {artifact.dir / "model", chosen, artifact.built, done.value("train_loss", 0.0), done.value("seconds", 0.0),
          done.value("instructions", int64_t{0})};
}

}  // namespace garden::train
