// Reproduction of "NV-Embed: Improved Techniques for Training LLMs as Generalist Embedding
// Models" (Lee et al., ICLR 2025, arXiv:2405.17428), small scale, following
// ../papers/nv-embed.md: the shared tiny base LM fine-tuned as an embedder.
//   E1 pooling x mask - last-token, mean and latent-attention pooling under the causal and the
//      bidirectional mask, each trained with the two-stage recipe;
//   E2 schedule - two stages against one blended stage with in-batch negatives on or off;
//   E3 mining - no hard negatives, BM25's naive top 3, and positive-aware mining, on Cranfield
//      with planted near-duplicates (false negatives).
// Scores: nDCG@10 on Cranfield, CISI, MED (real queries), Spearman on STS-B and SICK, and
// V-measure / 5-NN accuracy of WordNet lexname clustering on held-out glosses. Smoke scale
// runs every arm for a few steps on capped data (the WordNet stand-ins without a data root).
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "garden/eval/clustering.h"
#include "garden/eval/embedding_suite.h"
#include "garden/eval/sts.h"
#include "garden/model/embedder.h"
#include "garden/model/model_folder.h"
#include "garden/repro/embedding_setup.h"
#include "garden/repro/toolkit.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/mining.h"
#include "garden/retrieval/training_pairs.h"
#include "garden/text/pairs.h"
#include "garden/text/prepare.h"
#include "garden/text/tokenizer.h"
#include "garden/train/base_lm.h"
#include "garden/train/embedder_training.h"
#include "garden/train/trainer.h"

namespace garden::repro::nv_embed {

namespace {

using model::MaskMode;
using model::Pooling;
using text::TextPair;

const char* const kSlug = "nv-embed";

constexpr int64_t kNegatives = 3;  // per query (the paper uses 7)
constexpr size_t kAll = std::numeric_limits<size_t>::max();  // no cap

// Arm names, as the figures and the criteria spell them (E1's are "<pooling>, <mask>").
const char* const kTwoStages = "two stages (retrieval, then the blend without in-batch)";
const char* const kInBatchOn = "one stage, blend, in-batch on";
const char* const kInBatchOff = "one stage, blend, in-batch off";
const char* const kNoHardNegatives = "no hard negatives";
const char* const kNaive = "naive BM25 top 3";
const char* const kPositiveAware = "positive-aware (below 0.95 x positive)";

template <typename T>
void cap(std::vector<T>& items, size_t most) {
  if (items.size() > most) items.resize(most);
}

// Every query of a batch has the same number of hard negatives, so a pair short of them (a
// query matching few documents) is left out.
void drop_short(std::vector<TextPair>& pairs) {
  std::erase_if(pairs, [](const TextPair& p) { return static_cast<int64_t>(p.negatives.size()) < kNegatives; });
}

struct Data {
  std::vector<TextPair> retrieval, sts, lexname;
  std::vector<std::pair<std::string, retrieval::Collection>> evals;  // nDCG@10 collections
  std::vector<eval::StsPair> stsb, sick;
  std::vector<std::string> held_glosses;
  std::vector<int64_t> held_labels;
  int64_t classes = 0;
  std::string description;
};

// Title -> body pseudo-queries (lead sentence for MED) of the training collections, at most
// `most` per collection, with BM25 negatives mined under `rule`.
std::vector<TextPair> retrieval_pairs(const Context& ctx, const std::vector<std::string>& names, size_t most,
                                      const retrieval::NegativeRule& rule, std::vector<std::string>& used) {
  std::vector<TextPair> out;
  for (const auto& name : names) {
    const auto dir = beir_dir(ctx, name);
    if (!dir) continue;
    const auto c = retrieval::read_beir_collection(*dir);
    auto pairs = name == "med" ? retrieval::lead_sentence_pairs(c) : retrieval::title_body_pairs(c);
    std::mt19937_64 rng(ctx.seed + 17);
    std::shuffle(pairs.begin(), pairs.end(), rng);
    cap(pairs, most);
    const auto report = retrieval::mine_bm25_negatives(pairs, *dir, ctx.out / "bm25" / name, rule, kNegatives);
    drop_short(pairs);
    used.push_back(fmt::format("{} {} (BM25 {}: {} likely positives dropped)", name, pairs.size(), rule.to_string(), report.dropped));
    out.insert(out.end(), pairs.begin(), pairs.end());
  }
  return out;
}

// STS-B training pairs scored >= 4, both ways, with positive-aware BM25 negatives mined over
// all STS-B training sentences; none without STS-B.
std::vector<TextPair> sts_training_pairs(const Context& ctx, const retrieval::NegativeRule& rule, std::vector<std::string>& used) {
  const auto file = data_file(ctx, "stsb", "train.tsv");
  if (!file) return {};
  std::vector<std::pair<std::string, std::string>> texts;
  std::vector<double> scores;
  for (const auto& p : eval::read_sts_pairs(*file)) {
    texts.emplace_back(p.first, p.second);
    scores.push_back(p.score);
  }
  auto triples = text::sts_pairs(texts, scores);
  cap(triples.pairs, ctx.pick<size_t>(100, kAll, kAll));
  retrieval::Collection sentences;
  for (size_t i = 0; i < triples.sentences.size(); ++i) sentences.corpus.push_back({std::to_string(i), "", triples.sentences[i]});
  sentences.queries = {{"0", triples.sentences[0]}};
  sentences.qrels["0"]["0"] = 1;
  const auto dir_sentences = ctx.out / "stsb-sentences";
  retrieval::write_beir_collection(sentences, dir_sentences);
  retrieval::mine_bm25_negatives(triples.pairs, dir_sentences, ctx.out / "bm25" / "stsb-sentences", rule, kNegatives);
  drop_short(triples.pairs);
  used.push_back(fmt::format("STS-B train >= 4 both ways {}", triples.pairs.size()));
  return std::move(triples.pairs);
}

// WordNet lexnames: 80% of the synsets (per class) as example-based triples, 1000 of the
// other 20% held out for clustering and kNN.
void load_lexnames(const Context& ctx, std::mt19937_64& rng, Data& d, std::vector<std::string>& used) {
  auto splits = eval::wordnet_lexname_splits(ctx.wordnet, ctx.pick<size_t>(40, 400, 400), ctx.seed);
  std::vector<std::string> held = splits.validation.glosses;
  std::vector<int64_t> held_labels = splits.validation.labels;
  held.insert(held.end(), splits.test.glosses.begin(), splits.test.glosses.end());
  held_labels.insert(held_labels.end(), splits.test.labels.begin(), splits.test.labels.end());
  std::vector<size_t> order(held.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t i = 0; i < std::min(ctx.pick<size_t>(200, 1000, 1000), order.size()); ++i) {
    d.held_glosses.push_back(held[order[i]]);
    d.held_labels.push_back(held_labels[order[i]]);
  }
  d.classes = splits.train.classes;
  d.lexname = text::example_pairs(splits.train.glosses, splits.train.labels, kNegatives, ctx.seed + 31);
  std::shuffle(d.lexname.begin(), d.lexname.end(), rng);
  cap(d.lexname, ctx.pick<size_t>(100, 2000, 2000));
  used.push_back(fmt::format("WordNet lexname example triples {} ({} classes)", d.lexname.size(), d.classes));
}

// Without the IR collections: WordNet definition -> lemma pairs stand in for retrieval
// training, with negatives drawn from other synsets.
std::vector<TextPair> wordnet_retrieval_pairs(const Context& ctx, std::mt19937_64& rng, std::vector<std::string>& used) {
  auto synsets = text::wordnet_synsets(ctx.wordnet, {"verb", "adj"});
  std::shuffle(synsets.begin(), synsets.end(), rng);
  cap(synsets, ctx.pick<size_t>(200, 3000, 3000));
  auto pairs = text::wordnet_definition_pairs(synsets);
  for (size_t i = 0; i < pairs.size(); ++i)
    for (int64_t k = 1; k <= kNegatives; ++k) pairs[i].negatives.push_back(pairs[(i + 97 * k) % pairs.size()].positive);
  used.push_back(fmt::format("no IR collections under the data root: {} WordNet verb/adjective definition -> lemma pairs", pairs.size()));
  return pairs;
}

std::string describe(const Data& d, const std::vector<std::string>& used) {
  std::string evals;
  for (const auto& [name, c] : d.evals) evals.append(evals.empty() ? "" : ", ").append(name);
  return "training: " + join(used, "; ") +
         fmt::format(". Evaluation: nDCG@10 on {}; {}{}lexname V-measure and 5-NN accuracy on {} held-out glosses",
                     evals.empty() ? "none (no collections)" : evals, d.stsb.empty() ? "" : "STS-B test, ",
                     d.sick.empty() ? "" : fmt::format("SICK test (first {}), ", d.sick.size()), d.held_glosses.size());
}

Data load_data(const Context& ctx) {
  Data d;
  std::vector<std::string> used;
  const auto positive_aware = retrieval::NegativeRule::parse("pos-perc:0.95");
  d.retrieval = retrieval_pairs(ctx, {"cranfield", "cisi", "lisa", "cacm", "med"}, ctx.pick<size_t>(50, 600, 600), positive_aware, used);
  d.sts = sts_training_pairs(ctx, positive_aware, used);
  if (const auto file = data_file(ctx, "stsb", "test.tsv")) {
    d.stsb = eval::read_sts_pairs(*file);
    cap(d.stsb, ctx.pick<size_t>(200, kAll, kAll));
  }
  if (const auto file = data_file(ctx, "sick", "test.tsv")) {
    d.sick = eval::read_sts_pairs(*file);
    cap(d.sick, pick_for_base<size_t>(ctx, 200, 2000, 1000, 2000));
  }
  // One generator for the held-out draw, the lexname triples and the WordNet stand-in, in
  // that order (the seeded runs' figures depend on it).
  std::mt19937_64 rng(ctx.seed + 29);
  load_lexnames(ctx, rng, d, used);
  for (const std::string name : {"cranfield", "cisi", "med"})
    if (const auto dir = beir_dir(ctx, name)) d.evals.emplace_back(name, retrieval::read_beir_collection(*dir));
  if (d.retrieval.empty()) d.retrieval = wordnet_retrieval_pairs(ctx, rng, used);
  d.description = describe(d, used);
  return d;
}

struct Scores {
  std::map<std::string, double> ndcg;
  std::optional<double> stsb, sick;
  double v_measure = 0, knn = 0, retrieval = 0, avg = 0;
};

Scores score(model::Embedder& embedder, const text::Tokenizer& tok, const Data& d, uint64_t seed) {
  using eval::EmbeddingTask;
  std::vector<EmbeddingTask> tasks;
  for (const auto& [name, c] : d.evals) tasks.push_back(EmbeddingTask::retrieval_task(name, c));
  if (!d.stsb.empty()) tasks.push_back(EmbeddingTask::sts_task("stsb", d.stsb));
  if (!d.sick.empty()) tasks.push_back(EmbeddingTask::sts_task("sick", d.sick));
  tasks.push_back(EmbeddingTask::clustering_task("v_measure", d.held_glosses, d.held_labels, d.classes, seed));
  tasks.push_back(EmbeddingTask::knn_task("knn", d.held_glosses, d.held_labels, 5));
  const auto suite = eval::evaluate_embeddings(embedder, tok, tasks);
  Scores s;
  for (const auto& [name, c] : d.evals) {
    s.ndcg[name] = suite.at(name);
    s.retrieval += s.ndcg[name] / static_cast<double>(d.evals.size());
  }
  if (!d.stsb.empty()) s.stsb = suite.at("stsb");
  if (!d.sick.empty()) s.sick = suite.at("sick");
  s.v_measure = suite.at("v_measure");
  s.knn = suite.at("knn");
  s.avg = suite.average;
  return s;
}

// What every arm starts from.
struct Setup {
  train::BaseLm base;
  std::unique_ptr<text::Tokenizer> tokenizer;
  Data data;
  std::vector<TextPair> blended;  // retrieval + STS + lexname triples
};

Setup prepare(const Context& ctx) {
  Setup s;
  s.base = shared_base_lm(ctx);
  s.tokenizer = text::load_tokenizer(s.base.tokenizer.string());
  s.data = load_data(ctx);
  s.blended = s.data.retrieval;
  s.blended.insert(s.blended.end(), s.data.sts.begin(), s.data.sts.end());
  s.blended.insert(s.blended.end(), s.data.lexname.begin(), s.data.lexname.end());
  return s;
}

int64_t batch_size(const Context& ctx) { return ctx.pick<int64_t>(4, 16, 16); }

train::TrainConfig stage_config(const Context& ctx, const Setup& setup, int64_t steps, double lr) {
  return finetune_config(steps, batch_size(ctx), lr, std::max<int64_t>(1, steps / 10), ctx.seed, setup.base.bf16);
}

train::EmbedObjectiveConfig objective(bool in_batch, int64_t negatives) {
  train::EmbedObjectiveConfig o;
  o.contrastive.temperature = 0.05;
  o.contrastive.in_batch = in_batch;
  o.hard_negatives = negatives;
  return o;
}

model::Embedder fresh_embedder(const Context& ctx, const train::BaseLm& base, MaskMode mask, Pooling pooling) {
  torch::manual_seed(static_cast<int64_t>(ctx.seed));  // the latent array's initialisation
  model::EmbedderConfig c;
  c.mask = mask;
  c.pooling = pooling;
  c.latent.latents = 64;
  c.latent.heads = 4;
  c.max_tokens = 48;
  c.bf16 = base.bf16;
  model::Embedder e(model::load_model(base.model, ctx.device).model, c);
  e->to(ctx.device);
  return e;
}

struct Arm {
  std::string name;
  Scores scores;
  double seconds = 0;
};

Arm run_arm(const Context& ctx, const Setup& setup, const std::string& name, MaskMode mask, Pooling pooling,
            const std::vector<train::TrainingStage>& stages) {
  const Stopwatch clock;
  say(ctx, kSlug, name);
  auto embedder = fresh_embedder(ctx, setup.base, mask, pooling);
  std::string folder = name;
  std::replace_if(folder.begin(), folder.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '-');
  train::train_stages(embedder, *setup.tokenizer, stages, ctx.out / "runs" / folder, false, setup.base.tokenizer.string(), ctx.quiet);
  Arm arm{name, score(embedder, *setup.tokenizer, setup.data, ctx.seed), 0};
  arm.seconds = clock.seconds();
  return arm;
}

// E1: {last token, mean, latent attention} x {causal, bidirectional}, each with the two-stage
// recipe.
std::vector<Arm> pooling_by_mask(const Context& ctx, const Setup& setup, int64_t stage_steps) {
  // Stage 1: retrieval pairs, in-batch + hard negatives. Stage 2: the blend, hard negatives
  // only, a lower learning rate (the paper's 1.5e-5 / 2e-5), a fresh optimizer.
  const std::vector<train::TrainingStage> two_stage = {
      {"retrieval", setup.data.retrieval, objective(true, kNegatives), stage_config(ctx, setup, stage_steps, 3e-4)},
      {"blend", setup.blended, objective(false, kNegatives), stage_config(ctx, setup, stage_steps, 2.25e-4)}};
  std::vector<Arm> arms;
  for (const auto& [pooling, pooling_name] : {std::pair{Pooling::last_token, "last token"}, std::pair{Pooling::mean, "mean"},
                                              std::pair{Pooling::latent_attention, "latent attention"}})
    for (const auto& [mask, mask_name] : {std::pair{MaskMode::causal, "causal"}, std::pair{MaskMode::bidirectional, "bidirectional"}})
      arms.push_back(run_arm(ctx, setup, fmt::format("{}, {}", pooling_name, mask_name), mask, pooling, two_stage));
  return arms;
}

// E2 (mean pooling, bidirectional): the two-stage arm of E1 against one blended stage of as
// many steps, with in-batch negatives on and off.
std::vector<Arm> schedules(const Context& ctx, const Setup& setup, const std::vector<Arm>& e1, int64_t stage_steps) {
  std::vector<Arm> arms;
  for (const auto& a : e1)
    if (a.name == "mean, bidirectional") arms.push_back({kTwoStages, a.scores, a.seconds});
  const auto one_stage = [&](bool in_batch) -> std::vector<train::TrainingStage> {
    return {{"blend", setup.blended, objective(in_batch, kNegatives), stage_config(ctx, setup, 2 * stage_steps, 3e-4)}};
  };
  arms.push_back(run_arm(ctx, setup, kInBatchOn, MaskMode::bidirectional, Pooling::mean, one_stage(true)));
  arms.push_back(run_arm(ctx, setup, kInBatchOff, MaskMode::bidirectional, Pooling::mean, one_stage(false)));
  return arms;
}

// Cranfield with near-copies planted as false negatives.
struct Planted {
  std::filesystem::path dir;
  size_t originals = 0, copies = 0;
  std::map<std::string, std::string> copy_of;  // original id -> its copy as the miner writes negatives
};

// 10% of the documents duplicated with 10% of their text words dropped (title kept): each
// copy is as relevant to the document's pseudo-query as the original but unlabelled.
Planted plant_copies(const Context& ctx, const std::filesystem::path& cranfield) {
  auto planted = retrieval::read_beir_collection(cranfield);
  std::mt19937_64 rng(ctx.seed + 41);
  Planted p;
  p.originals = planted.corpus.size();
  for (size_t i = 0; i < p.originals; ++i) {
    if (rng() % 10 != 0) continue;
    auto copy = planted.corpus[i];
    std::istringstream words(copy.text);
    std::string kept, w;
    while (words >> w)
      if (rng() % 10 != 0) kept.append(kept.empty() ? "" : " ").append(w);
    copy.id = "copy-" + copy.id;
    copy.text = kept;
    planted.corpus.push_back(copy);
  }
  p.copies = planted.corpus.size() - p.originals;
  p.dir = ctx.out / "cranfield-planted";
  retrieval::write_beir_collection(planted, p.dir);
  // The copies' texts as the miner writes negatives (bodies without their titles).
  for (size_t i = p.originals; i < planted.corpus.size(); ++i) {
    retrieval::Collection one;
    one.corpus = {planted.corpus[i]};
    for (const auto& pair : retrieval::title_body_pairs(one, 0, 0))
      p.copy_of[pair.doc_id.substr(std::string("copy-").size())] = pair.positive;
  }
  return p;
}

struct Mined {
  std::vector<TextPair> pairs;
  int64_t own_copies = 0;  // pairs whose negatives hold their own document's copy (a false negative)
};

Mined mine_planted(const Context& ctx, const Planted& planted, std::vector<TextPair> pairs, const std::string& rule) {
  retrieval::mine_bm25_negatives(pairs, planted.dir, ctx.out / "bm25" / "cranfield-planted", retrieval::NegativeRule::parse(rule),
                                 kNegatives);
  drop_short(pairs);
  Mined m{std::move(pairs), 0};
  for (const auto& p : m.pairs)
    if (const auto it = planted.copy_of.find(p.doc_id); it != planted.copy_of.end())
      m.own_copies += std::count(p.negatives.begin(), p.negatives.end(), it->second);
  return m;
}

struct Mining {
  std::vector<Arm> arms;                 // empty without Cranfield
  std::vector<int64_t> planted_picked;   // per arm, Mined::own_copies
  std::string note;
};

// E3: retrieval-only training on the planted collection's pseudo-queries with no hard
// negatives, BM25's naive top 3 and positive-aware negatives.
Mining mining(const Context& ctx, const Setup& setup) {
  Mining m;
  const auto cranfield = beir_dir(ctx, "cranfield");
  if (!cranfield) return m;
  const Planted planted = plant_copies(ctx, *cranfield);
  const auto base_pairs = retrieval::title_body_pairs(retrieval::read_beir_collection(*cranfield));
  const int64_t steps = pick_for_base<int64_t>(ctx, 3, 90, 12, 1000);
  const auto add_arm = [&](const std::string& name, const std::vector<TextPair>& pairs, int64_t negatives, int64_t own_copies) {
    m.planted_picked.push_back(own_copies);
    m.arms.push_back(run_arm(ctx, setup, name, MaskMode::bidirectional, Pooling::mean,
                             {{"retrieval", pairs, objective(true, negatives), stage_config(ctx, setup, steps, 3e-4)}}));
  };
  add_arm(kNoHardNegatives, base_pairs, 0, 0);
  const auto naive = mine_planted(ctx, planted, base_pairs, "naive-topk");
  add_arm(kNaive, naive.pairs, kNegatives, naive.own_copies);
  const auto aware = mine_planted(ctx, planted, base_pairs, "pos-perc:0.95");
  add_arm(kPositiveAware, aware.pairs, kNegatives, aware.own_copies);
  m.note = fmt::format("{} of {} Cranfield documents planted as near-copies", planted.copies, planted.originals);
  return m;
}

Table scores_table(const std::string& title, const Data& data, const std::vector<Arm>& arms) {
  Table t{title, {"arm"}, {}};
  for (const auto& [name, c] : data.evals) t.header.push_back(name + " nDCG@10");
  for (const auto& h : {"STS-B", "SICK", "V-measure", "5-NN acc", "avg", "seconds"}) t.header.push_back(h);
  for (const auto& a : arms) {
    std::vector<Cell> row{a.name};
    for (const auto& [name, c] : data.evals) row.push_back(num(a.scores.ndcg.at(name), 2));
    row.push_back(optional_num(a.scores.stsb, 2));
    row.push_back(optional_num(a.scores.sick, 2));
    row.push_back(num(a.scores.v_measure, 2));
    row.push_back(num(a.scores.knn, 2));
    row.push_back(num(a.scores.avg, 2));
    row.push_back(num(a.seconds, 0));
    t.rows.push_back(row);
  }
  return t;
}

std::vector<Table> tables(const Data& data, const std::vector<Arm>& e1, const std::vector<Arm>& e2, const Mining& e3) {
  std::vector<Table> out = {scores_table("E1: pooling x attention mask, two-stage training (x 100)", data, e1),
                            scores_table("E2: training schedule, mean pooling, bidirectional (x 100)", data, e2)};
  if (!e3.arms.empty()) {
    auto t = scores_table("E3: hard-negative mining on Cranfield with planted near-copies (x 100)", data, e3.arms);
    t.header.push_back("own document's copy among negatives");
    for (size_t i = 0; i < t.rows.size(); ++i) t.rows[i].push_back(integer(e3.planted_picked[i]));
    out.push_back(t);
  }
  return out;
}

Json arm_figures(const Arm& a) {
  return {{"ndcg10", a.scores.ndcg}, {"retrieval", a.scores.retrieval}, {"stsb", a.scores.stsb ? Json(*a.scores.stsb) : Json()},
          {"sick", a.scores.sick ? Json(*a.scores.sick) : Json()}, {"v_measure", a.scores.v_measure},
          {"knn5", a.scores.knn}, {"avg", a.scores.avg}, {"seconds", a.seconds}};
}

// {"arms": {name: scores}, "planted_copies_picked": [per E3 arm], "seconds": {...}}; each E3
// arm also holds its own "planted_copies_picked", so the criteria read the arms by name.
Json all_figures(const std::vector<Arm>& e1, const std::vector<Arm>& e2, const Mining& e3, const Json& seconds) {
  Json arms = Json::object();
  for (const auto* group : {&e1, &e2, &e3.arms})
    for (const auto& a : *group) arms[a.name] = arm_figures(a);
  for (size_t i = 0; i < e3.arms.size(); ++i) arms[e3.arms[i].name]["planted_copies_picked"] = e3.planted_picked[i];
  return {{"arms", arms}, {"planted_copies_picked", e3.planted_picked}, {"seconds", seconds}};
}

Result run(const Context& ctx) {
  const Stopwatch clock;
  Result result;
  const Setup setup = prepare(ctx);
  result.base_recipe = setup.base.recipe;
  result.data_used = fmt::format("base LM {} pretrained on {}; {}", setup.base.recipe, setup.base.sources, setup.data.description);
  // quick: eleven fine-tuned arms; 45 + 45 steps from v1 keep the run near 8 minutes on 2 cores;
  // from v2 a step costs several times as much, and 6 + 6 steps take about 10.
  const int64_t stage_steps = pick_for_base<int64_t>(ctx, 3, 45, 6, 1000);

  const Stopwatch e1_clock;
  const auto e1 = pooling_by_mask(ctx, setup, stage_steps);
  const double e1_seconds = e1_clock.seconds();
  const Stopwatch e2_clock;
  const auto e2 = schedules(ctx, setup, e1, stage_steps);
  const double e2_seconds = e2_clock.seconds();
  const Stopwatch e3_clock;
  const auto e3 = mining(ctx, setup);
  const double e3_seconds = e3_clock.seconds();

  result.tables = tables(setup.data, e1, e2, e3);
  result.figures = all_figures(e1, e2, e3, {{"e1", e1_seconds}, {"e2", e2_seconds}, {"e3", e3_seconds}, {"all", clock.seconds()}});
  result.notes.push_back(fmt::format("Sub-run times: E1 {:.0f} s, E2 {:.0f} s, E3 {:.0f} s. Each arm: full fine-tuning of the base LM, "
                                     "batch {} queries x (1 + {}) documents, temperature 0.05, {} + {} steps (stage 1 lr 3e-4 with "
                                     "in-batch and hard negatives; stage 2 lr 2.25e-4, hard negatives only, fresh optimizer); texts cut "
                                     "at 48 tokens.",
                                     e1_seconds, e2_seconds, e3_seconds, batch_size(ctx), kNegatives, stage_steps, stage_steps));
  if (!e3.note.empty()) result.notes.push_back("E3: " + e3.note + "; pairs are the original documents' titles and bodies.");
  result.notes.push_back(fmt::format("The paper adapts Mistral-7B with LoRA and scores 56 MTEB tasks; here a {:.1f}M-parameter base LM "
                                     "({}) is fine-tuned for minutes, so the pooling and schedule effects the paper measures in tenths of "
                                     "MTEB points sit inside this scale's noise; the criteria follow the spec's small-scale thresholds.",
                                     static_cast<double>(setup.base.parameters) / 1e6, setup.base.recipe));
  return result;
}

// ---- criteria (the spec's "Small-scale reproduction"), read from the arms by name ----------

Quantity avg(const Json& arms, const std::string& arm) { return q(arm + " avg", number(field(arms, arm), "avg")); }

// Lexname clustering: the mean of V-measure and 5-NN accuracy.
Quantity clustering(const Json& arms, const std::string& arm, const std::string& shown) {
  const Json& a = field(arms, arm);
  return q(shown + " lexname clustering", (number(a, "v_measure") + number(a, "knn5")) / 2);
}

// Mean nDCG@10 over the evaluated collections.
Quantity retrieval_ndcg(const Json& arms, const std::string& arm, const std::string& shown) {
  return q(shown + " retrieval nDCG@10", number(field(arms, arm), "retrieval"));
}

// E3 runs only with Cranfield under the data root; without its arms the claim is untested.
Criterion planted_copies(const Json& arms) {
  const std::string label = "4. positive-aware mining beats naive top-k on planted copies";
  if (!arms.contains(kNaive) && !arms.contains(kPositiveAware))
    return missing_data(label, "positive-aware >= naive top 3 + 1 nDCG@10 on Cranfield with planted near-copies",
                        "Cranfield not found under the data root: E3 did not run");
  const Json& naive = field(arms, kNaive);
  const Json& aware = field(arms, kPositiveAware);
  return criterion(label, {at_least(q("positive-aware Cranfield nDCG@10", number(field(aware, "ndcg10"), "cranfield")),
                                    q("naive top 3 Cranfield nDCG@10", number(field(naive, "ndcg10"), "cranfield")), 1),
                           above(q("naive top 3 pairs whose negatives hold their own document's copy",
                                   number(naive, "planted_copies_picked"), 0),
                                 0)});
}

std::vector<Criterion> criteria(const Json& figures) {
  const Json& arms = field(figures, "arms");
  const auto last_c = avg(arms, "last token, causal"), last_b = avg(arms, "last token, bidirectional");
  const auto mean_c = avg(arms, "mean, causal"), mean_b = avg(arms, "mean, bidirectional");
  const auto lat_c = avg(arms, "latent attention, causal"), lat_b = avg(arms, "latent attention, bidirectional");
  return {
      criterion("1. bidirectional attention beats causal, for mean and latent-attention pooling",
                {above(mean_b, mean_c), above(lat_b, lat_c)}),
      criterion("2. mean pooling beats last-token pooling by >= 1 point under both masks",
                {at_least(mean_c, last_c, 1), at_least(mean_b, last_b, 1)}),
      // Few classes: in-batch "negatives" of the blend are often positives of the lexname task.
      criterion("3. two stages beat one blended stage: in-batch negatives cost >= 2 points of clustering, retrieval holds",
                {at_most(clustering(arms, kInBatchOn, "one stage, in-batch on"), clustering(arms, kTwoStages, "two-stage"), -2),
                 at_least(retrieval_ndcg(arms, kTwoStages, "two-stage"), retrieval_ndcg(arms, kInBatchOff, "one stage, in-batch off"))}),
      planted_copies(arms),
      // The paper's gain (+0.35 to +0.6 MTEB avg) is too small to resolve here: report-level.
      criterion("5. latent attention matches mean pooling (bidirectional; report-level)", {at_least(lat_b, mean_b, -1)}),
  };
}

const Registration registered{{
    .slug = kSlug,
    .title = "NV-Embed: improved techniques for training LLMs as generalist embedding models",
    .paper = "Lee, Roy, Xu, Raiman, Shoeybi, Catanzaro, Ping, NV-Embed: Improved Techniques for Training LLMs as Generalist "
             "Embedding Models, ICLR 2025, arXiv:2405.17428",
    .claim = "A decoder-only LM becomes a strong generalist embedder when its causal mask is dropped, its tokens are pooled "
             "through a latent-attention layer, and it is trained in two stages (retrieval with in-batch and hard negatives, "
             "then a blend of tasks without in-batch negatives) on hard negatives mined with a positive-aware margin.",
    .budget = "quick: about 8 minutes on 2 CPU cores (plus about 4 for the base LM when not cached); full: 1000 steps "
              "per stage",
    .figures_version = 2,
    .run = run,
    .criteria = criteria,
}};

}  // namespace

}  // namespace garden::repro::nv_embed
