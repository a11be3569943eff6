// garden lm train | base | eval | generate.
#include <fmt/core.h>

#include <iostream>
#include <iterator>
#include <optional>

#include "garden/cli/common.h"
#include "garden/cli/training.h"
#include "garden/core/data_root.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/runtime.h"
#include "garden/eval/compression.h"
#include "garden/eval/elasticity.h"
#include "garden/eval/lm_metrics.h"
#include "garden/eval/token_kl.h"
#include "garden/model/generation.h"
#include "garden/model/model_folder.h"
#include "garden/text/corpus.h"
#include "garden/text/prepare.h"
#include "garden/train/base_lm.h"
#include "garden/train/jobs.h"
#include "garden/train/run_folder.h"
#include "garden/train/trainer.h"

namespace garden::cli {

namespace {

struct LmTrainCommand {
  RuntimeOptions runtime;
  RunFolderOptions run;
  DistributedOptions distributed;
  std::string objective = "lm";
  train::LmJob job;
  std::map<std::string, std::string> model_flags, train_flags;
};

void run_train(LmTrainCommand& cmd) {
  auto& job = cmd.job;
  job.setup = job_setup(cmd.run, cmd.runtime, cmd.distributed);
  job.objective = train::parse_lm_objective(cmd.objective);
  apply_json_flags(cmd.model_flags, model::TransformerConfig{}.to_json(), job.model_overrides);
  apply_json_flags(cmd.train_flags, train::lm_train_defaults(job.objective), job.train_overrides);
  const auto result = train::train_lm(job);
  if (job.setup.distributed.rank > 0) return;  // rank 0 reports for the group
  if (result.interrupted) {
    fmt::print("stopped at step {} with a checkpoint; continue with --resume --out {}\n", result.steps_done, job.setup.run.out);
    return;
  }
  fmt::print("step {}: train loss {:.4f}, val loss {:.4f} (ppl {:.2f}), {} loss spikes, {:.0f} tokens/s\nrun folder: {} "
             "(config.json, metrics.jsonl, results.json, checkpoints/)\n",
             result.steps_done, result.final_train_loss, result.val_loss, std::exp(result.val_loss), result.loss_spikes,
             result.tokens_per_second, job.setup.run.out);
}

std::string read_stdin() { return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()}; }

}  // namespace

void register_lm(CLI::App& app) {
  auto* lm = app.add_subcommand("lm", "train, evaluate and sample language models");
  lm->require_subcommand(1);

  auto cmd = std::make_shared<LmTrainCommand>();
  cmd->run.out = "runs/lm";
  auto* train = lm->add_subcommand("train", "train a transformer LM: next-token prediction, or MNTP to adapt one (LLM2Vec)");
  train->add_option("--objective", cmd->objective, "lm (next-token) | mntp (masked next-token, bidirectional; needs --model) | constrained-sft (token-wise constrained fine-tuning against --reference; needs --model)")
      ->capture_default_str();
  train->add_option("--model", cmd->job.model, "start from this model or run (its shape and tokenizer)");
  add_run_folder_options(*train, cmd->run);
  train->add_option("--train", cmd->job.train_file, "training text (.txt) or prompt-completion .jsonl (default: built-in corpus)");
  train->add_option("--valid", cmd->job.valid_file, "validation file, same format");
  train->add_option("--tokenizer", cmd->job.tokenizer, "SentencePiece .model or 'bytes' (without --model)")->capture_default_str();
  train->add_option("--format", cmd->job.format, "text | prompt-completion (loss on completions only)")->capture_default_str();
  train->add_option("--field", cmd->job.field, "with --format text: the JSONL field read from .jsonl files")->capture_default_str();
  train->add_option("--rate", cmd->job.mntp_rate, "mntp: fraction of tokens chosen")->capture_default_str();
  train->add_option("--strategy", cmd->job.mntp_strategy, "mntp: bert (80% mask / 10% random / 10% keep) | all_mask")
      ->capture_default_str();
  train->add_option("--mask-piece", cmd->job.mask_piece, "mntp: the tokenizer piece used as the mask")->capture_default_str();
  train->add_option("--reference", cmd->job.reference, "constrained-sft: the frozen reference model (default: --model)");
  train->add_option("--beta", cmd->job.schedule.beta, "constrained-sft: beta after the first tokens")->capture_default_str();
  train->add_option("--first-token-bias", cmd->job.schedule.first_token_bias, "constrained-sft: beta_1 = beta x this")->capture_default_str();
  train->add_option("--bias-factor", cmd->job.schedule.bias, "constrained-sft: beta_t = beta x this for 2 <= t <= --bias-length")
      ->capture_default_str();
  train->add_option("--bias-length", cmd->job.schedule.bias_length, "constrained-sft: the tokens with the larger beta")->capture_default_str();
  train->add_option("--save-at", cmd->job.save_at, "also keep the model at these fractions of the run as <out>/model-step-N "
                                                     "(slices, e.g. 0.33,0.66,1)")
      ->delimiter(',');
  train->add_option("--safety-triples", cmd->job.safety_triples,
                    "prompt-completion: JSONL of {\"prompt\", \"harmful\", \"refusal\"} rows added to the training data with the "
                    "safety-recovery augmentation (prompt + the first k harmful tokens, loss on the refusal only)");
  train->add_option("--augment-probability", cmd->job.augmentation.probability,
                    "with --safety-triples: share of rows given a harmful prefix")
      ->capture_default_str();
  train->add_option("--augment-max-prefix", cmd->job.augmentation.max_prefix,
                    "with --safety-triples: k is drawn uniformly from 1 .. min(this, harmful tokens)")
      ->capture_default_str();
  add_runtime_options(*train, cmd->runtime);
  add_distributed_options(*train, cmd->distributed);
  Json model_defaults = model::TransformerConfig{}.to_json();
  model_defaults.erase("vocab");  // always the tokenizer's
  add_json_flags(*train, model_defaults, cmd->model_flags, "Model");
  add_json_flags(*train, train::lm_train_defaults(train::LmObjective::lm), cmd->train_flags, "Training (defaults of --objective lm)");
  train->callback([cmd] { run_train(*cmd); });

  struct BaseOptions {
    RuntimeOptions runtime;
    std::string recipe = "v1";
    std::optional<int64_t> steps, vocab, d_model, layers, heads;
    uint64_t seed = 0;
    bool rebuild = false;
    std::string ship;
  };
  auto base = std::make_shared<BaseOptions>();
  auto* base_cmd = lm->add_subcommand("base", "the shared base LM of a recipe (v1: 4 layers, d=128; v2: larger, more English; "
                                              "docs/base-lm.md), built once per configuration into the cache; prints its folder");
  base_cmd->add_option("--recipe", base->recipe, "v1 | v2 | kjv (the model-collapse pretrained model)")
      ->check(CLI::IsMember({"v1", "v2", "kjv"}))
      ->capture_default_str();
  base_cmd->add_option("--steps", base->steps, "pretraining steps (default: the recipe's)");
  base_cmd->add_option("--vocab", base->vocab, "SentencePiece vocabulary (default: the recipe's)");
  base_cmd->add_option("--d-model", base->d_model, "model width (default: the recipe's)");
  base_cmd->add_option("--layers", base->layers, "layers (default: the recipe's)");
  base_cmd->add_option("--heads", base->heads, "attention heads (default: the recipe's)");
  base_cmd->add_option("--seed", base->seed, "seed")->capture_default_str();
  base_cmd->add_flag("--rebuild", base->rebuild, "train it again even if the cache or the repository has it");
  base_cmd->add_option("--ship", base->ship,
                       "also write a copy with bf16 weights into this artifacts folder (the repository's artifacts/ ships base v2)");
  add_runtime_options(*base_cmd, base->runtime);
  base_cmd->callback([base] {
    configure_threads(base->runtime.threads);
    auto options = train::base_lm_recipe(base->recipe);
    options.seed = base->seed;
    if (base->steps) options.steps = *base->steps;
    if (base->vocab) options.vocab = *base->vocab;
    if (base->d_model) options.d_model = *base->d_model;
    if (base->layers) options.layers = *base->layers;
    if (base->heads) options.heads = *base->heads;
    const auto lm = train::ensure_base_lm(resolve_cache_dir(base->runtime.cache), resolve_data_root(base->runtime.data), options,
                                          base->rebuild);
    fmt::print("{}\n", lm.model.string());
    fmt::print(stderr, "{} base LM ({}): held-out loss {:.4f}; pretrained on {}; tokenizer {}\n",
               lm.built ? "built the" : lm.shipped ? "installed the repository's" : "cached", options.recipe, lm.val_loss, lm.sources,
               lm.tokenizer.string());
    if (!base->ship.empty()) fmt::print(stderr, "shipped copy: {}\n", train::ship_base_lm(lm, base->ship).string());
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

  struct TokenKlCommand {
    RuntimeOptions runtime;
    eval::TokenKlJob job;
  };
  auto kl = std::make_shared<TokenKlCommand>();
  auto* token_kl = lm->add_subcommand("token-kl", "KL(model || reference) at each response position of prompt-completion rows");
  token_kl->add_option("--model", kl->job.model, "model or run folder (the first argument of the KL)")->required();
  token_kl->add_option("--reference", kl->job.reference, "model or run folder (the second)")->required();
  token_kl->add_option("--responses", kl->job.responses, "prompt-completion JSONL ({\"prompt\", \"completion\"} rows)")->required();
  token_kl->add_option("--positions", kl->job.positions, "response positions reported")->capture_default_str();
  token_kl->add_option("--batch", kl->job.batch)->capture_default_str();
  add_runtime_options(*token_kl, kl->runtime);
  token_kl->callback([kl] {
    configure_threads(kl->runtime.threads);
    kl->job.device = resolve_device(kl->runtime.device);
    const auto report = eval::run_token_kl(kl->job);
    fmt::print("position\tKL (nats)\texamples\n");
    for (size_t t = 0; t < report.kl.size(); ++t) fmt::print("{}\t{:.6f}\t{}\n", t + 1, report.kl[t], report.examples[t]);
    fmt::print("all\t{:.6f}\t{} tokens\n", report.mean, report.tokens);
  });

  struct CompressCommand {
    RuntimeOptions runtime;
    eval::CompressionJob job;
  };
  auto compress = std::make_shared<CompressCommand>();
  auto* compress_cmd = lm->add_subcommand("compress", "compression rate of a corpus under a model: bits per token and per byte");
  compress_cmd->add_option("--model", compress->job.model, "model or run folder")->required();
  compress_cmd->add_option("--input", compress->job.input, "text (one document a line; .jsonl: --field) or prompt-completion JSONL")
      ->required();
  compress_cmd->add_option("--format", compress->job.format, "text | prompt-completion (the completions coded, their prompts given)")
      ->capture_default_str();
  compress_cmd->add_option("--field", compress->job.field, "with --format text: the JSONL field read from .jsonl files")->capture_default_str();
  compress_cmd->add_option("--batch", compress->job.batch)->capture_default_str();
  add_runtime_options(*compress_cmd, compress->runtime);
  compress_cmd->callback([compress] {
    configure_threads(compress->runtime.threads);
    compress->job.device = resolve_device(compress->runtime.device);
    const auto rate = eval::run_compression(compress->job);
    fmt::print("bits/token {:.4f}  bits/byte {:.4f}  ({} tokens, {} bytes)\n", rate.bits_per_token, rate.bits_per_byte, rate.tokens,
               rate.bytes);
  });

  struct ElasticityCommand {
    RuntimeOptions runtime;
    eval::ElasticityJob job;
    bool json = false;
  };
  auto elasticity = std::make_shared<ElasticityCommand>();
  auto* elasticity_cmd = lm->add_subcommand("elasticity", "the elasticity probe: how far small perturbation fine-tunes move an aligned "
                                                          "model's compression of its alignment set, of held-out lines like it and "
                                                          "of its pre-training set");
  elasticity_cmd->add_option("--model", elasticity->job.model, "the aligned model or run folder")->required();
  elasticity_cmd->add_option("--aligned", elasticity->job.aligned, "the alignment set D_a: text, one line a document")->required();
  elasticity_cmd->add_option("--held-out", elasticity->job.held_out, "lines of D_a's distribution it was not trained on")->required();
  elasticity_cmd->add_option("--pretrain", elasticity->job.pretrain, "a sample of the pre-training set D_p")->required();
  elasticity_cmd->add_option("--perturbation", elasticity->job.perturbation, "lines of the opposite behaviour; each fine-tune takes the "
                                                                             "next |D_t| of them")->required();
  elasticity_cmd->add_option("--sizes", elasticity->job.options.sizes, "perturbation sizes |D_t| (lines)")->delimiter(',')->capture_default_str();
  elasticity_cmd->add_option("--repeats", elasticity->job.options.repeats, "perturbations per size on disjoint lines; changes are their means")
      ->capture_default_str();
  elasticity_cmd->add_option("--pretrain-size", elasticity->job.pretrain_size, "|D_p| in lines for k (default: the sample's)");
  elasticity_cmd->add_option("--aligned-size", elasticity->job.aligned_size, "|D_a| in lines for k (default: the file's)");
  elasticity_cmd->add_option("--epochs", elasticity->job.options.fine_tune.epochs)->capture_default_str();
  elasticity_cmd->add_option("--batch", elasticity->job.options.fine_tune.batch)->capture_default_str();
  elasticity_cmd->add_option("--lr", elasticity->job.options.fine_tune.lr)->capture_default_str();
  elasticity_cmd->add_option("--seed", elasticity->job.options.fine_tune.seed)->capture_default_str();
  elasticity_cmd->add_option("--max-tokens", elasticity->job.options.max_tokens, "lines are cut at this many tokens")->capture_default_str();
  elasticity_cmd->add_flag("--json", elasticity->json, "print the report as one JSON object");
  // The probe's fine-tunes run on the CPU, so it takes no --device.
  elasticity_cmd->add_option("--threads", elasticity->runtime.threads, "libtorch threads (0 = all cores)")->capture_default_str();
  elasticity_cmd->callback([elasticity] {
    configure_threads(elasticity->runtime.threads);
    const auto report = eval::run_elasticity(elasticity->job);
    if (elasticity->json) {
      fmt::print("{}\n", report.to_json().dump());
      return;
    }
    fmt::print("aligned model, bits/token: D_a {:.4f}  held-out {:.4f}  D_p {:.4f}  (k = |D_p| / |D_a| = {:.1f})\n", report.rate_aligned,
               report.rate_held_out, report.rate_pretrain, report.k);
    fmt::print("|D_t|\tdelta D_a\tdelta held-out\tdelta D_p\t|held-out| / |D_p|\n");
    for (const auto& r : report.rows)
      fmt::print("{}\t{:+.4f}\t{:+.4f}\t{:+.4f}\t{:.1f}\n", r.size, r.delta_aligned, r.delta_held_out, r.delta_pretrain, r.ratio());
  });

  struct SampleCommand {
    RuntimeOptions runtime;
    train::SampleJob job;
  };
  auto sample = std::make_shared<SampleCommand>();
  auto* sample_cmd = lm->add_subcommand("sample", "a response data set: n seeded completions of every prompt of a file, as "
                                                  "prompt-completion JSONL");
  sample_cmd->add_option("--model", sample->job.model, "model or run folder")->required();
  sample_cmd->add_option("--prompts", sample->job.prompts, "prompts: text (one a line) or JSONL (--field)")->required();
  sample_cmd->add_option("--field", sample->job.field, "the prompt field of .jsonl files")->capture_default_str();
  sample_cmd->add_option("--out", sample->job.out, "JSONL of {\"prompt\", \"completion\", \"sample\"} rows")->required();
  sample_cmd->add_option("--n", sample->job.n, "completions per prompt")->capture_default_str();
  sample_cmd->add_option("--seed", sample->job.seed, "completion j of prompt i samples with seed + i x n + j")->capture_default_str();
  sample_cmd->add_option("--max-tokens", sample->job.sampling.max_new_tokens)->capture_default_str();
  sample_cmd->add_option("--temperature", sample->job.sampling.temperature, "0 = greedy")->capture_default_str();
  sample_cmd->add_option("--top-p", sample->job.sampling.top_p)->capture_default_str();
  add_runtime_options(*sample_cmd, sample->runtime);
  sample_cmd->callback([sample] {
    configure_threads(sample->runtime.threads);
    sample->job.device = resolve_device(sample->runtime.device);
    const auto rows = train::sample_responses(sample->job);
    fmt::print(stderr, "wrote {} rows to {}\n", rows, sample->job.out);
  });

  struct GenerateCommand {
    RuntimeOptions runtime;
    std::string model, prompt, stop, prefill;
    std::optional<int64_t> prefill_tokens;
    bool json = false;
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
  generate->add_option("--prefill", gen->prefill,
                       "force the completion to start with this text's tokens (a prefilling attack), then continue it");
  generate->add_option("--prefill-tokens", gen->prefill_tokens, "force only the first M tokens of --prefill (e.g. of a reference response)")
      ->check(CLI::NonNegativeNumber);
  generate->add_flag("--json", gen->json, "print one JSON object: prompt token ids, and per completion its text, token ids, "
                                          "finish reason and (with --logprobs) top log-probabilities");
  generate->add_option("--logprobs", gen->options.top_logprobs, "with --json: the N most likely next tokens at each step")
      ->capture_default_str();
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
    if (options.top_logprobs > 0 && !gen->json) usage_error("--logprobs needs --json");
    if (gen->prefill_tokens && gen->prefill.empty()) usage_error("--prefill-tokens takes the first tokens of --prefill: give --prefill");
    if (!gen->prefill.empty()) {
      options.forced_prefix = tokenizer->encode(gen->prefill);
      if (gen->prefill_tokens) {
        if (*gen->prefill_tokens > static_cast<int64_t>(options.forced_prefix.size()))
          usage_error(fmt::format("--prefill-tokens {}: --prefill has only {} tokens", *gen->prefill_tokens, options.forced_prefix.size()));
        options.forced_prefix.resize(static_cast<size_t>(*gen->prefill_tokens));
      }
    }
    auto completions = model::generate(loaded.model, ids, options);
    if (gen->json) {
      Json out{{"prompt_tokens", ids}, {"completions", Json::array()}};
      for (const auto& c : completions) {
        Json completion{{"text", tokenizer->decode(c.tokens)}, {"tokens", c.tokens}, {"finish_reason", c.finish_reason}};
        if (options.top_logprobs > 0) {
          Json steps = Json::array();
          for (const auto& step : c.top_logprobs) {
            Json top = Json::array();
            for (const auto& t : step) top.push_back({{"token", t.token}, {"logprob", t.logprob}});
            steps.push_back(top);
          }
          completion["top_logprobs"] = steps;
        }
        out["completions"].push_back(completion);
      }
      fmt::print("{}\n", out.dump());
      return;
    }
    for (size_t i = 0; i < completions.size(); ++i) {
      if (completions.size() > 1) fmt::print("--- sample {} ({})\n", i, completions[i].finish_reason);
      fmt::print("{}{}\n", prompt, tokenizer->decode(completions[i].tokens));
    }
  });
}

}  // namespace garden::cli
