// Reproduction of "Gated Attention for Large Language Models: Non-linearity, Sparsity, and
// Attention-Sink-Free" (Qiu et al., NeurIPS 2025, arXiv:2505.06708), small scale, in two
// settings: a character-level LM (below) and Bigram-Backcopy (further down), the toy task on
// which small transformers are known to form attention sinks.
//
// The same pre-norm RMSNorm / RoPE / SwiGLU character-level LM is trained with no gate, a
// headwise G1 gate and an elementwise G1 gate (FFN narrowed to keep the parameter count),
// at lr 3e-3, plus baseline vs elementwise at lr 1e-2 as a stability probe, on two seeds since
// its margin is small against seed-to-seed noise. Every training window starts with BOS, so
// position 0 is a fixed token that can become an attention sink. Criteria follow
// ../papers/gated-attention.md "Small-scale reproduction".
#include <fmt/core.h>

#include <cmath>

#include "garden/core/data_root.h"
#include "garden/core/files.h"
#include "garden/eval/attention_stats.h"
#include "garden/eval/backcopy_stats.h"
#include "garden/model/config.h"
#include "garden/repro/toolkit.h"
#include "garden/text/bigram_backcopy.h"
#include "garden/text/prepare.h"
#include "garden/text/tokenizer.h"
#include "garden/train/batches.h"
#include "garden/train/trainer.h"

namespace garden::repro::gated_attention {

namespace {

const char* const kSlug = "gated-attention";

struct Arm {
  std::string name;
  model::AttentionGate gate;
  double lr;
  uint64_t seed_offset = 0;  // the run's seed plus this: initial weights and batch order
};

// The lr 1e-2 arms run on a second seed under these names.
std::string second_seed(const std::string& arm) { return arm + " (seed+1)"; }

struct ArmResult {
  Arm arm;
  int64_t parameters = 0;
  train::TrainResult train;
  eval::AttentionStats stats;
  std::vector<double> gate_mean_by_eval;  // gate mean at each evaluation during training
};

// Text for the experiment: tiny-shakespeare from the data root, else the built-in corpus.
struct ExperimentText {
  std::string train, valid, description;
};

ExperimentText load_text(const Context& ctx) {
  if (auto file = data_file(ctx, "tinyshakespeare", "input.txt")) {
    const std::string all = read_file(*file);
    const size_t cut = all.size() * 9 / 10;  // the usual 90/10 split of char-level nanoGPT
    return {all.substr(0, cut), all.substr(cut),
            fmt::format("tiny-shakespeare from the data root ({}), character level, 90/10 split", file->parent_path().string())};
  }
  auto corpus = text::prepare_default_corpus(text::default_corpus_dir(ctx.cache));
  return {read_file(corpus.split("train")), read_file(corpus.split("valid")),
          "built-in corpus (King James Bible + WordNet glosses from Debian packages; tiny-shakespeare not found "
          "under the data root), character level"};
}

model::TransformerConfig model_config(const Context& ctx, int64_t vocab) {
  model::TransformerConfig c;
  c.vocab = vocab;
  c.norm = model::Norm::rmsnorm;
  c.pos = model::Positions::rope;
  c.mlp = model::Mlp::swiglu;
  c.d_model = ctx.pick<int64_t>(32, 128, 256);
  c.n_layers = ctx.pick<int64_t>(2, 4, 8);
  c.n_heads = ctx.pick<int64_t>(2, 4, 8);
  c.d_ff = ctx.pick<int64_t>(88, 344, 688);  // 8C/3 rounded up to 8, stated so narrowing is explicit
  c.max_seq = ctx.pick<int64_t>(32, 128, 256);
  return c;
}

train::TrainConfig train_config(const Context& ctx, int64_t seq) {
  train::TrainConfig tc;
  tc.seq = seq;
  tc.batch = ctx.pick<int64_t>(4, 16, 32);
  // quick: seven arms of 300 steps, two at a time, take about 4.5 minutes on 2 cores, 6 with the
  // Bigram-Backcopy part.
  tc.steps = ctx.pick<int64_t>(20, 300, 6000);
  tc.warmup = ctx.pick<int64_t>(5, 30, 300);
  tc.weight_decay = 0.1;
  tc.beta1 = 0.9;
  tc.beta2 = 0.95;
  tc.grad_clip = 1.0;
  tc.eval_every = ctx.pick<int64_t>(10, 100, 1000);
  tc.eval_windows = ctx.pick<int64_t>(8, 64, 200);
  tc.checkpoint_every = 0;
  tc.seed = ctx.seed;
  return tc;
}

// The arm's token windows: the same evaluation windows for every seed (evenly spaced), the
// training batches drawn with the arm's seed.
struct Tokens {
  std::vector<int32_t> train, valid;
  int64_t bos;
};

ArmResult train_arm(const Context& ctx, const Arm& arm, const model::TransformerConfig& base, const train::TrainConfig& tc,
                    const Tokens& tokens, const std::string& tokenizer_spec) {
  const uint64_t seed = ctx.seed + arm.seed_offset;
  auto config = base;
  config.attention_gate = arm.gate;
  if (arm.gate != model::AttentionGate::none) config.d_ff = model::d_ff_matching_ungated(config);
  // Same initial weights for the shared parameters of arms on one seed.
  auto model = with_seed(seed, [&] { return model::Transformer(config); });
  model->to(ctx.device);
  auto arm_tc = tc;
  arm_tc.lr = arm.lr;
  arm_tc.seed = seed;
  const train::TokenWindows data(tokens.train, tokens.valid, tokens.bos, tc.seq, tc.batch, tc.eval_windows, seed);
  const auto eval_batches = data.eval_batches();
  train::Trainer trainer(arm_tc, ctx.out / "arms" / arm.name);
  trainer.quiet = true;  // arms train side by side under one progress bar
  trainer.tokenizer_spec = tokenizer_spec;
  ArmResult r;
  r.arm = arm;
  r.parameters = model->parameter_count();
  const auto hook = [&](model::Transformer& m, int64_t, Json& metrics) {
    if (arm.gate == model::AttentionGate::none) return;
    const std::vector<train::Batch> probe(eval_batches.begin(), eval_batches.begin() + 1);
    const auto stats = eval::attention_stats(m, probe);
    metrics["gate_mean"] = stats.gate_mean;
    r.gate_mean_by_eval.push_back(stats.gate_mean);
  };
  r.train = trainer.fit(model, data, /*resume=*/false, hook);
  r.stats = eval::attention_stats(model, eval_batches);
  return r;
}

Json arm_figures(const ArmResult& r, uint64_t run_seed) {
  return {{"lr", r.arm.lr}, {"seed", run_seed + r.arm.seed_offset}, {"parameters", r.parameters}, {"val_loss", r.train.val_loss},
          {"f_attn", r.stats.first_token_attention}, {"f_attn_mean", r.stats.mean_first_token_attention},
          {"m_act", r.stats.max_activation}, {"m_act_mean", r.stats.mean_max_activation},
          {"gate_mean", r.stats.gate_mean}, {"gate_below_0_1", r.stats.gate_fraction_below_0_1},
          {"gate_mean_by_eval", r.gate_mean_by_eval}, {"loss_spikes", r.train.loss_spikes},
          {"tokens_per_second", r.train.tokens_per_second}, {"seconds", r.train.seconds}};
}

std::vector<Table> tables(const std::vector<ArmResult>& results, const train::TrainConfig& tc, int64_t layers, uint64_t run_seed) {
  Table summary{"Arms (validation: " + std::to_string(tc.eval_windows) + " windows of " + std::to_string(tc.seq) + " characters)",
                {"arm", "lr", "seed", "params", "val loss (nats/char)", "F-Attn (mean over layers)", "M-Act (mean over layers)",
                 "gate mean", "gate < 0.1", "loss spikes", "tokens/s"},
                {}};
  Table per_layer{"Per layer: first-token attention share (F-Attn) / largest activation (M-Act)", {"arm"}, {}};
  for (int64_t l = 0; l < layers; ++l) per_layer.header.push_back("layer " + std::to_string(l));
  for (const auto& r : results) {
    const bool gated = r.arm.gate != model::AttentionGate::none;
    summary.rows.push_back({r.arm.name, Cell(fmt::format("{:g}", r.arm.lr), r.arm.lr), integer(static_cast<int64_t>(run_seed + r.arm.seed_offset)),
                            integer(r.parameters), num(r.train.val_loss, 4),
                            num(r.stats.mean_first_token_attention, 4), num(r.stats.mean_max_activation, 2),
                            gated ? num(r.stats.gate_mean, 3) : missing(), gated ? num(r.stats.gate_fraction_below_0_1, 3) : missing(),
                            integer(r.train.loss_spikes), num(r.train.tokens_per_second, 0)});
    std::vector<Cell> row{r.arm.name};
    for (size_t l = 0; l < r.stats.first_token_attention.size(); ++l)
      row.push_back(fixed(r.stats.first_token_attention[l], 3) + " / " + fixed(r.stats.max_activation[l], 1));
    per_layer.rows.push_back(row);
  }
  return {summary, per_layer};
}

std::vector<Plot> plots(const std::vector<ArmResult>& results) {
  Plot loss_plot{"training_loss.svg", "Training loss (EMA 0.9)", "step", "loss (nats/char)", {}, false};
  for (const auto& r : results) {
    Series s{r.arm.name, {}, {}};
    double ema = 0;
    for (size_t i = 0; i < r.train.step_losses.size(); ++i) {
      ema = i == 0 ? r.train.step_losses[i] : 0.9 * ema + 0.1 * r.train.step_losses[i];
      if (i % 5 == 0) {
        s.x.push_back(static_cast<double>(i + 1));
        s.y.push_back(ema);
      }
    }
    loss_plot.series.push_back(s);
  }
  Plot sink_plot{"first_token_attention.svg", "Attention on the first token per layer (F-Attn)", "layer",
                 "mean attention probability on key 0", {}, false};
  for (const auto& r : results) {
    Series s{r.arm.name, {}, {}};
    for (size_t l = 0; l < r.stats.first_token_attention.size(); ++l) {
      s.x.push_back(static_cast<double>(l));
      s.y.push_back(r.stats.first_token_attention[l]);
    }
    sink_plot.series.push_back(s);
  }
  return {loss_plot, sink_plot};
}

// ---- Bigram-Backcopy: the toy setting where small transformers form a sink ----------------
//
// Guo et al. (arXiv:2410.13835) show attention sinks, value-state drains and residual peaks in
// 1-3 layer transformers trained on Bigram-Backcopy (text/bigram_backcopy.h): the head that
// copies after a trigger has nothing to do elsewhere and parks its attention on BOS. Here the
// same three attention variants are trained on it at matched parameter counts, same seed and
// steps, to test whether the G1 gate lets a dormant head switch off without a sink.

const char* const kBackcopyPrefix = "BB ";  // figure keys of the Bigram-Backcopy arms: "BB baseline", ...

struct BackcopyArm {
  std::string name;
  model::AttentionGate gate;
};

struct BackcopyResult {
  BackcopyArm arm;
  int64_t parameters = 0;
  train::TrainResult train;
  eval::BackcopyStats stats;
  std::vector<double> eval_steps, sink_by_eval;  // largest dormant BOS share at each evaluation
};

// The paper's BB model (its BBM/model.py): pre-norm LayerNorm, learned absolute positions, a
// GELU MLP, an untied output layer, one head per layer. With garden's LM recipe (RMSNorm, RoPE,
// SwiGLU, tied embeddings) the sink forms too, but slowly: a largest dormant BOS share of about
// 0.2 after 2000 steps (docs/repro/gated-attention.md).
model::TransformerConfig backcopy_config(const Context& ctx, int64_t vocab) {
  model::TransformerConfig c;
  c.vocab = vocab;
  c.norm = model::Norm::layernorm;
  c.pos = model::Positions::learned;
  c.mlp = model::Mlp::gelu;
  c.tie_embeddings = false;
  c.d_model = ctx.pick<int64_t>(32, 64, 256);
  c.n_layers = ctx.pick<int64_t>(2, 3, 3);
  c.n_heads = 1;
  c.d_ff = 4 * c.d_model;
  c.max_seq = ctx.pick<int64_t>(32, 64, 256);
  return c;
}

train::TrainConfig backcopy_train_config(const Context& ctx, int64_t seq) {
  train::TrainConfig tc;
  tc.seq = seq;
  tc.batch = ctx.pick<int64_t>(8, 32, 64);
  tc.steps = ctx.pick<int64_t>(20, 1000, 10000);
  // The paper trains with lr 3e-4 for 10k steps of 512 sequences; at a 1000-step budget the
  // sink forms at 1e-2 (weight decay as the paper's, 1e-4).
  tc.lr = 1e-2;
  tc.warmup = ctx.pick<int64_t>(5, 50, 300);
  tc.weight_decay = 1e-4;
  tc.beta1 = 0.9;
  tc.beta2 = 0.95;
  tc.grad_clip = 1.0;
  tc.eval_every = ctx.pick<int64_t>(10, 50, 250);
  tc.checkpoint_every = 0;
  tc.seed = ctx.seed;
  return tc;
}

BackcopyResult train_backcopy_arm(const Context& ctx, const BackcopyArm& arm, const model::TransformerConfig& base,
                                  const train::TrainConfig& tc, const train::BigramBackcopyBatches& data) {
  auto config = base;
  config.attention_gate = arm.gate;
  if (arm.gate != model::AttentionGate::none) config.d_ff = model::d_ff_matching_ungated(config);
  auto model = with_seed(ctx.seed, [&] { return model::Transformer(config); });
  model->to(ctx.device);
  const auto eval_batches = data.eval_batches();
  train::Trainer trainer(tc, ctx.out / "bigram-backcopy" / arm.name);
  trainer.quiet = true;  // arms train side by side under one progress bar
  BackcopyResult r;
  r.arm = arm;
  r.parameters = model->parameter_count();
  const auto hook = [&](model::Transformer& m, int64_t step, Json& metrics) {
    const std::vector<train::Batch> probe(eval_batches.begin(), eval_batches.begin() + 1);
    const auto stats = eval::backcopy_stats(m, probe, data.task());
    metrics["bos_share_dormant_max"] = stats.max_bos_share_elsewhere;
    r.eval_steps.push_back(static_cast<double>(step));
    r.sink_by_eval.push_back(stats.max_bos_share_elsewhere);
  };
  r.train = trainer.fit(model, data, /*resume=*/false, hook);
  r.stats = eval::backcopy_stats(model, eval_batches, data.task());
  return r;
}

Json backcopy_figures(const BackcopyResult& r, double loss_floor) {
  return {{"parameters", r.parameters}, {"val_loss", r.stats.loss}, {"loss_floor", loss_floor},
          {"copy_accuracy", r.stats.copy_accuracy}, {"bos_share_dormant_max", r.stats.max_bos_share_elsewhere},
          {"bos_share_dormant", r.stats.bos_share_elsewhere}, {"bos_share_active", r.stats.bos_share_at_triggers},
          {"value_norm_ratio", r.stats.value_norm_ratio}, {"residual_norm_ratio", r.stats.residual_norm_ratio},
          {"residual_peak", r.stats.max_residual_norm_ratio}, {"eval_steps", r.eval_steps},
          {"bos_share_dormant_by_eval", r.sink_by_eval}, {"seconds", r.train.seconds},
          {"tokens_per_second", r.train.tokens_per_second}};
}

// Per layer and head: "dormant / active BOS share, value-norm ratio".
std::vector<Table> backcopy_tables(const std::vector<BackcopyResult>& results, double loss_floor, int64_t layers, int64_t heads) {
  Table summary{fmt::format("Bigram-Backcopy arms (held-out sequences, whose loss floor is {:.4f} nats/token)", loss_floor),
                {"arm", "params", "val loss", "above floor", "copy accuracy (%)", "largest dormant BOS share",
                 "residual peak (|h_BOS| / mean |h|, blocks before the last)", "tokens/s"},
                {}};
  Table per_head{"Bigram-Backcopy per head: BOS share on dormant (non-trigger) / active (trigger) queries; value drain "
                 "|v_BOS| / mean |v|; residual |h_BOS| / mean |h| after the layer",
                 {"arm"}, {}};
  for (int64_t l = 0; l < layers; ++l)
    for (int64_t h = 0; h < heads; ++h) per_head.header.push_back(fmt::format("layer {} head {}", l, h));
  for (int64_t l = 0; l < layers; ++l) per_head.header.push_back(fmt::format("residual {}", l));
  for (const auto& r : results) {
    summary.rows.push_back({r.arm.name, integer(r.parameters), num(r.stats.loss, 4), num(r.stats.loss - loss_floor, 4),
                            pct(r.stats.copy_accuracy), num(r.stats.max_bos_share_elsewhere, 3), num(r.stats.max_residual_norm_ratio, 2),
                            num(r.train.tokens_per_second, 0)});
    std::vector<Cell> row{r.arm.name};
    for (size_t l = 0; l < r.stats.bos_share_elsewhere.size(); ++l)
      for (size_t h = 0; h < r.stats.bos_share_elsewhere[l].size(); ++h)
        row.push_back(fmt::format("{} / {}, {}", fixed(r.stats.bos_share_elsewhere[l][h], 3), fixed(r.stats.bos_share_at_triggers[l][h], 3),
                                  fixed(r.stats.value_norm_ratio[l][h], 2)));
    for (double ratio : r.stats.residual_norm_ratio) row.push_back(fixed(ratio, 2));
    per_head.rows.push_back(row);
  }
  return {summary, per_head};
}

Plot backcopy_sink_plot(const std::vector<BackcopyResult>& results) {
  Plot plot{"bigram_backcopy_sink.svg", "Bigram-Backcopy: largest BOS share of dormant queries over training", "step",
            "attention on BOS (max over heads)", {}, false};
  for (const auto& r : results) plot.series.push_back({r.arm.name, r.eval_steps, r.sink_by_eval});
  return plot;
}

// The best achievable loss on the held-out sequences themselves (nats/token): the task's
// own negative log-likelihood of each, where loss_floor gives its expectation.
double held_out_floor(const train::BigramBackcopyBatches& data) {
  double nll = 0, tokens = 0;
  for (const auto& batch : data.eval_batches()) {
    const auto input = batch.input.to(torch::kCPU), target = batch.target.to(torch::kCPU);
    for (int64_t r = 0; r < input.size(0); ++r) {
      std::vector<int32_t> seq;
      for (int64_t t = 0; t < input.size(1); ++t) seq.push_back(static_cast<int32_t>(input[r][t].item<int64_t>()));
      seq.push_back(static_cast<int32_t>(target[r][input.size(1) - 1].item<int64_t>()));
      nll += data.task().negative_log_likelihood(seq);
      tokens += static_cast<double>(input.size(1));
    }
  }
  return nll / tokens;
}

// Trains the three Bigram-Backcopy arms; adds their figures, tables, plot and notes to `result`.
void run_bigram_backcopy(const Context& ctx, const std::string& text, Result& result) {
  const int64_t trigger_count = 3;  // the paper's 3-layer runs use k = 3
  auto task = text::BigramBackcopy::from_text(text, trigger_count);
  const auto base = backcopy_config(ctx, task.vocab_size());
  const auto tc = backcopy_train_config(ctx, base.max_seq);
  const double expected_floor = task.loss_floor(tc.seq + 1);
  std::string trigger_names;
  for (int32_t t : task.triggers()) trigger_names += (trigger_names.empty() ? "" : ", ") + fmt::format("{:?}", task.symbol(t));
  const train::BigramBackcopyBatches data(std::move(task), tc.seq, tc.batch, ctx.pick<int64_t>(16, 128, 256), ctx.seed);
  const double floor = held_out_floor(data);
  const std::vector<BackcopyArm> arms = {{"baseline", model::AttentionGate::none},
                                         {"headwise", model::AttentionGate::headwise},
                                         {"elementwise", model::AttentionGate::elementwise}};
  std::vector<BackcopyResult> results(arms.size());
  std::vector<Job> jobs;
  for (size_t i = 0; i < arms.size(); ++i)
    jobs.push_back({arms[i].name, [&, i] { results[i] = train_backcopy_arm(ctx, arms[i], base, tc, data); }});
  say(ctx, kSlug, fmt::format("{} Bigram-Backcopy arms of {} steps", arms.size(), tc.steps));
  run_side_by_side(ctx, "Bigram-Backcopy arms", jobs);
  for (const auto& r : results) result.figures[kBackcopyPrefix + r.arm.name] = backcopy_figures(r, floor);
  for (auto& table : backcopy_tables(results, floor, base.n_layers, base.n_heads)) result.tables.push_back(std::move(table));
  result.plots.push_back(backcopy_sink_plot(results));
  result.notes.push_back(fmt::format(
      "Bigram-Backcopy: the byte bigrams of the same training text ({} tokens + BOS), triggers {} (its {} most frequent "
      "bytes); {} layer(s), d={}, {} head(s), pre-norm LayerNorm, learned positions, GELU MLP, untied output (d_ff {} "
      "baseline, narrowed for gated arms); AdamW, "
      "lr {:g}, wd {:g}, warmup {}, cosine, batch {} x {} tokens, {} steps; statistics on {} held-out sequences. "
      "A query is dormant when its token is not a trigger (nothing to copy), active when it is.",
      data.task().vocab_size() - 1, trigger_names, trigger_count, base.n_layers, base.d_model, base.n_heads, base.d_ff, tc.lr,
      tc.weight_decay, tc.warmup, tc.batch, tc.seq, tc.steps, ctx.pick<int64_t>(16, 128, 256)));
  result.notes.push_back(fmt::format("Bigram-Backcopy loss floor: {:.4f} nats/token on the held-out sequences (the task's own "
                                     "likelihood of them), {:.4f} in expectation over sequences of BOS + {} tokens.",
                                     floor, expected_floor, tc.seq));
}

Result run(const Context& ctx) {
  Result result;
  const auto text = load_text(ctx);
  result.data_used = text.description;
  text::ByteTokenizer tokenizer;
  const auto base = model_config(ctx, tokenizer.vocab_size());
  const auto tc = train_config(ctx, base.max_seq);
  const auto train_tokens = train::encode_corpus(tokenizer, text.train);
  const auto valid_tokens = train::encode_corpus(tokenizer, text.valid);
  const Tokens tokens{train_tokens, valid_tokens, tokenizer.bos_id()};

  const std::vector<Arm> arms = {{"baseline", model::AttentionGate::none, 3e-3},
                                 {"headwise", model::AttentionGate::headwise, 3e-3},
                                 {"elementwise", model::AttentionGate::elementwise, 3e-3},
                                 {"baseline@1e-2", model::AttentionGate::none, 1e-2},
                                 {"elementwise@1e-2", model::AttentionGate::elementwise, 1e-2},
                                 {second_seed("baseline@1e-2"), model::AttentionGate::none, 1e-2, 1},
                                 {second_seed("elementwise@1e-2"), model::AttentionGate::elementwise, 1e-2, 1}};
  std::vector<ArmResult> results(arms.size());
  std::vector<Job> jobs;
  for (size_t i = 0; i < arms.size(); ++i)
    jobs.push_back({arms[i].name, [&, i] { results[i] = train_arm(ctx, arms[i], base, tc, tokens, tokenizer.spec()); }});
  say(ctx, kSlug, fmt::format("{} language-model arms of {} steps", arms.size(), tc.steps));
  run_side_by_side(ctx, "language-model arms", jobs);
  for (const auto& r : results) result.figures[r.arm.name] = arm_figures(r, ctx.seed);
  result.tables = tables(results, tc, base.n_layers, ctx.seed);
  result.plots = plots(results);

  // Uniform causal attention over T positions puts mean_{i=1..T-1} 1/(i+1) on key 0: the
  // level F-Attn would have with no sink at all.
  double uniform = 0;
  for (int64_t i = 1; i < tc.seq; ++i) uniform += 1.0 / static_cast<double>(i + 1);
  uniform /= static_cast<double>(tc.seq - 1);
  result.notes.push_back(fmt::format("Uniform causal attention over {} positions would give F-Attn {:.4f}; a sink is "
                                     "attention on the first token well above that.", tc.seq, uniform));
  result.notes.push_back(fmt::format("Model: {} layers, d={}, {} heads, RMSNorm, RoPE, SwiGLU (d_ff {} baseline, narrowed for "
                                     "gated arms); AdamW (0.9, 0.95), wd 0.1, warmup {}, cosine, batch {} x {} characters, {} steps.",
                                     base.n_layers, base.d_model, base.n_heads, base.d_ff, tc.warmup, tc.batch, tc.seq, tc.steps));
  result.notes.push_back("The paper's gains are measured at hundreds of billions of tokens; at this budget the loss criterion "
                         "is non-inferiority only, and the character-level model may form no sink at lr 3e-3 (its sink check "
                         "is then not judged). Bigram-Backcopy is the setting built to form one; its sink is the run's precondition.");
  run_bigram_backcopy(ctx, text.train, result);
  return result;
}

// The spec's criteria ("Small-scale reproduction") on the language-model arms and the
// issue's on Bigram-Backcopy, read from the arms' figures by name. The language model's
// sink-removal check is judged only where its baseline formed a sink; Bigram-Backcopy's sink
// is the run's precondition, since that is the setting built to form one.
std::vector<Criterion> criteria(const Json& figures) {
  const Json& baseline = field(figures, "baseline");
  const Json& elementwise = field(figures, "elementwise");
  // The lr 1e-2 figures on both seeds.
  const auto on_both_seeds = [&](const std::string& arm, const std::string& key) {
    return std::vector<double>{number(field(figures, arm), key), number(field(figures, second_seed(arm)), key)};
  };
  const auto f_base = q("baseline F-Attn", number(baseline, "f_attn_mean"), 4);
  const auto gates = numbers(elementwise, "gate_mean_by_eval");
  const bool falling = gates.size() >= 2 && gates.back() < gates.front();
  const std::string bb = kBackcopyPrefix;
  const Json& bb_baseline = field(figures, bb + "baseline");
  const Json& bb_elementwise = field(figures, bb + "elementwise");
  const auto bb_sink = q("BB baseline largest dormant BOS share", number(bb_baseline, "bos_share_dormant_max"), 3);
  return {
      judged_only_if(at_least(f_base, 0.15),
                     criterion("the elementwise gate removes the language model's sink",
                               {ratio_at_most(q("elementwise F-Attn", number(elementwise, "f_attn_mean"), 4), f_base, 0.5)})),
      criterion("the elementwise gate damps massive activations", {below(q("elementwise M-Act", number(elementwise, "m_act_mean")), q("baseline M-Act", number(baseline, "m_act_mean")))}),
      criterion("the gate is sparse", {below(q("elementwise mean gate score", number(elementwise, "gate_mean"), 3), 0.5),
                      holds("the gate mean falls during training (last evaluation < first)", falling,
                            "by evaluation: " + joined_numbers(gates, 3))}),
      criterion("the gate costs no validation loss (non-inferiority)", {at_most(q("elementwise val loss", number(elementwise, "val_loss"), 4),
                              q("baseline val loss", number(baseline, "val_loss"), 4), 0.01)}),
      criterion("the gate stabilises training at lr 1e-2",
                {at_most_on_every_seed(seeded("loss spikes at lr 1e-2, elementwise", on_both_seeds("elementwise@1e-2", "loss_spikes"), 0),
                                       seeded("baseline", on_both_seeds("baseline@1e-2", "loss_spikes"), 0)),
                 below_on_every_seed(seeded("val loss at lr 1e-2, elementwise", on_both_seeds("elementwise@1e-2", "val_loss"), 4),
                                     seeded("baseline", on_both_seeds("baseline@1e-2", "val_loss"), 4))}),
      criterion("the baseline forms a sink on Bigram-Backcopy", {at_least(bb_sink, 0.5)}, /*gate=*/true),
      criterion("the elementwise gate removes the Bigram-Backcopy sink",
                {ratio_at_most(q("BB elementwise largest dormant BOS share", number(bb_elementwise, "bos_share_dormant_max"), 3), bb_sink, 0.5)}),
      criterion("the gate lowers the residual peak at BOS",
                {below(q("BB elementwise residual peak", number(bb_elementwise, "residual_peak")),
                       q("BB baseline residual peak", number(bb_baseline, "residual_peak")))}),
      criterion("the gate keeps the copying",
                {at_least(q("BB elementwise copy accuracy (%)", 100 * number(bb_elementwise, "copy_accuracy"), 1),
                          q("BB baseline copy accuracy (%)", 100 * number(bb_baseline, "copy_accuracy"), 1), -1)}),
  };
}

const Registration registered{{
    .slug = kSlug,
    .title = "Gated attention: a sigmoid gate after SDPA",
    .paper = "Qiu et al., Gated Attention for Large Language Models: Non-linearity, Sparsity, and Attention-Sink-Free, "
             "NeurIPS 2025, arXiv:2505.06708",
    .claim = "A head-specific, query-dependent sigmoid gate on each head's SDPA output (G1) lowers perplexity, makes "
             "training stable at high learning rates, and removes the attention sink and massive activations.",
    .budget = "quick: about 6 minutes on 2 CPU cores (seven language-model arms of 300 steps, three Bigram-Backcopy arms "
              "of 1000); full: hours on a GPU",
    .figures_version = 4,
    .run = run,
    .criteria = criteria,
}};

}  // namespace

}  // namespace garden::repro::gated_attention
