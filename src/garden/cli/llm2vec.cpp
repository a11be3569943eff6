// garden llm2vec bidirectional | mntp | simcse: the three LLM2Vec steps, each its own
// command and output folder.
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/data_root.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/runtime.h"
#include "garden/model/embedder.h"
#include "garden/model/model_folder.h"
#include "garden/text/corpus.h"
#include "garden/text/prepare.h"
#include "garden/train/embedder_training.h"
#include "garden/train/llm2vec.h"
#include "garden/train/run_folder.h"
#include "garden/train/trainer.h"

namespace garden::cli {

namespace {

// Fine-tuning defaults of the spec's small-scale recipe (llm2vec.md).
Json mntp_train_defaults() {
  Json json = train::TrainConfig{}.to_json();
  json["steps"] = 150;
  json["batch"] = 16;
  json["seq"] = 128;
  json["lr"] = 3e-4;
  json["warmup"] = 10;
  json["weight_decay"] = 0.01;
  json["eval_every"] = 50;
  json["eval_windows"] = 32;
  json["checkpoint_every"] = 50;
  return json;
}

Json simcse_train_defaults() {
  Json json = train::TrainConfig{}.to_json();
  json["steps"] = 150;
  json["batch"] = 64;
  json["lr"] = 1e-4;
  json["warmup"] = 10;
  json["weight_decay"] = 0.01;
  json["eval_every"] = 0;
  json["checkpoint_every"] = 50;
  json.erase("seq");
  json.erase("eval_windows");
  return json;
}

train::TrainConfig resolved_train_config(const std::map<std::string, std::string>& flags, const Json& defaults, int64_t stop_after) {
  Json json = defaults;
  apply_json_flags(flags, defaults, json);
  auto config = train::TrainConfig::from_json(json, "training flags");
  config.stop_after = stop_after;
  config.validate();
  return config;
}

void finish(const train::TrainResult& result, const std::string& out, const std::string& what) {
  if (result.interrupted) {
    fmt::print("stopped at step {} with a checkpoint; continue with --resume --out {}\n", result.steps_done, out);
    return;
  }
  fmt::print("step {}: {} loss {:.4f}{}\nrun folder: {} (its latest checkpoint is the model)\n", result.steps_done, what,
             result.final_train_loss, result.val_loss > 0 ? fmt::format(", held-out {:.4f}", result.val_loss) : std::string(), out);
}

}  // namespace

void register_llm2vec(CLI::App& app) {
  auto* group = app.add_subcommand("llm2vec", "LLM2Vec: a causal LM into an encoder (bidirectional, MNTP, SimCSE)");
  group->require_subcommand(1);

  struct BidirectionalOptions {
    std::string lm, out, pooler = "mean";
    int64_t max_tokens = 128;
  };
  auto bi = std::make_shared<BidirectionalOptions>();
  auto* bi_cmd = group->add_subcommand("bidirectional", "step 1: the LM's weights as an embedder with all-ones attention");
  bi_cmd->add_option("--lm", bi->lm, "a garden LM (model, run or checkpoint folder; e.g. an MNTP run)")->required();
  bi_cmd->add_option("--pooler", bi->pooler, "mean | weighted_mean | last_token | first_token")->capture_default_str();
  bi_cmd->add_option("--max-tokens", bi->max_tokens, "tokens per text at most")->capture_default_str();
  bi_cmd->add_option("--out", bi->out, "embedding model folder to write")->required();
  bi_cmd->callback([bi] {
    model::EmbedderConfig config;
    config.pooling = model::parse_pooling(bi->pooler);
    config.mask = model::MaskMode::bidirectional;
    config.max_tokens = bi->max_tokens;
    config = model::EmbedderConfig::from_json(config.to_json(), "--options");
    claim_output_dir(bi->out, "garden llm2vec bidirectional");
    auto lm = model::load_model(train::model_folder(bi->lm));
    model::Embedder embedder(lm.model, config);
    model::save_embedder(bi->out, embedder, lm.tokenizer_spec);
    fmt::print("wrote {}: bidirectional mask, {} pooling, {} dimensions\n", bi->out, bi->pooler, embedder->dims());
  });

  struct MntpOptions {
    RuntimeOptions runtime;
    std::string lm, out = "runs/mntp", train_file, valid_file, strategy = "bert", mask_piece = "<mask>";
    double rate = 0.2;
    bool resume = false;
    int64_t stop_after = 0;
    std::map<std::string, std::string> train_flags;
  };
  auto mn = std::make_shared<MntpOptions>();
  auto* mn_cmd = group->add_subcommand("mntp", "step 2: masked next-token prediction under a bidirectional mask");
  mn_cmd->add_option("--lm", mn->lm, "the garden LM to adapt (its tokenizer needs the mask piece)")->required();
  mn_cmd->add_option("--train", mn->train_file, "training text (default: the built-in corpus's train split)");
  mn_cmd->add_option("--valid", mn->valid_file, "held-out text (default: the built-in corpus's valid split)");
  mn_cmd->add_option("--rate", mn->rate, "fraction of tokens chosen")->capture_default_str();
  mn_cmd->add_option("--strategy", mn->strategy, "bert (80% mask / 10% random / 10% keep) | all_mask")->capture_default_str();
  mn_cmd->add_option("--mask-piece", mn->mask_piece, "the tokenizer piece used as the mask")->capture_default_str();
  mn_cmd->add_option("--out", mn->out, "run folder")->capture_default_str();
  mn_cmd->add_flag("--resume", mn->resume, "continue from the run folder's latest checkpoint");
  mn_cmd->add_option("--stop-after", mn->stop_after, "stop with a checkpoint after this many steps");
  add_runtime_options(*mn_cmd, mn->runtime);
  add_json_flags(*mn_cmd, mntp_train_defaults(), mn->train_flags, "Training");
  mn_cmd->callback([mn] {
    configure_threads(mn->runtime.threads);
    const auto device = resolve_device(mn->runtime.device);
    const auto config = resolved_train_config(mn->train_flags, mntp_train_defaults(), mn->stop_after);
    if (mn->train_file.empty() != mn->valid_file.empty()) usage_error("give both --train and --valid, or neither");
    if (mn->train_file.empty()) {
      const auto corpus = text::prepare_default_corpus(text::default_corpus_dir(resolve_cache_dir(mn->runtime.cache)));
      mn->train_file = corpus.split("train").string();
      mn->valid_file = corpus.split("valid").string();
    }
    auto lm = model::load_model(train::model_folder(mn->lm), device);
    auto tokenizer = text::load_tokenizer(lm.tokenizer_spec);
    const auto options = train::mntp_options_for(*tokenizer, mn->rate, train::parse_mntp_strategy(mn->strategy), mn->mask_piece);
    if (config.seq > lm.model->config().max_seq) usage_error(fmt::format("--seq {} exceeds the model's max_seq {}", config.seq, lm.model->config().max_seq));
    const train::TokenWindows windows(train::encode_corpus(*tokenizer, read_file(mn->train_file)),
                                      train::encode_corpus(*tokenizer, read_file(mn->valid_file)), tokenizer->bos_id(), config.seq,
                                      config.batch, config.eval_windows, config.seed);
    claim_run_folder(mn->out, "garden llm2vec mntp", mn->resume);
    train::install_interrupt_handler();
    train::Trainer trainer(config, mn->out);
    trainer.tokenizer_spec = lm.tokenizer_spec;
    torch::manual_seed(static_cast<int64_t>(config.seed));
    const auto objective = train::mntp_objective(lm.model, windows, options, config.seed, lm.tokenizer_spec);
    finish(trainer.fit(*lm.model, objective, mn->resume), mn->out, "MNTP");
  });

  struct SimCseOptions {
    RuntimeOptions runtime;
    std::string model, out = "runs/simcse", sentences;
    double dropout = 0.3, temperature = 0.05;
    int64_t max_tokens = 32;
    bool resume = false;
    int64_t stop_after = 0;
    std::map<std::string, std::string> train_flags;
  };
  auto sc = std::make_shared<SimCseOptions>();
  auto* sc_cmd = group->add_subcommand("simcse", "step 3: unsupervised SimCSE (a sentence and itself under other dropout)");
  sc_cmd->add_option("--model", sc->model, "embedding model (llm2vec bidirectional, garden embed init)")->required();
  sc_cmd->add_option("--sentences", sc->sentences, "one sentence a line (default: the built-in corpus's train split)");
  sc_cmd->add_option("--dropout", sc->dropout, "dropout of every layer while training")->capture_default_str();
  sc_cmd->add_option("--temperature", sc->temperature, "InfoNCE temperature (0.05 = scale 20)")->capture_default_str();
  sc_cmd->add_option("--max-tokens", sc->max_tokens, "sentences longer than this are skipped")->capture_default_str();
  sc_cmd->add_option("--out", sc->out, "run folder")->capture_default_str();
  sc_cmd->add_flag("--resume", sc->resume, "continue from the run folder's latest checkpoint");
  sc_cmd->add_option("--stop-after", sc->stop_after, "stop with a checkpoint after this many steps");
  add_runtime_options(*sc_cmd, sc->runtime);
  add_json_flags(*sc_cmd, simcse_train_defaults(), sc->train_flags, "Training");
  sc_cmd->callback([sc] {
    configure_threads(sc->runtime.threads);
    const auto device = resolve_device(sc->runtime.device);
    const auto config = resolved_train_config(sc->train_flags, simcse_train_defaults(), sc->stop_after);
    if (sc->sentences.empty())
      sc->sentences = text::prepare_default_corpus(text::default_corpus_dir(resolve_cache_dir(sc->runtime.cache))).split("train").string();
    auto loaded = model::load_embedder(train::model_folder(sc->model), device);
    loaded.embedder->backbone->set_dropout(sc->dropout);
    const auto sentences = train::sentences_by_length(text::read_text_documents(sc->sentences, text::TextUnit::line),
                                                      *loaded.tokenizer, 4, sc->max_tokens);
    if (static_cast<int64_t>(sentences.size()) < config.batch)
      throw Error(fmt::format("{}: {} sentences of 4..{} tokens, fewer than a batch of {}", sc->sentences, sentences.size(),
                              sc->max_tokens, config.batch));
    const auto pairs = train::simcse_pairs(sentences);
    train::EmbedObjectiveConfig objective_config;
    objective_config.contrastive.temperature = sc->temperature;
    claim_run_folder(sc->out, "garden llm2vec simcse", sc->resume);
    train::install_interrupt_handler();
    train::Trainer trainer(config, sc->out);
    torch::manual_seed(static_cast<int64_t>(config.seed));  // dropout masks
    const auto objective = train::contrastive_objective(loaded.embedder, *loaded.tokenizer, pairs, {}, objective_config, config,
                                                        loaded.tokenizer_spec);
    fmt::print(stderr, "SimCSE on {} sentences of 4..{} tokens, dropout {}\n", sentences.size(), sc->max_tokens, sc->dropout);
    finish(trainer.fit(*loaded.embedder, objective, sc->resume), sc->out, "SimCSE");
  });
}

}  // namespace garden::cli
