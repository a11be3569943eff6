// Reproduction of "AI models collapse when trained on recursively generated data"
// (Shumailov, Shumaylov, Zhao, Papernot, Anderson, Gal, Nature 631, 2024; spec:
// ../papers/model-collapse.md), the small-scale plan: Gaussians re-fitted by unbiased
// estimators, a Zipf categorical re-fitted by its frequencies, a two-component mixture
// re-fitted by EM, and a small language model fine-tuned on its own beam-search continuations
// with and without 10% real data (the same epochs in both regimes), with a sampling control.
#include <fmt/core.h>

#include <cmath>
#include <map>

#include "garden/collapse/experiments.h"
#include "garden/core/files.h"
#include "garden/model/model_folder.h"
#include "garden/repro/toolkit.h"
#include "garden/text/tokenizer.h"
#include "garden/train/base_lm.h"
#include "garden/train/collapse_lm.h"

namespace garden::repro::model_collapse {

namespace {

using namespace garden::collapse;

const char* const kSlug = "model-collapse";

struct Sizes {
  std::vector<int64_t> gaussian_samples;  // M per chain family
  int64_t gaussian_generations, gaussian_seeds, moment_seeds;
  int64_t symbols, categorical_samples, categorical_generations, categorical_seeds;
  int64_t mixture_samples, mixture_generations, mixture_seeds;
  int64_t lm_train_tokens, lm_eval_tokens, lm_generations, lm_epochs, lm_seeds;  // LM: seeds of each beam regime
};

Sizes sizes_for(const Context& ctx) {
  return {.gaussian_samples = {10, 100, 1000},
          .gaussian_generations = ctx.pick<int64_t>(50, 1000, 1000),
          .gaussian_seeds = ctx.pick<int64_t>(50, 1000, 1000),
          .moment_seeds = ctx.pick<int64_t>(500, 10000, 10000),
          .symbols = 200,
          .categorical_samples = 1000,
          .categorical_generations = ctx.pick<int64_t>(30, 300, 300),
          .categorical_seeds = ctx.pick<int64_t>(5, 100, 100),
          .mixture_samples = 1000,
          .mixture_generations = ctx.pick<int64_t>(20, 2000, 2000),
          .mixture_seeds = ctx.pick<int64_t>(2, 20, 20),
          .lm_train_tokens = ctx.pick<int64_t>(1280, 9600, 100000),
          .lm_eval_tokens = ctx.pick<int64_t>(640, 4800, 0),
          .lm_generations = ctx.pick<int64_t>(2, 5, 10),
          .lm_epochs = ctx.pick<int64_t>(1, 2, 5),
          .lm_seeds = ctx.pick<int64_t>(1, 2, 5)};
}

ToyRun toy_run(const Context& ctx, int64_t samples, int64_t generations, int64_t seeds, std::vector<int64_t> record = {}) {
  return {.samples = samples, .generations = generations, .seeds = seeds, .real_fraction = 0, .seed = ctx.seed,
          .threads = torch::get_num_threads(), .record = std::move(record)};  // --threads; the figures do not depend on it
}

std::string key(int64_t m) { return "M" + std::to_string(m); }

// ---- Gaussian ------------------------------------------------------------------------------

Json gaussian(const Context& ctx, const Sizes& s, Result& result) {
  Json figures = Json::object();
  // n = 10, 100 and the last generation, those that exist at this scale.
  std::vector<int64_t> at;
  for (int64_t n : {int64_t{10}, int64_t{100}, s.gaussian_generations})
    if (n <= s.gaussian_generations && (at.empty() || at.back() < n)) at.push_back(n);
  Table paths{fmt::format("Gaussian N(0, 1) re-fitted by mean and unbiased variance: sd after n fits, median [5%, 95%] over {} seeds",
                          s.gaussian_seeds),
              {"M"}, {}};
  for (int64_t n : at) paths.header.push_back(fmt::format("n = {}", n));
  paths.header.push_back(fmt::format("seeds with sd < 0.1 at n = {}", s.gaussian_generations));
  Table moments{fmt::format("Unbiased moments at n = 10 over {} seeds: means +- standard error beside theory", s.moment_seeds),
                {"M", "mean sigma^2", "theory", "mean mu^2", "theory n/M"}, {}};
  Plot plot{"gaussian-sd.svg", "Gaussian chains: median sd after n fits", "generation n", "median sd", {}, true, true};
  for (int64_t m : s.gaussian_samples) {
    say(ctx, kSlug, fmt::format("Gaussian chains, M = {}", m));
    std::vector<int64_t> record = log_spaced_generations(s.gaussian_generations);
    const auto trace = run_gaussian_chains(toy_run(ctx, m, s.gaussian_generations, s.gaussian_seeds, record));
    const auto moment = run_gaussian_chains(toy_run(ctx, m, 10, s.moment_seeds, {10}));
    Json f = {{"median_sd", Json::object()}, {"share_below_0.1", share_below(trace.last_sd, 0.1)},
              {"var_mean", moment.variance.back().mean}, {"var_se", moment.variance.back().standard_error},
              {"sq_mean", moment.squared_mean.back().mean}, {"sq_se", moment.squared_mean.back().standard_error},
              {"sq_theory", 10.0 / static_cast<double>(m)}};
    std::vector<Cell> row{integer(m)};
    Series series{key(m), {}, {}};
    for (size_t i = 0; i < trace.generations.size(); ++i) {
      series.x.push_back(static_cast<double>(trace.generations[i]));
      series.y.push_back(trace.sd[i].median);
      for (int64_t n : at)
        if (trace.generations[i] == n) {
          f["median_sd"][std::to_string(n)] = trace.sd[i].median;
          row.push_back(Cell(fmt::format("{:.4f} [{:.4f}, {:.4f}]", trace.sd[i].median, trace.sd[i].q05, trace.sd[i].q95),
                             trace.sd[i].median));
        }
    }
    row.push_back(pct(share_below(trace.last_sd, 0.1)));
    paths.rows.push_back(row);
    moments.rows.push_back({integer(m), Cell(fmt::format("{:.4f} +- {:.4f}", moment.variance.back().mean, moment.variance.back().standard_error),
                                             moment.variance.back().mean),
                            num(1.0, 4),
                            Cell(fmt::format("{:.5f} +- {:.5f}", moment.squared_mean.back().mean, moment.squared_mean.back().standard_error),
                                 moment.squared_mean.back().mean),
                            num(10.0 / static_cast<double>(m), 5)});
    plot.series.push_back(series);
    figures[key(m)] = f;
  }
  result.tables.push_back(paths);
  result.tables.push_back(moments);
  result.plots.push_back(plot);
  return figures;
}

// ---- categorical -----------------------------------------------------------------------------

Json categorical(const Context& ctx, const Sizes& s, Result& result) {
  say(ctx, kSlug, "categorical chains");
  const auto t = run_categorical_chains(toy_run(ctx, s.categorical_samples, s.categorical_generations, s.categorical_seeds),
                                        s.symbols, 1.1);
  Table table{fmt::format("Zipf(1.1) over {} symbols re-fitted by frequencies, M = {}: surviving symbols, median [5%, 95%] over {} seeds",
                          s.symbols, s.categorical_samples, s.categorical_seeds),
              {"generation", "survivors"}, {}};
  std::vector<int64_t> shown = {0};
  for (int64_t n : log_spaced_generations(s.categorical_generations)) shown.push_back(n);
  for (int64_t n : shown)
    table.rows.push_back({integer(n), Cell(fmt::format("{:.0f} [{:.0f}, {:.0f}]", t.survivors[n].median, t.survivors[n].q05, t.survivors[n].q95),
                                           t.survivors[n].median)});
  result.tables.push_back(table);
  // Per seed, whether the survivors ever rose from one generation to the next.
  const double last = t.survivors.back().median;
  result.notes.push_back(fmt::format("Categorical: mean original probability {:.5f} of the symbols that vanished, {:.5f} of those that "
                                     "survived; {} symbols came back after vanishing.",
                                     t.mean_real_p_vanished, t.mean_real_p_survived, t.returns));
  return {{"symbols", s.symbols}, {"survivors_last_median", last}, {"returns", t.returns},
          {"mean_p_vanished", t.mean_real_p_vanished}, {"mean_p_survived", t.mean_real_p_survived}};
}

// ---- mixture -------------------------------------------------------------------------------

Json mixture(const Context& ctx, const Sizes& s, Result& result) {
  say(ctx, kSlug, "mixture chains (EM)");
  std::vector<int64_t> record;
  for (int64_t n : {1, 50, 100, 150, 200, 350, 1000, 2000})  // the paper's figure's generations
    if (n <= s.mixture_generations) record.push_back(n);
  if (record.back() != s.mixture_generations) record.push_back(s.mixture_generations);
  const auto t = run_mixture_chains(toy_run(ctx, s.mixture_samples, s.mixture_generations, s.mixture_seeds, record), 2.0);
  Table table{fmt::format("1/2 N(-2, 1) + 1/2 N(2, 1) re-fitted by EM (warm start), M = {}: median [5%, 95%] over {} seeds",
                          s.mixture_samples, s.mixture_seeds),
              {"generation", "within-component variance", "total variance", "smaller weight", "tail mass beyond |x| = 5"}, {}};
  const auto cell = [](const SeedStats& v, int digits) {
    return Cell(fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", v.median, digits, v.q05, digits, v.q95, digits), v.median);
  };
  Plot plot{"mixture-variance.svg", "Mixture chains: median within-component variance", "generation", "variance", {}, true, true};
  Series within{"within-component", {}, {}}, total{"total", {}, {}};
  for (size_t i = 0; i < t.generations.size(); ++i) {
    table.rows.push_back({integer(t.generations[i]), cell(t.within_variance[i], 4), cell(t.total_variance[i], 4), cell(t.min_weight[i], 3),
                          cell(t.tail_mass[i], 5)});
    within.x.push_back(static_cast<double>(t.generations[i]));
    within.y.push_back(t.within_variance[i].median);
    total.x.push_back(static_cast<double>(t.generations[i]));
    total.y.push_back(t.total_variance[i].median);
  }
  plot.series = {within, total};
  result.tables.push_back(table);
  result.plots.push_back(plot);
  result.notes.push_back(fmt::format("Mixture: the real mixture's tail mass beyond |x| = 5 is {:.5f}.", t.real_tail_mass));
  return {{"within_variance_last_median", t.within_variance.back().median}, {"within_variance_first_median", t.within_variance.front().median},
          {"tail_mass_last_median", t.tail_mass.back().median}, {"real_tail_mass", t.real_tail_mass}};
}


// ---- language model --------------------------------------------------------------------------

struct Regime {
  std::string name;
  double real_fraction;
  std::string decoding;
};
const std::vector<Regime> kRegimes = {{"rho 0, beam", 0.0, "beam"}, {"rho 0.1, beam", 0.1, "beam"}, {"rho 0, sampling", 0.0, "sample"}};

Json language_model(const Context& ctx, const Sizes& s, Result& result) {
  auto options = train::base_lm_recipe("kjv");
  options.seed = ctx.seed;
  if (ctx.scale == Scale::smoke) {
    options.steps = 20;
    options.vocab = 400;
    options.tokenizer_sentences = 20000;
  }
  const auto base = train::ensure_base_lm(ctx.cache, ctx.data_root, options, false, ctx.quiet);
  const auto text = train::default_collapse_text(ctx.cache, ctx.data_root);
  const auto tokenizer = text::load_tokenizer(base.tokenizer.string());
  const auto data = train::split_collapse_text(*tokenizer, read_file(text.file), s.lm_train_tokens, s.lm_eval_tokens);
  result.data_used += fmt::format("; LM: pretrained {}-parameter model (base LM recipe kjv: {}), fine-tuned on {} ({} training tokens)",
                                  base.parameters, base.sources, text.description, data.train.size());

  Json figures = {{"regimes", Json::object()}};
  std::map<std::string, std::vector<std::vector<train::GenerationStats>>> runs;
  for (const auto& regime : kRegimes)
    for (int64_t seed = 0; seed < (regime.decoding == "beam" ? s.lm_seeds : 1); ++seed) {  // the control: one seed
      say(ctx, kSlug, fmt::format("LM, {}, seed {}", regime.name, ctx.seed + static_cast<uint64_t>(seed)));
      train::LmCollapseOptions o;
      o.generations = s.lm_generations;
      o.real_fraction = regime.real_fraction;
      o.decoding = regime.decoding;
      o.epochs = s.lm_epochs;
      o.seed = ctx.seed + static_cast<uint64_t>(seed);
      const auto folder = ctx.out / "lm" / fmt::format("{}-{}-seed{}", regime.decoding, regime.real_fraction, o.seed);
      runs[regime.name].push_back(train::run_lm_collapse(base.model, data, o, folder, true));
    }

  Table table{"LM: perplexity on the real test text per generation, and each generation's training blocks under generation 0 "
              "(median, 95th and 99th percentile), mean over seeds",
              {"regime", "generation", "test PPL", "blocks: median PPL", "p95", "p99", "distinct-2"}, {}};
  Plot ppl_plot{"lm-test-ppl.svg", "Test perplexity per generation (mean over seeds)", "generation", "test perplexity", {}, false, false};
  for (const auto& regime : kRegimes) {
    const auto& per_seed = runs[regime.name];
    Json f = {{"test_ppl", Json::array()}, {"median_sequence_ppl", Json::array()}};
    Series series{regime.name, {}, {}};
    for (size_t n = 0; n < per_seed.front().size(); ++n) {
      double test = 0, median = 0, p95 = 0, p99 = 0, distinct2 = 0;
      for (const auto& run : per_seed) {
        test += run[n].test_ppl;
        median += quantile(run[n].sequence_ppl, 0.5);
        p95 += quantile(run[n].sequence_ppl, 0.95);
        p99 += quantile(run[n].sequence_ppl, 0.99);
        distinct2 += run[n].distinct[1];
      }
      const auto k = static_cast<double>(per_seed.size());
      table.rows.push_back({regime.name, integer(static_cast<int64_t>(n)), num(test / k, 2), num(median / k, 2), num(p95 / k, 2), num(p99 / k, 2),
                            num(distinct2 / k, 3)});
      series.x.push_back(static_cast<double>(n));
      series.y.push_back(test / k);
    }
    for (const auto& run : per_seed) {
      Json tests = Json::array(), medians = Json::array();
      for (const auto& g : run) {
        tests.push_back(g.test_ppl);
        medians.push_back(quantile(g.sequence_ppl, 0.5));
      }
      f["test_ppl"].push_back(tests);
      f["median_sequence_ppl"].push_back(medians);
    }
    figures["regimes"][regime.name] = f;
    ppl_plot.series.push_back(series);
  }
  result.tables.push_back(table);
  result.plots.push_back(ppl_plot);

  // Histograms of log10 per-block perplexity under generation 0, one line per generation, of
  // the first seed's rho 0 beam run: the synthetic sets pile up at low perplexity.
  const auto& first = runs[kRegimes[0].name].front();
  Plot histogram{"lm-sequence-ppl.svg", "Training blocks' perplexity under generation 0 (rho 0, beam, first seed)",
                 "log10 perplexity", "share of blocks", {}, false, false};
  double lo = 1e9, hi = -1e9;
  for (const auto& g : first)
    for (double p : g.sequence_ppl) {
      lo = std::min(lo, std::log10(p));
      hi = std::max(hi, std::log10(p));
    }
  const int bins = 30;
  const double width = std::max(1e-9, (hi - lo) / bins);
  for (const auto& g : first) {
    std::vector<double> counts(bins, 0.0);
    for (double p : g.sequence_ppl) counts[std::min(bins - 1, static_cast<int>((std::log10(p) - lo) / width))] += 1;
    Series series{fmt::format("generation {}", g.generation), {}, {}};
    for (int b = 0; b < bins; ++b) {
      series.x.push_back(lo + (b + 0.5) * width);
      series.y.push_back(counts[b] / static_cast<double>(g.sequence_ppl.size()));
    }
    histogram.series.push_back(series);
  }
  result.plots.push_back(histogram);
  result.notes.push_back(fmt::format("LM: blocks of {} tokens; each generation fine-tunes generation 0's best model for {} epochs (the best "
                                     "by real validation perplexity is kept), the same epochs in every regime; beam width 5; the "
                                     "sampling control draws at temperature 1.",
                                     train::LmCollapseOptions{}.block, s.lm_epochs));
  return figures;
}

// ---- run and criteria ------------------------------------------------------------------------

Result run(const Context& ctx) {
  const Sizes s = sizes_for(ctx);
  Result result;
  result.data_used = "toy distributions generated in code";
  Json figures;
  figures["gaussian"] = gaussian(ctx, s, result);
  figures["categorical"] = categorical(ctx, s, result);
  figures["mixture"] = mixture(ctx, s, result);
  figures["lm"] = language_model(ctx, s, result);
  figures["gaussian_generations"] = s.gaussian_generations;
  result.figures = figures;
  return result;
}

std::vector<Criterion> criteria(const Json& figures) {
  const Json& g = field(figures, "gaussian");
  const auto last = std::to_string(static_cast<int64_t>(number(figures, "gaussian_generations")));
  const auto median_sd = [&](const char* m) { return q(fmt::format("median sd at n = {}, {}", last, m), number(field(field(g, m), "median_sd"), last), 4); };
  std::vector<Condition> gaussian = {below(median_sd("M1000"), 1.0), below(median_sd("M10"), median_sd("M100")),
                                     below(median_sd("M100"), median_sd("M1000")),
                                     at_least(q("M100 seeds with sd < 0.1", number(field(g, "M100"), "share_below_0.1"), 3), 0.8)};
  for (const char* m : {"M10", "M100", "M1000"}) {
    const Json& f = field(g, m);
    gaussian.push_back(within(q(fmt::format("mean sigma^2 at n = 10, {}", m), number(f, "var_mean"), 4), q("1", 1.0, 0),
                              4 * number(f, "var_se")));
    gaussian.push_back(within(q(fmt::format("mean mu^2 at n = 10, {}", m), number(f, "sq_mean"), 5),
                              q("n/M", number(f, "sq_theory"), 5), 4 * number(f, "sq_se")));
  }
  const Json& c = field(figures, "categorical");
  const Json& x = field(figures, "mixture");
  const Json& lm = field(field(figures, "lm"), "regimes");
  const auto mean_at = [&](const char* regime, const char* key, bool last_generation) {
    double sum = 0;
    const Json& per_seed = field(field(lm, regime), key);
    for (const auto& run : per_seed) sum += last_generation ? run.back().get<double>() : run.front().get<double>();
    return sum / static_cast<double>(per_seed.size());
  };
  const double rho0_last = mean_at("rho 0, beam", "test_ppl", true), rho0_first = mean_at("rho 0, beam", "test_ppl", false);
  bool below_real = true;
  std::string worst;
  double worst_ratio = 0;
  for (const char* regime : {"rho 0, beam", "rho 0.1, beam"})
    for (const auto& run : field(field(lm, regime), "median_sequence_ppl")) {
      const double real = run.front().get<double>();
      for (size_t n = 1; n < run.size(); ++n) {
        const double ratio = run[n].get<double>() / real;
        if (ratio > worst_ratio) {
          worst_ratio = ratio;
          worst = fmt::format("{} generation {}: {:.2f} vs real {:.2f}", regime, n, run[n].get<double>(), real);
        }
        below_real = below_real && ratio < 1;
      }
    }
  return {
      criterion("1. Gaussian: the fitted sd collapses with unbiased moments (median sd < 1, ordered by M; >= 80% of M = 100 "
                "chains below 0.1; moments at n = 10 within 4 standard errors of theory)",
                gaussian),
      criterion("2. categorical: symbols vanish for good, rare ones first",
                {equals("symbols that came back", static_cast<int64_t>(number(c, "returns")), 0),
                 at_most(q("median survivors at the last generation", number(c, "survivors_last_median"), 0),
                         0.8 * number(c, "symbols")),
                 below(q("mean original p of vanished symbols", number(c, "mean_p_vanished"), 5),
                       q("of survivors", number(c, "mean_p_survived"), 5))}),
      criterion("3. mixture: the within-component variance collapses (median < 0.5 at the last generation; real 1.0)",
                {below(q("median within-component variance", number(x, "within_variance_last_median"), 4), 0.5)}),
      criterion("4. LM: without real data test perplexity grows (>= 1.05x generation 0) and ends above the run with 10% real data",
                {at_least(q("rho 0 last-generation test PPL", rho0_last), q("1.05 x generation 0", 1.05 * rho0_first)),
                 above(q("rho 0 last-generation test PPL", rho0_last), q("rho 0.1", mean_at("rho 0.1, beam", "test_ppl", true)))}),
      criterion("5. LM: every beam-search synthetic set is likelier under generation 0 than the real data (median block perplexity)",
                {holds("every generation >= 1 of both beam regimes has a lower median than the real blocks", below_real,
                       "highest ratio: " + worst)}),
  };
}

const Registration registered{{
    .slug = kSlug,
    .title = "Model collapse: training on recursively generated data",
    .paper = "Shumailov, Shumaylov, Zhao, Papernot, Anderson, Gal, AI models collapse when trained on recursively generated data, "
             "Nature 631, 755-759 (2024), arXiv:2305.17493",
    .claim = "When each generation of a model is trained on samples of the previous one, the tails of the original distribution "
             "vanish and the model converges to a narrow distribution: for discrete distributions, Gaussians, mixtures and "
             "fine-tuned language models; keeping some real data slows it down.",
    .budget = "quick: about 10 minutes on 2 CPU cores; full: 10 LM generations, 5 seeds",
    .figures_version = 1,
    .run = run,
    .criteria = criteria,
}};

}  // namespace
}  // namespace garden::repro::model_collapse
