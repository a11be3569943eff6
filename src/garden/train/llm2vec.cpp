#include "garden/train/llm2vec.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/core.h>

#include "garden/core/artifact_cache.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/embedder.h"
#include "garden/model/model_folder.h"
#include "garden/text/corpus.h"
#include "garden/train/embedder_training.h"

namespace garden::train {

namespace {

torch::Generator seeded(uint64_t seed, int64_t index) {
  return at::make_generator<at::CPUGeneratorImpl>(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(index));
}

torch::Tensor batch_loss(model::Transformer& model, const Batch& batch, const MntpOptions& options, torch::Generator& generator) {
  const auto device = model->token_embedding->weight.device();
  const auto masked = mask_for_mntp(batch.input, batch.attention_mask, options, generator);
  model::ForwardOptions forward;
  forward.mask = model::MaskMode::bidirectional;
  if (batch.attention_mask.defined()) forward.attention_mask = batch.attention_mask.to(device);
  const auto out = model->forward(masked.input.to(device), forward);
  return mntp_loss(out.logits, masked.labels.to(device));
}

}  // namespace

MntpOptions mntp_options_for(const text::Tokenizer& tokenizer, double rate, MntpStrategy strategy, const std::string& mask_piece) {
  MntpOptions o;
  o.rate = rate;
  o.strategy = strategy;
  o.vocab = tokenizer.vocab_size();
  o.mask_id = tokenizer.piece_to_id(mask_piece);
  if (o.mask_id < 0)
    throw Error(fmt::format("MNTP: the tokenizer has no '{}' piece (train it with --special '{}', as garden lm base does)",
                            mask_piece, mask_piece));
  for (int64_t id : {tokenizer.bos_id(), tokenizer.eos_id(), tokenizer.pad_id(), o.mask_id})
    if (id >= 0) o.never_mask.push_back(id);
  return o;
}

Objective mntp_objective(model::Transformer& model, const BatchSource& windows, const MntpOptions& options, uint64_t seed,
                         const std::string& tokenizer_spec, ProcessGroup* group) {
  Objective objective;
  objective.micro_step = [&model, &windows, options, seed, group](int64_t index) {
    Batch batch = windows.train_batch(index);
    if (group == nullptr || group->size() == 1) {
      auto generator = seeded(seed, index);
      return MicroStep{batch_loss(model, batch, options, generator), batch.tokens()};
    }
    const auto [begin, end] = rank_share(batch.input.size(0), group->rank(), group->size());
    batch = batch.rows(begin, end);
    auto generator = seeded(seed + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(group->rank()), index);
    return MicroStep{batch_loss(model, batch, options, generator), batch.tokens()};
  };
  objective.save = [&model, tokenizer_spec](const std::filesystem::path& dir) { model::save_model(dir, model, tokenizer_spec); };
  objective.evaluate = [&model, &windows, options, seed](int64_t, Json& metrics) {
    torch::NoGradGuard no_grad;
    const bool was_training = model->is_training();
    model->eval();
    auto generator = seeded(seed, -1);  // the same corruption at every evaluation
    double sum = 0;
    int64_t batches = 0;
    for (const auto& batch : windows.eval_batches()) {
      sum += batch_loss(model, batch, options, generator).item<double>();
      ++batches;
    }
    model->train(was_training);
    if (batches > 0) metrics["val_loss"] = sum / static_cast<double>(batches);
  };
  objective.description = Json{{"model", model->config().to_json()},
                               {"objective", {{"kind", "mntp"}, {"rate", options.rate}, {"strategy", to_string(options.strategy)},
                                              {"mask_id", options.mask_id}}},
                               {"tokenizer", tokenizer_spec},
                               {"data", windows.describe()}};
  return objective;
}

std::vector<text::TextPair> simcse_pairs(const std::vector<std::string>& sentences) {
  std::vector<text::TextPair> pairs;
  pairs.reserve(sentences.size());
  for (const auto& s : sentences) pairs.push_back({s, s, {}, {}});
  return pairs;
}

std::vector<std::string> sentences_by_length(const std::vector<std::string>& lines, const text::Tokenizer& tokenizer,
                                             int64_t min_tokens, int64_t max_tokens) {
  std::vector<std::string> out;
  for (const auto& line : lines) {
    const auto n = static_cast<int64_t>(tokenizer.encode(line).size());
    if (n >= min_tokens && n <= max_tokens) out.push_back(line);
  }
  return out;
}

namespace {

// Raised whenever a change here changes the teacher it builds.
constexpr int kLlm2vecTeacherVersion = 1;

TrainConfig teacher_stage_config(const Llm2vecTeacherOptions& options, int64_t batch, double lr, bool bf16) {
  TrainConfig tc;
  tc.steps = options.steps;
  tc.batch = batch;
  tc.lr = lr;
  tc.warmup = options.warmup;
  tc.weight_decay = 0.01;
  tc.eval_every = 0;
  tc.checkpoint_every = 0;
  tc.keep_checkpoints = 1;
  tc.seed = options.seed;
  tc.bf16 = bf16;
  return tc;
}

std::string prefix_of(const std::string& text, int64_t chars) {
  return chars > 0 ? text.substr(0, static_cast<size_t>(chars)) : text;
}

}  // namespace

void Llm2vecTeacherOptions::validate() const {
  if (steps < 1 || warmup < 0 || mntp_batch < 1 || mntp_seq < 8 || simcse_batch < 2 || max_tokens < 4 || corpus_chars < 0 ||
      sentence_lines < 0)
    usage_error("llm2vec teacher: steps >= 1, warmup >= 0, batches >= 1 (SimCSE >= 2), mntp_seq >= 8 and max_tokens >= 4 are needed");
}

Json Llm2vecTeacherOptions::to_json() const {
  return {{"steps", steps}, {"warmup", warmup}, {"mntp_batch", mntp_batch}, {"mntp_seq", mntp_seq}, {"simcse_batch", simcse_batch},
          {"max_tokens", max_tokens}, {"corpus_chars", corpus_chars}, {"sentence_lines", sentence_lines}, {"seed", seed}};
}

Llm2vecTeacher ensure_llm2vec_teacher(const std::filesystem::path& cache, const BaseLm& base, const text::PreparedCorpus& corpus,
                                      const Llm2vecTeacherOptions& options, bool quiet) {
  namespace fs = std::filesystem;
  options.validate();
  const Json key = {{"options", options.to_json()},
                    {"base_weights_sha256", sha256_file_hex(base.model / "model.safetensors")},
                    {"corpus_train_sha256", sha256_file_hex(corpus.split("train"))},
                    {"corpus_valid_sha256", sha256_file_hex(corpus.split("valid"))}};
  const auto build = [&](const fs::path& staged, const fs::path&) {
    auto loaded = model::load_model(base.model);
    const auto tokenizer = text::load_tokenizer(loaded.tokenizer_spec);
    auto lm = loaded.model;

    // MNTP under the bidirectional mask.
    auto mntp = teacher_stage_config(options, options.mntp_batch, 3e-4, base.bf16);
    mntp.seq = options.mntp_seq;
    mntp.eval_windows = 32;
    const TokenWindows windows(encode_corpus(*tokenizer, prefix_of(read_file(corpus.split("train")), options.corpus_chars)),
                               encode_corpus(*tokenizer, prefix_of(read_file(corpus.split("valid")), options.corpus_chars)),
                               tokenizer->bos_id(), mntp.seq, mntp.batch, mntp.eval_windows, options.seed);
    Trainer mntp_trainer(mntp, staged / "runs" / "mntp");
    mntp_trainer.quiet = quiet;
    torch::manual_seed(static_cast<int64_t>(options.seed));
    const auto mntp_result =
        mntp_trainer.fit(*lm, mntp_objective(lm, windows, mntp_options_for(*tokenizer, 0.2, MntpStrategy::bert), options.seed,
                                             loaded.tokenizer_spec),
                         false);

    // Unsupervised SimCSE: a sentence and itself under another dropout mask.
    auto lines = text::read_text_documents(corpus.split("train"), text::TextUnit::line);
    if (options.sentence_lines > 0 && lines.size() > static_cast<size_t>(options.sentence_lines))
      lines.resize(static_cast<size_t>(options.sentence_lines));
    const auto pairs = simcse_pairs(sentences_by_length(lines, *tokenizer, 4, 32));
    model::EmbedderConfig config;
    config.mask = model::MaskMode::bidirectional;
    config.pooling = model::Pooling::mean;
    config.max_tokens = options.max_tokens;
    config.bf16 = base.bf16;
    model::Embedder embedder(lm, config);
    embedder->backbone->set_dropout(0.3);
    EmbedObjectiveConfig objective;
    objective.contrastive.temperature = 0.05;
    const auto simcse = teacher_stage_config(options, options.simcse_batch, 1e-4, base.bf16);
    Trainer simcse_trainer(simcse, staged / "runs" / "simcse");
    simcse_trainer.quiet = quiet;
    torch::manual_seed(static_cast<int64_t>(options.seed));
    const auto simcse_result =
        simcse_trainer.fit(*embedder, contrastive_objective(embedder, *tokenizer, pairs, {}, objective, simcse, loaded.tokenizer_spec), false);
    embedder->backbone->set_dropout(0.0);
    model::save_embedder(staged / "embedder", embedder, loaded.tokenizer_spec);
    fs::remove_all(staged / "runs");
    write_json_atomic(staged / "done.json", Json{{"seconds", mntp_result.seconds + simcse_result.seconds},
                                                 {"mntp_val_loss", mntp_result.val_loss}, {"options", options.to_json()},
                                                 {"simcse_sentences", pairs.size()}});
  };
  const Artifact artifact = ensure_artifact(cache, {"llm2vec-teacher", kLlm2vecTeacherVersion, key}, build);
  const Json done = read_json_file(artifact.dir / "done.json");
  return {artifact.dir / "embedder", artifact.built, done.value("seconds", 0.0), done.value("mntp_val_loss", 0.0)};
}

}  // namespace garden::train
