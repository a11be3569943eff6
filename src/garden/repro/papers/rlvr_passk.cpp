// Reproduction of "Does Reinforcement Learning Really Incentivize Reasoning Capacity in LLMs
// Beyond the Base Model?" (Yue et al., NeurIPS 2025, arXiv:2504.13837; spec:
// ../papers/rlvr-passk.md), the small-scale plan: countdown-3 (text/countdown.h), a byte-level
// base pre-trained on noisy answers that never show the a*(b+c) template, GRPO from the base
// with checkpoints at 1/3, 2/3 and 3/3 of its steps, distillation of a teacher that knows all
// eight templates into the base for as many tokens as RL trained on, and pass@k of every model
// on 200 held-out problems (30 of them solvable by a*(b+c) alone) from n samples each.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "garden/eval/pass_at_k.h"
#include "garden/model/model_folder.h"
#include "garden/repro/toolkit.h"
#include "garden/train/countdown_models.h"
#include "garden/train/run_folder.h"

namespace garden::repro::rlvr_passk {

namespace {

namespace cd = text::countdown;
namespace fs = std::filesystem;

const char* const kSlug = "rlvr-passk";

struct Sizes {
  train::CountdownSplit split;
  train::CountdownModelOptions models;
  int64_t train_problems, rl_steps, group, prompts, samples, ppl_problems, ppl_samples;
};

Sizes sizes_for(const Context& ctx) {
  Sizes s;
  if (ctx.scale == Scale::smoke) {
    s.split.held_out = 12;
    s.split.withheld_only = 2;
    s.models.examples = 1024;
    s.models.teacher_examples = 256;
    s.models.d_model = 32;
    s.models.layers = 2;
    s.models.heads = 2;
    s.models.batch = 32;
  }
  s.train_problems = ctx.pick<int64_t>(64, 5000, 5000);
  s.rl_steps = ctx.pick<int64_t>(3, 150, 1000);
  s.group = ctx.pick<int64_t>(4, 8, 16);
  s.prompts = ctx.pick<int64_t>(4, 32, 32);
  s.samples = ctx.pick<int64_t>(8, 128, 1024);
  s.ppl_problems = ctx.pick<int64_t>(4, 50, 50);
  s.ppl_samples = ctx.pick<int64_t>(4, 16, 16);
  return s;
}

// One evaluated model: its per-problem correct counts, its samples' templates, and the
// samples kept for the perplexity analysis.
struct Evaluated {
  std::string name;
  std::vector<int64_t> correct;
  std::vector<double> curve;       // pass@k at the ks
  int64_t withheld_solved = 0;     // withheld-only problems solved at least once
  double withheld_template_share = 0;  // share of all samples written with a*(b+c)
  double malformed_share = 0;          // share of samples that are no template
  std::vector<std::string> ppl_prompts, ppl_completions;
};

Evaluated evaluate_model(const Context& ctx, const std::string& name, const fs::path& folder, const std::vector<cd::Problem>& problems,
                         const Sizes& s, const std::vector<int64_t>& ks) {
  say(ctx, kSlug, fmt::format("{}: {} samples of each of {} problems", name, s.samples, problems.size()));
  auto loaded = model::load_model(folder);
  const auto tokenizer = text::load_tokenizer(loaded.tokenizer_spec);
  std::vector<std::string> prompts;
  for (const auto& p : problems) prompts.push_back(cd::prompt(p));
  // Every model samples with the same seeds, so differences are the models'.
  const auto completions = train::sample_completions(loaded.model, *tokenizer, prompts, s.samples, train::SamplingOptions{}, 1000 + ctx.seed);
  Evaluated e;
  e.name = name;
  int64_t withheld_form = 0, malformed = 0, total = 0;
  for (size_t i = 0; i < problems.size(); ++i) {
    int64_t c = 0;
    for (const auto& completion : completions[i]) {
      const auto verdict = cd::verify(problems[i], completion);
      c += verdict.correct ? 1 : 0;
      withheld_form += verdict.form == cd::kWithheldTemplate;
      malformed += verdict.form < 0;
      ++total;
    }
    e.correct.push_back(c);
    if (problems[i].hits == std::vector<int>{cd::kWithheldTemplate}) e.withheld_solved += c > 0;
  }
  e.curve = eval::pass_at_k_curve(s.samples, e.correct, ks);
  e.withheld_template_share = static_cast<double>(withheld_form) / static_cast<double>(total);
  e.malformed_share = static_cast<double>(malformed) / static_cast<double>(total);
  // The perplexity analysis reads the first samples of the first problems that the base can
  // solve (not the withheld-only ones).
  int64_t taken = 0;
  for (size_t i = 0; i < problems.size() && taken < s.ppl_problems; ++i) {
    if (problems[i].hits == std::vector<int>{cd::kWithheldTemplate}) continue;
    ++taken;
    for (int64_t j = 0; j < s.ppl_samples; ++j) {
      e.ppl_prompts.push_back(prompts[i]);
      e.ppl_completions.push_back(completions[i][static_cast<size_t>(j)]);
    }
  }
  return e;
}

Result run(const Context& ctx) {
  Result result;
  const Sizes s = sizes_for(ctx);
  const auto held_out = s.split.held_out_problems();
  result.data_used = fmt::format("countdown-3 generated in code: {} held-out problems ({} solvable by a*(b+c) alone), {} RL training "
                                 "problems (seed {}), none of them held out",
                                 held_out.size(), s.split.withheld_only, s.train_problems, ctx.seed);

  say(ctx, kSlug, "base and teacher (cached after the first run)");
  const auto models = train::ensure_countdown_models(ctx.cache, s.split, s.models, ctx.quiet);

  // RL: GRPO from the base, T 1.0, eps 0.2, no KL; models kept at 1/3, 2/3, 3/3.
  const auto training = cd::training_problems(s.train_problems, ctx.seed + 11, held_out);
  const auto task = train::countdown_task(training);
  const auto held_task = train::countdown_task(held_out);
  train::RlOptions rl;
  rl.group = s.group;
  rl.prompts = s.prompts;
  rl.eval_problems = std::min<int64_t>(100, static_cast<int64_t>(held_out.size()));
  const int64_t third = std::max<int64_t>(1, s.rl_steps / 3);
  rl.save_at = {third, 2 * third, s.rl_steps};
  train::TrainConfig rl_config;
  rl_config.steps = s.rl_steps;
  rl_config.lr = 1e-4;
  rl_config.warmup = std::max<int64_t>(1, s.rl_steps / 20);
  rl_config.min_lr_ratio = 1.0;  // constant after warm-up, as verl's GRPO recipes
  rl_config.weight_decay = 0.0;
  rl_config.eval_every = third;
  rl_config.checkpoint_every = 0;
  rl_config.keep_checkpoints = 1;
  rl_config.seed = ctx.seed;
  say(ctx, kSlug, fmt::format("GRPO: {} steps x {} prompts x {} responses", s.rl_steps, s.prompts, s.group));
  Stopwatch rl_watch;
  auto policy = model::load_model(models.base);
  const auto rl_result = train::train_rl(policy.model, policy.tokenizer_spec, task, held_task, rl, rl_config, ctx.out / "rl", false, ctx.quiet);
  const double rl_seconds = rl_watch.seconds();

  // Distillation: the teacher answers every training problem once; the base is fine-tuned on
  // those answers for as many completion tokens as RL trained on.
  say(ctx, kSlug, "distillation: the teacher answers the training problems, the base learns them");
  Stopwatch distill_watch;
  std::vector<std::string> prompts, answers;
  {
    auto teacher = model::load_model(models.teacher);
    const auto tokenizer = text::load_tokenizer(teacher.tokenizer_spec);
    for (const auto& p : training) prompts.push_back(cd::prompt(p));
    const auto sampled = train::sample_completions(teacher.model, *tokenizer, prompts, 1, train::SamplingOptions{}, 77 + ctx.seed);
    for (const auto& one : sampled) answers.push_back(one.front());
  }
  int64_t answer_tokens = 0;
  for (const auto& a : answers) answer_tokens += static_cast<int64_t>(a.size()) + 1;  // bytes + end of text
  const double tokens_per_row = static_cast<double>(answer_tokens) / static_cast<double>(answers.size());
  train::TrainConfig sft;
  sft.batch = 32;
  sft.steps = std::max<int64_t>(1, static_cast<int64_t>(std::llround(static_cast<double>(rl_result.trained_tokens) / (sft.batch * tokens_per_row))));
  sft.lr = 5e-4;
  sft.warmup = std::max<int64_t>(1, sft.steps / 20);
  sft.weight_decay = 0.0;
  sft.eval_every = 0;
  sft.checkpoint_every = 0;
  sft.keep_checkpoints = 1;
  sft.seed = ctx.seed;
  auto student = model::load_model(models.base);
  train::sft_on_completions(student.model, student.tokenizer_spec, prompts, answers, sft, ctx.out / "distilled", false, ctx.quiet);
  const double distill_seconds = distill_watch.seconds();

  // pass@k of every model on the held-out problems.
  const auto ks = eval::powers_of_two_up_to(s.samples);
  std::vector<Evaluated> evaluated;
  evaluated.push_back(evaluate_model(ctx, "base", models.base, held_out, s, ks));
  for (size_t i = 0; i < rl_result.saved.size(); ++i)
    evaluated.push_back(evaluate_model(ctx, fmt::format("RL {}/3 (step {})", i + 1, rl.save_at[i]), rl_result.saved[i], held_out, s, ks));
  evaluated.push_back(evaluate_model(ctx, "distilled", train::model_folder(ctx.out / "distilled"), held_out, s, ks));
  evaluated.push_back(evaluate_model(ctx, "teacher", models.teacher, held_out, s, ks));
  const Evaluated& base = evaluated[0];
  const Evaluated& rl_final = evaluated[3];

  Table curves{fmt::format("pass@k (%) on {} held-out problems, n = {} samples each at T 0.6, top-p 0.95", held_out.size(), s.samples),
               {"model"}, {}};
  for (const int64_t k : ks) curves.header.push_back(fmt::format("k={}", k));
  Plot plot{"pass-at-k.svg", "pass@k on held-out countdown-3", "k", "pass@k", {}, false, true};
  Json figures = {{"ks", ks}, {"samples", s.samples}, {"problems", held_out.size()}, {"withheld_only_problems", s.split.withheld_only},
                  {"models", Json::object()}};
  for (const auto& e : evaluated) {
    std::vector<Cell> row{e.name};
    Series series{e.name, {}, {}};
    for (size_t i = 0; i < ks.size(); ++i) {
      row.push_back(num(100 * e.curve[i], 1));
      series.x.push_back(static_cast<double>(ks[i]));
      series.y.push_back(e.curve[i]);
    }
    curves.rows.push_back(row);
    if (e.name != "RL 1/3 (step " + std::to_string(rl.save_at[0]) + ")" && e.name != "RL 2/3 (step " + std::to_string(rl.save_at[1]) + ")")
      plot.series.push_back(series);
    figures["models"][e.name] = {{"pass_at_k", e.curve}, {"coverage", eval::coverage(e.correct)},
                                 {"withheld_solved", e.withheld_solved}, {"withheld_template_share", e.withheld_template_share},
                                 {"malformed_share", e.malformed_share}, {"correct", e.correct},
                                 {"accuracy_histogram", eval::accuracy_histogram(s.samples, e.correct)}};
  }
  result.tables.push_back(curves);
  result.plots.push_back(plot);
  figures["rl_checkpoints"] = {evaluated[1].name, evaluated[2].name, evaluated[3].name};

  // The strict crossover: the smallest k where the base is ahead of the final RL model.
  Json crossover = nullptr;
  for (size_t i = 0; i < ks.size(); ++i)
    if (base.curve[i] > rl_final.curve[i]) {
      crossover = ks[i];
      break;
    }
  figures["crossover_k"] = crossover;
  figures["delta_se"] = base.curve.back() - rl_final.curve.front();

  const auto overlap = eval::solved_overlap(rl_final.correct, base.correct);
  figures["rl_solved"] = overlap.a;
  figures["base_solved"] = overlap.b;
  figures["rl_solved_also_by_base"] = overlap.both;

  Table analyses{"Coverage and sharpening (final RL model against the base)", {"measure", "base", "RL", "distilled", "teacher"}, {}};
  const auto& distilled = evaluated[4];
  const auto& teacher = evaluated[5];
  const auto row4 = [&](const std::string& what, const std::function<Cell(const Evaluated&)>& cell) {
    analyses.rows.push_back({what, cell(base), cell(rl_final), cell(distilled), cell(teacher)});
  };
  row4(fmt::format("problems solved at least once in {} (%)", s.samples), [](const Evaluated& e) { return pct(eval::coverage(e.correct)); });
  row4(fmt::format("withheld-only problems solved (of {})", s.split.withheld_only),
       [](const Evaluated& e) { return integer(e.withheld_solved); });
  row4("samples written with a*(b+c) (%)", [](const Evaluated& e) { return pct(e.withheld_template_share); });
  row4("samples that are no template (%)", [](const Evaluated& e) { return pct(e.malformed_share); });
  row4("problems with accuracy exactly 0", [&](const Evaluated& e) { return integer(eval::accuracy_histogram(s.samples, e.correct)[0]); });
  row4("problems with accuracy above 0.9", [&](const Evaluated& e) { return integer(eval::accuracy_histogram(s.samples, e.correct)[10]); });
  result.tables.push_back(analyses);

  // Perplexity under the base of each model's samples (the paper's Fig. 6).
  {
    auto base_model = model::load_model(models.base);
    const auto tokenizer = text::load_tokenizer(base_model.tokenizer_spec);
    Table ppl{fmt::format("Perplexity under the base of {} samples from each of {} problems the base can solve (median)", s.ppl_samples,
                          s.ppl_problems),
              {"samples of", "PPL_base", "PPL_base of correct samples", "PPL_base of the expression (up to its '=')"}, {}};
    for (const auto* e : {&base, &rl_final, &distilled, &teacher}) {
      const auto p = train::completion_perplexities(base_model.model, *tokenizer, e->ppl_prompts, e->ppl_completions);
      // The part the verifier reads: the expression and its '=', without the trace after it
      // (read as a completion of its own, so its end of text counts too).
      std::vector<std::string> expressions;
      for (const auto& completion : e->ppl_completions) expressions.push_back(completion.substr(0, completion.find('=') + 1));
      const auto p_expression = train::completion_perplexities(base_model.model, *tokenizer, e->ppl_prompts, expressions);
      std::vector<double> right;
      for (size_t i = 0; i < p.size(); ++i) {
        const auto& problem_prompt = e->ppl_prompts[i];
        const auto it = std::find_if(held_out.begin(), held_out.end(), [&](const cd::Problem& pr) { return cd::prompt(pr) == problem_prompt; });
        if (cd::verify(*it, e->ppl_completions[i]).correct) right.push_back(p[i]);
      }
      ppl.rows.push_back({e->name, num(median(p), 3), num(median(right), 3), num(median(p_expression), 3)});
      figures["models"][e->name]["median_base_ppl"] = median(p);
      figures["models"][e->name]["median_base_ppl_expression"] = median(p_expression);
    }
    result.tables.push_back(ppl);
  }

  Table training_table{"Training", {"run", "steps", "completion tokens trained", "seconds"}, {}};
  training_table.rows.push_back({"GRPO", integer(s.rl_steps), integer(rl_result.trained_tokens), num(rl_seconds, 0)});
  training_table.rows.push_back({"distillation (SFT on teacher answers)", integer(sft.steps),
                                 integer(static_cast<int64_t>(std::llround(sft.steps * sft.batch * tokens_per_row))), num(distill_seconds, 0)});
  result.tables.push_back(training_table);
  figures["rl_trained_tokens"] = rl_result.trained_tokens;

  result.notes.push_back(fmt::format(
      "Base: a {}-layer d = {} byte-level decoder pre-trained on {} noisy answers (a hitting template with probability {}, else one "
      "from the 1/(j+1) prior; a*(b+c) never shown); teacher: the base fine-tuned on {} oracle answers of all eight templates "
      "(both cached). GRPO: G = {}, {} prompts a step, T 1.0, eps 0.2, no KL, lr {}, token-mean loss, one update per batch of "
      "rollouts. The toy's coverage and its missing template are built into its pre-training data: it tests whether RL sharpens "
      "(subset coverage, low base-perplexity samples) rather than discovers, and whether distillation transfers a missing skill; "
      "it says nothing about large models, long chains of thought or answer guessing.",
      s.models.layers, s.models.d_model, s.models.examples, s.models.hit_rate, s.models.teacher_examples, s.group, s.prompts,
      rl_config.lr));
  result.figures = figures;
  return result;
}

std::vector<Criterion> criteria(const Json& figures) {
  const Json& models = field(figures, "models");
  const auto& checkpoints = list_field(figures, "rl_checkpoints");
  const std::string rl_name = checkpoints.at(2).get<std::string>();
  const auto curve = [&](const std::string& name) { return numbers(field(models, name), "pass_at_k"); };
  const auto base = curve("base"), rl = curve(rl_name), distilled = curve("distilled");
  const auto first = curve(checkpoints.at(0).get<std::string>());
  const auto ks = numbers(figures, "ks");
  const std::string n = fmt::format("{}", static_cast<int64_t>(ks.back()));
  bool distilled_everywhere = true;
  std::vector<std::string> gaps;
  for (size_t i = 0; i < ks.size(); ++i) {
    distilled_everywhere = distilled_everywhere && distilled[i] >= base[i];
    gaps.push_back(fmt::format("k={}: {:+.3f}", static_cast<int64_t>(ks[i]), distilled[i] - base[i]));
  }
  const double rl_solved = number(figures, "rl_solved");
  const double withheld = number(figures, "withheld_only_problems");
  const double problems = number(figures, "problems");
  return {
      criterion("0. RL learns at all: the final RL model's pass@1 is above the base's", {above(q("RL pass@1", rl.front(), 3), q("base pass@1", base.front(), 3))},
                /*gate=*/true),
      criterion("1. RL samples correct answers more often: pass@1 >= base + 0.10",
                {at_least(q("RL pass@1", rl.front(), 3), q("base pass@1", base.front(), 3), 0.10)}),
      criterion("2. no expansion: RL pass@" + n + " <= base pass@" + n + " + 0.01",
                {at_most(q("RL pass@" + n, rl.back(), 3), q("base pass@" + n, base.back(), 3), 0.01)}),
      criterion("3. across the RL checkpoints pass@1 rises while pass@" + n + " does not",
                {above(q("pass@1 at 3/3", rl.front(), 3), q("at 1/3", first.front(), 3)),
                 at_most(q("pass@" + n + " at 3/3", rl.back(), 3), q("at 1/3", first.back(), 3), 0.01)}),
      criterion("4. RL's solved problems lie within the base's: >= 90% of them solved by the base, and RL solves < 2% of the "
                "problems only a*(b+c) solves",
                {at_least(q("share of RL-solved also base-solved", rl_solved > 0 ? number(figures, "rl_solved_also_by_base") / rl_solved : 1, 3), 0.9),
                 below(q("withheld-only problems RL solves (share)", number(field(models, rl_name), "withheld_solved") / withheld, 3), 0.02)}),
      criterion("5. RL's samples sit where the base is confident: median PPL_base of RL samples < of base samples",
                {below(q("RL samples", number(field(models, rl_name), "median_base_ppl"), 3),
                       q("base samples", number(field(models, "base"), "median_base_ppl"), 3))}),
      // pass@n is the share of problems solved at least once, so the 0.05 margin is counted in
      // problems, exactly (a sum of floating-point shares could miss an exact tie).
      criterion("6. distillation expands: distilled pass@k >= base at every k, and pass@" + n + " >= base + 0.05",
                {holds("distilled >= base at every k", distilled_everywhere, join(gaps, ", ")),
                 at_least(q("problems distilled solves at k = " + n, std::round(distilled.back() * problems), 0),
                          q("base", std::round(base.back() * problems), 0), 0.05 * problems)}),
  };
}

const Registration registered{{
    .slug = kSlug,
    .title = "RLVR and pass@k: sharpening, not new reasoning",
    .paper = "Yue, Chen, Lu, Zhao, Wang, Yue, Song, Huang, Does Reinforcement Learning Really Incentivize Reasoning Capacity in "
             "LLMs Beyond the Base Model?, NeurIPS 2025, arXiv:2504.13837",
    .claim = "RL with verifiable rewards raises pass@1 but not what the base model can solve at all: with enough samples the base "
             "model's pass@k catches up with the RL model's, RL's solvable problems are a subset of the base's, and its correct "
             "answers already lie in the base's own distribution; distillation from a stronger teacher does widen the solvable set.",
    .budget = "quick: about 6 minutes on 2 CPU cores with the base and teacher cached (about 7 more the first time): 150 GRPO "
              "steps, distillation, 6 models x 200 problems x 128 samples; full: 1000 GRPO steps, G = 16, n = 1024",
    .figures_version = 1,
    .run = run,
    .criteria = criteria,
}};

}  // namespace

}  // namespace garden::repro::rlvr_passk
