// Reproduction of "Matryoshka Representation Learning" (Kusupati et al., NeurIPS 2022,
// arXiv:2205.13147), small scale, following ../papers/matryoshka.md:
//   E1 classification - WordNet noun glosses by lexicographer file, a small bidirectional
//      encoder trained from scratch: MRL, MRL-E and fixed-feature (FF) models of each width,
//      FF-64 truncated and its SVD as post-hoc baselines; linear and 1-NN top-1 per width, and
//      the adaptive-classification cascade;
//   E2 retrieval - the shared base LM fine-tuned contrastively on title -> body pseudo-queries:
//      MRL against FF-16 and FF-128 (nDCG@10 on real queries at each width), adaptive
//      retrieval and the funnel with their multiply-adds and measured wall-clock.
// Criteria follow the spec's "Small-scale reproduction".
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/eval/adaptive_classification.h"
#include "garden/eval/clustering.h"
#include "garden/eval/embedding_suite.h"
#include "garden/model/embedder.h"
#include "garden/model/model_folder.h"
#include "garden/repro/embedding_setup.h"
#include "garden/repro/toolkit.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/matryoshka_funnel.h"
#include "garden/retrieval/model_vectors.h"
#include "garden/retrieval/training_pairs.h"
#include "garden/text/pairs.h"
#include "garden/text/prepare.h"
#include "garden/text/tokenizer.h"
#include "garden/train/base_lm.h"
#include "garden/train/embedder_training.h"
#include "garden/train/mrl_classification.h"
#include "garden/train/trainer.h"

namespace garden::repro::matryoshka {

namespace {

const char* const kSlug = "matryoshka";

// ---- E1: classification ----------------------------------------------------------------

struct ClassificationArm {
  std::string name;
  train::MrlClassificationModel model{nullptr};
};

struct CascadeRow {
  double target = 0, accuracy = 0, expected_width = 0;
  std::string ff_width;  // the smallest FF width at least as accurate, or "none"
};

struct E1 {
  std::vector<int64_t> widths;
  std::map<std::string, std::vector<double>> linear, nearest;  // arm -> top-1 per width
  std::vector<double> ff_linear, ff_nearest;                    // FF-m at each m
  std::vector<CascadeRow> cascade;
  std::string data;
  double seconds = 0;
  int64_t steps = 0, warmup = 0, vocab = 0, probe_steps = 0;
};

// The split glosses and the SentencePiece model trained on the training ones.
struct E1Data {
  std::filesystem::path dir;
  train::LabelledTexts train, validation, test;
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::string tokenizer_spec() const { return (dir / "tokenizer.model").string(); }
};

train::LabelledTexts labelled(const eval::LexnameTask& task) { return {task.glosses, task.labels, task.classes}; }

E1Data load_e1_data(const Context& ctx, E1& e, const std::filesystem::path& dir) {
  const size_t per_class = ctx.pick<size_t>(20, 400, 1000000);
  const auto splits = eval::wordnet_lexname_splits(ctx.wordnet, per_class, ctx.seed);
  E1Data d{dir, labelled(splits.train), labelled(splits.validation), labelled(splits.test), nullptr};
  e.data = fmt::format("WordNet noun glosses, {} lexnames (noun.Tops excluded), at most {} per class: {} train / {} validation / {} test",
                       splits.class_names.size(), ctx.scale == Scale::full ? std::string("all") : std::to_string(per_class),
                       d.train.texts.size(), d.validation.texts.size(), d.test.texts.size());
  std::filesystem::create_directories(dir);
  std::string lines;
  for (const auto& g : d.train.texts) lines.append(g).push_back('\n');
  write_file_atomic(dir / "train-glosses.txt", lines);
  text::TokenizerTrainOptions options;
  options.inputs = {dir / "train-glosses.txt"};
  options.vocab = e.vocab;
  text::train_tokenizer(options, dir / "tokenizer.model");
  d.tokenizer = text::load_tokenizer(d.tokenizer_spec());
  return d;
}

// One encoder (2 layers, d_model 64, mean pooling, projection to `projection`) with heads at
// `widths`, trained from the same seed as every other arm.
train::MrlClassificationModel train_e1_arm(const Context& ctx, const E1& e, const E1Data& d, const std::string& name, int64_t projection,
                                           const std::vector<int64_t>& widths, bool efficient) {
  say(ctx, kSlug, fmt::format("E1: training {} ({} steps)", name, e.steps));
  torch::manual_seed(static_cast<int64_t>(ctx.seed));
  model::TransformerConfig c;
  c.vocab = d.tokenizer->vocab_size();
  c.d_model = 64;
  c.n_layers = 2;
  c.n_heads = 2;
  c.d_ff = 256;
  c.max_seq = 64;
  model::EmbedderConfig ec;
  ec.mask = model::MaskMode::bidirectional;
  ec.pooling = model::Pooling::mean;
  ec.projection = projection;
  ec.max_tokens = 48;
  train::MrlClassificationModel m(model::Embedder(model::Transformer(c), ec),
                                  train::MrlHeadConfig{widths, projection, d.train.classes, efficient});
  m->to(ctx.device);
  const auto tc = finetune_config(e.steps, 64, 1e-3, e.warmup, ctx.seed, /*bf16=*/false);
  train::Trainer trainer(tc, d.dir / "runs" / name);
  trainer.quiet = ctx.quiet;
  trainer.fit(*m, train::mrl_classification_objective(m, *d.tokenizer, d.train, {}, {}, train::MrlAggregation::sum, tc, d.tokenizer_spec()),
              false);
  return m;
}

torch::Tensor features(train::MrlClassificationModel& m, const E1Data& d, const train::LabelledTexts& data) {
  return model::encode_features(m->encoder, *d.tokenizer, data.texts, 128);
}

// Linear (own heads) and 1-NN top-1 of MRL, MRL-E and the FF models at each width.
void score_e1_models(E1& e, const E1Data& d, std::vector<ClassificationArm>& arms, std::vector<train::MrlClassificationModel>& ff_models) {
  for (auto& arm : arms) {
    const auto probabilities = train::head_probabilities(arm.model, *d.tokenizer, d.test.texts, 128);
    const auto train_f = features(arm.model, d, d.train), test_f = features(arm.model, d, d.test);
    for (size_t w = 0; w < e.widths.size(); ++w) {
      e.linear[arm.name].push_back(train::top1_accuracy(probabilities[w], d.test.labels));
      e.nearest[arm.name].push_back(train::nearest_neighbour_accuracy(train_f, d.train.labels, test_f, d.test.labels, e.widths[w]));
    }
  }
  for (size_t w = 0; w < e.widths.size(); ++w) {
    const auto probabilities = train::head_probabilities(ff_models[w], *d.tokenizer, d.test.texts, 128);
    e.ff_linear.push_back(train::top1_accuracy(probabilities[0], d.test.labels));
    e.ff_nearest.push_back(train::nearest_neighbour_accuracy(features(ff_models[w], d, d.train), d.train.labels,
                                                             features(ff_models[w], d, d.test), d.test.labels, e.widths[w]));
  }
}

// Post-hoc baselines on FF-64's features. Plain truncation keeps FF-64's own head, cut to
// its first m columns (no retraining: what using a prefix of a non-MRL model gives); the
// top-m SVD directions are read by a linear probe fit on the training features, as the
// paper's SVD baseline.
void score_posthoc_baselines(E1& e, const E1Data& d, train::MrlClassificationModel& ff_full, uint64_t seed) {
  const int64_t width = e.widths.back();
  const auto full_train = features(ff_full, d, d.train), full_test = features(ff_full, d, d.test);
  auto ff_head = ff_full->head->named_parameters();
  const auto ff_weight = ff_head[fmt::format("head_{}", width) + ".weight"].detach(),
             ff_bias = ff_head[fmt::format("head_{}", width) + ".bias"].detach();
  const auto mean = full_train.mean(0, true);
  const auto svd = torch::linalg_svd(full_train - mean, false);
  const auto basis = std::get<2>(svd).t();  // [d, d], columns = right singular vectors by decreasing value
  const auto svd_train = (full_train - mean).matmul(basis), svd_test = (full_test - mean).matmul(basis);
  for (int64_t m : e.widths) {
    e.linear["FF-64 truncated"].push_back(
        train::top1_accuracy(full_test.narrow(1, 0, m).matmul(ff_weight.narrow(1, 0, m).t()) + ff_bias, d.test.labels));
    e.nearest["FF-64 truncated"].push_back(train::nearest_neighbour_accuracy(full_train, d.train.labels, full_test, d.test.labels, m));
    e.linear["SVD of FF-64"].push_back(train::linear_probe_accuracy(svd_train.narrow(1, 0, m), d.train.labels, svd_test.narrow(1, 0, m),
                                                                    d.test.labels, d.train.classes, e.probe_steps, seed));
    e.nearest["SVD of FF-64"].push_back(train::nearest_neighbour_accuracy(svd_train, d.train.labels, svd_test, d.test.labels, m));
  }
}

eval::CascadeScores cascade_scores(const E1& e, const E1Data& d, train::MrlClassificationModel& mrl, const train::LabelledTexts& data) {
  eval::CascadeScores s;
  s.widths = e.widths;
  for (const auto& p : train::head_probabilities(mrl, *d.tokenizer, data.texts, 128)) {
    const auto top = p.max(1);
    const auto confidence = std::get<0>(top).to(torch::kDouble).contiguous(), predicted = std::get<1>(top).contiguous();
    s.confidence.emplace_back(confidence.data_ptr<double>(), confidence.data_ptr<double>() + confidence.numel());
    s.predicted.emplace_back(predicted.data_ptr<int64_t>(), predicted.data_ptr<int64_t>() + predicted.numel());
  }
  return s;
}

// Adaptive classification with MRL's heads: thresholds fit on validation for a target
// precision, scored on test; the width FF needs for the same accuracy for comparison.
std::vector<CascadeRow> adaptive_classification(const E1& e, const E1Data& d, train::MrlClassificationModel& mrl) {
  const auto validation_scores = cascade_scores(e, d, mrl, d.validation), test_scores = cascade_scores(e, d, mrl, d.test);
  std::vector<CascadeRow> rows;
  for (double target : {0.5, 0.6, 0.7, 0.8, 0.9}) {
    const auto thresholds = eval::fit_cascade_thresholds(validation_scores, d.validation.labels, target);
    const auto outcome = eval::run_cascade(test_scores, thresholds, d.test.labels);
    std::string ff_width = "none";
    for (size_t w = 0; w < e.widths.size(); ++w)
      if (e.ff_linear[w] >= outcome.accuracy) {
        ff_width = std::to_string(e.widths[w]);
        break;
      }
    rows.push_back({target, outcome.accuracy, outcome.expected_width, ff_width});
  }
  return rows;
}

E1 run_classification(const Context& ctx) {
  const Stopwatch clock;
  E1 e;
  e.widths = {4, 8, 16, 32, 64};
  e.steps = ctx.pick<int64_t>(15, 560, 4000);  // quick: seven encoders, about 4 minutes
  e.warmup = ctx.pick<int64_t>(5, 50, 50);
  e.vocab = ctx.pick<int64_t>(500, 4000, 4000);
  e.probe_steps = ctx.pick<int64_t>(50, 300, 300);
  const E1Data d = load_e1_data(ctx, e, ctx.out / "e1");
  const int64_t width = e.widths.back();
  std::vector<ClassificationArm> arms;
  arms.push_back({"MRL", train_e1_arm(ctx, e, d, "MRL", width, e.widths, false)});
  arms.push_back({"MRL-E", train_e1_arm(ctx, e, d, "MRL-E", width, e.widths, true)});
  std::vector<train::MrlClassificationModel> ff_models;
  for (int64_t m : e.widths) ff_models.push_back(train_e1_arm(ctx, e, d, fmt::format("FF-{}", m), m, {m}, false));
  score_e1_models(e, d, arms, ff_models);
  score_posthoc_baselines(e, d, ff_models.back(), ctx.seed);
  e.cascade = adaptive_classification(e, d, arms[0].model);
  e.seconds = clock.seconds();
  return e;
}

// ---- E2: retrieval ---------------------------------------------------------------------

// Adaptive retrieval: a shortlist of 200 by the 16-d prefix, re-ranked at 128 dims; the
// funnel: a shortlist by the 8-d prefix, narrowed while the width grows.
const retrieval::FunnelPlan kAdaptive{{128}, {200}};
const int64_t kAdaptiveShortlistDims = 16;
const retrieval::FunnelPlan kFunnel{{16, 32, 64, 128}, {200, 100, 50, 25}};
const int64_t kFunnelShortlistDims = 8;

struct EvalCollection {
  std::string name;
  retrieval::Collection collection;
};

struct E2Data {
  train::BaseLm base;
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::vector<text::TextPair> pairs;
  std::vector<std::string> sources;  // where the pairs come from, with their counts
  std::vector<EvalCollection> evals;
};

struct E2Arms {
  model::Embedder mrl{nullptr}, ff16{nullptr}, ff128{nullptr};
};

struct E2 {
  std::vector<std::string> collections;
  std::vector<int64_t> widths;
  std::map<std::string, std::vector<std::vector<double>>> ndcg;  // arm -> [collection][width]; NaN where not defined
  std::vector<double> adaptive, funnel;                          // MRL, per collection
  std::string cost_collection;
  int64_t cost_docs = 0, flops_adaptive = 0, flops_funnel = 0;
  double flops_ratio_adaptive = 0, flops_ratio_funnel = 0;
  double ms_exact = 0, ms_adaptive = 0, ms_funnel = 0;
  std::string data, base_recipe;
  double seconds = 0;
  int64_t steps = 0, warmup = 0, batch = 0, pairs = 0;
};

// Without the IR collections: WordNet definition -> lemma pairs, and retrieval of held-out
// synsets' lemmas by their definitions.
void use_wordnet(const Context& ctx, E2Data& d) {
  auto synsets = text::wordnet_synsets(ctx.wordnet, {"noun", "verb", "adj"});
  std::mt19937_64 rng(ctx.seed + 3);
  std::shuffle(synsets.begin(), synsets.end(), rng);
  const size_t held = ctx.pick<size_t>(200, 2000, 2000);
  // At smoke scale a slice of the rest trains: the pairs only need to exist.
  const size_t rest = synsets.size() - held;
  const size_t training = std::min(rest, ctx.pick<size_t>(2000, rest, rest));
  const auto first = synsets.begin(), held_end = first + static_cast<std::ptrdiff_t>(held);
  const std::vector<text::WordNetSynset> test(first, held_end);
  d.pairs = text::wordnet_definition_pairs({held_end, held_end + static_cast<std::ptrdiff_t>(training)});
  d.sources = {fmt::format("WordNet definition -> lemmas {}", d.pairs.size())};
  EvalCollection wn{"wordnet", {}};
  int64_t i = 0;
  for (const auto& p : text::wordnet_definition_pairs(test)) {
    const std::string id = std::to_string(i++);
    wn.collection.corpus.push_back({id, "", p.positive});
    wn.collection.queries.push_back({id, p.query});
    wn.collection.qrels[id][id] = 1;
  }
  d.evals.clear();
  d.evals.push_back(std::move(wn));
}

// Training pairs: titles (or lead sentences) of the collections' documents, no test labels;
// evaluation on their real queries. Smoke scale takes the WordNet path whatever the data
// root holds, so that it stays at toy sizes.
E2Data load_e2_data(const Context& ctx) {
  E2Data d;
  d.base = shared_base_lm(ctx);
  d.tokenizer = text::load_tokenizer(d.base.tokenizer.string());
  if (ctx.scale != Scale::smoke) {
    for (const std::string name : {"cranfield", "cisi", "lisa", "cacm", "npl"}) {
      const auto dir = beir_dir(ctx, name);
      if (!dir) continue;
      const auto c = retrieval::read_beir_collection(*dir);
      auto more = name == "npl" ? retrieval::lead_sentence_pairs(c) : retrieval::title_body_pairs(c);
      d.sources.push_back(fmt::format("{} {}", name, more.size()));
      d.pairs.insert(d.pairs.end(), more.begin(), more.end());
    }
    for (const std::string name : {"cranfield", "med", "cisi", "npl"})
      if (const auto dir = beir_dir(ctx, name)) d.evals.push_back({name, retrieval::read_beir_collection(*dir)});
  }
  if (d.pairs.empty() || d.evals.empty()) use_wordnet(ctx, d);
  return d;
}

// The base LM, bidirectional with mean pooling and a projection, fine-tuned with InfoNCE
// (MRL's nested losses at `widths` when given), from the same seed as the other arms.
model::Embedder train_e2_arm(const Context& ctx, const E2& e, const E2Data& d, const std::string& name, int64_t projection,
                             const std::vector<int64_t>& widths) {
  say(ctx, kSlug, fmt::format("E2: training {} ({} steps)", name, e.steps));
  torch::manual_seed(static_cast<int64_t>(ctx.seed));
  model::EmbedderConfig ec;
  ec.mask = model::MaskMode::bidirectional;
  ec.pooling = model::Pooling::mean;
  ec.projection = projection;
  ec.max_tokens = 64;
  ec.bf16 = d.base.bf16;
  model::Embedder embedder(model::load_model(d.base.model, ctx.device).model, ec);
  embedder->to(ctx.device);
  const auto tc = finetune_config(e.steps, e.batch, 5e-4, e.warmup, ctx.seed, d.base.bf16);
  train::EmbedObjectiveConfig objective;
  objective.contrastive.temperature = 0.05;
  objective.mrl_widths = widths;
  train::Trainer trainer(tc, ctx.out / "e2" / "runs" / name);
  trainer.quiet = ctx.quiet;
  trainer.fit(*embedder, train::contrastive_objective(embedder, *d.tokenizer, d.pairs, {}, objective, tc, d.base.tokenizer.string()), false);
  return embedder;
}

double ndcg_at_width(const retrieval::EncodedCollection& e, const retrieval::Qrels& qrels, int64_t width) {
  return eval::ndcg10(retrieval::exact_search(retrieval::truncate_rows(e.docs, width, true), retrieval::truncate_rows(e.queries, width, true), 10),
                e, qrels);
}

double funnel_ndcg(const retrieval::EncodedCollection& e, const retrieval::Qrels& qrels, int64_t shortlist_dims, const retrieval::FunnelPlan& plan) {
  const auto candidates = retrieval::exact_search(retrieval::truncate_rows(e.docs, shortlist_dims, true),
                                                  retrieval::truncate_rows(e.queries, shortlist_dims, true), plan.shortlist.front());
  return eval::ndcg10(retrieval::rerank_cascade(e.docs, e.queries, candidates, plan, 10, true), e, qrels);
}

// Cost on the collection evaluated last (NPL, the largest, with the data root): multiply-adds
// and measured wall-clock of FAISS flat search at 128 dimensions against the index on the
// short prefix plus the exact re-ranking.
void measure_cost(const Context& ctx, E2& e, const std::string& name, const retrieval::EncodedCollection& em) {
  e.cost_collection = name;
  e.cost_docs = em.docs.rows;
  const int64_t n = em.docs.rows;
  e.flops_adaptive = retrieval::funnel_flops(n, kAdaptiveShortlistDims, kAdaptive);
  e.flops_funnel = retrieval::funnel_flops(n, kFunnelShortlistDims, kFunnel);
  e.flops_ratio_adaptive = static_cast<double>(n * 128) / static_cast<double>(e.flops_adaptive);
  e.flops_ratio_funnel = static_cast<double>(n * 128) / static_cast<double>(e.flops_funnel);
  const auto index_dir = ctx.out / "e2" / "indexes";
  const int repeats = ctx.pick(2, 20, 20);
  auto timed = [&](int64_t dims, const std::optional<retrieval::FunnelPlan>& plan) {
    retrieval::DenseOptions o;
    o.dims = dims;
    const auto dir = index_dir / fmt::format("d{}", dims);
    retrieval::build_dense_index(em.docs, em.doc_ids, dir, o, Json::object());
    const retrieval::DenseIndex index(dir);
    const Stopwatch clock;
    for (int r = 0; r < repeats; ++r) {
      const auto hits = plan ? index.funnel(em.queries, 10, *plan) : index.search(em.queries, 10);
      if (hits.empty()) throw Error("no hits");
    }
    return 1000 * clock.seconds() / repeats / static_cast<double>(em.queries.rows);
  };
  e.ms_exact = timed(128, std::nullopt);
  e.ms_adaptive = timed(kAdaptiveShortlistDims, kAdaptive);
  e.ms_funnel = timed(kFunnelShortlistDims, kFunnel);
}

void evaluate_collection(const Context& ctx, E2& e, E2Arms& arms, const E2Data& d, const EvalCollection& c, bool measure) {
  say(ctx, kSlug, "E2: evaluating on " + c.name);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto encode = [&](model::Embedder& e) { return retrieval::encode_collection(e, *d.tokenizer, c.collection, "", 64); };
  const auto em = encode(arms.mrl), e16 = encode(arms.ff16), e128 = encode(arms.ff128);
  const auto& qrels = c.collection.qrels;
  std::vector<double> row_mrl, row_ff, row_trunc;
  for (int64_t w : e.widths) {
    row_mrl.push_back(ndcg_at_width(em, qrels, w));
    row_ff.push_back(w == 16 ? ndcg_at_width(e16, qrels, 16) : w == 128 ? ndcg_at_width(e128, qrels, 128) : nan);
    row_trunc.push_back(ndcg_at_width(e128, qrels, w));
  }
  e.ndcg["MRL"].push_back(row_mrl);
  e.ndcg["FF"].push_back(row_ff);
  e.ndcg["FF-128 truncated"].push_back(row_trunc);
  e.adaptive.push_back(funnel_ndcg(em, qrels, kAdaptiveShortlistDims, kAdaptive));
  e.funnel.push_back(funnel_ndcg(em, qrels, kFunnelShortlistDims, kFunnel));
  if (measure) measure_cost(ctx, e, c.name, em);
}

E2 run_retrieval(const Context& ctx) {
  const Stopwatch clock;
  E2 e;
  e.widths = {8, 16, 32, 64, 128};
  // quick: three fine-tuned models, about 3.5 minutes from v1 (140 steps); from v2 a step
  // costs several times as much, and 15 steps with scoring take about 5
  e.steps = pick_for_base<int64_t>(ctx, 10, 140, 15, 1000);
  e.warmup = pick_for_base<int64_t>(ctx, 2, 20, 3, 20);
  e.batch = ctx.pick<int64_t>(8, 32, 32);
  const E2Data d = load_e2_data(ctx);
  e.pairs = static_cast<int64_t>(d.pairs.size());
  for (const auto& c : d.evals) e.collections.push_back(c.name);
  e.base_recipe = d.base.recipe;
  e.data = fmt::format("base LM {} pretrained on {}; training pairs: {}; evaluation (real queries): {}", d.base.recipe, d.base.sources, join(d.sources, ", "),
                       join(e.collections, ", "));
  E2Arms arms;
  arms.mrl = train_e2_arm(ctx, e, d, "MRL", 128, e.widths);
  arms.ff16 = train_e2_arm(ctx, e, d, "FF-16", 16, {});
  arms.ff128 = train_e2_arm(ctx, e, d, "FF-128", 128, {});
  for (const auto& c : d.evals) evaluate_collection(ctx, e, arms, d, c, &c == &d.evals.back());
  e.seconds = clock.seconds();
  return e;
}

// ---- tables, plots, figures --------------------------------------------------------------

std::vector<Table> e1_tables(const E1& e1) {
  Table linear{"E1: linear top-1 (%) on the test glosses by width (MRL, MRL-E, FF: their own heads; FF-64 truncated: its head's first m "
               "columns; SVD: a linear probe)",
               {"model"}, {}};
  Table nearest{"E1: 1-NN top-1 (%) by width (cosine of the re-normalised prefix, test against train)", {"model"}, {}};
  for (int64_t w : e1.widths) {
    linear.header.push_back(std::to_string(w));
    nearest.header.push_back(std::to_string(w));
  }
  auto add_rows = [&](const std::string& name, const std::vector<double>& lin, const std::vector<double>& nn) {
    std::vector<Cell> a{name}, b{name};
    for (double v : lin) a.push_back(pct(v));
    for (double v : nn) b.push_back(pct(v));
    linear.rows.push_back(a);
    nearest.rows.push_back(b);
  };
  add_rows("MRL", e1.linear.at("MRL"), e1.nearest.at("MRL"));
  add_rows("MRL-E", e1.linear.at("MRL-E"), e1.nearest.at("MRL-E"));
  add_rows("FF (one model per width)", e1.ff_linear, e1.ff_nearest);
  add_rows("FF-64 truncated", e1.linear.at("FF-64 truncated"), e1.nearest.at("FF-64 truncated"));
  add_rows("SVD of FF-64", e1.linear.at("SVD of FF-64"), e1.nearest.at("SVD of FF-64"));
  Table cascade{"E1: adaptive classification with MRL's heads (thresholds fit on validation for a target precision)",
                {"target", "test top-1 (%)", "expected width", "smallest FF width as accurate"}, {}};
  for (const auto& r : e1.cascade) cascade.rows.push_back({num(r.target, 2), pct(r.accuracy), num(r.expected_width, 1), r.ff_width});
  return {linear, nearest, cascade};
}

std::vector<Table> e2_tables(const E2& e2) {
  Table ndcg{"E2: nDCG@10 (x 100) on real queries, exact search on the re-normalised prefix", {"collection", "model"}, {}};
  for (int64_t w : e2.widths) ndcg.header.push_back(std::to_string(w));
  ndcg.header.push_back("adaptive 16->128 (K=200)");
  ndcg.header.push_back("funnel 8->16..128");
  for (size_t c = 0; c < e2.collections.size(); ++c)
    for (const std::string arm : {"MRL", "FF", "FF-128 truncated"}) {
      std::vector<Cell> row{e2.collections[c], arm == "FF" ? "FF-16 / FF-128" : arm};
      for (double v : e2.ndcg.at(arm)[c]) row.push_back(num(v, 2));
      row.push_back(arm == "MRL" ? num(e2.adaptive[c], 2) : missing());
      row.push_back(arm == "MRL" ? num(e2.funnel[c], 2) : missing());
      ndcg.rows.push_back(row);
    }
  Table cost{fmt::format("E2: cost per query on {} ({} documents)", e2.cost_collection, e2.cost_docs),
             {"search", "multiply-adds", "ratio to exact 128-d", "wall-clock per query (ms, FAISS flat + exact re-rank)"},
             {{"exact, 128 dims", integer(e2.cost_docs * 128), num(1.0, 1), num(e2.ms_exact, 3)},
              {"adaptive 16 -> 128, K=200", integer(e2.flops_adaptive), num(e2.flops_ratio_adaptive, 1), num(e2.ms_adaptive, 3)},
              {"funnel 8 -> 16,32,64,128, K=200,100,50,25", integer(e2.flops_funnel), num(e2.flops_ratio_funnel, 1),
               num(e2.ms_funnel, 3)}}};
  return {ndcg, cost};
}

Plot e1_plot(const E1& e1) {
  Plot plot{"e1-linear-top1.svg", "E1: linear top-1 by width", "width", "top-1 (%)", {}, false, true};
  auto series = [&](const std::string& name, const std::vector<double>& v) {
    Series s{name, {}, {}};
    for (size_t w = 0; w < e1.widths.size(); ++w) {
      s.x.push_back(static_cast<double>(e1.widths[w]));
      s.y.push_back(100 * v[w]);
    }
    plot.series.push_back(s);
  };
  series("MRL", e1.linear.at("MRL"));
  series("MRL-E", e1.linear.at("MRL-E"));
  series("FF", e1.ff_linear);
  series("FF-64 truncated", e1.linear.at("FF-64 truncated"));
  series("SVD of FF-64", e1.linear.at("SVD of FF-64"));
  return plot;
}

Json e1_figures(const E1& e1) {
  Json cascade = Json::array();
  for (const auto& r : e1.cascade)
    cascade.push_back({{"target", r.target}, {"accuracy", r.accuracy}, {"expected_width", r.expected_width},
                       {"ff_width_for_accuracy", r.ff_width}});
  return {{"widths", e1.widths}, {"linear", e1.linear}, {"nearest", e1.nearest}, {"ff_linear", e1.ff_linear},
          {"ff_nearest", e1.ff_nearest}, {"cascade", cascade}, {"seconds", e1.seconds}};
}

// nDCG is stored by arm and collection name; "collections" keeps the evaluation order that
// "adaptive" and "funnel" follow.
Json e2_figures(const E2& e2) {
  Json ndcg = Json::object();
  for (const auto& [arm, rows] : e2.ndcg) {
    Json per = Json::object();
    for (size_t c = 0; c < rows.size(); ++c) {
      Json values = Json::array();
      for (double v : rows[c]) values.push_back(std::isnan(v) ? Json() : Json(v));
      per[e2.collections[c]] = values;
    }
    ndcg[arm] = per;
  }
  return {{"widths", e2.widths}, {"collections", e2.collections}, {"ndcg", ndcg}, {"adaptive", e2.adaptive}, {"funnel", e2.funnel},
          {"flops_ratio_adaptive", e2.flops_ratio_adaptive}, {"flops_ratio_funnel", e2.flops_ratio_funnel},
          {"ms_per_query", {{"exact", e2.ms_exact}, {"adaptive", e2.ms_adaptive}, {"funnel", e2.ms_funnel}}},
          {"cost_collection", e2.cost_collection}, {"cost_docs", e2.cost_docs}, {"seconds", e2.seconds}};
}

std::vector<std::string> notes(const E1& e1, const E2& e2) {
  return {fmt::format("E1 took {:.0f} s: seven encoders (2 layers, d_model 64, SentencePiece {} pieces on the training glosses, mean "
                      "pooling, projection to the width) trained {} steps of 64 glosses, AdamW lr 1e-3; the probes {} full-batch Adam steps.",
                      e1.seconds, e1.vocab, e1.steps, e1.probe_steps),
          fmt::format("E2 took {:.0f} s: three encoders from the shared base LM (bidirectional, mean pooling, projection), "
                      "{} steps of {} of the {} pseudo-query pairs, InfoNCE tau 0.05 with in-batch negatives, lr 5e-4.",
                      e2.seconds, e2.steps, e2.batch, e2.pairs),
          "The paper's ~128x / ~14x speed-ups need millions of vectors and 2048 dimensions; with about 11k documents "
          "and 128 dimensions the multiply-add ratio is what is checked, and the wall-clock is dominated by fixed costs."};
}

Result run(const Context& ctx) {
  Result result;
  const E1 e1 = run_classification(ctx);
  const E2 e2 = run_retrieval(ctx);
  result.data_used = fmt::format("E1: {}. E2: {}", e1.data, e2.data);
  result.base_recipe = e2.base_recipe;
  result.figures = {{"e1", e1_figures(e1)}, {"e2", e2_figures(e2)}};
  result.tables = e1_tables(e1);
  for (auto& t : e2_tables(e2)) result.tables.push_back(std::move(t));
  result.plots = {e1_plot(e1)};
  result.notes = notes(e1, e2);
  return result;
}

// ---- criteria ----------------------------------------------------------------------------

std::string width_name(double width) { return fmt::format("{:g}", width); }

size_t width_index(const std::vector<double>& widths, double width) {
  const auto it = std::find(widths.begin(), widths.end(), width);
  if (it == widths.end()) throw Error("figures: the widths lack " + width_name(width));
  return static_cast<size_t>(it - widths.begin());
}

// figures[key] x 100 (fractions to points), one value per width.
std::vector<double> points_per_width(const Json& figures, const std::string& key, size_t widths) {
  auto values = numbers(figures, key);
  if (values.size() != widths) throw Error(fmt::format("figures: '{}' holds {} values for {} widths", key, values.size(), widths));
  for (double& v : values) v *= 100;
  return values;
}

std::vector<std::string> collections_of(const Json& e2) {
  const Json& v = field(e2, "collections");
  if (!v.is_array() || v.empty()) throw Error("figures: 'collections' is not a non-empty list");
  std::vector<std::string> names;
  for (const auto& name : v) {
    if (!name.is_string()) throw Error("figures: 'collections' holds a value that is not a name");
    names.push_back(name.get<std::string>());
  }
  return names;
}

// e2's nDCG@10 x 100 of `arm` on `collection` at `width`; an Error where it is null (FF is
// only defined at 16 and 128).
double ndcg_of(const Json& e2, const std::string& arm, const std::string& collection, double width) {
  const Json& row = field(field(field(e2, "ndcg"), arm), collection);
  const size_t i = width_index(numbers(e2, "widths"), width);
  if (!row.is_array() || i >= row.size() || !row[i].is_number())
    throw Error(fmt::format("figures: no nDCG of {} on {} at width {}", arm, collection, width_name(width)));
  return row[i].get<double>();
}

// E1 reads linear top-1, stored as fractions, in points.
Criterion classification_criterion(const Json& e1) {
  const auto widths = numbers(e1, "widths");
  const Json& linear = field(e1, "linear");
  const auto mrl = points_per_width(linear, "MRL", widths.size()), mrl_e = points_per_width(linear, "MRL-E", widths.size()),
             truncated = points_per_width(linear, "FF-64 truncated", widths.size()),
             ff = points_per_width(e1, "ff_linear", widths.size());
  std::vector<Condition> matches, efficient, truncation;
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string m = width_name(widths[i]);
    const auto ff_m = q("FF-" + m, ff[i], 1);
    matches.push_back(at_least(q("MRL-" + m, mrl[i], 1), ff_m, -1));
    if (widths[i] >= 8) efficient.push_back(at_least(q("MRL-E-" + m, mrl_e[i], 1), ff_m, -2));
  }
  for (double m : {4.0, 8.0}) {
    const size_t i = width_index(widths, m);
    truncation.push_back(at_least(q("MRL-" + width_name(m), mrl[i], 1), q("FF-64 truncated to " + width_name(m), truncated[i], 1), 10));
  }
  return criterion("1. MRL matches fixed-feature models at every width (E1, linear top-1 %)",
                   {all_of("MRL >= FF - 1 at every width", matches), all_of("MRL-E >= FF - 2 from width 8", efficient),
                    all_of("FF-64 truncated to 4 and 8 is at least 10 points below MRL", truncation)});
}

// E2 reads nDCG@10 x 100, averaged over the collections.
Criterion retrieval_criterion(const Json& e2) {
  const auto collections = collections_of(e2);
  const auto mean_over = [&](const std::string& arm, double width) {
    double sum = 0;
    for (const auto& c : collections) sum += ndcg_of(e2, arm, c, width);
    return sum / static_cast<double>(collections.size());
  };
  const auto mrl16 = q("MRL-16", mean_over("MRL", 16));
  return criterion("2. MRL retrieves as well as FF-16 and FF-128, and truncated FF-128 does not (E2, mean nDCG@10 x 100 over collections)",
                   {at_least(mrl16, q("FF-16", mean_over("FF", 16)), -2),
                    at_least(q("MRL-128", mean_over("MRL", 128)), q("FF-128", mean_over("FF", 128)), -1),
                    at_least(mrl16, q("FF-128 truncated to 16", mean_over("FF-128 truncated", 16)), 5)});
}

// Against exact search on MRL's full 128 dimensions; the cost figures are reported beside.
Criterion reranking_criterion(const Json& e2) {
  const auto collections = collections_of(e2);
  const auto adaptive = numbers(e2, "adaptive"), funnel = numbers(e2, "funnel");
  if (adaptive.size() != collections.size() || funnel.size() != collections.size())
    throw Error(fmt::format("figures: {} adaptive and {} funnel values for {} collections", adaptive.size(), funnel.size(), collections.size()));
  std::vector<Condition> adaptive_ok, funnel_ok;
  for (size_t i = 0; i < collections.size(); ++i) {
    const auto exact = q(collections[i] + " exact 128-d", ndcg_of(e2, "MRL", collections[i], 128));
    adaptive_ok.push_back(within(q(collections[i] + " adaptive", adaptive[i]), exact, 0.5));
    funnel_ok.push_back(within(q(collections[i] + " funnel", funnel[i]), exact, 0.5));
  }
  auto c = criterion("3. Adaptive retrieval and the funnel match exact 128-d search (E2, nDCG@10 x 100)",
                     {all_of("adaptive 16 -> 128 (K=200) within 0.5 of exact on every collection", adaptive_ok),
                      all_of("funnel 8 -> 16..128 within 0.5 of exact on every collection", funnel_ok)});
  const Json& ms = field(e2, "ms_per_query");
  c.measured += fmt::format("; on {} ({:.0f} documents): {:.1f}x / {:.1f}x fewer multiply-adds, {:.3f} / {:.3f} ms per query against "
                            "{:.3f} ms exact",
                            string_field(e2, "cost_collection"), number(e2, "cost_docs"), number(e2, "flops_ratio_adaptive"),
                            number(e2, "flops_ratio_funnel"), number(ms, "adaptive"), number(ms, "funnel"), number(ms, "exact"));
  return c;
}

// The spec's criteria ("Small-scale reproduction"), read from the figures by name.
std::vector<Criterion> criteria(const Json& figures) {
  const Json& e1 = field(figures, "e1");
  const Json& e2 = field(figures, "e2");
  return {classification_criterion(e1), retrieval_criterion(e2), reranking_criterion(e2)};
}

const Registration registered{{
    .slug = kSlug,
    .title = "Matryoshka representation learning",
    .paper = "Kusupati, Bhatt, Rege, Wallingford, Sinha, Ramanujan, Howard-Snyder, Chen, Kakade, Jain, Farhadi, Matryoshka "
             "Representation Learning, NeurIPS 2022, arXiv:2205.13147",
    .claim = "Training on the loss of O(log d) nested prefixes makes every prefix of one embedding as good as a representation "
             "trained at that width, so one vector serves many budgets: adaptive classification and shortlist-then-rerank "
             "retrieval at a fraction of the cost.",
    .budget = "quick: about 8 minutes on 2 CPU cores, E1 4 and E2 3.5 (plus about 4 for the base LM when not cached); "
              "full: all noun synsets, 4000 classification and 1000 contrastive steps",
    .figures_version = 2,
    .run = run,
    .criteria = criteria,
}};

}  // namespace

}  // namespace garden::repro::matryoshka
