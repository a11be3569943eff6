// garden embed init | train | pairs | encode.
#include <fmt/core.h>

#include <algorithm>
#include <random>

#include "garden/cli/common.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/runtime.h"
#include "garden/model/embedder.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/model_vectors.h"
#include "garden/retrieval/training_pairs.h"
#include "garden/text/corpus.h"
#include "garden/text/prepare.h"
#include "garden/train/embedder_training.h"
#include "garden/train/trainer.h"

namespace garden::cli {

namespace {

struct TrainCommand {
  RuntimeOptions runtime;
  std::string config_file, init, train_file, eval_file, out = "runs/embed";
  bool resume = false;
  int64_t stop_after = 0;
  std::map<std::string, std::string> objective_flags, train_flags;
};

// Embedding defaults differ from the LM's: a smaller learning rate for fine-tuning a
// pretrained backbone, short warmup, no held-out windows.
Json embed_train_defaults() {
  Json json = train::TrainConfig{}.to_json();
  json["lr"] = 1e-4;
  json["warmup"] = 10;
  json["steps"] = 200;
  json["batch"] = 32;
  json["weight_decay"] = 0.01;
  json["eval_every"] = 50;
  json["checkpoint_every"] = 100;
  json.erase("seq");  // texts are cut at the embedder's max_tokens
  json.erase("eval_windows");
  return json;
}

void run_embed_train(TrainCommand& cmd) {
  configure_threads(cmd.runtime.threads);
  const auto device = resolve_device(cmd.runtime.device);
  Json objective_json = train::EmbedObjectiveConfig{}.to_json();
  Json train_json = embed_train_defaults();
  if (!cmd.config_file.empty()) {
    // cfg.json: {"init": embedder, "data": {"train", "eval"}, "objective": {...}, "train": {...}, "out": ...}
    const auto cfg = read_json_file(cmd.config_file);
    if (!cfg.is_object()) throw Error(cmd.config_file + ": the config must be a JSON object");
    if (cfg.contains("objective")) objective_json.update(cfg["objective"]);
    if (cfg.contains("train")) train_json.update(cfg["train"]);
    if (cfg.contains("data")) {
      if (cmd.train_file.empty()) read_field(cfg["data"], "train", cmd.train_file, cmd.config_file);
      if (cmd.eval_file.empty()) read_field(cfg["data"], "eval", cmd.eval_file, cmd.config_file);
    }
    if (cmd.init.empty()) read_field(cfg, "init", cmd.init, cmd.config_file);
    read_field(cfg, "out", cmd.out, cmd.config_file);
  }
  apply_json_flags(cmd.objective_flags, train::EmbedObjectiveConfig{}.to_json(), objective_json);
  apply_json_flags(cmd.train_flags, embed_train_defaults(), train_json);
  if (cmd.init.empty()) usage_error("--init (an embedding model from garden embed init, or a run to start from) is required");
  if (cmd.train_file.empty()) usage_error("--train (a pairs .jsonl file, e.g. from garden embed pairs) is required");
  const auto objective_config = train::EmbedObjectiveConfig::from_json(objective_json, "objective");
  auto train_config = train::TrainConfig::from_json(train_json, "train config");
  train_config.stop_after = cmd.stop_after;
  train_config.validate();
  if (cmd.resume && latest_checkpoint(cmd.out).empty()) throw Error("--resume: " + cmd.out + " has no checkpoint to resume from");

  const auto train_pairs = retrieval::read_training_pairs(cmd.train_file);
  const auto eval_pairs = cmd.eval_file.empty() ? std::vector<retrieval::TextPair>{} : retrieval::read_training_pairs(cmd.eval_file);
  for (const auto* pairs : {&train_pairs, &eval_pairs})
    for (const auto& pair : *pairs)
      if (static_cast<int64_t>(pair.negatives.size()) < objective_config.hard_negatives)
        usage_error(fmt::format("hard_negatives is {} but a pair ('{}') has {}: mine negatives first or lower it",
                                objective_config.hard_negatives, pair.query.substr(0, 60), pair.negatives.size()));
  auto loaded = model::load_embedder(cmd.init, device);
  train::install_interrupt_handler();
  train::Trainer trainer(train_config, cmd.out);
  const auto objective = train::contrastive_objective(loaded.embedder, *loaded.tokenizer, train_pairs, eval_pairs, objective_config,
                                                      train_config, loaded.tokenizer_spec);
  fmt::print(stderr, "embedder: {} dimensions, {} pooling; {} training pairs, {} held out\n", loaded.embedder->dims(),
             model::to_string(loaded.embedder->config().pooling), train_pairs.size(), eval_pairs.size());
  torch::manual_seed(train_config.seed);  // dropout
  const auto result = trainer.fit(*loaded.embedder, objective, cmd.resume);
  if (result.interrupted) {
    fmt::print("stopped at step {} with a checkpoint; continue with --resume --out {}\n", result.steps_done, cmd.out);
    return;
  }
  fmt::print("step {}: train loss {:.4f}{}, {:.0f} tokens/s\nrun folder: {} (use it as --model / --encoder: its latest checkpoint)\n",
             result.steps_done, result.final_train_loss,
             eval_pairs.empty() ? std::string() : fmt::format(", held-out loss {:.4f}", result.val_loss), result.tokens_per_second,
             cmd.out);
}

}  // namespace

void register_embed(CLI::App& app) {
  auto* group = app.add_subcommand("embed", "embedding models: make one from a language model, encode texts");
  group->require_subcommand(1);

  struct InitOptions {
    std::string lm, out, pooler = "mean", mask = "bidirectional";
    model::EmbedderConfig config;
  };
  auto init = std::make_shared<InitOptions>();
  auto* init_cmd = group->add_subcommand("init", "an embedding model from a garden LM (its weights, a pooler, a mask)");
  init_cmd->add_option("--lm", init->lm, "a garden LM: model folder, run folder or checkpoint")->required();
  init_cmd->add_option("--pooler", init->pooler, "mean | weighted_mean | first_token | last_token | latent_attention")
      ->capture_default_str();
  init_cmd->add_option("--mask", init->mask, "bidirectional | causal")->capture_default_str();
  init_cmd->add_option("--latents", init->config.latent.latents, "latent attention: r")->capture_default_str();
  init_cmd->add_option("--latent-heads", init->config.latent.heads, "latent attention: heads")->capture_default_str();
  init_cmd->add_option("--projection", init->config.projection, "output dimensions of a linear head (0 = none)")
      ->capture_default_str();
  init_cmd->add_option("--max-tokens", init->config.max_tokens, "tokens per text at most")->capture_default_str();
  init_cmd->add_option("--out", init->out, "model folder to write")->required();
  init_cmd->callback([init] {
    init->config.pooling = model::parse_pooling(init->pooler);
    init->config.mask = model::parse_mask_mode(init->mask);
    if (init->config.mask == model::MaskMode::prefix) usage_error("--mask must be bidirectional or causal");
    const model::EmbedderConfig checked = model::EmbedderConfig::from_json(init->config.to_json(), "--options");
    torch::manual_seed(0);  // the pooler's and head's initial weights
    auto lm = train::load_model(init->lm);
    model::Embedder embedder(lm.model, checked);
    model::save_embedder(init->out, embedder, lm.tokenizer_spec);
    fmt::print("wrote {}: {} pooling, {} mask, {} dimensions\n", init->out, init->pooler, init->mask, embedder->dims());
  });

  auto train_cmd = std::make_shared<TrainCommand>();
  auto* train = group->add_subcommand("train", "contrastive training (InfoNCE) on query/positive[/negatives] pairs");
  train->add_option("--config", train_cmd->config_file, "cfg.json with init/data/objective/train sections; flags override it");
  train->add_option("--init", train_cmd->init, "embedding model to start from (garden embed init, or a trained one)");
  train->add_option("--train", train_cmd->train_file, "pairs .jsonl: {\"query\", \"positive\", \"negatives\": [...]}");
  train->add_option("--eval", train_cmd->eval_file, "held-out pairs .jsonl (val_loss)");
  train->add_option("--out", train_cmd->out, "run folder")->capture_default_str();
  train->add_flag("--resume", train_cmd->resume, "continue from the run folder's latest checkpoint");
  train->add_option("--stop-after", train_cmd->stop_after, "stop with a checkpoint after this many steps (resume later)");
  add_runtime_options(*train, train_cmd->runtime);
  add_json_flags(*train, train::EmbedObjectiveConfig{}.to_json(), train_cmd->objective_flags, "Objective");
  add_json_flags(*train, embed_train_defaults(), train_cmd->train_flags, "Training");
  train->callback([train_cmd] { run_embed_train(*train_cmd); });

  struct PairsOptions {
    std::string from = "title-body", collection, out, eval_out, wordnet = "/usr/share/wordnet";
    int64_t negatives = 0, held_out = 0;
    uint64_t seed = 0;
  };
  auto pairs_opt = std::make_shared<PairsOptions>();
  auto* pairs_cmd = group->add_subcommand("pairs", "training pairs without test labels (title -> body, WordNet definition -> lemmas)");
  pairs_cmd->add_option("--from", pairs_opt->from, "title-body (a BEIR --collection) | wordnet")->capture_default_str();
  pairs_cmd->add_option("--collection", pairs_opt->collection, "BEIR folder (title-body)");
  pairs_cmd->add_option("--negatives", pairs_opt->negatives, "title-body: BM25 hard negatives per pair (0 = none)");
  pairs_cmd->add_option("--held-out", pairs_opt->held_out, "pairs moved to --eval-out (a seeded random choice)");
  pairs_cmd->add_option("--eval-out", pairs_opt->eval_out, "file for the held-out pairs");
  pairs_cmd->add_option("--seed", pairs_opt->seed, "seed of the held-out choice")->capture_default_str();
  pairs_cmd->add_option("--wordnet", pairs_opt->wordnet, "WordNet dict folder")->capture_default_str();
  pairs_cmd->add_option("--out", pairs_opt->out, "pairs .jsonl to write")->required();
  pairs_cmd->callback([pairs_opt] {
    const auto& o = *pairs_opt;
    std::vector<retrieval::TextPair> pairs;
    if (o.from == "title-body") {
      if (o.collection.empty()) usage_error("--from title-body needs --collection");
      pairs = retrieval::title_body_pairs(retrieval::read_beir_collection(o.collection));
      if (pairs.empty()) throw Error(fmt::format("{}: no document has a title of 3+ words and a body of 8+ words", o.collection));
      if (o.negatives > 0) {
        const auto index_dir = std::filesystem::path(o.out).replace_extension(".bm25");
        retrieval::add_bm25_negatives(pairs, o.collection, index_dir, o.negatives);
      }
    } else if (o.from == "wordnet") {
      if (o.negatives > 0) usage_error("--negatives applies to --from title-body");
      pairs = retrieval::wordnet_definition_pairs(text::wordnet_synsets(o.wordnet, {"noun", "verb", "adj", "adv"}));
    } else {
      usage_error("--from must be title-body or wordnet, not '" + o.from + "'");
    }
    if (o.held_out < 0 || o.held_out >= static_cast<int64_t>(pairs.size()))
      usage_error(fmt::format("--held-out must be in [0, {}) for these {} pairs", pairs.size(), pairs.size()));
    if (o.held_out > 0 && o.eval_out.empty()) usage_error("--held-out needs --eval-out");
    std::vector<retrieval::TextPair> held;
    if (o.held_out > 0) {
      std::mt19937_64 rng(o.seed);
      std::shuffle(pairs.begin(), pairs.end(), rng);
      held.assign(pairs.end() - o.held_out, pairs.end());
      pairs.resize(pairs.size() - static_cast<size_t>(o.held_out));
      retrieval::write_training_pairs(o.eval_out, held);
    }
    retrieval::write_training_pairs(o.out, pairs);
    fmt::print("wrote {} pairs to {}{}\n", pairs.size(), o.out,
               held.empty() ? std::string() : fmt::format(" and {} to {}", held.size(), o.eval_out));
  });

  struct EncodeOptions {
    std::string model, input, out, side = "corpus", instruction;
    int64_t batch = 32;
    int threads = 0;
  };
  auto enc = std::make_shared<EncodeOptions>();
  auto* enc_cmd = group->add_subcommand("encode", "embed texts into a .npy matrix (row i = i-th text)");
  enc_cmd->add_option("--model", enc->model, "embedding model folder (garden embed init / train)")->required();
  enc_cmd->add_option("--input", enc->input, "a collection folder (BEIR layout) or a text file, one text a line")->required();
  enc_cmd->add_option("--side", enc->side, "collection: corpus (title + text) or queries")->capture_default_str();
  enc_cmd->add_option("--instruction", enc->instruction, "prefix of every text, excluded from pooling (queries)");
  enc_cmd->add_option("--batch", enc->batch, "texts per forward pass")->capture_default_str();
  enc_cmd->add_option("--threads", enc->threads, "CPU threads (0 = all cores)");
  enc_cmd->add_option("--out", enc->out, ".npy file to write")->required();
  enc_cmd->callback([enc] {
    configure_threads(enc->threads);
    if (enc->side != "corpus" && enc->side != "queries") usage_error("--side must be corpus or queries, not '" + enc->side + "'");
    std::vector<std::string> texts;
    if (std::filesystem::is_directory(enc->input)) {
      const auto collection = retrieval::read_beir_collection(enc->input);
      if (enc->side == "corpus") {
        for (const auto& doc : collection.corpus) texts.push_back(retrieval::document_text(doc));
      } else {
        for (const auto& q : collection.queries) texts.push_back(q.text);
      }
    } else {
      texts = text::read_text_documents(enc->input, text::TextUnit::line);
    }
    if (texts.empty()) throw Error(fmt::format("{}: no texts to encode", enc->input));
    const auto vectors = retrieval::encode_with_model(enc->model, texts, enc->instruction, enc->batch, "encode");
    retrieval::write_npy(enc->out, vectors);
    fmt::print("wrote {}: {} x {}\n", enc->out, vectors.rows, vectors.cols);
  });
}

}  // namespace garden::cli
