// garden lm train | eval | generate.
#include <fmt/core.h>

#include <iostream>
#include <iterator>

#include "garden/cli/common.h"
#include "garden/core/data_root.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/runtime.h"
#include "garden/eval/lm_metrics.h"
#include "garden/model/generation.h"
#include "garden/model/model_folder.h"
#include "garden/text/corpus.h"
#include "garden/text/prepare.h"
#include "garden/train/base_lm.h"
#include "garden/train/run_folder.h"
#include "garden/train/trainer.h"

namespace garden::cli {

namespace {

struct LmTrainCommand {
  RuntimeOptions runtime;
  std::string config_file, out = "runs/lm", train_file, valid_file, tokenizer = "bytes", format = "text", field = "text";
  bool resume = false;
  int64_t stop_after = 0;
  std::map<std::string, std::string> model_flags, train_flags;
};

void run_train(LmTrainCommand& cmd) {
  configure_threads(cmd.runtime.threads);
  const auto device = resolve_device(cmd.runtime.device);
  Json model_json = model::TransformerConfig{}.to_json();
  Json train_json = train::TrainConfig{}.to_json();
  model_json["d_ff"] = 0;  // the default: derived from d_model and mlp
  if (!cmd.config_file.empty()) {
    // cfg.json: {"model": {...}, "train": {...}, "data": {"train", "valid", "tokenizer", "format"}, "out": ...}
    const auto cfg = read_json_file(cmd.config_file);
    if (!cfg.is_object()) throw Error(cmd.config_file + ": the config must be a JSON object");
    refuse_unknown_keys(cfg, Json{"model", "train", "data", "out"}, cmd.config_file);
    if (cfg.contains("data")) refuse_unknown_keys(cfg["data"], Json{"train", "valid", "tokenizer", "format"}, cmd.config_file + " data");
    if (cfg.contains("model")) model_json.update(cfg["model"]);
    if (cfg.contains("train")) train_json.update(cfg["train"]);
    if (cfg.contains("data")) {
      read_field(cfg["data"], "train", cmd.train_file, cmd.config_file);
      read_field(cfg["data"], "valid", cmd.valid_file, cmd.config_file);
      read_field(cfg["data"], "tokenizer", cmd.tokenizer, cmd.config_file);
      read_field(cfg["data"], "format", cmd.format, cmd.config_file);
    }
    read_field(cfg, "out", cmd.out, cmd.config_file);
  }
  apply_json_flags(cmd.model_flags, model::TransformerConfig{}.to_json(), model_json);
  apply_json_flags(cmd.train_flags, train::TrainConfig{}.to_json(), train_json);

  auto tokenizer = text::load_tokenizer(cmd.tokenizer);
  model_json["vocab"] = tokenizer->vocab_size();
  const std::string where = cmd.config_file.empty() ? std::string("flags") : cmd.config_file;
  auto model_config = model::TransformerConfig::from_json(model_json, where + " model");
  auto train_config = train::TrainConfig::from_json(train_json, where + " train");
  train_config.stop_after = cmd.stop_after;
  train_config.validate();
  if (model_config.pos == model::Positions::learned && train_config.seq > model_config.max_seq)
    usage_error(fmt::format("--seq {} exceeds --max-seq {}", train_config.seq, model_config.max_seq));

  if (cmd.train_file.empty()) {
    auto corpus = text::prepare_default_corpus(text::default_corpus_dir(resolve_cache_dir(cmd.runtime.cache)));
    cmd.train_file = corpus.split("train").string();
    cmd.valid_file = corpus.split("valid").string();
    fmt::print(stderr, "no --train given: using the built-in corpus in {}\n", corpus.dir.string());
  }
  if (cmd.valid_file.empty()) usage_error("--valid is required when --train is given");

  // Plain text is used as it is; a .jsonl file contributes its documents' `field`, one a line.
  auto read_text = [&](const std::string& path) {
    if (std::filesystem::path(path).extension() != ".jsonl") return read_file(path);
    std::string joined;
    for (const auto& doc : text::read_jsonl_field(path, cmd.field)) joined.append(doc).append("\n");
    return joined;
  };
  std::unique_ptr<train::BatchSource> data;
  if (cmd.format == "text") {
    data = std::make_unique<train::TokenWindows>(train::encode_corpus(*tokenizer, read_text(cmd.train_file)),
                                                 train::encode_corpus(*tokenizer, read_text(cmd.valid_file)),
                                                 tokenizer->bos_id(), train_config.seq, train_config.batch,
                                                 train_config.eval_windows, train_config.seed);
  } else if (cmd.format == "prompt-completion") {
    data = std::make_unique<train::PromptCompletionBatches>(cmd.train_file, cmd.valid_file, *tokenizer, train_config.seq,
                                                            train_config.batch, train_config.seed);
  } else {
    usage_error("--format must be text or prompt-completion, got '" + cmd.format + "'");
  }

  torch::manual_seed(train_config.seed);
  model::Transformer model(model_config);
  model->to(device);
  fmt::print(stderr, "model: {} parameters; data: {}\n", model->parameter_count(), data->describe());
  claim_run_folder(cmd.out, "garden lm train", cmd.resume);
  train::install_interrupt_handler();
  train::Trainer trainer(train_config, cmd.out);
  trainer.tokenizer_spec = tokenizer->spec();
  auto result = trainer.fit(model, *data, cmd.resume);
  if (result.interrupted) {
    fmt::print("stopped at step {} with a checkpoint; continue with --resume --out {}\n", result.steps_done, cmd.out);
    return;
  }
  fmt::print("step {}: train loss {:.4f}, val loss {:.4f} (ppl {:.2f}), {} loss spikes, {:.0f} tokens/s\nrun folder: {} "
             "(config.json, metrics.jsonl, results.json, checkpoints/)\n",
             result.steps_done, result.final_train_loss, result.val_loss, std::exp(result.val_loss), result.loss_spikes,
             result.tokens_per_second, cmd.out);
}

std::string read_stdin() { return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()}; }

}  // namespace

void register_lm(CLI::App& app) {
  auto* lm = app.add_subcommand("lm", "train, evaluate and sample language models");
  lm->require_subcommand(1);

  auto cmd = std::make_shared<LmTrainCommand>();
  auto* train = lm->add_subcommand("train", "train a transformer LM (next-token objective)");
  train->add_option("--config", cmd->config_file, "cfg.json with model/train/data sections; flags override it");
  train->add_option("--out", cmd->out, "run folder")->capture_default_str();
  train->add_option("--train", cmd->train_file, "training text (.txt) or prompt-completion .jsonl (default: built-in corpus)");
  train->add_option("--valid", cmd->valid_file, "validation file, same format");
  train->add_option("--tokenizer", cmd->tokenizer, "SentencePiece .model or 'bytes'")->capture_default_str();
  train->add_option("--format", cmd->format, "text | prompt-completion (loss on completions only)")->capture_default_str();
  train->add_option("--field", cmd->field, "with --format text: the JSONL field read from .jsonl files")->capture_default_str();
  train->add_flag("--resume", cmd->resume, "continue from the run folder's latest checkpoint");
  train->add_option("--stop-after", cmd->stop_after, "stop with a checkpoint after this many steps (resume later)");
  add_runtime_options(*train, cmd->runtime);
  Json model_defaults = model::TransformerConfig{}.to_json();
  model_defaults.erase("vocab");  // always the tokenizer's
  add_json_flags(*train, model_defaults, cmd->model_flags, "Model");
  add_json_flags(*train, train::TrainConfig{}.to_json(), cmd->train_flags, "Training");
  train->callback([cmd] { run_train(*cmd); });

  struct BaseOptions {
    RuntimeOptions runtime;
    train::BaseLmOptions options;
    bool rebuild = false;
  };
  auto base = std::make_shared<BaseOptions>();
  auto* base_cmd = lm->add_subcommand("base", "the shared tiny base LM (SentencePiece 8k with <mask>, 4 layers, d=128), "
                                              "built once per configuration into the cache; prints its folder");
  base_cmd->add_option("--steps", base->options.steps, "pretraining steps")->capture_default_str();
  base_cmd->add_option("--vocab", base->options.vocab, "SentencePiece vocabulary")->capture_default_str();
  base_cmd->add_option("--seed", base->options.seed, "seed")->capture_default_str();
  base_cmd->add_flag("--rebuild", base->rebuild, "train it again even if the cache has it");
  add_runtime_options(*base_cmd, base->runtime);
  base_cmd->callback([base] {
    configure_threads(base->runtime.threads);
    const auto lm = train::ensure_base_lm(resolve_cache_dir(base->runtime.cache), resolve_data_root(base->runtime.data),
                                          base->options, base->rebuild);
    fmt::print("{}\n", lm.model.string());
    fmt::print(stderr, "{} base LM: held-out loss {:.4f}; pretrained on {}; tokenizer {}\n", lm.built ? "built the" : "cached",
               lm.val_loss, lm.sources, lm.tokenizer.string());
  });

  struct EvalOptions {
    RuntimeOptions runtime;
    std::string model, input;
    int64_t seq = 0, batch = 16;
  };
  auto ev = std::make_shared<EvalOptions>();
  auto* eval = lm->add_subcommand("eval", "loss, perplexity and bits per byte on a text file");
  eval->add_option("--model", ev->model, "model or run folder")->required();
  eval->add_option("--input", ev->input, "text file")->required();
  eval->add_option("--seq", ev->seq, "window length (default: the model's max_seq)");
  eval->add_option("--batch", ev->batch)->capture_default_str();
  add_runtime_options(*eval, ev->runtime);
  eval->callback([ev] {
    configure_threads(ev->runtime.threads);
    auto loaded = model::load_model(train::model_folder(ev->model), resolve_device(ev->runtime.device));
    auto tokenizer = text::load_tokenizer(loaded.tokenizer_spec);
    const int64_t seq = ev->seq > 0 ? ev->seq : loaded.model->config().max_seq;
    auto m = eval::evaluate_text(loaded.model, *tokenizer, read_file(ev->input), seq, ev->batch);
    fmt::print("loss {:.4f} nats/token  ppl {:.3f}  bits/byte {:.4f}  ({} tokens, {} bytes)\n", m.loss, m.perplexity,
               m.bits_per_byte, m.tokens, m.bytes);
  });

  struct GenerateCommand {
    RuntimeOptions runtime;
    std::string model, prompt, stop;
    model::GenerateOptions options;
  };
  auto gen = std::make_shared<GenerateCommand>();
  auto* generate = lm->add_subcommand("generate", "sample completions of a prompt (--prompt or stdin)");
  generate->add_option("--model", gen->model, "model or run folder")->required();
  generate->add_option("--prompt", gen->prompt, "prompt text (default: stdin)");
  generate->add_option("--max-tokens", gen->options.max_new_tokens)->capture_default_str();
  generate->add_option("--temperature", gen->options.temperature, "0 = greedy")->capture_default_str();
  generate->add_option("--top-k", gen->options.top_k, "0 = off")->capture_default_str();
  generate->add_option("--top-p", gen->options.top_p, "1 = off")->capture_default_str();
  generate->add_option("--n", gen->options.n_samples, "completions, sampled as one batch")->capture_default_str();
  generate->add_option("--seed", gen->options.seed, "sample i uses seed + i")->capture_default_str();
  generate->add_option("--stop", gen->stop, "stop text (must be one token), e.g. a newline");
  add_runtime_options(*generate, gen->runtime);
  generate->callback([gen] {
    configure_threads(gen->runtime.threads);
    auto loaded = model::load_model(train::model_folder(gen->model), resolve_device(gen->runtime.device));
    auto tokenizer = text::load_tokenizer(loaded.tokenizer_spec);
    std::string prompt = gen->prompt.empty() ? read_stdin() : gen->prompt;
    std::vector<int64_t> ids{tokenizer->bos_id()};
    for (auto id : tokenizer->encode(prompt)) ids.push_back(id);
    auto options = gen->options;
    options.stop_tokens.push_back(tokenizer->eos_id());
    if (!gen->stop.empty()) {
      auto stop_ids = tokenizer->encode(gen->stop == "\\n" ? "\n" : gen->stop);
      if (stop_ids.size() != 1) usage_error("--stop '" + gen->stop + "' is not a single token for this tokenizer");
      options.stop_tokens.push_back(stop_ids[0]);
    }
    auto completions = model::generate(loaded.model, ids, options);
    for (size_t i = 0; i < completions.size(); ++i) {
      if (completions.size() > 1) fmt::print("--- sample {} ({})\n", i, completions[i].finish_reason);
      fmt::print("{}{}\n", prompt, tokenizer->decode(completions[i].tokens));
    }
  });
}

}  // namespace garden::cli
