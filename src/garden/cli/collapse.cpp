// garden collapse toy | lm: recursive fitting of toy families and of a language model (model-collapse.md).
#include <fmt/core.h>

#include <cmath>
#include <memory>
#include <optional>

#include "garden/cli/common.h"
#include "garden/collapse/experiments.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/progress.h"
#include "garden/core/data_root.h"
#include "garden/core/runtime.h"
#include "garden/model/model_folder.h"
#include "garden/text/tokenizer.h"
#include "garden/train/base_lm.h"
#include "garden/train/collapse_lm.h"

namespace garden::cli {

namespace {

using namespace garden::collapse;

struct ToyOptions {
  std::string family = "gaussian", out;
  std::optional<int64_t> samples, generations, seeds;
  double real_fraction = 0, zipf = 1.1, separation = 2;
  int64_t symbols = 200;
  uint64_t seed = 0;
  std::vector<int64_t> record;
  int threads = 0;
};

// The spec's sizes per family: Gaussian M = 100, 1000 generations, 1000 seeds; categorical
// M = 1000, 300 generations; mixture M = 1000, 2000 generations, 20 seeds.
ToyRun toy_run(const ToyOptions& o) {
  ToyRun run;
  const bool gaussian = o.family == "gaussian", mixture = o.family == "mixture";
  run.samples = o.samples.value_or(gaussian ? 100 : 1000);
  run.generations = o.generations.value_or(gaussian ? 1000 : mixture ? 2000 : 300);
  run.seeds = o.seeds.value_or(gaussian ? 1000 : mixture ? 20 : 100);
  run.real_fraction = o.real_fraction;
  run.seed = o.seed;
  run.record = o.record;
  run.threads = configure_threads(o.threads);
  return run;
}

std::string stats_text(const SeedStats& s, int digits) {
  return fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", s.median, digits, s.q05, digits, s.q95, digits);
}

void print_gaussian(const ToyRun& run, const GaussianTrace& t) {
  fmt::print("Gaussian N(0, 1), M = {}, rho = {}: median [5%, 95%] over {} seeds; means +- standard error\n", run.samples,
             run.real_fraction, run.seeds);
  fmt::print("{:>6}  {:<28} {:<20} {:<24} {}\n", "n", "sd", "mean var (theory 1)", "mean mu^2 (theory n/M)", "median W2");
  for (size_t i = 0; i < t.generations.size(); ++i) {
    const int64_t n = t.generations[i];
    fmt::print("{:>6}  {:<28} {:<20} {:<24} {:.4f}\n", n, stats_text(t.sd[i], 4),
               fmt::format("{:.4f} +- {:.4f}", t.variance[i].mean, t.variance[i].standard_error),
               fmt::format("{:.4f} +- {:.4f} ({:.4f})", t.squared_mean[i].mean, t.squared_mean[i].standard_error,
                           static_cast<double>(n) / static_cast<double>(run.samples)),
               t.w2[i].median);
  }
  fmt::print("seeds with sd < 0.1 at n = {}: {:.1f}%\n", t.generations.back(), 100 * share_below(t.last_sd, 0.1));
}

void print_categorical(const ToyRun& run, const CategoricalTrace& t) {
  fmt::print("categorical Zipf over {} symbols, M = {}, rho = {}: surviving symbols, median [5%, 95%] over {} seeds\n",
             t.real.size(), run.samples, run.real_fraction, run.seeds);
  for (int64_t n : log_spaced_generations(run.generations)) fmt::print("{:>6}  {}\n", n, stats_text(t.survivors[n], 1));
  fmt::print("mean original probability of the symbols that vanished {:.5f}, of those that survived {:.5f}; returns {}\n",
             t.mean_real_p_vanished, t.mean_real_p_survived, t.returns);
}

void print_mixture(const ToyRun& run, const MixtureTrace& t) {
  fmt::print("mixture 1/2 N(-s, 1) + 1/2 N(s, 1), M = {}, rho = {}, EM warm-started: median [5%, 95%] over {} seeds\n", run.samples,
             run.real_fraction, run.seeds);
  fmt::print("{:>6}  {:<28} {:<28} {:<28} {}\n", "n", "within-component variance", "total variance", "smaller weight",
             fmt::format("tail mass (real {:.5f})", t.real_tail_mass));
  for (size_t i = 0; i < t.generations.size(); ++i)
    fmt::print("{:>6}  {:<28} {:<28} {:<28} {}\n", t.generations[i], stats_text(t.within_variance[i], 4),
               stats_text(t.total_variance[i], 4), stats_text(t.min_weight[i], 3), stats_text(t.tail_mass[i], 5));
}

void add_collapse_toy(CLI::App& group) {
  auto o = std::make_shared<ToyOptions>();
  auto* cmd = group.add_subcommand("toy", "fit each generation to samples of the one before: Gaussian, categorical or mixture");
  cmd->add_option("--family", o->family, "gaussian | categorical | mixture")
      ->check(CLI::IsMember({"gaussian", "categorical", "mixture"}))
      ->capture_default_str();
  cmd->add_option("--samples", o->samples, "M, samples per generation (gaussian 100, else 1000)");
  cmd->add_option("--generations", o->generations, "fits per chain (gaussian 1000, categorical 300, mixture 2000)");
  cmd->add_option("--seeds", o->seeds, "independent chains (gaussian 1000, categorical 100, mixture 20)");
  cmd->add_option("--real-fraction", o->real_fraction, "rho: share of fresh real samples in each generation after the first")
      ->capture_default_str();
  cmd->add_option("--symbols", o->symbols, "categorical: alphabet size")->capture_default_str();
  cmd->add_option("--zipf", o->zipf, "categorical: Zipf exponent")->capture_default_str();
  cmd->add_option("--separation", o->separation, "mixture: the components' means are -s and +s")->capture_default_str();
  cmd->add_option("--record", o->record, "generations to report (default 1, 2, 5, 10, 20, ... and the last)")->delimiter(',');
  cmd->add_option("--seed", o->seed, "seed of chain 0 (chain i: seed + i)")->capture_default_str();
  cmd->add_option("--threads", o->threads, "threads over the seeds (0 = all cores)");
  cmd->add_option("--out", o->out, "also write every figure as JSON");
  cmd->callback([o] {
    if (!o->out.empty())
      refuse_foreign_output_file(o->out, "an earlier trace of garden collapse toy", [](const std::filesystem::path& file) {
        const Json earlier = read_json_file(file);
        return earlier.is_object() && earlier.contains("family") && earlier.contains("trace");
      });
    ToyRun run = toy_run(*o);
    if (!(run.real_fraction >= 0 && run.real_fraction <= 1)) usage_error("--real-fraction must be within 0..1");
    Progress progress("chains", run.seeds, "chains");
    run.progress = [&progress](int64_t done) { progress.update(done); };
    Json trace;
    if (o->family == "gaussian") {
      const auto t = run_gaussian_chains(run);
      progress.finish();
      print_gaussian(run, t);
      trace = to_json(t);
    } else if (o->family == "categorical") {
      const auto t = run_categorical_chains(run, o->symbols, o->zipf);
      progress.finish();
      print_categorical(run, t);
      trace = to_json(t);
    } else {
      const auto t = run_mixture_chains(run, o->separation);
      progress.finish();
      print_mixture(run, t);
      trace = to_json(t);
    }
    if (o->out.empty()) return;
    const Json settings = {{"samples", run.samples}, {"generations", run.generations}, {"seeds", run.seeds},
                           {"real_fraction", run.real_fraction}, {"seed", run.seed}, {"symbols", o->symbols},
                           {"zipf", o->zipf}, {"separation", o->separation}};
    write_json_atomic(o->out, Json{{"family", o->family}, {"settings", settings}, {"trace", trace}});
    fmt::print("wrote {}\n", o->out);
  });
}

struct LmOptions {
  RuntimeOptions runtime;
  train::LmCollapseOptions collapse;
  std::string model, text, out;
  int64_t train_tokens = 100000;
};

void print_generation(const train::GenerationStats& g) {
  const auto q = [&](double p) { return quantile(g.sequence_ppl, p); };
  fmt::print("{:>3}  {:>6}  {:>5}  {:>8.2f}  {:>8.2f}  {:>7.2f} {:>7.2f} {:>7.2f} {:>8.2f}  {:.3f} {:.3f} {:.3f}  {:>5.0f}\n", g.generation,
             fmt::format("{}/{}", g.real_blocks, g.blocks), g.best_epoch, g.val_ppl, g.test_ppl, q(0.05), q(0.5), q(0.95), q(0.99),
             g.distinct[0], g.distinct[1], g.distinct[2], g.seconds);
  std::fflush(stdout);
}

void add_collapse_lm(CLI::App& group) {
  auto o = std::make_shared<LmOptions>();
  auto& c = o->collapse;
  auto* cmd = group.add_subcommand("lm", "fine-tune a language model on its own continuations, generation after generation");
  cmd->add_option("--model", o->model, "pretrained model folder (default: base LM recipe kjv, built once into the cache)");
  cmd->add_option("--text", o->text, "real text, split by lines 90/5/5 (default: tiny-shakespeare under the data root)");
  cmd->add_option("--train-tokens", o->train_tokens, "tokens of the training part used (0 = all)")->capture_default_str();
  cmd->add_option("--generations", c.generations, "generations after generation 0")->capture_default_str();
  cmd->add_option("--real-fraction", c.real_fraction, "rho: share of each synthetic set's blocks taken from the real text")
      ->capture_default_str();
  cmd->add_option("--start-from", c.start_from, "gen0-best | pretrained | previous: what each generation fine-tunes")
      ->capture_default_str();
  cmd->add_option("--decoding", c.decoding, "beam | sample (temperature 1, the control)")->capture_default_str();
  cmd->add_option("--beam-width", c.beam_width, "beam width")->capture_default_str();
  cmd->add_option("--block", c.block, "tokens per prompt block and per continuation")->capture_default_str();
  cmd->add_option("--epochs", c.epochs, "epochs per generation (the best by validation perplexity is kept)")->capture_default_str();
  cmd->add_option("--batch", c.batch, "blocks per step")->capture_default_str();
  cmd->add_option("--lr", c.lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--seed", c.seed, "seed")->capture_default_str();
  cmd->add_option("--out", o->out, "run folder: gen-<n>/ per generation and collapse.json")->required();
  add_runtime_options(*cmd, o->runtime);
  cmd->callback([o] {
    o->collapse.validate();
    configure_threads(o->runtime.threads);
    if (o->train_tokens < 0) usage_error("--train-tokens must be >= 0 (0 = all)");
    claim_output_dir(o->out, "garden collapse lm");
    const auto cache = resolve_cache_dir(o->runtime.cache);
    const auto data_root = resolve_data_root(o->runtime.data);
    std::string pretrained = o->model;
    if (pretrained.empty()) {
      auto options = train::base_lm_recipe("kjv");
      options.seed = o->collapse.seed;
      pretrained = train::ensure_base_lm(cache, data_root, options, false).model.string();
    }
    const auto text = o->text.empty() ? train::default_collapse_text(cache, data_root)
                                      : train::CollapseText{o->text, o->text};
    const auto tokenizer = text::load_tokenizer(model::load_model(pretrained).tokenizer_spec);
    const auto data = train::split_collapse_text(*tokenizer, read_file(text.file), o->train_tokens);
    fmt::print("pretrained {}; real text {}: {} train / {} validation / {} test tokens\n", pretrained, text.description, data.train.size(),
               data.valid.size(), data.test.size());
    fmt::print("{:>3}  {:>6}  {:>5}  {:>8}  {:>8}  {:>7} {:>7} {:>7} {:>8}  {}  {:>5}\n", "gen", "real", "epoch", "val PPL", "test PPL",
               "p5", "p50", "p95", "p99", "distinct-1/2/3", "s");
    const auto stats = train::run_lm_collapse(pretrained, data, o->collapse, o->out, true, print_generation);
    Json generations = Json::array();
    for (const auto& g : stats) generations.push_back(g.to_json());
    write_json_atomic(std::filesystem::path(o->out) / "collapse.json",
                      Json{{"pretrained", pretrained}, {"text", text.description}, {"options", o->collapse.to_json()},
                           {"train_tokens", data.train.size()}, {"generations", generations}});
    fmt::print("per-sequence perplexity (p5..p99) is under generation 0's model; wrote {}/collapse.json\n", o->out);
  });
}

}  // namespace

void register_collapse(CLI::App& app) {
  auto* group = app.add_subcommand("collapse", "model collapse: models trained on their own generations (model-collapse.md)");
  group->require_subcommand(1);
  add_collapse_toy(*group);
  add_collapse_lm(*group);
}

}  // namespace garden::cli
