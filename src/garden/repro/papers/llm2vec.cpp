// Reproduction of "LLM2Vec: Large Language Models Are Secretly Powerful Text Encoders"
// (BehnamGhader et al., COLM 2024, arXiv:2404.05961), small scale: the shared tiny base LM
// turned into encoders by the three steps (bidirectional, MNTP, SimCSE) and their
// ablations, scored on STS-B, SICK, MED retrieval and WordNet lexname clustering; the prefix
// test and the per-layer causal/bidirectional similarity. Criteria follow
// ../papers/llm2vec.md "Small-scale reproduction".
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <random>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/eval/clustering.h"
#include "garden/eval/embedding_suite.h"
#include "garden/eval/ir_metrics.h"
#include "garden/eval/sts.h"
#include "garden/model/embedder.h"
#include "garden/model/model_folder.h"
#include "garden/repro/embedding_setup.h"
#include "garden/repro/toolkit.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/training_pairs.h"
#include "garden/text/corpus.h"
#include "garden/text/pairs.h"
#include "garden/text/prepare.h"
#include "garden/text/tokenizer.h"
#include "garden/train/base_lm.h"
#include "garden/train/embedder_training.h"
#include "garden/train/llm2vec.h"
#include "garden/train/run_folder.h"

namespace garden::repro::llm2vec {

namespace {

const char* const kSlug = "llm2vec";

using model::Embedder;
using model::EmbedderConfig;
using model::MaskMode;
using model::Pooling;

// The variants the criteria read, by their names in figures["variants"].
const char* const kUniMean = "Uni + mean";
const char* const kUniWeightedMean = "Uni + w.mean";
const char* const kBi = "Bi + mean (untrained)";
const char* const kBiMntp = "Bi + MNTP + mean";
const char* const kUniSimcse = "Uni + SimCSE + w.mean";
const char* const kBiSimcse = "Bi + SimCSE + mean";
const char* const kLlm2vecLast = "LLM2Vec (Bi + MNTP + SimCSE) + last";
const char* const kLlm2vecMean = "LLM2Vec (Bi + MNTP + SimCSE) + mean";

// "No limit" for the sizes below that cap a list or a text.
constexpr size_t kAll = std::numeric_limits<size_t>::max();

// Sizes per scale: quick is the spec's small-scale recipe, full runs 1000 steps per stage;
// smoke runs every stage on toy sizes in seconds. From base v2 a quick run takes fewer and
// smaller steps, scores half the SICK pairs and glosses and cuts texts at 64 tokens: a v2
// forward pass costs several times v1's, and ten variants are scored.
struct Sizes {
  int64_t stage_steps;  // MNTP and each SimCSE run
  int64_t warmup;
  int64_t mntp_batch, mntp_seq, mntp_eval_windows;
  int64_t simcse_batch;
  int64_t max_tokens;  // of every text an embedder reads
  size_t glosses;  // the WordNet lexname sample (and the size of the retrieval fallback)
  size_t stsb_pairs, sick_pairs;
  size_t prefix_triples;
  size_t corpus_chars;    // of each corpus split MNTP reads
  size_t sentence_lines;  // corpus lines SimCSE draws its sentences from
};

Sizes sizes_for(const Context& ctx) {
  return {.stage_steps = pick_for_base<int64_t>(ctx, 4, 150, 20, 1000),
          .warmup = ctx.pick<int64_t>(1, 10, 10),
          .mntp_batch = ctx.pick<int64_t>(4, 16, 16),
          .mntp_seq = ctx.pick<int64_t>(32, 128, 128),
          .mntp_eval_windows = ctx.pick<int64_t>(4, 32, 32),
          .simcse_batch = pick_for_base<int64_t>(ctx, 8, 64, 32, 64),
          .max_tokens = pick_for_base<int64_t>(ctx, 128, 128, 64, 128),
          .glosses = pick_for_base<size_t>(ctx, 64, 1000, 500, 2000),
          .stsb_pairs = ctx.pick<size_t>(100, kAll, kAll),
          .sick_pairs = pick_for_base<size_t>(ctx, 100, 2000, 1000, 2000),
          .prefix_triples = ctx.pick<size_t>(20, 200, 200),
          .corpus_chars = ctx.pick<size_t>(200'000, kAll, kAll),
          .sentence_lines = ctx.pick<size_t>(5000, kAll, kAll)};
}

// What every training stage reads.
struct Setup {
  const Context& ctx;
  Sizes sizes;
  train::BaseLm base;
  const text::Tokenizer& tokenizer;
  text::PreparedCorpus corpus;
};

struct Benchmarks {
  std::vector<eval::StsPair> stsb, sick;
  std::optional<retrieval::Collection> med;
  retrieval::Collection wordnet_retrieval;  // the fallback retrieval task without MED
  std::vector<std::string> glosses;
  std::vector<int64_t> lexnames;
  int64_t clusters = 0;
  std::string description;
};

// Definition -> lemma retrieval over the `sample` noun synsets that follow the lexname
// task's sample in the same seeded shuffle, so the two never share a synset.
retrieval::Collection wordnet_definition_retrieval(const Context& ctx, size_t sample, uint64_t wordnet_seed) {
  auto synsets = text::wordnet_synsets(ctx.wordnet, {"noun"});
  std::mt19937_64 rng(wordnet_seed);  // the lexname task's order: its sample comes first
  std::shuffle(synsets.begin(), synsets.end(), rng);
  const std::vector<text::WordNetSynset> held(synsets.begin() + static_cast<std::ptrdiff_t>(sample),
                                              synsets.begin() + static_cast<std::ptrdiff_t>(2 * sample));
  retrieval::Collection collection;
  int64_t i = 0;
  for (const auto& pair : text::wordnet_definition_pairs(held)) {
    const std::string id = std::to_string(i++);
    collection.corpus.push_back({id, "", pair.positive});
    collection.queries.push_back({id, pair.query});
    collection.qrels[id][id] = 1;
  }
  return collection;
}

Benchmarks load_benchmarks(const Context& ctx, const Sizes& sizes) {
  Benchmarks b;
  std::vector<std::string> used;
  if (auto file = data_file(ctx, "stsb", "test.tsv")) {
    b.stsb = eval::read_sts_pairs(*file);
    if (b.stsb.size() > sizes.stsb_pairs) b.stsb.resize(sizes.stsb_pairs);
    used.push_back(fmt::format("STS-B test ({} pairs)", b.stsb.size()));
  }
  if (auto file = data_file(ctx, "sick", "test.tsv")) {
    b.sick = eval::read_sts_pairs(*file);
    if (b.sick.size() > sizes.sick_pairs) b.sick.resize(sizes.sick_pairs);
    used.push_back(fmt::format("SICK test, first {} pairs", b.sick.size()));
  }
  if (auto dir = beir_dir(ctx, "med")) {
    b.med = retrieval::read_beir_collection(*dir);
    used.push_back("MED (real queries and qrels)");
  }
  // WordNet noun glosses, a seeded sample, labelled by their lexicographer file; and
  // definition -> lemma retrieval over the next sample when MED is absent.
  const uint64_t wordnet_seed = ctx.seed + 11;
  auto task = eval::wordnet_lexname_task(ctx.wordnet, sizes.glosses, wordnet_seed);
  b.glosses = std::move(task.glosses);
  b.lexnames = std::move(task.labels);
  b.clusters = task.classes;
  used.push_back(fmt::format("WordNet lexname clustering ({} noun glosses, {} lexnames)", b.glosses.size(), b.clusters));
  if (!b.med) {
    b.wordnet_retrieval = wordnet_definition_retrieval(ctx, sizes.glosses, wordnet_seed);
    used.push_back("WordNet definition -> lemma retrieval (MED not found under the data root)");
  }
  if (b.stsb.empty() || b.sick.empty()) used.push_back("STS-B / SICK not found under the data root: their columns are empty");
  b.description = join(used, "; ");
  return b;
}

struct Scores {
  std::optional<double> stsb, sick;
  double retrieval = 0, clustering = 0, avg = 0;
};

Scores score(Embedder& embedder, const text::Tokenizer& tok, const Benchmarks& b, uint64_t seed) {
  using eval::EmbeddingTask;
  std::vector<EmbeddingTask> tasks;
  if (!b.stsb.empty()) tasks.push_back(EmbeddingTask::sts_task("stsb", b.stsb));
  if (!b.sick.empty()) tasks.push_back(EmbeddingTask::sts_task("sick", b.sick));
  tasks.push_back(EmbeddingTask::retrieval_task("retrieval", b.med ? *b.med : b.wordnet_retrieval));
  tasks.push_back(EmbeddingTask::clustering_task("clustering", b.glosses, b.lexnames, b.clusters, seed));
  const auto suite = eval::evaluate_embeddings(embedder, tok, tasks);
  Scores s;
  if (!b.stsb.empty()) s.stsb = suite.at("stsb");
  if (!b.sick.empty()) s.sick = suite.at("sick");
  s.retrieval = suite.at("retrieval");
  s.clustering = suite.at("clustering");
  s.avg = suite.average;
  return s;
}

// Prefix test (spec analysis a): q = prefix + B, s+ = prefix + C (a paraphrase of B),
// s- = prefix + D (unrelated); each pooled over the prefix tokens only. The triples depend
// on STS-B and the seed alone, so every model is tested on the same ones.
struct PrefixTest {
  int64_t triples = 0, positive_wins = 0, exact_ties = 0;
};

PrefixTest prefix_test(Embedder& embedder, const text::Tokenizer& tok, const std::vector<eval::StsPair>& stsb, uint64_t seed,
                       size_t max_triples) {
  PrefixTest out;
  std::vector<const eval::StsPair*> paraphrases;
  for (const auto& p : stsb)
    if (p.score >= 4.5) paraphrases.push_back(&p);
  if (paraphrases.size() < 2) return out;
  std::mt19937_64 rng(seed + 5);
  const auto prefix = tok.encode("According to the report,");
  auto embed = [&](const std::string& continuation) {
    std::vector<int64_t> ids = prefix;
    for (int64_t id : tok.encode(" " + continuation)) ids.push_back(id);
    ids.push_back(tok.eos_id());
    const int64_t t = std::min<int64_t>(static_cast<int64_t>(ids.size()), embedder->config().max_tokens);
    auto tokens = torch::tensor(std::vector<int64_t>(ids.begin(), ids.begin() + t), torch::kLong).view({1, t});
    auto pool = torch::zeros({1, t}, torch::kLong);
    pool.narrow(1, 0, static_cast<int64_t>(prefix.size())).fill_(1);
    torch::NoGradGuard no_grad;
    return embedder->forward(tokens, torch::ones({1, t}, torch::kLong), pool)[0];
  };
  embedder->eval();
  const size_t n = std::min(max_triples, paraphrases.size());
  for (size_t i = 0; i < n; ++i) {
    const auto* pair = paraphrases[i];
    const auto* other = paraphrases[(i + 1 + rng() % (paraphrases.size() - 1)) % paraphrases.size()];
    const auto q = embed(pair->first), plus = embed(pair->second), minus = embed(other->second);
    const double s_plus = q.dot(plus).item<double>(), s_minus = q.dot(minus).item<double>();
    ++out.triples;
    out.positive_wins += s_plus > s_minus ? 1 : 0;
    // Equal up to float rounding: the prefix states of a causal model do not depend on the
    // continuation, but matrix kernels may sum in another order for another length.
    out.exact_ties += std::abs(s_plus - s_minus) <= 1e-6 ? 1 : 0;
  }
  return out;
}

// Per layer: mean cosine between the token states under the causal and the bidirectional
// mask (spec analysis b).
std::vector<double> layer_cosines(model::Transformer& lm, const text::Tokenizer& tok, const std::string& paragraph) {
  torch::NoGradGuard no_grad;
  lm->eval();
  const auto ids = tok.encode(paragraph);
  const auto tokens = torch::tensor(ids, torch::kLong).view({1, -1}).narrow(1, 0, std::min<int64_t>(static_cast<int64_t>(ids.size()), 128));
  auto states = [&](MaskMode mask) {
    model::ForwardOptions o;
    o.mask = mask;
    o.return_hidden_states = true;
    o.compute_logits = false;
    return lm->forward(tokens, o).hidden_states;
  };
  const auto causal = states(MaskMode::causal), bidirectional = states(MaskMode::bidirectional);
  std::vector<double> out;
  for (size_t layer = 1; layer < causal.size(); ++layer)
    out.push_back(torch::nn::functional::cosine_similarity(causal[layer], bidirectional[layer],
                                                           torch::nn::functional::CosineSimilarityFuncOptions().dim(-1))
                      .mean()
                      .item<double>());
  return out;
}

// ---- training ----------------------------------------------------------------------------

model::Transformer fresh_base(const Setup& s) { return model::load_model(s.base.model, s.ctx.device).model; }

// Every variant of a run from base v2 encodes under bf16, as its fine-tuning runs.
Embedder embedder_of(const Setup& s, model::Transformer lm, MaskMode mask, Pooling pooling) {
  EmbedderConfig config;
  config.mask = mask;
  config.pooling = pooling;
  config.max_tokens = s.sizes.max_tokens;
  config.bf16 = s.base.bf16;
  return Embedder(std::move(lm), config);
}

// A corpus split as MNTP reads it (its first characters only at smoke scale).
std::string corpus_text(const Setup& s, const std::string& split) {
  return read_file(s.corpus.split(split)).substr(0, s.sizes.corpus_chars);
}

// MNTP from the base under the bidirectional mask. The trained model stays in memory (the
// Bi + MNTP variant) and its checkpoint in runs/mntp (where SimCSE from Bi + MNTP starts).
model::Transformer train_mntp(const Setup& s, Result& result) {
  const Context& ctx = s.ctx;
  say(ctx, kSlug, fmt::format("MNTP, {} steps", s.sizes.stage_steps));
  auto lm = fresh_base(s);
  auto tc = finetune_config(s.sizes.stage_steps, s.sizes.mntp_batch, 3e-4, s.sizes.warmup, ctx.seed, s.base.bf16);
  tc.seq = s.sizes.mntp_seq;
  tc.eval_windows = s.sizes.mntp_eval_windows;
  const train::TokenWindows windows(train::encode_corpus(s.tokenizer, corpus_text(s, "train")),
                                    train::encode_corpus(s.tokenizer, corpus_text(s, "valid")), s.tokenizer.bos_id(), tc.seq,
                                    tc.batch, tc.eval_windows, ctx.seed);
  train::Trainer trainer(tc, ctx.out / "runs" / "mntp");
  trainer.quiet = ctx.quiet;
  const auto options = train::mntp_options_for(s.tokenizer, 0.2, train::MntpStrategy::bert);
  torch::manual_seed(static_cast<int64_t>(ctx.seed));
  const auto r = trainer.fit(*lm, train::mntp_objective(lm, windows, options, ctx.seed, s.base.tokenizer.string()), false);
  result.notes.push_back(fmt::format("MNTP: {} steps of {} x {} tokens, 20% BERT-style masking, lr 3e-4; held-out MNTP loss {:.3f} "
                                     "({:.0f} s).", s.sizes.stage_steps, tc.batch, tc.seq, r.val_loss, r.seconds));
  return lm;
}

// SimCSE sentences: corpus lines of 4..32 tokens.
std::vector<std::string> simcse_sentences(const Setup& s) {
  auto lines = text::read_text_documents(s.corpus.split("train"), text::TextUnit::line);
  if (lines.size() > s.sizes.sentence_lines) lines.resize(s.sizes.sentence_lines);
  return train::sentences_by_length(lines, s.tokenizer, 4, 32);
}

// Unsupervised SimCSE: a sentence and itself under another dropout mask are the positive pair.
Embedder train_simcse(const Setup& s, const std::vector<text::TextPair>& pairs, Embedder embedder, const std::string& name) {
  const Context& ctx = s.ctx;
  say(ctx, kSlug, fmt::format("SimCSE from {}, {} steps", name, s.sizes.stage_steps));
  const auto tc = finetune_config(s.sizes.stage_steps, s.sizes.simcse_batch, 1e-4, s.sizes.warmup, ctx.seed, s.base.bf16);
  embedder->backbone->set_dropout(0.3);
  train::EmbedObjectiveConfig objective;
  objective.contrastive.temperature = 0.05;
  train::Trainer trainer(tc, ctx.out / "runs" / ("simcse-" + name));
  trainer.quiet = ctx.quiet;
  torch::manual_seed(static_cast<int64_t>(ctx.seed));
  trainer.fit(*embedder, train::contrastive_objective(embedder, s.tokenizer, pairs, {}, objective, tc, s.base.tokenizer.string()), false);
  return embedder;
}

// ---- variants and reports ----------------------------------------------------------------

struct Variant {
  std::string name;
  Embedder embedder;
  Scores scores;
};

// The ten variants, in report order. The three poolings of a model share its backbone.
std::vector<Variant> variants_of(const Setup& s, const model::Transformer& base_lm, const model::Transformer& mntp_lm, const Embedder& uni_simcse,
                                 const Embedder& bi_simcse, const Embedder& llm2vec_mean) {
  const auto& llm2vec_lm = llm2vec_mean->backbone;
  return {
      {"Uni + last", embedder_of(s, base_lm, MaskMode::causal, Pooling::last_token), {}},
      {kUniMean, embedder_of(s, base_lm, MaskMode::causal, Pooling::mean), {}},
      {kUniWeightedMean, embedder_of(s, base_lm, MaskMode::causal, Pooling::weighted_mean), {}},
      {kBi, embedder_of(s, base_lm, MaskMode::bidirectional, Pooling::mean), {}},
      {kBiMntp, embedder_of(s, mntp_lm, MaskMode::bidirectional, Pooling::mean), {}},
      {kUniSimcse, uni_simcse, {}},
      {kBiSimcse, bi_simcse, {}},
      {kLlm2vecLast, embedder_of(s, llm2vec_lm, MaskMode::bidirectional, Pooling::last_token), {}},
      {kLlm2vecMean, llm2vec_mean, {}},
      {"LLM2Vec (Bi + MNTP + SimCSE) + w.mean", embedder_of(s, llm2vec_lm, MaskMode::bidirectional, Pooling::weighted_mean), {}},
  };
}

Embedder& embedder_named(std::vector<Variant>& variants, const std::string& name) {
  for (auto& v : variants)
    if (v.name == name) return v.embedder;
  throw Error("llm2vec: no variant '" + name + "'");
}

Table variants_table(const Benchmarks& bench, const std::vector<Variant>& variants) {
  Table table{"Variants (x 100): Spearman on STS-B and SICK, nDCG@10 on " + std::string(bench.med ? "MED" : "WordNet definitions") +
                  ", V-measure of lexname clustering",
              {"variant", "STS-B", "SICK", "retrieval", "clustering", "avg"},
              {}};
  for (const auto& v : variants) {
    const Scores& s = v.scores;
    table.rows.push_back({v.name, optional_num(s.stsb, 2), optional_num(s.sick, 2), num(s.retrieval, 2), num(s.clustering, 2), num(s.avg, 2)});
  }
  return table;
}

Json variants_figures(const std::vector<Variant>& variants) {
  Json out = Json::object();
  for (const auto& v : variants) {
    const Scores& s = v.scores;
    out[v.name] = {{"stsb", s.stsb ? Json(*s.stsb) : Json()}, {"sick", s.sick ? Json(*s.sick) : Json()},
                   {"retrieval", s.retrieval}, {"clustering", s.clustering}, {"avg", s.avg}};
  }
  return out;
}

Table prefix_table(const PrefixTest& uni, const PrefixTest& mntp) {
  Table table{"Prefix test: 'According to the report,' + a paraphrase (s+) or an unrelated sentence (s-), pooled over the prefix",
              {"model", "triples", "sim(q,s+) > sim(q,s-) (%)", "equal to 1e-6 (%)"},
              {}};
  const auto share = [](int64_t count, int64_t triples) {
    return triples > 0 ? pct(static_cast<double>(count) / static_cast<double>(triples)) : missing();
  };
  for (const auto& [name, p] : {std::pair{"Uni + mean (causal)", uni}, std::pair{"Bi + MNTP + mean", mntp}})
    table.rows.push_back({name, integer(p.triples), share(p.positive_wins, p.triples), share(p.exact_ties, p.triples)});
  return table;
}

Table layers_table(const std::vector<double>& base, const std::vector<double>& mntp) {
  Table table{"Mean cosine between causal and bidirectional hidden states of one paragraph, per layer", {"model"}, {}};
  std::vector<Cell> row_base{"base LM"}, row_mntp{"after MNTP"};
  for (size_t i = 0; i < base.size(); ++i) {
    table.header.push_back(fmt::format("layer {}", i + 1));
    row_base.push_back(num(base[i], 3));
    row_mntp.push_back(num(mntp[i], 3));
  }
  table.rows = {row_base, row_mntp};
  return table;
}

Result run(const Context& ctx) {
  Result result;
  const auto base = shared_base_lm(ctx);
  const auto tokenizer = text::load_tokenizer(base.tokenizer.string());
  const Sizes sizes = sizes_for(ctx);
  const Benchmarks bench = load_benchmarks(ctx, sizes);
  result.base_recipe = base.recipe;
  result.data_used = fmt::format("base LM {} pretrained on {}; evaluation: {}", base.recipe, base.sources, bench.description);
  const Setup setup{ctx, sizes, base, *tokenizer, text::prepare_default_corpus(text::default_corpus_dir(ctx.cache))};

  // The three steps: MNTP from the base, then SimCSE from Uni, from Bi and from Bi + MNTP.
  auto mntp_lm = train_mntp(setup, result);
  const auto sentences = simcse_sentences(setup);
  const auto pairs = train::simcse_pairs(sentences);
  const auto uni_simcse = train_simcse(setup, pairs, embedder_of(setup, fresh_base(setup), MaskMode::causal, Pooling::weighted_mean), "uni");
  const auto bi_simcse = train_simcse(setup, pairs, embedder_of(setup, fresh_base(setup), MaskMode::bidirectional, Pooling::mean), "bi");
  const auto llm2vec_mean = train_simcse(
      setup, pairs, embedder_of(setup, model::load_model(train::model_folder(ctx.out / "runs" / "mntp"), ctx.device).model, MaskMode::bidirectional, Pooling::mean),
      "bi-mntp");

  auto base_lm = fresh_base(setup);
  auto variants = variants_of(setup, base_lm, mntp_lm, uni_simcse, bi_simcse, llm2vec_mean);
  for (auto& v : variants) {
    say(ctx, kSlug, "scoring " + v.name);
    v.scores = score(v.embedder, *tokenizer, bench, ctx.seed);
  }

  // The analyses: the prefix test and the per-layer cosines.
  const auto prefix_uni = prefix_test(embedder_named(variants, kUniMean), *tokenizer, bench.stsb, ctx.seed, sizes.prefix_triples);
  const auto prefix_mntp = prefix_test(embedder_named(variants, kBiMntp), *tokenizer, bench.stsb, ctx.seed, sizes.prefix_triples);
  const std::string paragraph = read_file(setup.corpus.split("valid")).substr(0, 600);
  const auto cos_base = layer_cosines(base_lm, *tokenizer, paragraph);
  const auto cos_mntp = layer_cosines(mntp_lm, *tokenizer, paragraph);

  result.tables = {variants_table(bench, variants), prefix_table(prefix_uni, prefix_mntp), layers_table(cos_base, cos_mntp)};
  result.figures = {{"variants", variants_figures(variants)},
                    {"prefix", {{"uni_equal", prefix_uni.exact_ties}, {"mntp_wins", prefix_mntp.positive_wins}, {"triples", prefix_mntp.triples}}},
                    {"layer_cosine", {{"base", cos_base}, {"mntp", cos_mntp}}},
                    {"base_lm_val_loss", base.val_loss}};
  result.notes.push_back(fmt::format("SimCSE: {} steps of {} sentences (4..32 tokens, {} from the built-in corpus), dropout 0.3, "
                                     "temperature 0.05, lr 1e-4, full fine-tuning (the spec's fallback for LoRA).",
                                     sizes.stage_steps, sizes.simcse_batch, sentences.size()));
  result.notes.push_back(fmt::format("The paper adapts 1.3-8B pretrained LLMs and scores MTEB; here a {:.1f}M-parameter base LM ({}) "
                                     "is adapted for minutes, so absolute scores are low; the claim checked is the ordering of the "
                                     "ablations. Every text is cut at {} tokens.",
                                     static_cast<double>(base.parameters) / 1e6, base.recipe, sizes.max_tokens));
  return result;
}

// ---- criteria ----------------------------------------------------------------------------

// The spec's criteria ("Small-scale reproduction"), read from the variants' averages by name.
std::vector<Criterion> criteria(const Json& figures) {
  const Json& variants = field(figures, "variants");
  const auto avg = [&](const char* variant, const std::string& shown) { return q(shown + " avg", number(field(variants, variant), "avg")); };
  const auto uni_mean = avg(kUniMean, "Uni + mean"), uni_weighted = avg(kUniWeightedMean, "Uni + w.mean"),
             bi = avg(kBi, "Bi untrained + mean"), bi_mntp = avg(kBiMntp, "Bi + MNTP + mean"),
             uni_simcse = avg(kUniSimcse, "Uni + SimCSE + w.mean"), bi_simcse = avg(kBiSimcse, "Bi + SimCSE + mean"),
             llm2vec_last = avg(kLlm2vecLast, "LLM2Vec + last"), llm2vec_mean = avg(kLlm2vecMean, "LLM2Vec + mean");
  // Every variant but LLM2Vec + mean competes for "best other" (Uni + SimCSE at least).
  Quantity best_other = q("best other avg", -std::numeric_limits<double>::infinity());
  for (const auto& item : variants.items()) {
    const double value = number(item.value(), "avg");
    if (item.key() != kLlm2vecMean && value > best_other.value) best_other = q("best other avg (" + item.key() + ")", value);
  }

  const Json& prefix = field(figures, "prefix");
  const auto triples = static_cast<int64_t>(number(prefix, "triples"));
  const auto uni_equal = static_cast<int64_t>(number(prefix, "uni_equal"));
  const double mntp_wins = number(prefix, "mntp_wins");
  const std::string prefix_label = "5. prefix test: the causal prefix ignores what follows it, the bidirectional one reads it";
  // Without STS-B paraphrases there are no triples: the claim cannot be tested (a gate).
  const Criterion prefix_criterion =
      triples == 0 ? missing_data(prefix_label, "causal similarities equal and Bi + MNTP prefers s+ on >= 65% of triples",
                                  "no STS-B paraphrases under the data root")
                   : criterion(prefix_label, {equals("causal (Uni + mean) triples with equal similarities", uni_equal, triples),
                                              ratio_at_least(q("Bi + MNTP triples preferring s+", mntp_wins, 0),
                                                             q("triples", static_cast<double>(triples), 0), 0.65)});
  return {
      criterion("1. bidirectional attention alone hurts", {below(bi, uni_weighted)}),
      criterion("2. MNTP adapts the model to bidirectional attention", {at_least(bi_mntp, bi, 3), at_least(bi_mntp, uni_mean)}),
      criterion("3. the three steps together give the best encoder",
                {at_least(llm2vec_mean, best_other), at_least(llm2vec_mean, uni_simcse, 2), at_least(llm2vec_mean, bi_simcse, 2)}),
      criterion("4. mean pooling beats last-token pooling", {at_least(llm2vec_mean, llm2vec_last)}),
      prefix_criterion,
  };
}

const Registration registered{{
    .slug = kSlug,
    .title = "LLM2Vec: large language models are secretly powerful text encoders",
    .paper = "BehnamGhader, Adlakha, Mosbach, Bahdanau, Chapados, Reddy, LLM2Vec: Large Language Models Are Secretly Powerful "
             "Text Encoders, COLM 2024, arXiv:2404.05961",
    .claim = "A decoder-only LM becomes a strong text encoder without labelled data by three steps: bidirectional attention, "
             "masked next-token prediction to adapt to it, and unsupervised SimCSE; bidirectional attention alone hurts, "
             "each step helps, and mean pooling beats last-token pooling.",
    .budget = "quick: about 5 minutes on 2 CPU cores (plus about 4 for the base LM when not cached); full: 1000 steps per stage",
    .figures_version = 1,
    .run = run,
    .criteria = criteria,
}};

}  // namespace

}  // namespace garden::repro::llm2vec
