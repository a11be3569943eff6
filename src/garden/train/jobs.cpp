#include "garden/train/jobs.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/embedder.h"
#include "garden/model/generative_embedder.h"
#include "garden/model/model_folder.h"
#include "garden/text/corpus.h"
#include "garden/text/pairs.h"
#include "garden/text/prepare.h"
#include "garden/text/tokenizer.h"
#include "garden/train/batches.h"
#include "garden/train/embedder_training.h"
#include "garden/train/llm2vec.h"
#include "garden/train/run_folder.h"

namespace garden::train {

namespace fs = std::filesystem;

namespace {

// A config file's object: a JSON object whose keys are among `keys`.
Json read_config(const std::string& file, const Json& keys) {
  const auto cfg = read_json_file(file);
  if (!cfg.is_object()) throw Error(file + ": the config must be a JSON object");
  refuse_unknown_keys(cfg, keys, file);
  return cfg;
}

// defaults < the config file's section < the overrides. `where` names the config file.
Json merged(Json defaults, const Json& cfg, const char* section, const Json& overrides, const std::string& where) {
  if (cfg.contains(section) && !cfg[section].is_object())
    usage_error(fmt::format("{}: \"{}\" must be a JSON object, got {}", where, section, cfg[section].dump()));
  if (cfg.contains(section)) defaults.update(cfg[section]);
  defaults.update(overrides);
  return defaults;
}

TrainConfig train_config_of(const Json& json, const std::string& where, int64_t stop_after) {
  auto config = TrainConfig::from_json(json, where);
  config.stop_after = stop_after;
  config.validate(where);
  return config;
}

// The process group of a data-parallel job; nothing for one process.
std::unique_ptr<ProcessGroup> join_group(const JobSetup& setup) {
  if (!setup.distributed.active()) return nullptr;
  // Gloo moves CPU tensors; CUDA ranks would want NCCL, which garden does not wire in yet.
  if (setup.device.is_cuda())
    usage_error("data-parallel training runs on the CPU (Gloo): NCCL for CUDA ranks is not supported yet; use --device cpu or one process");
  auto group = std::make_unique<ProcessGroup>(setup.distributed);
  if (group->rank() == 0)
    fmt::print(stderr, "data-parallel: {} ranks joined at {}:{}\n", group->size(), setup.distributed.master_addr,
               setup.distributed.master_port);
  return group;
}

int64_t world_of(const ProcessGroup* group) { return group != nullptr ? group->size() : 1; }
bool speaks(const ProcessGroup* group) { return group == nullptr || group->rank() == 0; }

// The built-in corpus's train and valid splits, when no training text is given. Rank 0
// prepares it first; the others then find it prepared where they share its cache.
void default_corpus(const fs::path& cache, std::string& train_file, std::string& valid_file, ProcessGroup* group = nullptr) {
  if (!train_file.empty()) return;
  text::PreparedCorpus corpus;
  if (speaks(group)) corpus = text::prepare_default_corpus(text::default_corpus_dir(cache));
  if (group != nullptr) group->barrier();
  if (!speaks(group)) corpus = text::prepare_default_corpus(text::default_corpus_dir(cache));
  train_file = corpus.split("train").string();
  valid_file = corpus.split("valid").string();
  if (speaks(group)) fmt::print(stderr, "no training text given: using the built-in corpus in {}\n", corpus.dir.string());
}

// Plain text as it is; a .jsonl file contributes its documents' `field`, one a line.
std::string read_text(const std::string& path, const std::string& field) {
  if (fs::path(path).extension() != ".jsonl") return read_file(path);
  std::string joined;
  for (const auto& doc : text::read_jsonl_field(path, field)) joined.append(doc).append("\n");
  return joined;
}

}  // namespace

LmObjective parse_lm_objective(const std::string& name) {
  if (name == "lm") return LmObjective::lm;
  if (name == "mntp") return LmObjective::mntp;
  if (name == "constrained-sft") return LmObjective::constrained_sft;
  usage_error("--objective must be lm, mntp or constrained-sft, got '" + name + "'");
}

std::string to_string(LmObjective objective) {
  switch (objective) {
    case LmObjective::lm: return "lm";
    case LmObjective::mntp: return "mntp";
    case LmObjective::constrained_sft: return "constrained-sft";
  }
  return "?";
}

Json lm_train_defaults(LmObjective objective) {
  Json json = TrainConfig{}.to_json();
  if (objective == LmObjective::mntp)  // the spec's small-scale recipe (llm2vec.md)
    json.update(Json{{"steps", 150}, {"batch", 16}, {"seq", 128}, {"lr", 3e-4}, {"warmup", 10}, {"weight_decay", 0.01},
                     {"eval_every", 50}, {"eval_windows", 32}, {"checkpoint_every", 50}});
  return json;
}

int64_t sample_responses(const SampleJob& job) {
  if (job.n < 1) usage_error(fmt::format("--n {} must be >= 1", job.n));
  if (job.out.empty()) usage_error("--out is required");
  job.sampling.validate();
  refuse_foreign_output_file(job.out, "an earlier samples file of garden lm sample", [](const fs::path& file) {
    bool ok = true;
    for_each_jsonl_object(file, [&](const Json& row, int64_t) { ok = ok && row.contains("prompt") && row.contains("sample"); });
    return ok;
  });
  const auto prompts = text::read_documents(job.prompts, job.field);
  if (prompts.empty()) throw Error(job.prompts + ": no prompts");
  auto loaded = model::load_model(model_folder(job.model), job.device);
  const auto tokenizer = text::load_tokenizer(loaded.tokenizer_spec);
  const auto completions = sample_completions(loaded.model, *tokenizer, prompts, job.n, job.sampling, job.seed);
  std::string text;
  int64_t rows = 0;
  for (size_t i = 0; i < prompts.size(); ++i)
    for (size_t j = 0; j < completions[i].size(); ++j) {
      // A byte-level model may write invalid UTF-8: replaced (U+FFFD), as every JSONL writer does.
      text += Json{{"prompt", prompts[i]}, {"completion", completions[i][j]}, {"sample", j}}.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
      ++rows;
    }
  write_file_atomic(job.out, text);
  return rows;
}

std::vector<int64_t> steps_at_fractions(const std::vector<double>& fractions, int64_t steps) {
  std::vector<int64_t> out;
  for (const double f : fractions) {
    if (!(f > 0 && f <= 1)) usage_error(fmt::format("--save-at {}: fractions of the run must be in (0, 1]", f));
    out.push_back(std::max<int64_t>(1, std::llround(f * static_cast<double>(steps))));
  }
  return out;
}

TrainResult train_lm(LmJob job) {
  Json cfg = Json::object();
  if (!job.setup.config_file.empty()) {
    cfg = read_config(job.setup.config_file, Json{"model", "train", "data", "out"});
    if (cfg.contains("data")) {
      refuse_unknown_keys(cfg["data"], Json{"train", "valid", "tokenizer", "format"}, job.setup.config_file + " data");
      read_field(cfg["data"], "train", job.train_file, job.setup.config_file);
      read_field(cfg["data"], "valid", job.valid_file, job.setup.config_file);
      read_field(cfg["data"], "tokenizer", job.tokenizer, job.setup.config_file);
      read_field(cfg["data"], "format", job.format, job.setup.config_file);
    }
    read_field(cfg, "out", job.setup.run.out, job.setup.config_file);
  }
  const std::string where = job.setup.config_file.empty() ? std::string("flags") : job.setup.config_file;
  if (job.objective == LmObjective::mntp && job.model.empty()) usage_error("--objective mntp adapts a model: give --model");
  if (job.objective == LmObjective::mntp && job.format != "text") usage_error("--objective mntp reads plain text: drop --format");
  if (job.objective == LmObjective::constrained_sft) {
    if (job.model.empty()) usage_error("--objective constrained-sft fine-tunes a model: give --model");
    if (job.format != "prompt-completion") usage_error("--objective constrained-sft scores responses: give --format prompt-completion");
    job.schedule.validate();
  }
  if (job.objective != LmObjective::constrained_sft && !job.reference.empty())
    usage_error("--reference is read by --objective constrained-sft only");
  if (job.format != "text" && job.format != "prompt-completion")
    usage_error("--format must be text or prompt-completion, got '" + job.format + "'");
  if (!job.safety_triples.empty()) {
    if (job.format != "prompt-completion") usage_error("--safety-triples mixes rows into prompt-completion data: give --format prompt-completion");
    job.augmentation.validate();
  }

  // The model: the given one (its shape and tokenizer), or a fresh one of the configured shape.
  model::Transformer model{nullptr};
  std::optional<model::TransformerConfig> fresh;
  std::string tokenizer_spec = job.tokenizer;
  if (!job.model.empty()) {
    if (!job.model_overrides.empty() || cfg.contains("model"))
      usage_error("--model brings its own shape: drop the model settings (" + job.model_overrides.dump() + ")");
    auto loaded = model::load_model(model_folder(job.model), job.setup.device);
    model = loaded.model;
    tokenizer_spec = loaded.tokenizer_spec;
  }
  const auto tokenizer = text::load_tokenizer(tokenizer_spec);
  if (!model) {
    Json model_json = model::TransformerConfig{}.to_json();
    model_json["d_ff"] = 0;  // the default: derived from d_model and mlp
    model_json = merged(model_json, cfg, "model", job.model_overrides, where);
    model_json["vocab"] = tokenizer->vocab_size();
    fresh = model::TransformerConfig::from_json(model_json, where + " model");
  }
  const auto train_config = train_config_of(merged(lm_train_defaults(job.objective), cfg, "train", job.train_overrides, where), where + " train",
                                            job.setup.run.stop_after);
  if (fresh) {
    if (fresh->pos == model::Positions::learned && train_config.seq > fresh->max_seq)
      usage_error(fmt::format("--seq {} exceeds --max-seq {}", train_config.seq, fresh->max_seq));
    torch::manual_seed(static_cast<int64_t>(train_config.seed));
    model = model::Transformer(*fresh);
    model->to(job.setup.device);
  } else if (train_config.seq > model->config().max_seq) {
    usage_error(fmt::format("--seq {} exceeds the model's max_seq {}", train_config.seq, model->config().max_seq));
  }

  const auto group = join_group(job.setup);
  default_corpus(job.setup.cache, job.train_file, job.valid_file, group.get());
  if (job.valid_file.empty()) usage_error("--valid is required when --train is given");
  // Data-parallel, the source draws the global batch and each rank trains on its rows.
  const int64_t global_batch = train_config.batch * world_of(group.get());
  std::unique_ptr<BatchSource> data;
  if (job.format == "text") {
    data = std::make_unique<TokenWindows>(encode_corpus(*tokenizer, read_text(job.train_file, job.field)),
                                          encode_corpus(*tokenizer, read_text(job.valid_file, job.field)), tokenizer->bos_id(),
                                          train_config.seq, global_batch, train_config.eval_windows, train_config.seed);
  } else {
    auto prompt_completion = std::make_unique<PromptCompletionBatches>(job.train_file, job.valid_file, *tokenizer, train_config.seq,
                                                                       global_batch, train_config.seed);
    if (!job.safety_triples.empty()) {
      const auto augmented =
          safety_augmentation_rows(*tokenizer, read_safety_triples(job.safety_triples), job.augmentation, train_config.seed);
      prompt_completion->add_train_rows(augmented.rows, job.safety_triples);
      if (speaks(group.get()))
        fmt::print(stderr, "safety augmentation: {} rows from {}, {} with a harmful prefix\n", augmented.rows.size(), job.safety_triples,
                   std::count_if(augmented.prefix_tokens.begin(), augmented.prefix_tokens.end(), [](int64_t k) { return k > 0; }));
    }
    data = std::move(prompt_completion);
  }
  const auto mntp = job.objective == LmObjective::mntp
                        ? mntp_options_for(*tokenizer, job.mntp_rate, parse_mntp_strategy(job.mntp_strategy), job.mask_piece)
                        : MntpOptions{};
  if (speaks(group.get())) {
    fmt::print(stderr, "model: {} parameters; objective: {}; data: {}\n", model->parameter_count(), to_string(job.objective),
               data->describe());
    claim_run_folder(job.setup.run.out, "garden lm train", job.setup.run.resume);
  }
  install_interrupt_handler();
  Trainer trainer(train_config, job.setup.run.out);
  trainer.tokenizer_spec = tokenizer_spec;
  trainer.group = group.get();
  trainer.keep_models_at = steps_at_fractions(job.save_at, train_config.steps);
  if (job.objective == LmObjective::lm) return trainer.fit(model, *data, job.setup.run.resume);
  if (job.objective == LmObjective::constrained_sft) {
    auto reference = model::load_model(model_folder(job.reference.empty() ? job.model : job.reference), job.setup.device).model;
    if (reference->config().vocab != model->config().vocab)
      throw Error(fmt::format("--reference {}: a vocabulary of {} for a model of {}", job.reference, reference->config().vocab,
                              model->config().vocab));
    const auto objective = constrained_sft_objective(model, reference, *data, job.schedule, tokenizer_spec, group.get());
    return trainer.fit(*model, objective, job.setup.run.resume);
  }
  torch::manual_seed(static_cast<int64_t>(train_config.seed));
  const auto objective = mntp_objective(model, *data, mntp, train_config.seed, tokenizer_spec, group.get());
  return trainer.fit(*model, objective, job.setup.run.resume);
}

EmbedObjective parse_embed_objective(const std::string& name) {
  if (name == "infonce") return EmbedObjective::infonce;
  if (name == "simcse") return EmbedObjective::simcse;
  if (name == "llm2vec-gen") return EmbedObjective::llm2vec_gen;
  if (name == "grit") return EmbedObjective::grit;
  usage_error("--objective must be infonce, simcse, llm2vec-gen or grit, got '" + name + "'");
}

Json embed_train_defaults(EmbedObjective objective) {
  // Fine-tuning a pretrained backbone: a smaller learning rate than the LM's, short warmup.
  Json json = TrainConfig{}.to_json();
  json.update(Json{{"lr", 1e-4}, {"warmup", 10}, {"steps", 200}, {"batch", 32}, {"weight_decay", 0.01}, {"eval_every", 50},
                   {"checkpoint_every", 100}});
  if (objective == EmbedObjective::simcse)  // the spec's small-scale recipe (llm2vec.md)
    json.update(Json{{"steps", 150}, {"batch", 64}, {"eval_every", 0}, {"checkpoint_every", 50}});
  if (objective == EmbedObjective::llm2vec_gen)  // the spec's small-scale recipe (llm2vec-gen.md)
    json.update(Json{{"lr", 1e-3}, {"warmup", 50}, {"steps", 600}, {"batch", 16}, {"weight_decay", 0.0}, {"eval_every", 100},
                     {"checkpoint_every", 200}});
  if (objective == EmbedObjective::grit)  // the spec's small-scale recipe (gritlm.md): no weight decay, as the paper
    json.update(Json{{"lr", 3e-4}, {"warmup", 8}, {"steps", 250}, {"batch", 32}, {"weight_decay", 0.0}, {"eval_every", 0},
                     {"checkpoint_every", 100}});
  json.erase("seq");  // texts are cut at the embedder's max_tokens
  json.erase("eval_windows");
  return json;
}

namespace {

// Pairs from one file or several, each with at least `hard_negatives` negatives.
std::vector<text::TextPair> read_pairs(const std::vector<std::string>& files, int64_t hard_negatives, const std::string& where) {
  std::vector<text::TextPair> pairs;
  for (const auto& file : files) {
    for (auto& pair : text::read_training_pairs(file)) {
      if (static_cast<int64_t>(pair.negatives.size()) < hard_negatives)
        usage_error(fmt::format("{}: hard_negatives is {} but a pair of {} ('{}') has {}: mine negatives first or lower it", where,
                                hard_negatives, file, pair.query.substr(0, 60), pair.negatives.size()));
      pairs.push_back(std::move(pair));
    }
  }
  return pairs;
}

TrainingStage read_stage(const std::string& file) {
  const auto json = read_config(file, Json{"name", "data", "objective", "train"});
  if (!json.contains("data") || !json["data"].contains("train")) throw Error(file + ": needs \"data\": {\"train\": file or [files]}");
  refuse_unknown_keys(json["data"], Json{"train"}, file + " data");
  TrainingStage stage;
  stage.name = fs::path(file).stem().string();
  read_field(json, "name", stage.name, file);  // a name that is no string is an error naming the file
  stage.objective = EmbedObjectiveConfig::from_json(merged(EmbedObjectiveConfig{}.to_json(), json, "objective", Json::object(), file),
                                                    file + " objective");
  stage.train = train_config_of(merged(embed_train_defaults(EmbedObjective::infonce), json, "train", Json::object(), file), file + " train", 0);
  const auto& sources = json["data"]["train"];
  std::vector<std::string> paths;
  if (sources.is_string()) paths.push_back(sources.get<std::string>());
  for (const auto& p : sources.is_array() ? sources : Json::array()) {
    if (!p.is_string()) throw Error(file + ": \"data.train\" must be a file or a list of files");
    paths.push_back(p.get<std::string>());
  }
  if (paths.empty()) throw Error(file + ": \"data.train\" must be a file or a list of files");
  stage.pairs = read_pairs(paths, stage.objective.hard_negatives, file);
  return stage;
}

EmbedJobResult train_stages_job(const EmbedJob& job) {
  if (job.objective != EmbedObjective::infonce) usage_error("stages train the infonce objective");
  if (!job.train_file.empty() || !job.setup.config_file.empty() || !job.objective_overrides.empty() || !job.train_overrides.empty())
    usage_error("--stages takes its data, objective and training settings from the stage files; drop --train, --config and their flags");
  std::vector<TrainingStage> stages;
  for (const auto& file : job.stage_files) stages.push_back(read_stage(file));
  auto loaded = model::load_embedder(model_folder(job.model), job.setup.device);
  const auto group = join_group(job.setup);
  if (speaks(group.get())) claim_output_dir(job.setup.run.out, "garden embed train");
  if (group) group->barrier();  // the stage folders go inside it
  install_interrupt_handler();
  const auto results = train_stages(loaded.embedder, *loaded.tokenizer, stages, job.setup.run.out, job.setup.run.resume, loaded.tokenizer_spec,
                                    !speaks(group.get()), group.get());
  return {results.back(), fs::path(job.setup.run.out) / fmt::format("stage{}-{}", results.size(), stages[results.size() - 1].name),
          static_cast<int64_t>(results.size())};
}

// llm2vec-gen: a frozen language model (or a generative embedder to go on training) and the
// prepared queries.
EmbedJobResult train_generative_job(const EmbedJob& job, const TrainConfig& train_config, const std::string& where) {
  if (job.setup.distributed.active()) usage_error("--objective llm2vec-gen trains in one process: drop --world-size (and WORLD_SIZE)");
  if (!job.objective_overrides.empty())
    usage_error(fmt::format("--objective llm2vec-gen: --{} is a setting of contrastive training", job.objective_overrides.begin().key()));
  if (job.train_file.empty()) usage_error("--train (queries prepared by garden llm2vec-gen prepare) is required");
  job.generative_weights.validate();
  const fs::path folder = model_folder(job.model);
  model::GenerativeEmbedder model{nullptr};
  model::Transformer backbone{nullptr};
  model::GenerativeEmbedderConfig config;
  std::string tokenizer_spec;
  if (model::is_generative_embedder_folder(folder)) {
    auto loaded = model::load_generative_embedder(folder, job.setup.device);
    model = loaded.model;
    config = model->config();
    tokenizer_spec = loaded.tokenizer_spec;
  } else {
    auto lm = model::load_model(folder, job.setup.device);
    backbone = lm.model;
    tokenizer_spec = lm.tokenizer_spec;
    config.special_tokens = job.special_tokens;
    config.max_tokens = job.generative_max_tokens;
    config.query_suffix = job.generative_cue;
  }
  const auto tokenizer = text::load_tokenizer(tokenizer_spec);
  const auto train = read_generative_examples(job.train_file, *tokenizer, config);
  if (!model) {
    config.embedding_dims = static_cast<int64_t>(train.front().teacher.size());
    config = model::GenerativeEmbedderConfig::from_json(config.to_json(), where);
    torch::manual_seed(static_cast<int64_t>(train_config.seed));  // the special tokens' and projections' initial weights
    model = model::GenerativeEmbedder(backbone, config);
  }
  model->backbone->set_dropout(0.0);  // the backbone is frozen: it reads as at inference
  const auto held_out = job.eval_file.empty() ? std::vector<GenerativeExample>{} : read_generative_examples(job.eval_file, *tokenizer, config);
  for (const auto* set : {&train, &held_out})
    if (!set->empty() && static_cast<int64_t>(set->front().teacher.size()) != model->config().embedding_dims)
      throw Error(fmt::format("{}: teacher vectors of {} dimensions, the model embeds into {}", set == &train ? job.train_file : job.eval_file,
                              set->front().teacher.size(), model->config().embedding_dims));
  claim_run_folder(job.setup.run.out, "garden embed train", job.setup.run.resume);
  install_interrupt_handler();
  Trainer trainer(train_config, job.setup.run.out);
  trainer.tokenizer_spec = tokenizer_spec;
  fmt::print(stderr, "LLM2Vec-Gen: {} special tokens on a frozen {}-parameter LM, embeddings of {} dimensions; lambda_rec {}, lambda_align {}; "
                     "{} training queries, {} held out\n",
             model->config().special_tokens, model->backbone->parameter_count(), model->config().embedding_dims, job.generative_weights.reconstruction,
             job.generative_weights.alignment, train.size(), held_out.size());
  const auto objective = generative_embedding_objective(model, train, held_out, job.generative_weights, train_config, tokenizer_spec);
  return {trainer.fit(*model, objective, job.setup.run.resume), job.setup.run.out, 1};
}

EmbedJobResult train_grit_job(EmbedJob job, const TrainConfig& train_config) {
  if (job.setup.distributed.active()) usage_error("--objective grit trains in one process: drop --world-size (and WORLD_SIZE)");
  for (const auto& [key, value] : job.objective_overrides.items()) {
    if (key != "temperature") usage_error(fmt::format("--objective grit: --{} is a setting of infonce; grit reads --temperature", key));
    job.grit.temperature = value.get<double>();
  }
  if (!job.train_file.empty()) usage_error("--objective grit reads its embedding datasets from --pairs (one file per dataset), not --train");
  std::vector<GritDataset> datasets;
  for (const auto& argument : job.grit_pairs) datasets.push_back(read_grit_dataset(argument));
  const auto generations = job.grit_generations.empty() ? std::vector<GritGeneration>{} : read_grit_generations(job.grit_generations);
  const auto held_out_pairs = job.eval_file.empty() ? std::vector<text::TextPair>{} : text::read_training_pairs(job.eval_file);
  const auto held_out_generations =
      job.grit_held_out_generations.empty() ? std::vector<GritGeneration>{} : read_grit_generations(job.grit_held_out_generations);
  if (job.grit.mode == GritMode::embedding && !generations.empty()) usage_error("--mode embedding trains no generation: drop --gen-data");
  if (job.grit.mode == GritMode::generative && !datasets.empty()) usage_error("--mode generative trains no embeddings: drop --pairs");
  install_interrupt_handler();
  const auto run = train_grit(job.model, job.grit_attention, job.grit_pooling, datasets, generations, held_out_pairs, held_out_generations,
                              job.grit, train_config, job.setup.run.out, job.setup.run.resume, false, job.setup.device);
  return {run.result, job.setup.run.out, 1};
}

}  // namespace

EmbedJobResult train_embedder(EmbedJob job) {
  const char* const model_required = "--model (the embedding model to train: garden embed init, or a run to start from) is required";
  if (!job.stage_files.empty()) {
    if (job.model.empty()) usage_error(model_required);
    return train_stages_job(job);
  }
  Json cfg = Json::object();
  if (!job.setup.config_file.empty()) {
    cfg = read_config(job.setup.config_file, Json{"model", "data", "objective", "train", "out"});
    if (cfg.contains("data")) {
      refuse_unknown_keys(cfg["data"], Json{"train", "eval"}, job.setup.config_file + " data");
      if (job.train_file.empty()) read_field(cfg["data"], "train", job.train_file, job.setup.config_file);
      if (job.eval_file.empty()) read_field(cfg["data"], "eval", job.eval_file, job.setup.config_file);
    }
    if (job.model.empty()) read_field(cfg, "model", job.model, job.setup.config_file);
    read_field(cfg, "out", job.setup.run.out, job.setup.config_file);
  }
  if (job.model.empty()) usage_error(model_required);
  const std::string where = job.setup.config_file.empty() ? std::string("flags") : job.setup.config_file;
  const auto objective_config = EmbedObjectiveConfig::from_json(merged(EmbedObjectiveConfig{}.to_json(), cfg, "objective", job.objective_overrides, where),
                                                                where + " objective");
  const auto train_config = train_config_of(merged(embed_train_defaults(job.objective), cfg, "train", job.train_overrides, where), where + " train",
                                            job.setup.run.stop_after);
  if (job.objective == EmbedObjective::llm2vec_gen) {
    if (cfg.contains("objective")) usage_error(job.setup.config_file + ": \"objective\" holds contrastive settings, which llm2vec-gen does not read");
    return train_generative_job(job, train_config, where);
  }
  if (job.objective == EmbedObjective::grit) {
    if (cfg.contains("objective")) usage_error(job.setup.config_file + ": \"objective\" holds infonce settings; give grit's as flags");
    return train_grit_job(job, train_config);
  }
  auto loaded = model::load_embedder(model_folder(job.model), job.setup.device);
  const auto group = join_group(job.setup);

  std::vector<text::TextPair> train_pairs, eval_pairs;
  if (job.objective == EmbedObjective::infonce) {
    if (job.train_file.empty()) usage_error("--train (a pairs .jsonl file, e.g. from garden embed pairs) is required");
    train_pairs = read_pairs({job.train_file}, objective_config.hard_negatives, where);
    if (!job.eval_file.empty()) eval_pairs = read_pairs({job.eval_file}, objective_config.hard_negatives, where);
  } else {
    if (!job.eval_file.empty()) usage_error("--objective simcse has no held-out pairs: drop --eval");
    if (objective_config.hard_negatives > 0) usage_error("--objective simcse uses in-batch negatives only: drop --hard-negatives");
    std::string sentences_file = job.train_file, unused;
    default_corpus(job.setup.cache, sentences_file, unused, group.get());
    loaded.embedder->backbone->set_dropout(job.simcse_dropout);
    const auto sentences = sentences_by_length(text::read_text_documents(sentences_file, text::TextUnit::line), *loaded.tokenizer, 4,
                                               job.simcse_max_tokens);
    const int64_t global_batch = train_config.batch * world_of(group.get());
    if (static_cast<int64_t>(sentences.size()) < global_batch)
      throw Error(fmt::format("{}: {} sentences of 4..{} tokens, fewer than a batch of {}", sentences_file, sentences.size(),
                              job.simcse_max_tokens, global_batch));
    train_pairs = simcse_pairs(sentences);
    if (speaks(group.get()))
      fmt::print(stderr, "SimCSE on {} sentences of 4..{} tokens, dropout {}\n", sentences.size(), job.simcse_max_tokens, job.simcse_dropout);
  }
  if (speaks(group.get())) claim_run_folder(job.setup.run.out, "garden embed train", job.setup.run.resume);
  install_interrupt_handler();
  Trainer trainer(train_config, job.setup.run.out);
  trainer.group = group.get();
  const auto objective = contrastive_objective(loaded.embedder, *loaded.tokenizer, train_pairs, eval_pairs, objective_config, train_config,
                                               loaded.tokenizer_spec, group.get());
  if (speaks(group.get()))
    fmt::print(stderr, "embedder: {} dimensions, {} pooling; {} training pairs, {} held out\n", loaded.embedder->dims(),
               model::to_string(loaded.embedder->config().pooling), train_pairs.size(), eval_pairs.size());
  torch::manual_seed(static_cast<int64_t>(train_config.seed));  // dropout
  return {trainer.fit(*loaded.embedder, objective, job.setup.run.resume), job.setup.run.out, 1};
}

}  // namespace garden::train
